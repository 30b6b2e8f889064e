"""``make similarity ASSIGNMENT=a``: the pairs of students whose answers look most alike.

It flags, never decides: a TA reads each flagged pair's code side by side.

Method, per question (a code solution cell, by its nbgrader ``grade_id``):

1. *The stub goes.*  Every line of the cell as released (``release/<a>/<a>.ipynb``: the
   signature, the docstring, ``# YOUR CODE HERE``, ``raise NotImplementedError()``) is
   removed from each student's cell wherever it stands, compared without its indentation;
   what is left is what the student wrote.  A student with nothing left did not answer and
   is not compared.
2. *Names, comments and whitespace are normalised* by copydetect (a maintained library,
   https://github.com/blingenf/copydetect), which tokenizes the code with Pygments' Python
   lexer, drops comments and whitespace, and writes every name as ``V``, a function name
   as ``F``, a class name as ``O`` and a string as ``S``: renaming variables or rewording
   comments changes nothing.
3. *Fingerprints.*  copydetect hashes every ``k``-gram of that text (``--noise``,
   characters of normalised code) and keeps a winnowed subset (``--window``; Schleimer,
   Wilkerson and Aiken, "Winnowing", SIGMOD 2003).  The released cell's own fingerprints
   are removed from every student's (copydetect's *boilerplate*), so what everyone was
   given never counts, even where a student moved it.
4. *What most of the class wrote is ignored*: a fingerprint that more than half of the
   question's answers have (and more than ten of them), or more than 20 of them
   (``--most``), is removed from every answer, as MOSS ignores a passage found in too many
   programs (:mod:`course.similarity.index` says why); an answer with nothing else is the
   common answer and is not compared.
5. *A pair's similarity* is the mean over the two students of the share of each one's
   fingerprinted code that the other has too (copydetect's per-file similarity), from 0
   (nothing shared) to 1 (the same code up to names, comments and layout).
6. *Only pairs that share a fingerprint are compared* (``--method index``, the default):
   an index from each fingerprint to the answers that have it gives them.  Any other pair
   has similarity 0, so the ranking and the median are those of comparing every pair
   (``--method all-pairs``, kept to check it), at a cost that grows with the pairs that
   share something instead of with the square of the class.

Short questions with one natural answer make independent answers alike: each question's
report gives the median similarity over all its pairs, the level to compare a flagged pair
with.  :mod:`course.similarity.report` writes ``similarity/<a>.csv`` and ``.html``.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from course.config import ROOT, assignments
from course.notebooks import NotebookError, cell_kind, grade_id, load_notebook
from course.similarity.index import (COMMON, MOST, all_pairs, candidate_pairs, drop_common,
                                     median_with_zeros)

NOISE = 12       # k: shortest run of normalised code that counts as shared (characters)
WINDOW = 1       # winnowing window: 1 keeps every k-gram (solution cells are short)
TOP = 10         # pairs reported per question
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # nbgrader's code stub


class SimilarityError(Exception):
    """The command cannot run: a bad assignment name, no submissions, no released notebook."""


@dataclass
class Answer:
    """One student's code for one question, stub removed, and its fingerprints."""

    student: str
    code: str
    fingerprint: object = None  # copydetect.CodeFingerprint


@dataclass
class Pair:
    """Two students' answers to one question, and how much of them they share."""

    question: str
    a: Answer
    b: Answer
    similarity: float
    similarity_a: float
    similarity_b: float
    shared: int                  # characters of normalised code in shared fingerprints
    slices_a: list = field(default_factory=list)  # (start, end) of shared code in a.code
    slices_b: list = field(default_factory=list)


@dataclass
class Question:
    """One question's answers, its most similar pairs, and the class's typical level."""

    name: str
    answers: list
    pairs: list          # the most similar pairs, most similar first
    median: float        # median similarity over every pair of answers
    compared: int        # pairs compared (the others share no fingerprint: similarity 0)
    distinct: int = 0    # answers with code beyond what most of the class wrote


# --------------------------------------------------------------------------- reading


def check_assignment(assignment: str, root: Path) -> None:
    """A SimilarityError unless ``assignment`` is one of the course's."""
    names = assignments(root)
    if assignment not in names:
        raise SimilarityError(f"no assignment {assignment!r}; the course's are: "
                              f"{', '.join(names)}")


def student_notebooks(submissions: Path, assignment: str) -> dict:
    """student -> notebook path, for every student folder holding ``assignment``'s notebook;
    a SimilarityError when there is none."""
    expected = f"{submissions}/<student>/{assignment}/{assignment}.ipynb"
    if not submissions.is_dir():
        raise SimilarityError(f"no submissions folder {submissions}/ (expected {expected})")
    found = {}
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        path = folder / assignment / f"{assignment}.ipynb"
        if not folder.name.startswith(".") and path.is_file():
            found[folder.name] = path
    if not found:
        raise SimilarityError(f"no submissions of {assignment} in {submissions}/ (expected "
                              f"{expected})")
    return found


def read_class(notebooks: dict, progress: bool = False) -> tuple[dict, dict]:
    """(student -> their solution cells, student -> why their notebook could not be read);
    ``progress``: a bar on stderr."""
    from tqdm import tqdm

    cells, unreadable = {}, {}
    for student, path in tqdm(notebooks.items(), desc="reading notebooks", unit="student",
                              file=sys.stderr, disable=not progress, dynamic_ncols=True):
        try:
            cells[student] = solution_cells(path)
        except NotebookError as error:
            unreadable[student] = str(error)
    return cells, unreadable


def solution_cells(path: Path) -> dict:
    """grade_id -> source of the notebook's code solution cells (cells that share a
    grade_id are joined)."""
    cells: dict = {}
    for cell in load_notebook(path).cells:
        gid = grade_id(cell)
        if gid and cell_kind(cell) == "solution" and isinstance(cell.get("source"), str):
            cells[gid] = (cells[gid] + "\n" + cell.source) if gid in cells else cell.source
    return cells


def released_cells(release: Path, assignment: str) -> dict:
    """grade_id -> the released stub of each code solution cell; a SimilarityError when the
    released notebook is missing."""
    path = release / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise SimilarityError(f"{path} not found: the released stubs are removed from each "
                              f"answer (run make release)")
    return solution_cells(path)


def without_stub(code: str, stub: str) -> str:
    """``code`` without the lines of ``stub`` (and of nbgrader's own stub), each compared
    without its indentation; blank lines go too."""
    given = {line.strip() for line in (stub + "\n" + STUB).splitlines()}
    kept = [line for line in code.splitlines() if line.strip() and line.strip() not in given]
    return "\n".join(kept)


# --------------------------------------------------------------------------- comparing


def fingerprint(code: str, noise: int, window: int, boilerplate=None):
    """copydetect's fingerprints of ``code`` (Python), less those in ``boilerplate``."""
    from copydetect import CodeFingerprint

    return CodeFingerprint("answer.py", noise, window, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(code))


def answers_to(question: str, cells: dict, stub: str, noise: int, window: int) -> list:
    """The students' answers to ``question`` (student -> their solution cells), with
    fingerprints; students who did not answer it are left out."""
    import numpy as np

    boilerplate = np.array(sorted(fingerprint(stub + "\n" + STUB, noise, window).hashes))
    answers = []
    for student, by_id in cells.items():
        code = without_stub(by_id.get(question, ""), stub)
        if not code:
            continue
        prints = fingerprint(code, noise, window, boilerplate)
        if prints.token_coverage > 0:
            answers.append(Answer(student, code, prints))
    return answers


def compare(question: str, a: Answer, b: Answer) -> Pair:
    """How much of ``a`` and ``b`` is shared (copydetect's compare_files)."""
    from copydetect import compare_files

    shared, (sim_a, sim_b), (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
    return Pair(question, a, b, (float(sim_a) + float(sim_b)) / 2, float(sim_a), float(sim_b),
                int(shared), _spans(slices_a), _spans(slices_b))


def _spans(slices) -> list:
    """copydetect's 2 x n array of slice starts and ends as a list of (start, end)."""
    if len(slices) == 0 or len(slices[0]) == 0:
        return []
    return [(int(start), int(end)) for start, end in zip(slices[0], slices[1])]


def pairs_to_compare(answers: list, method: str = "index") -> tuple[list, list]:
    """(``answers`` ordered by student, the pairs (i, j) of them to compare): those that
    :mod:`course.similarity.index` finds (``method`` "index") or every pair
    ("all-pairs")."""
    ordered = sorted(answers, key=lambda x: x.student)
    return ordered, (candidate_pairs if method == "index" else all_pairs)(ordered)


def rank_question(question: str, answers: list, top: int, bar=None, method: str = "index",
                  chosen: tuple | None = None) -> Question:
    """The pairs :func:`pairs_to_compare` gives (``chosen``, when already computed),
    compared; the ``top`` most similar that share something kept, most similar first (ties
    by student names).
    Both methods give the same pairs and median: a pair the index leaves out shares no
    fingerprint, and its similarity is 0."""
    ordered, chosen = chosen or pairs_to_compare(answers, method)
    pairs = []
    for i, j in chosen:
        pairs.append(compare(question, ordered[i], ordered[j]))
        if bar is not None:
            bar.update(1)
    pairs.sort(key=lambda p: (-p.similarity, p.a.student, p.b.student))
    every = len(ordered) * (len(ordered) - 1) // 2
    median = median_with_zeros([p.similarity for p in pairs], every - len(pairs))
    shared = [p for p in pairs[:top] if p.similarity > 0]  # never a row of nothing
    return Question(question, answers, shared, median, len(pairs))


def similarity(assignment: str, submissions: Path, release: Path, top: int = TOP,
               noise: int = NOISE, window: int = WINDOW, progress: bool = True,
               root: Path = ROOT, method: str = "index", common: float = COMMON,
               most: int = MOST) -> tuple[list, dict]:
    """Each question's most similar pairs, and the notebooks that could not be read
    (student -> reason).  ``method``: "index" (pairs that share a fingerprint) or
    "all-pairs"; ``common`` and ``most``: the share of a question's answers, and their
    number, above which a fingerprint is ignored (:mod:`course.similarity.index`)."""
    from tqdm import tqdm

    check_assignment(assignment, root)
    stubs = released_cells(release, assignment)
    cells, unreadable = read_class(student_notebooks(submissions, assignment), progress)
    answers = {}
    for q, stub in tqdm(stubs.items(), desc="fingerprinting", unit="question",
                        file=sys.stderr, disable=not progress, dynamic_ncols=True):
        found = answers_to(q, cells, stub, noise, window)
        answers[q] = (found, drop_common(found, common, most))
    chosen = {q: pairs_to_compare(kept, method) for q, (_, kept) in answers.items()}
    questions = []
    with tqdm(total=sum(len(c[1]) for c in chosen.values()), desc=f"comparing {assignment}",
              unit="pair", file=sys.stderr, disable=not progress, dynamic_ncols=True) as bar:
        for question, (found, kept) in answers.items():
            ranked = rank_question(question, kept, top, bar, method, chosen[question])
            ranked.answers, ranked.distinct = found, len(kept)
            questions.append(ranked)
    return questions, unreadable


# --------------------------------------------------------------------------- command


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m course.similarity",
        description="Pairs of students with similar solution cells, per question: "
                    "similarity/<a>.csv and .html.  It flags; a TA decides.")
    parser.add_argument("assignment")
    parser.add_argument("--submissions", type=Path, default=Path("submitted"),
                        help="one folder per student (default: submitted)")
    parser.add_argument("--release", type=Path, default=Path("release"),
                        help="the released notebooks, whose stubs are removed (default: "
                             "release)")
    parser.add_argument("--out", type=Path, default=Path("similarity"),
                        help="where the reports go (default: similarity)")
    parser.add_argument("--top", type=int, default=TOP, help=f"pairs per question ({TOP})")
    parser.add_argument("--noise", type=int, default=NOISE,
                        help=f"k-gram length in normalised characters ({NOISE})")
    parser.add_argument("--window", type=int, default=WINDOW,
                        help=f"winnowing window ({WINDOW}: every k-gram)")
    parser.add_argument("--method", choices=("index", "all-pairs"), default="index",
                        help="index: compare the pairs that share a fingerprint (default); "
                             "all-pairs: every pair (slow; the same result)")
    parser.add_argument("--common", type=float, default=COMMON,
                        help=f"ignore a fingerprint more than this share of a question's "
                             f"answers have ({COMMON}; 1: none ignored for that)")
    parser.add_argument("--most", type=int, default=MOST,
                        help=f"ignore a fingerprint more answers than this have ({MOST})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """The command: compare, write both reports, print where they are."""
    from course.similarity.report import write_csv, write_html

    args = parse_args(argv)
    try:
        questions, unreadable = similarity(args.assignment, args.submissions, args.release,
                                           args.top, args.noise, args.window,
                                           not args.no_progress, method=args.method,
                                           common=args.common, most=args.most)
    except SimilarityError as error:
        print(f"make similarity: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    written = [write_csv(args.out / f"{args.assignment}.csv", questions),
               write_html(args.out / f"{args.assignment}.html", args.assignment, questions,
                          unreadable)]
    for student, reason in unreadable.items():
        print(f"not compared: {student}: {reason}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")
    return 0
