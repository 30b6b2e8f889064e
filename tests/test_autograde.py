"""Real ``nbgrader autograde`` on a class of fixture submissions of the core assignment.

One autograde run grades four students (built from the solved source notebook at test time
by tests/submissions.py); each test then reads that student's scores from the gradebook.
"""

from __future__ import annotations

import csv
import shutil

import pytest
from nbgrader.api import Gradebook

from tests.conftest import nbgrader
from tests.grading.grader_cli import output, run_grader
from tests.submissions import WRONG_DROPOUT, WRONG_MSE, make_submission, write_submission

ASSIGNMENT = "hw4_pytorch_regularization"

# student -> (submission, test cells expected to score 0)
CLASS = {
    "correct": (dict(), set()),
    "few_wrong": (dict(replace={"mse_loss": WRONG_MSE, "dropout": WRONG_DROPOUT}),
                  {"mse_loss_tests", "dropout_tests"}),
    # A wrong answer whose visible test cell the student emptied: nbgrader puts it back.
    "edited_test": (dict(replace={"mse_loss": WRONG_MSE}, edit_tests={"mse_loss_tests": "pass"}),
                    {"mse_loss_tests"}),
    # A wrong answer whose test cell the student deleted: still graded (add_missing_cells).
    "deleted_test": (dict(replace={"dropout": WRONG_DROPOUT}, delete=("dropout_tests",)),
                     {"dropout_tests"}),
}


@pytest.fixture(scope="module")
def autograded(released_course, tmp_path_factory):
    """A copy of the released course with the fixture class submitted and autograded."""
    root = tmp_path_factory.mktemp("autograde") / "course"
    shutil.copytree(released_course, root, ignore=shutil.ignore_patterns("executed"))
    for student, (spec, _) in CLASS.items():
        write_submission(root / "submitted", student, ASSIGNMENT,
                         make_submission(ASSIGNMENT, **spec))
    result = nbgrader("autograde", ASSIGNMENT, "--force", cwd=root)
    return root, result


def scores(root, student):
    """grade_id -> (score, max_score) of each autograded test cell for one student."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        notebook = submission.notebooks[0]
        return {g.name: (g.score, g.max_score) for g in notebook.grades
                if g.cell.cell_type == "code"}


@pytest.mark.parametrize("student", sorted(CLASS))
def test_autograde_scores_exactly_the_wrong_cells_zero(autograded, student):
    root, _ = autograded
    _, expected_zero = CLASS[student]
    got = scores(root, student)
    assert got, f"{student}: no autograded cells in the gradebook"
    zero = {cell for cell, (score, _) in got.items() if score == 0}
    full = {cell for cell, (score, top) in got.items() if score == top}
    assert zero == expected_zero, f"{student}: cells scored 0: {sorted(zero)}"
    assert full | zero == set(got), f"{student}: partial scores {got}"


def test_deleted_test_cell_is_restored_and_graded(autograded):
    root, _ = autograded
    assert "dropout_tests" in scores(root, "deleted_test")
    autograded_nb = root / "autograded" / "deleted_test" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert "test_dropout(Dropout)" in autograded_nb.read_text()


def test_export_and_feedback_work_after_autograde(autograded):
    root, _ = autograded
    nbgrader("export", cwd=root)
    grades_csv = (root / "grades.csv").read_text()
    assert "few_wrong" in grades_csv and ASSIGNMENT in grades_csv
    nbgrader("generate_feedback", ASSIGNMENT, "--force", cwd=root)
    feedback = root / "feedback" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert feedback.exists()


def test_grader_tests_totals_equal_nbgrader_autograde(autograded, tmp_path):
    """The authoritative grader and nbgrader agree on every student's autograded total."""
    root, _ = autograded
    result = run_grader("--submissions", root / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "cpu", "--grades-dir", tmp_path)
    assert result.returncode == 0, output(result)
    totals = {}
    with open(tmp_path / f"{ASSIGNMENT}.csv", newline="") as f:
        for row in csv.DictReader(f):
            totals[row["student_id"]] = totals.get(row["student_id"], 0) + float(row["points"])
    for student in CLASS:
        nbgrader_total = sum(score for score, _ in scores(root, student).values())
        assert totals[student] == pytest.approx(nbgrader_total), student
