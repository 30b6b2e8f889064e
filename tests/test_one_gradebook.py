"""gradebook.db is the one record: after any grading command, ``make export`` reads every
grade from it, a TA's scores and overrides included; a regrade by any command
(``make grade STUDENTS=...``, ``nbgrader autograde --student``, ``make autograde --student``)
replaces the autograded scores and keeps every manual score, comment and override.

The TA's work is written as the formgrader writes it: ``Grade.manual_score`` and
``Comment.manual_comment`` through ``nbgrader.api.Gradebook``.  The class is
tests/test_parallel_autograde.py's (graded once per session by ``make autograde``).
"""

from __future__ import annotations

import csv
import shutil
import sys

import pytest
from nbgrader.api import Gradebook

from tests.conftest import nbgrader, run
from tests.test_parallel_autograde import ASSIGNMENT as A, COURSE_ID, SEEDS, graded  # noqa: F401

STUDENT = "few_wrong"  # the engine gives it 0 on mse_loss_tests (1 pt) and dropout_tests (2)
AUTOGRADED = 21 - 3


def ta_grades(root) -> None:
    """A written answer graded 1.5/2 with a comment; an autograded check overridden 0 -> 1."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        gb.find_grade("q4_answer", A, A, STUDENT).manual_score = 1.5
        gb.find_comment("q4_answer", A, A, STUDENT).manual_comment = "half the argument"
        gb.find_grade("dropout_tests", A, A, STUDENT).manual_score = 1
        gb.db.commit()


def ta_work(root) -> tuple:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        dropout = gb.find_grade("dropout_tests", A, A, STUDENT)
        return (gb.find_grade("q4_answer", A, A, STUDENT).manual_score,
                gb.find_comment("q4_answer", A, A, STUDENT).manual_comment,
                dropout.manual_score, dropout.auto_score)


def make_export(root) -> tuple[dict, str]:
    """``make export``'s command in the course: the LMS rows by student, and its output."""
    result = run([sys.executable, "-m", "course.export", A], cwd=root)
    with open(root / "grades" / f"{A}-lms.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}, result.stdout


@pytest.fixture(scope="module")
def journey(graded, tmp_path_factory):
    """The class after make autograde and a TA's work, then regraded by each command; the
    export and the TA's work after each step."""
    root = tmp_path_factory.mktemp("one-gradebook") / "course"
    shutil.copytree(graded[2][0], root)
    ta_grades(root)
    steps = {"make autograde": (make_export(root), ta_work(root))}
    run([sys.executable, "-m", "course.grade", A, "--submissions", "submitted", "--students",
         STUDENT, "--seeds", SEEDS, "--device", "cpu", "--workers", "1"], cwd=root)
    steps["make grade"] = (make_export(root), ta_work(root))
    nbgrader("autograde", A, "--force", f"--student={STUDENT}",
             f"--EngineExecute.seeds=[{SEEDS}]", cwd=root)
    steps["nbgrader autograde"] = (make_export(root), ta_work(root))
    run([sys.executable, "-m", "course.autograde", A, "--root", str(root), "--student",
         STUDENT, "--force", "--seeds", SEEDS, "--workers", "1"], cwd=root)
    steps["make autograde again"] = (make_export(root), ta_work(root))
    return steps


@pytest.mark.parametrize("step", ["make autograde", "make grade", "nbgrader autograde",
                                  "make autograde again"])
def test_export_has_the_overrides_and_manual_scores_after_each_command(journey, step):
    (rows, printed), work = journey[step]
    mine = rows[STUDENT]
    assert float(mine["dropout_tests"]) == 1 and float(mine["q4_answer"]) == 1.5
    assert float(mine["autograded"]) == AUTOGRADED + 1
    assert float(mine["manual"]) == 1.5 and float(mine["total"]) == AUTOGRADED + 2.5
    assert float(rows["correct"]["total"]) == 21
    assert f"{STUDENT} dropout_tests: 0 -> 1" in printed
    command = step.removesuffix(" again")
    assert mine["graded_by"].split(" (")[1].startswith(f"{command}, "), mine["graded_by"]
    assert rows["correct"]["graded_by"].split(" (")[1].startswith("make autograde, ")


@pytest.mark.parametrize("step", ["make grade", "nbgrader autograde", "make autograde again"])
def test_a_regrade_keeps_every_manual_score_comment_and_override(journey, step):
    assert journey[step][1] == (1.5, "half the argument", 1, 0)  # auto_score: the engine's
