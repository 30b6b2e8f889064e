"""Every assignment end to end on both grading paths: a correct and a blank student.

The correct student is the solved notebook without its demo cells (a student may drop them;
it keeps the run short); the blank student hands in the release stub untouched. nbgrader
autograde must give full and zero autograded points, and grader_tests, on the same seeds,
the same points and messages for every check.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.config import assignments
from course.grade.grader import draw_seeds
from course.notebooks import cell_kind
from tests.conftest import nbgrader
from tests.engine_agreement import disagreements
from tests.grading.grader_cli import output, run_grader
from tests.submissions import make_submission, write_submission

CORE = "hw4_pytorch_regularization"  # graded in depth by tests/test_autograde.py


def autograded_totals(root, assignment) -> dict:
    """student -> (score, max score) over the autograded test cells."""
    totals = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in ("correct", "blank"):
            grades = [g for g in gb.find_submission(assignment, student).notebooks[0].grades
                      if g.cell.cell_type == "code"]
            totals[student] = (sum(g.score for g in grades), sum(g.max_score for g in grades))
    return totals


@pytest.mark.parametrize("assignment", [a for a in assignments() if a != CORE])
def test_correct_scores_full_and_blank_zero_on_both_paths(released_course, tmp_path,
                                                          assignment):
    root = tmp_path / "course"
    shutil.copytree(released_course, root, ignore=shutil.ignore_patterns("executed"))
    solved = make_submission(assignment)
    solved.cells = [c for c in solved.cells if cell_kind(c) != "demo"]
    blank = nbformat.read(str(root / "release" / assignment / f"{assignment}.ipynb"), 4)
    for student, nb in (("correct", solved), ("blank", blank)):
        write_submission(root / "submitted", student, assignment, nb)

    seeds = draw_seeds(2)
    nbgrader("autograde", assignment, "--force", f"--EngineExecute.seeds={seeds}", cwd=root)
    totals = autograded_totals(root, assignment)
    score, top = totals["correct"]
    assert top > 0 and score == top, totals
    assert totals["blank"][0] == 0, totals

    result = run_grader("--submissions", root / "submitted", "--assignment", assignment,
                        "--device", "cpu", "--grades-dir", tmp_path / "grades",
                        "--seeds", ",".join(map(str, seeds)))
    assert result.returncode == 0, output(result)
    assert not disagreements(root, assignment, tmp_path / "grades" / f"{assignment}.csv")
