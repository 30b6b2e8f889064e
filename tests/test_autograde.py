"""Real ``nbgrader autograde`` on a class of fixture submissions of the core assignment.

One autograde run grades four students (built from the solved source notebook at test time
by tests/submissions.py); each test then reads that student's scores from the gradebook.
``make grade``'s command grades the same class on the same seeds: the same points per check
and the same messages (one engine, two front ends).
"""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.grade.grader import draw_seeds
from course.notebooks import cell_kind, grade_id
from tests.conftest import nbgrader
from tests.engine_agreement import disagreements
from tests.grading import added_cells_class as added
from tests.grading.grader_cli import output, run_grader
from tests.grading.fixture_class import DROPOUT_UNSCALED_EVAL
from tests.submissions import WRONG_DROPOUT, WRONG_MSE, make_submission, write_submission

ASSIGNMENT = "hw4_pytorch_regularization"

# student -> (submission, test cells expected to score 0)
CLASS = {
    # A Dropout right in training mode and wrong in eval mode: partial credit (PARTIAL).
    "partial_dropout": (dict(replace={"dropout": DROPOUT_UNSCALED_EVAL}), set()),
    "correct": (dict(), set()),
    "few_wrong": (dict(replace={"mse_loss": WRONG_MSE, "dropout": WRONG_DROPOUT}),
                  {"mse_loss_tests", "dropout_tests"}),
    # A wrong answer whose visible test cell the student emptied: nbgrader puts it back.
    "edited_test": (dict(replace={"mse_loss": WRONG_MSE}, edit_tests={"mse_loss_tests": "pass"}),
                    {"mse_loss_tests"}),
    # A wrong answer whose test cell the student deleted: still graded (add_missing_cells).
    "deleted_test": (dict(replace={"dropout": WRONG_DROPOUT}, delete=("dropout_tests",)),
                     {"dropout_tests"}),
    # A helper function, an import, a constant and a subclass in cells the student added,
    # each used by an answer: full points, as in the notebook.
    "added_helpers": (added.STUDENTS["helpers"], added.ZERO["helpers"]),
    # Wrong answers after added cells that redefine setup data and checkers: still 0.
    "added_redefiner": (added.STUDENTS["redefiner"], added.ZERO["redefiner"]),
}

# (student, test cell) -> the partial credit nbgrader stores (the engine's points)
PARTIAL = {("partial_dropout", "dropout_tests"): 1.4}


@pytest.fixture(scope="module")
def autograded(released_course, tmp_path_factory):
    """A copy of the released course with the fixture class submitted and autograded."""
    root = tmp_path_factory.mktemp("autograde") / "course"
    shutil.copytree(released_course, root, ignore=shutil.ignore_patterns("executed"))
    for student, (spec, _) in CLASS.items():
        write_submission(root / "submitted", student, ASSIGNMENT,
                         make_submission(ASSIGNMENT, **spec))
    seeds = draw_seeds(2)
    result = nbgrader("autograde", ASSIGNMENT, "--force", f"--EngineExecute.seeds={seeds}",
                      cwd=root)
    return root, result, seeds


def scores(root, student):
    """grade_id -> (score, max_score) of each autograded test cell for one student."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        notebook = submission.notebooks[0]
        return {g.name: (g.score, g.max_score) for g in notebook.grades
                if g.cell.cell_type == "code"}


@pytest.mark.parametrize("student", sorted(CLASS))
def test_autograde_scores_exactly_the_wrong_cells_zero(autograded, student):
    root, _, _ = autograded
    _, expected_zero = CLASS[student]
    got = scores(root, student)
    assert got, f"{student}: no autograded cells in the gradebook"
    zero = {cell for cell, (score, _) in got.items() if score == 0}
    full = {cell for cell, (score, top) in got.items() if score == top}
    partial = {cell: score for cell, (score, top) in got.items() if 0 < score < top}
    assert zero == expected_zero, f"{student}: cells scored 0: {sorted(zero)}"
    assert partial == {cell: points for (who, cell), points in PARTIAL.items()
                       if who == student}, f"{student}: partial scores {partial}"
    assert full | zero | set(partial) == set(got)


def test_deleted_test_cell_is_restored_and_graded(autograded):
    root, _, _ = autograded
    assert "dropout_tests" in scores(root, "deleted_test")
    autograded_nb = root / "autograded" / "deleted_test" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert "test_dropout(Dropout)" in autograded_nb.read_text()


def test_export_and_feedback_work_after_autograde(autograded):
    root, _, _ = autograded
    nbgrader("export", cwd=root)
    grades_csv = (root / "grades.csv").read_text()
    assert "few_wrong" in grades_csv and ASSIGNMENT in grades_csv
    result = nbgrader("generate_feedback", ASSIGNMENT, "--force", cwd=root)
    feedback = root / "feedback" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert feedback.exists()
    # make feedback's progress (course/autograde/progress.py): a line per student, an ETA
    written = sorted(p.parent.parent.name for p in (root / "feedback").glob("*/*/*.html"))
    lines = re.findall(r"\[(\d+)/(\d+)\] (\S+)  feedback  [\d.]+ s  (ETA|done in) ",
                       result.stderr)
    assert [who for _, _, who, _ in lines] == written, result.stderr[-3000:]
    assert [end for *_, end in lines] == ["ETA"] * (len(written) - 1) + ["done in"]


def test_make_grade_gives_the_same_points_and_messages(autograded, tmp_path):
    """make grade's command on the same class and seeds: every check's points and message
    equal what nbgrader autograde stored."""
    root, _, seeds = autograded
    result = run_grader("--submissions", root / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "cpu", "--grades-dir", tmp_path,
                        "--seeds", ",".join(map(str, seeds)))
    assert result.returncode == 0, output(result)
    assert not disagreements(root, ASSIGNMENT, tmp_path / f"{ASSIGNMENT}.csv")


CHECKSUM_WARNING = re.compile(r"Attribute 'checksum' for cell (\S+) has changed!")


def test_honest_work_raises_no_alarm_and_an_edited_test_cell_does(autograded):
    """A fresh gradebook (each submission created): no SQLAlchemy warning, and a checksum
    warning only for the test cell a student edited, which is graded as released."""
    root, result, _ = autograded
    assert "SAWarning" not in result.stderr, result.stderr[-3000:]
    assert CHECKSUM_WARNING.findall(result.stderr) == ["mse_loss_tests"], result.stderr[-3000:]
    path = root / "autograded" / "edited_test" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    restored = next(c.source for c in nbformat.read(str(path), 4).cells
                    if grade_id(c) == "mse_loss_tests")
    assert "test_mse_loss(mse_loss)" in restored and "BEGIN HIDDEN TESTS" in restored


def test_autograde_logs_one_line_per_student_with_a_count_and_an_eta(autograded):
    """[k/n] student  graded p/q  s  ETA ..., in nbgrader's order; the last says done."""
    _, result, _ = autograded
    lines = re.findall(r"\[(\d+)/(\d+)\] (\S+)  graded (\S+)/21  [\d.]+ s  (ETA|done in) ",
                       result.stderr)
    students = sorted(CLASS)
    assert [(int(k), int(n), who) for k, n, who, _, _ in lines] == \
        [(k, len(students), who) for k, who in enumerate(students, 1)], result.stderr[-3000:]
    assert [end for *_, end in lines] == ["ETA"] * (len(students) - 1) + ["done in"]
    assert dict((who, float(p)) for _, _, who, p, _ in lines)["correct"] == 21


def test_the_run_is_recorded_in_the_autograded_notebook(autograded):
    root, _, seeds = autograded
    path = root / "autograded" / "correct" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    record = nbformat.read(str(path), 4).metadata["course_grading"]
    assert record["seeds"] == seeds and record["device"] == "cpu"
    assert record["demo_cells"] == "skip"
    from course.sandbox.isolation import isolation  # the sandbox that ran, as measured here

    assert record["isolation"] == isolation().as_dict()


def quick(nb):
    """The notebook with its training runs dropped (the other demo cells kept)."""
    nb.cells = [c for c in nb.cells
                if cell_kind(c) != "demo" or "gradient_descent" not in c.source]
    return nb


def test_demo_cells_run_in_the_kernel_when_asked_and_change_no_grade(autograded, tmp_path):
    """demo_cells = "run": the kernel runs the demo cells (their outputs are in the
    autograded notebook), the test cells still show the engine's verdicts, and the points
    are those of the default "skip"."""
    root, _, seeds = autograded
    course = tmp_path / "course"
    shutil.copytree(root, course, ignore=shutil.ignore_patterns("autograded", "feedback",
                                                                 "submitted"))
    for student in ("correct", "few_wrong"):
        spec, _ = CLASS[student]
        write_submission(course / "submitted", student, ASSIGNMENT,
                         quick(make_submission(ASSIGNMENT, **spec)))
    nbgrader("autograde", ASSIGNMENT, "--force", f"--EngineExecute.seeds={seeds}",
             "--EngineExecute.demo_cells=run", cwd=course)
    for student in ("correct", "few_wrong"):
        assert scores(course, student) == scores(root, student), student
    path = course / "autograded" / "few_wrong" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(str(path), 4)
    printed = "".join(o.get("text", "") for c in nb.cells if cell_kind(c) == "demo"
                      for o in c.outputs)
    assert "training mode:" in printed  # the Dropout demo cell ran in the kernel
    failed = [o for c in nb.cells if cell_kind(c) == "test" for o in c.outputs
              if o.output_type == "error"]
    assert {o.ename for o in failed} == {"CheckFailed"} and len(failed) == 2
    assert nb.metadata["course_grading"]["demo_cells"] == "run"


def test_unreadable_submissions_get_a_reason_and_cost_nobody_else(autograded, tmp_path):
    """Not JSON, an empty file, a folder without the notebook, a notebook that is a link to
    the solutions: each is a reason in nbgrader's log or a zero in the gradebook; the
    correct student beside them gets full marks."""
    root, _, seeds = autograded
    course = tmp_path / "course"
    shutil.copytree(root, course, ignore=shutil.ignore_patterns("autograded", "feedback",
                                                                 "submitted"))
    write_submission(course / "submitted", "correct", ASSIGNMENT,
                     quick(make_submission(ASSIGNMENT)))
    write_submission(course / "submitted", "not_json", ASSIGNMENT, b"my homework, as text")
    write_submission(course / "submitted", "empty", ASSIGNMENT, b"")
    (course / "submitted" / "no_notebook" / ASSIGNMENT).mkdir(parents=True)
    (course / "submitted" / "no_notebook" / ASSIGNMENT / "answers.py").write_text("x = 1\n")
    linked = course / "submitted" / "linker" / ASSIGNMENT
    linked.mkdir(parents=True)
    (linked / f"{ASSIGNMENT}.ipynb").symlink_to(
        course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    result = nbgrader("autograde", ASSIGNMENT, f"--EngineExecute.seeds={seeds}", cwd=course,
                      check=False)
    log = result.stdout + result.stderr
    assert all(score == top for score, top in scores(course, "correct").values()), log
    for student in ("not_json", "empty"):
        assert f"submitted/{student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb" in log, log[-3000:]
    assert sum(score or 0 for score, _ in scores(course, "linker").values()) == 0
