"""A synthetic class of the core assignment, of any size, for ``make bench-scale``.

Each student is drawn (with a fixed seed, so the class of 200 is the first 200 students of
the class of 1,000) as one of

* *honest* (about half): each answer one of the honest ways to write it (the course's own
  solution, and the independent ones of ``tests/grading/honest_answers.py``);
* *wrong*: honest, then one or three of the realistic wrong answers of the fixture class
  (:func:`course.bench.grading_speed.variants`: a broadcasting MSE, a variance-scaled init,
  early stopping on ties, ...) or the notebook handed in unanswered;
* *copier* (one in twelve): an earlier student's answers, copied, with the comments and
  blank lines changed: the pairs ``make similarity`` must find.

Names and layouts vary: student ids of several shapes (``ana.garcia7``, ``LEE_M``,
``u4821093``), a line or two of the student's own in each answer (a constant, a comment,
blank lines, as people write them), and, for some, files beside the notebook (notes, an
``.ipynb_checkpoints`` copy) as students hand them in.
"""

from __future__ import annotations

import copy
import random
import shutil
from pathlib import Path

ASSIGNMENT = "hw4_pytorch_regularization"
SEED = 20261207
FIRST = ("ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kemal",
         "lena", "mo", "nia", "oscar", "priya", "quinn", "rosa", "sven", "tariq", "uma", "vik",
         "wen", "xena", "yusuf", "zoe")
LAST = ("garcia", "lee", "smith", "nguyen", "okafor", "muller", "rossi", "kowalski", "tanaka",
        "silva", "haddad", "novak", "dubois", "ivanova", "moreau", "olsen")
COMMENTS = ("# my answer", "# TODO: tidy up", "# checked on the small example",
            "# see the lecture notes", "# works for me", "# second attempt")


def student_ids(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct student ids of the shapes a registrar hands out."""
    ids: list[str] = []
    while len(ids) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        shape = rng.randrange(4)
        name = (f"{first}.{last}{rng.randrange(100)}", f"{last.upper()}_{first[0].upper()}"
                f"{rng.randrange(10)}", f"u{rng.randrange(10**6, 10**7)}",
                f"{first}-{last}")[shape]
        if name not in ids:
            ids.append(name)
    return ids


def honest_answers() -> dict[str, list[str]]:
    """question -> the honest ways to answer it (the course's solution first)."""
    from course.notebooks import cell_kind, grade_id
    from tests.grading.honest_answers import CARA, DEV, ELI_MSE  # BEN copies the solution
    from tests.submissions import solution_of, source_notebook

    questions = [grade_id(c) for c in source_notebook(ASSIGNMENT).cells
                 if cell_kind(c) == "solution"]
    ways = {q: [solution_of(ASSIGNMENT, q)] for q in questions}
    for others in (CARA, DEV, {"mse_loss": ELI_MSE}):
        for question, code in others.items():
            ways[question].append(code)
    return ways


def personal(code: str, rng: random.Random) -> str:
    """``code`` as one student writes it: a constant of their own, a comment, blank lines."""
    name = rng.choice(("scale", "tolerance", "check_value", "offset", "magic"))
    line = f"{name}_{rng.randrange(100)} = {rng.randrange(100, 9999)} * {rng.randrange(2, 99)}"
    lines = code.rstrip("\n").split("\n")
    if rng.random() < 0.5:
        lines.insert(0, rng.choice(COMMENTS))
    if rng.random() < 0.3:
        lines.append("")
    return "\n".join([line, ""] + lines) + "\n"


def restyled(code: str, rng: random.Random) -> str:
    """A copied answer with the comments and blank lines changed (the code itself kept)."""
    kept = [line for line in code.split("\n") if not line.lstrip().startswith("#")]
    if rng.random() < 0.5:
        kept.insert(0, rng.choice(COMMENTS))
    return "\n".join(kept) + ("\n\n" if rng.random() < 0.5 else "\n")


def class_plan(count: int, seed: int = SEED) -> list[dict]:
    """``count`` students: ``student``, ``kind`` (honest, a wrong variant's name, or
    ``copy of <student>``), ``answers`` (question -> code) or ``stub`` (unanswered),
    ``extra`` (files beside the notebook)."""
    from course.bench.grading_speed import variants

    rng = random.Random(seed)
    ways, wrong = honest_answers(), variants()
    plan: list[dict] = []
    for student in student_ids(count, rng):
        extra = {"notes.txt": "my notes\n"} if rng.random() < 0.1 else {}
        if plan and rng.random() < 1 / 12:
            source = rng.choice(plan[-50:])
            plan.append({"student": student, "kind": f"copy of {source['student']}",
                         "stub": source["stub"], "extra": extra,
                         "answers": {q: restyled(c, rng) for q, c in source["answers"].items()}})
            continue
        answers = {q: personal(rng.choice(codes), rng) for q, codes in ways.items()}
        kind, patches = ("honest", {}) if rng.random() < 0.5 else rng.choice(wrong)
        answers.update({q: personal(c, rng) for q, c in patches.get("replace", {}).items()})
        plan.append({"student": student, "kind": kind, "answers": answers,
                     "stub": bool(patches.get("stub")), "extra": extra})
    return plan


def build(folder: Path, count: int, source_root: Path, seed: int = SEED) -> dict[str, str]:
    """Write the class's ``count`` submissions into ``folder`` (``<student>/<a>/<a>.ipynb``);
    returns student -> kind."""
    import nbformat

    from course.notebooks import grade_id
    from tests.submissions import make_submission

    correct = make_submission(ASSIGNMENT, source_root=source_root)
    unanswered = make_submission(ASSIGNMENT, source_root=source_root, stub=True)
    kinds = {}
    for student in class_plan(count, seed):
        nb = copy.deepcopy(unanswered if student["stub"] else correct)
        if not student["stub"]:
            for cell in nb.cells:
                if grade_id(cell) in student["answers"]:
                    cell.source = student["answers"][grade_id(cell)]
        target = folder / student["student"] / ASSIGNMENT
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target / f"{ASSIGNMENT}.ipynb"))
        for name, text in student["extra"].items():
            (target / name).write_text(text)
        kinds[student["student"]] = student["kind"]
    return kinds


def subset(pool: Path, folder: Path, students: list[str]) -> None:
    """Copy ``students``' folders of ``pool`` into ``folder`` (a smaller class, the same mix)."""
    folder.mkdir(parents=True, exist_ok=True)
    for student in students:
        shutil.copytree(pool / student, folder / student)
