"""The reports of ``make similarity`` (:mod:`course.similarity.compare`): a CSV file and a
self-contained HTML page with each flagged pair's code side by side.

Student code and names are untrusted: every piece of them goes through ``html.escape``
before it reaches the page, which holds no script and loads nothing.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

CSV_FIELDS = ("question", "rank", "student_a", "student_b", "similarity", "similarity_a",
              "similarity_b", "shared_chars", "question_median", "answers")

STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; margin-bottom: 1em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre; }
mark { background: #ffd54f; }
.note { color: #555; }
"""


def write_csv(path: Path, questions: list) -> Path:
    """One row per reported pair: question, rank (1 = most similar), the two students, the
    pair's similarity and each side's, the shared normalised characters, and the
    question's median similarity and number of answers."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_FIELDS)
        for question in questions:
            for rank, pair in enumerate(question.pairs, 1):
                writer.writerow([question.name, rank, pair.a.student, pair.b.student,
                                 f"{pair.similarity:.3f}", f"{pair.similarity_a:.3f}",
                                 f"{pair.similarity_b:.3f}", pair.shared,
                                 f"{question.median:.3f}", len(question.answers)])
    return path


def highlighted(code: str, spans: list) -> str:
    """``code`` as escaped HTML, the shared ``spans`` (start, end) inside ``<mark>``."""
    parts, position = [], 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(code))
        if start >= end:
            continue
        parts += [html.escape(code[position:start]), "<mark>",
                  html.escape(code[start:end]), "</mark>"]
        position = end
    parts.append(html.escape(code[position:]))
    return "".join(parts)


def pair_html(rank: int, pair) -> str:
    """One pair: its figures, then both answers side by side."""
    a, b = html.escape(pair.a.student), html.escape(pair.b.student)
    return (f"<h3>{rank}. {a} and {b}: {pair.similarity:.2f}</h3>\n"
            f"<p class='note'>shared: {pair.similarity_a:.0%} of {a}'s code, "
            f"{pair.similarity_b:.0%} of {b}'s</p>\n<div class='pair'>"
            f"<div><b>{a}</b><pre>{highlighted(pair.a.code, pair.slices_a)}</pre></div>"
            f"<div><b>{b}</b><pre>{highlighted(pair.b.code, pair.slices_b)}</pre></div>"
            f"</div>\n")


def counts(question) -> str:
    """'212 answers (180 beyond what most of the class wrote), 3,140 of 16,110 pairs
    compared (the others share no fingerprint); median similarity 0.00'."""
    answers, distinct = len(question.answers), question.distinct
    every = distinct * (distinct - 1) // 2
    common = "" if distinct == answers else \
        f" ({distinct:,} beyond what most of the class wrote)"
    skipped = " (the others share no fingerprint)" if question.compared < every else ""
    return (f"{answers:,} answers{common}, {question.compared:,} of {every:,} pairs "
            f"compared{skipped}; median similarity {question.median:.2f}")


def question_html(question) -> str:
    """One question: its summary table, then each reported pair."""
    name = html.escape(question.name)
    head = f"<h2 id='{name}'>{name}</h2>\n<p class='note'>{counts(question)}</p>\n"
    if not question.pairs:
        return head + "<p>No pair to compare.</p>\n"
    rows = "".join(f"<tr><td>{rank}</td><td>{html.escape(p.a.student)}</td>"
                   f"<td>{html.escape(p.b.student)}</td><td>{p.similarity:.2f}</td></tr>\n"
                   for rank, p in enumerate(question.pairs, 1))
    table = (f"<table><tr><th>rank</th><th>student</th><th>student</th>"
             f"<th>similarity</th></tr>\n{rows}</table>\n")
    return head + table + "".join(pair_html(rank, pair)
                                  for rank, pair in enumerate(question.pairs, 1))


def overview_html(questions: list) -> str:
    """A row per question (a link to it): its answers, the pairs compared, the median and
    the most similar pair's similarity: where to look first, in a class of any size."""
    rows = "".join(
        f"<tr><td><a href='#{html.escape(q.name)}'>{html.escape(q.name)}</a></td>"
        f"<td>{len(q.answers):,}</td><td>{q.compared:,}</td><td>{q.median:.2f}</td>"
        f"<td>{f'{q.pairs[0].similarity:.2f}' if q.pairs else '-'}</td>"
        f"<td>{len(q.pairs)}</td></tr>\n" for q in questions)
    return ("<table><tr><th>question</th><th>answers</th><th>pairs compared</th>"
            "<th>median</th><th>most similar</th><th>pairs shown</th></tr>\n"
            f"{rows}</table>")


def write_html(path: Path, assignment: str, questions: list, unreadable: dict) -> Path:
    """The page: how to read it, the notebooks that could not be read, every question."""
    title = f"Similar answers: {html.escape(assignment)}"
    intro = ("<p>Pairs of students whose code answers share the most code once the "
             "released stub is removed and names, comments and layout are normalised "
             "(course/similarity/compare.py). A high similarity is a reason to read both answers, "
             "not a finding: compare it with the question's median, which is high for "
             "short questions with one natural answer.</p>\n")
    skipped = "".join(f"<li>{html.escape(s)}: {html.escape(r)}</li>"
                      for s, r in unreadable.items())
    skipped = f"<p>Not compared (unreadable):</p><ul>{skipped}</ul>\n" if skipped else ""
    links = overview_html(questions)
    body = "".join(question_html(q) for q in questions)
    path.write_text(f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}"
                    f"</title><style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
                    f"{intro}{skipped}<p>{links}</p>\n{body}</body></html>\n",
                    encoding="utf-8")
    return path
