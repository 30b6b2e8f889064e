"""``make autograde WORKERS=n`` (course/autograde/parallel.py): real nbgrader, per-worker
gradebooks merged into the course's; the same class graded with 1 and with 2 workers gives
identical gradebooks, and the merge copies everything autograde and a TA decide.

The class is small (a correct student, one with two wrong answers) and its notebooks leave
out the demo cells (training runs and plots, which students may delete and nbgrader does
not grade), so that each nbgrader process costs seconds, not minutes.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from course.notebooks import cell_kind
from course.autograde.parallel import (copy_database, gradebook_scores, merge_submission,
                                       submitted_students)
from tests.conftest import REPO, run
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


def autograde_twice(folder, released_course):
    """workers -> (course root, command result, gradebook table)."""
    runs = {}
    for workers in (1, 2):
        root = folder / f"workers{workers}" / "course"
        shutil.copytree(released_course, root, ignore=shutil.ignore_patterns("executed"))
        write_class(root)
        result = run([sys.executable, "-m", "course.autograde", ASSIGNMENT,
                      "--workers", str(workers), "--root", str(root), "--seeds", SEEDS],
                     cwd=REPO, check=False)
        table = gradebook_scores(f"sqlite:///{root / 'gradebook.db'}", ASSIGNMENT, COURSE_ID)
        runs[workers] = (root, SimpleNamespace(returncode=result.returncode,
                                               stdout=result.stdout, stderr=result.stderr),
                         table)
    return runs


@pytest.fixture(scope="module")
def graded(released_course, computed_once):
    """The two runs, made once per test session (pytest-xdist workers share them)."""
    return computed_once("parallel_autograde",
                         lambda folder: autograde_twice(folder, released_course))[0]


def test_both_runs_grade_every_student(graded):
    for workers, (root, result, table) in graded.items():
        assert result.returncode == 0, (workers, result.stdout, result.stderr)
        assert set(table) == set(CLASS), (workers, result.stdout)
        for student in CLASS:
            notebook = root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            assert notebook.exists(), (workers, student)


def test_one_and_two_workers_give_identical_gradebooks(graded):
    assert graded[1][2] == graded[2][2]


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


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader add_submission
def test_merge_copies_manual_grades_comments_and_flags(tmp_path, monkeypatch):
    """A worker's database starts as a copy of the course's; what nbgrader and a TA wrote
    there for one student ends up in the course's gradebook, and nothing else changes."""
    from nbgrader.api import Gradebook

    # a new gradebook runs the `alembic` command, which lives next to this python
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    main, worker = tmp_path / "gradebook.db", tmp_path / "worker.db"
    main_url, worker_url = f"sqlite:///{main}", f"sqlite:///{worker}"
    with Gradebook(main_url, COURSE_ID) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook("nb", ASSIGNMENT)
        gb.add_grade_cell("q1_tests", "nb", ASSIGNMENT, max_score=2, cell_type="code")
        gb.add_grade_cell("q2_answer", "nb", ASSIGNMENT, max_score=3, cell_type="markdown")
        gb.add_solution_cell("q1", "nb", ASSIGNMENT)
        gb.add_solution_cell("q2_answer", "nb", ASSIGNMENT)
        for student in ("ada", "bob"):
            gb.add_student(student)
        gb.add_submission(ASSIGNMENT, "bob")
        gb.find_grade("q1_tests", "nb", ASSIGNMENT, "bob").auto_score = 1.0
        gb.db.commit()
    copy_database(main, worker)
    with Gradebook(worker_url, COURSE_ID) as gb:  # what autograde and a TA did for ada
        gb.update_or_create_student("ada", first_name="Ada", email="ada@example.org")
        gb.add_submission(ASSIGNMENT, "ada", timestamp="2026-01-02 03:04:05 UTC")
        grade = gb.find_grade("q1_tests", "nb", ASSIGNMENT, "ada")
        grade.auto_score, grade.needs_manual_grade = 2.0, False
        answer = gb.find_grade("q2_answer", "nb", ASSIGNMENT, "ada")
        answer.manual_score, answer.extra_credit = 2.5, 0.5
        gb.find_comment("q2_answer", "nb", ASSIGNMENT, "ada").manual_comment = "nice"
        gb.find_submission_notebook("nb", ASSIGNMENT, "ada").flagged = True
        gb.db.commit()
    assert merge_submission(worker_url, main_url, ASSIGNMENT, "ada", COURSE_ID)
    assert not merge_submission(worker_url, main_url, ASSIGNMENT, "cy", COURSE_ID)
    merged = gradebook_scores(main_url, ASSIGNMENT, COURSE_ID)
    source = gradebook_scores(worker_url, ASSIGNMENT, COURSE_ID)
    assert merged["ada"] == source["ada"]
    assert merged["ada"][("nb", "q2_answer", "grade")][1:3] == (2.5, 0.5)
    assert merged["bob"][("nb", "q1_tests", "grade")][0] == 1.0  # untouched
    with Gradebook(main_url, COURSE_ID) as gb:
        assert gb.find_student("ada").first_name == "Ada"
        assert gb.find_submission(ASSIGNMENT, "ada").timestamp.year == 2026
        assert gb.find_submission(ASSIGNMENT, "ada").score == 5.0
