"""course/autograde/cases.py: the autograded test cell (what a TA sees in the formgrader)
shows the cases that ran, in place of the source's hidden tests; feedback shows none of it."""

from __future__ import annotations

import copy

import nbformat

from course.autograde.cases import show_cases
from course.autograde.preprocessors import HideHiddenTests
from course.grade.grader import CheckResult, StudentGrade
from course.grade.plan import load_assignment
from course.notebooks import grade_id
from tests.sandbox.attack_class import hidden_lines
from tests.submissions import REPO, source_notebook

A = "hw4_pytorch_regularization"
SEEDS = [0, 1357, 2468]


def shown(rows: dict) -> dict:
    """grade id -> the test cell's source after show_cases, for a grade whose checks pass
    but those of ``rows`` (check -> (status, case seed))."""
    plan = load_assignment(A, REPO / "source")
    results = [CheckResult("ada", c.grade_id, 0 if c.grade_id in rows else c.points, c.points,
                           rows.get(c.grade_id, ("passed", None))[0], "why",
                           rows.get(c.grade_id, ("passed", None))[1])
               for c in plan.checks]
    nb = copy.deepcopy(source_notebook(A))  # test cells as restored, hidden tests included
    show_cases(nb, StudentGrade("ada", results), plan.checks, SEEDS, A)
    return nb, {grade_id(c): c.source for c in nb.cells if grade_id(c)}


def test_the_cases_that_ran_replace_the_hidden_tests():
    nb, cells = shown({"dropout_tests": ("failed", 1357), "mse_loss_tests": ("failed", 0)})
    text = nbformat.writes(nb)
    assert not [line for line in hidden_lines(source_notebook(A)) if line in text]
    dropout = cells["dropout_tests"].splitlines()
    assert dropout[0] == "test_dropout(Dropout)"
    assert "#   visible: test_dropout(Dropout)  -> passed" in dropout
    assert "#   hidden, seed 1357: test_dropout(Dropout, seed=1357)  -> FAILED: this case " \
           "decided the check" in dropout
    assert "#   hidden, seed 2468: test_dropout(Dropout, seed=2468)  -> not judged (an " \
           "earlier case decided)" in dropout
    assert f"# rerun exactly that case: python -m course.grade {A} --students ada --seeds " \
           f"1357 --grades-dir rerun-ada" in dropout
    assert "#   visible: test_mse_loss(mse_loss)  -> FAILED: this case decided the check" \
        in cells["mse_loss_tests"]
    assert "seed 1357: test_normal(LinearNormal, seed=1357)  -> passed" \
        in cells["linear_normal_tests"]


def test_feedback_shows_none_of_it():
    nb, _ = shown({"dropout_tests": ("failed", 1357)})
    nb, _ = HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert "What grading ran" not in text and "seed=1357" not in text
