"""``make autograde WORKERS=n`` (course/autograde/parallel.py): the class graded by warm
workers, the autograded notebooks and gradebook rows written in the same process with
nbgrader's own autograde step; the same class graded with 1 and with 2 workers, and by
plain ``nbgrader autograde``, on the same seeds, gives identical gradebooks and identical
autograded test cells.

The class is small (a correct student, one with two wrong answers) and its notebooks leave
out the demo cells (training runs and plots, which students may delete and nbgrader does
not grade), so that each run costs seconds, not minutes.
"""

from __future__ import annotations

import shutil
import sys
from types import SimpleNamespace

import nbformat
import pytest

from course.notebooks import cell_kind, grade_id
from course.autograde.parallel import gradebook_scores, submitted_students
from tests.conftest import REPO, nbgrader, run
from tests.submissions import WRONG_DROPOUT, WRONG_MSE, make_submission, write_submission

ASSIGNMENT = "hw4_pytorch_regularization"
COURSE_ID = "dl-course"
SEEDS = "0,1357,2468"  # the same for both runs: identical gradebooks, messages included

CLASS = {  # student -> (patches, test cells that must score 0)
    "correct": ({}, set()),
    "few_wrong": ({"replace": {"mse_loss": WRONG_MSE, "dropout": WRONG_DROPOUT}},
                  {"mse_loss_tests", "dropout_tests"}),
}


def write_class(root):
    for student, (patches, _) in CLASS.items():
        nb = make_submission(ASSIGNMENT, source_root=root / "source", **patches)
        nb.cells = [cell for cell in nb.cells if cell_kind(cell) != "demo"]
        write_submission(root / "submitted", student, ASSIGNMENT, nb)


def autograde_three_ways(folder, released_course):
    """key -> (course root, command result, gradebook table): make autograde with 1 and with
    2 workers, and plain nbgrader autograde ("nbgrader")."""
    runs = {}
    for key in (1, 2, "nbgrader"):
        root = folder / f"workers{key}" / "course"
        shutil.copytree(released_course, root, ignore=shutil.ignore_patterns("executed"))
        write_class(root)
        if key == "nbgrader":
            seeds = [int(s) for s in SEEDS.split(",")]
            result = nbgrader("autograde", ASSIGNMENT, f"--EngineExecute.seeds={seeds}",
                              cwd=root, check=False)
        else:
            result = run([sys.executable, "-m", "course.autograde", ASSIGNMENT,
                          "--workers", str(key), "--root", str(root), "--seeds", SEEDS],
                         cwd=REPO, check=False)
        table = gradebook_scores(f"sqlite:///{root / 'gradebook.db'}", ASSIGNMENT, COURSE_ID)
        runs[key] = (root, SimpleNamespace(returncode=result.returncode,
                                           stdout=result.stdout, stderr=result.stderr),
                     table)
    return runs


@pytest.fixture(scope="module")
def graded(released_course, computed_once):
    """The three runs, made once per test session (pytest-xdist workers share them)."""
    return computed_once("parallel_autograde",
                         lambda folder: autograde_three_ways(folder, released_course))[0]


def autograded_test_cells(root, student) -> dict:
    """grade id -> (source, outputs) of the autograded notebook's graded cells."""
    path = root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return {grade_id(c): (c.source, c.get("outputs")) for c in nbformat.read(str(path), 4).cells
            if cell_kind(c) == "test"}


def test_both_runs_grade_every_student(graded):
    for workers, (root, result, table) in graded.items():
        assert result.returncode == 0, (workers, result.stdout, result.stderr)
        assert set(table) == set(CLASS), (workers, result.stdout)
        for student in CLASS:
            notebook = root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            assert notebook.exists(), (workers, student)


def test_one_and_two_workers_give_identical_gradebooks(graded):
    assert graded[1][2] == graded[2][2]


def test_make_autograde_writes_what_plain_nbgrader_autograde_writes(graded):
    """Same seeds: the same gradebook (points, messages, flags) and the same autograded
    test cells (verdicts, the cases that ran)."""
    assert graded["nbgrader"][1].returncode == 0, graded["nbgrader"][1].stderr[-3000:]
    assert graded[2][2] == graded["nbgrader"][2]
    for student in CLASS:
        assert autograded_test_cells(graded[2][0], student) == \
            autograded_test_cells(graded["nbgrader"][0], student)


def test_the_autograded_test_cell_shows_the_cases_that_ran(graded):
    """What a TA sees in the formgrader: the cases that ran in place of the source's hidden
    tests, the one that decided a lost check, and how to rerun it."""
    from tests.sandbox.attack_class import hidden_lines
    from tests.submissions import source_notebook

    for key in (2, "nbgrader"):
        source, outputs = autograded_test_cells(graded[key][0], "few_wrong")["dropout_tests"]
        assert "# What grading ran (seeds 0, 1357, 2468)" in source
        assert "#   visible: test_dropout(Dropout)  -> FAILED: this case decided" in source
        assert "--students few_wrong --seeds 0 --grades-dir rerun-few_wrong" in source
        assert not [line for line in hidden_lines(source_notebook(ASSIGNMENT))
                    if line in source]
        assert outputs[0]["ename"] == "CheckFailed"


def test_no_nbgrader_process_per_student(graded):
    """The autograde step runs in make autograde's own process: its log has no nbgrader
    command line per student, and the gradebook records one make autograde run."""
    from course.gradebook.views import read_class

    root, result, _ = graded[2]
    assert "nbgrader autograde" not in result.stdout + result.stderr
    record = read_class(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID, ASSIGNMENT)
    assert [r["command"] for r in record.runs.values()] == ["make autograde"]
    assert {s.run_id for s in record.students.values()} == set(record.runs)


def test_the_run_says_its_seeds_and_grades_with_the_engine_first(graded):
    _, result, _ = graded[2]
    assert f"reproduce with --seeds {SEEDS}" in result.stdout
    assert "grading hw4_pytorch_regularization on cpu with seeds [0, 1357, 2468]" \
        in result.stderr


@pytest.mark.parametrize("student", sorted(CLASS))
def test_wrong_answers_score_zero_and_the_rest_full(graded, student):
    _, expected_zero = CLASS[student]
    cells = graded[2][2][student]
    scores = {name: (auto, top) for (_, name, kind), (auto, _, _, _, top) in
              ((k, v) for k, v in cells.items() if k[2] == "grade") if auto is not None}
    zero = {name for name, (auto, _) in scores.items() if auto == 0}
    full = {name for name, (auto, top) in scores.items() if auto == top}
    assert zero == expected_zero, scores
    assert zero | full == set(scores), scores


def test_students_without_a_notebook_are_left_to_nbgrader(tmp_path):
    (tmp_path / "submitted" / "ada" / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "submitted" / "bob" / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "submitted" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (tmp_path / "submitted" / "cy").mkdir()
    assert submitted_students(tmp_path, ASSIGNMENT) == ["bob"]
