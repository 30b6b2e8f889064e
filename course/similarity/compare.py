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
4. *A pair's similarity* is the mean over the two students of the share of each one's
   fingerprinted code that the other has too (copydetect's per-file similarity), from 0
   (nothing shared) to 1 (the same code up to names, comments and layout).

Short questions with one natural answer make independent answers alike: each question's
report gives the median similarity over all its pairs, the level to compare a flagged pair
with.  :mod:`course.similarity.report` writes ``similarity/<a>.csv`` and ``.html``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from course.config import ROOT, assignments
from course.notebooks import NotebookError, cell_kind, grade_id, load_notebook

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
    compared: int        # pairs compared


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


def read_class(notebooks: dict) -> tuple[dict, dict]:
    """(student -> their solution cells, student -> why their notebook could not be read)."""
    cells, unreadable = {}, {}
    for student, path in notebooks.items():
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


def rank_question(question: str, answers: list, top: int, bar=None) -> Question:
    """Every pair of ``answers`` compared; the ``top`` most similar kept, most similar
    first (ties by student names)."""
    pairs = []
    for a, b in combinations(sorted(answers, key=lambda x: x.student), 2):
        pairs.append(compare(question, a, b))
        if bar is not None:
            bar.update(1)
    pairs.sort(key=lambda p: (-p.similarity, p.a.student, p.b.student))
    median = statistics.median(p.similarity for p in pairs) if pairs else 0.0
    return Question(question, answers, pairs[:top], median, len(pairs))


def similarity(assignment: str, submissions: Path, release: Path, top: int = TOP,
               noise: int = NOISE, window: int = WINDOW, progress: bool = True,
               root: Path = ROOT) -> tuple[list, dict]:
    """Each question's most similar pairs, and the notebooks that could not be read
    (student -> reason)."""
    from tqdm import tqdm

    check_assignment(assignment, root)
    stubs = released_cells(release, assignment)
    cells, unreadable = read_class(student_notebooks(submissions, assignment))
    answers = {q: answers_to(q, cells, stub, noise, window) for q, stub in stubs.items()}
    total = sum(len(a) * (len(a) - 1) // 2 for a in answers.values())
    questions = []
    with tqdm(total=total, desc=f"comparing {assignment}", unit="pair", file=sys.stderr,
              disable=not progress, dynamic_ncols=True) as bar:
        for question, found in answers.items():
            questions.append(rank_question(question, found, top, bar))
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """The command: compare, write both reports, print where they are."""
    from course.similarity.report import write_csv, write_html

    args = parse_args(argv)
    try:
        questions, unreadable = similarity(args.assignment, args.submissions, args.release,
                                           args.top, args.noise, args.window,
                                           not args.no_progress)
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
