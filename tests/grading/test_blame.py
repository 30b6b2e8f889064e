"""Failures blame the right cell (issue 21, item 6), graded by the real grader: the
submission's code in a student process, the verdicts here, on the notebook's case (seed 0).

* the checked function calls another answer that is still the released stub, or that no
  cell defines: the message names that function, its question and its cell, not the
  checked function;
* a check's argument whose cell is still a stub (it raises NotImplementedError before
  binding the name): the message says so, instead of judging what an earlier cell left
  under that name (hw4's model cells all bind ``model``).
"""

import pytest

from course.config import load_grading_config
from course.grade.grader import Grader
from course.grade.plan import load_assignment
from tests.submissions import make_submission, write_submission

HW1, HW4 = "hw1_gradient_descent", "hw4_pytorch_regularization"


def graded(folder, assignment, **patches) -> dict:
    """The rows (check -> CheckResult) of one submission, the source notebook patched."""
    path = write_submission(folder, "student", assignment, make_submission(assignment, **patches))
    grader = Grader(load_assignment(assignment), load_grading_config(), "cpu", [0])
    return {row.check: row for row in grader.grade("student", path).results}


@pytest.fixture(scope="module")
def callee_stub(tmp_path_factory):
    return graded(tmp_path_factory.mktemp("stub"), HW1, stub=["stable_bce_loss"])


@pytest.fixture(scope="module")
def callee_missing(tmp_path_factory):
    return graded(tmp_path_factory.mktemp("missing"), HW1, delete=["stable_bce_loss"])


def test_a_stub_called_by_the_checked_function_is_named_with_its_question(callee_stub):
    message = callee_stub["train_epoch_tests"].message
    assert message.startswith(
        "test_train_epoch failed: train_epoch calls stable_bce_loss, which is not implemented "
        "yet (Question 3.6): its cell stable_bce_loss still raises NotImplementedError"), message
    assert "train_epoch is not written" not in message and "line " not in message
    assert "write stable_bce_loss first" in message
    assert callee_stub["train_epoch_tests"].points == 0


def test_a_stub_reached_through_another_function_names_the_path(callee_stub):
    message = callee_stub["fit_tests"].message
    assert message.startswith("test_fit failed: fit calls stable_bce_loss (through "
                              "train_epoch), which is not implemented yet (Question 3.6)"), message


def test_the_stub_itself_is_still_not_written(callee_stub):
    assert callee_stub["stable_bce_loss_tests"].message.startswith(
        "test_stable_bce_loss failed: stable_bce_loss is not written yet: its cell still "
        "raises NotImplementedError")
    assert callee_stub["bce_loss_tests"].status == "passed"  # nothing else is blamed


def test_a_missing_function_called_by_the_checked_function_is_named(callee_missing):
    message = callee_missing["train_epoch_tests"].message
    assert message.startswith(
        "test_train_epoch failed: train_epoch calls stable_bce_loss, which is not defined "
        "(Question 3.6): cell stable_bce_loss is missing from the submitted notebook"), message
    assert "NameError" in message  # the student's own error, below the headline


def test_a_model_cell_left_as_a_stub_is_not_judged_on_an_earlier_model(tmp_path):
    rows = graded(tmp_path, HW4, stub=["model_dropout"])
    row = rows["model_dropout_tests"]
    assert (row.status, row.points) == ("failed", 0)
    assert row.message == ("test_build failed: `model` is not written yet: its cell "
                           "model_dropout still raises NotImplementedError"), row.message
    assert "LinearZeros" not in row.message and "module 0" not in row.message
    assert rows["model_kaiming_tests"].status == "passed"  # the earlier model cells are fine
