"""Regrading in place: a run that grades some students of the class (``--students``, which
``make grade STUDENTS=...`` passes, or pytest's ``-k``) replaces their rows and results
files and keeps everyone else's; the run record keeps every run's seeds and students.

It regrades students of the fixture class after make grade graded all of it (the run
shared with tests/grading/test_grading_fixture_class.py), in a copy of its grades folder.
"""

import json
import shutil

import pytest

from tests.grading.fixture_class import ASSIGNMENT, STUDENTS
from tests.grading.grader_cli import output, run_grader
from tests.grading.test_grading_fixture_class import CHECK_TIMEOUT, grade_fixture_class


def sheet_lines(path) -> dict[str, list[str]]:
    """student -> the sheet's lines for that student, as written."""
    lines: dict[str, list[str]] = {}
    for line in path.read_text().splitlines()[1:]:
        lines.setdefault(line.split(",", 1)[0], []).append(line)
    return lines


def results_files(grades) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in (grades / ASSIGNMENT).glob("*/results.json")}


def regrade(folder, grades, *selection):
    result = run_grader("--submissions", folder / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "cpu", "--grades-dir", grades, "--workers", 1,
                        "--check-timeout", CHECK_TIMEOUT, *selection, cpu_only=True)
    assert result.returncode == 0, output(result)
    return result


@pytest.fixture(scope="module")
def regraded(computed_once, tmp_path_factory):
    """The class's grades, then syntax_error regraded (--students), then missing_notebook
    (-k): the grades folder after each."""
    folder = computed_once("fixture_class_cpu", grade_fixture_class)[1]
    grades = tmp_path_factory.mktemp("regrade") / "grades"
    shutil.copytree(folder / "grades", grades)
    before = {"sheet": sheet_lines(grades / f"{ASSIGNMENT}.csv"),
              "results": results_files(grades),
              "record": json.loads((grades / f"{ASSIGNMENT}-run.json").read_text())}
    first = regrade(folder, grades, "--students", "syntax_error")
    after_first = {"sheet": sheet_lines(grades / f"{ASSIGNMENT}.csv"),
                   "results": results_files(grades), "stdout": first.stdout}
    regrade(folder, grades, "-k", "missing_notebook")
    return before, after_first, grades


def test_only_the_regraded_student_changes(regraded):
    before, after, _ = regraded
    assert list(after["sheet"]) == sorted(STUDENTS)  # every student, in order
    for student in STUDENTS:
        if student != "syntax_error":
            assert after["sheet"][student] == before["sheet"][student], student
            assert after["results"][student] == before["results"][student], student
    assert len(after["sheet"]["syntax_error"]) == len(before["sheet"]["syntax_error"])
    assert "1 of 12 students were graded in this run" in after["stdout"]


def test_the_run_record_keeps_every_run(regraded):
    before, _, grades = regraded
    record = json.loads((grades / f"{ASSIGNMENT}-run.json").read_text())
    runs = record["runs"]
    assert len(runs) == 3
    assert runs[0]["seeds"] == before["record"]["seeds"]
    assert [run["graded"] for run in runs[1:]] == [["syntax_error"], ["missing_notebook"]]
    assert all(run["seeds"][0] == 0 and len(run["seeds"]) == 3 for run in runs)
    assert record["seeds"] == runs[2]["seeds"] and record["graded"] == ["missing_notebook"]
    assert record["graded_by_run"] == {s: {"syntax_error": 1, "missing_notebook": 2}.get(s, 0)
                                       for s in sorted(STUDENTS)}


def test_the_last_regrade_kept_the_first(regraded):
    _, after_first, grades = regraded
    now = sheet_lines(grades / f"{ASSIGNMENT}.csv")
    assert {s: v for s, v in now.items() if s != "missing_notebook"} == \
        {s: v for s, v in after_first["sheet"].items() if s != "missing_notebook"}


def test_an_unknown_student_is_an_error(computed_once, tmp_path):
    folder = computed_once("fixture_class_cpu", grade_fixture_class)[1]
    result = run_grader("--submissions", folder / "submitted", "--assignment", ASSIGNMENT,
                        "--grades-dir", tmp_path / "grades", "--students", "correct,nobody")
    assert result.returncode != 0
    assert "no folder in" in result.stdout + result.stderr and "nobody" in result.stderr
    assert not (tmp_path / "grades").exists()


def test_the_grading_verb_runs_without_pytest(computed_once, tmp_path):
    """``python -m course.grade`` (course/grade/run.py, no pytest) grades as make grade does:
    with make grade's seeds, a regraded student's rows are the same, and nothing else
    changes."""
    import subprocess
    import sys

    from tests.grading.grader_cli import REPO

    folder = computed_once("fixture_class_cpu", grade_fixture_class)[1]
    grades = tmp_path / "grades"
    shutil.copytree(folder / "grades", grades)
    before = sheet_lines(grades / f"{ASSIGNMENT}.csv")
    seeds = json.loads((grades / f"{ASSIGNMENT}-run.json").read_text())["seeds"]
    result = subprocess.run(
        [sys.executable, "-m", "course.grade", ASSIGNMENT, "--submissions",
         folder / "submitted", "--device", "cpu", "--grades-dir", grades, "--workers", "1",
         "--check-timeout", str(CHECK_TIMEOUT), "--students", "syntax_error",
         "--seeds", ",".join(map(str, seeds))],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stderr
    assert "syntax_error: " in result.stdout and "wrote " in result.stdout
    after = sheet_lines(grades / f"{ASSIGNMENT}.csv")
    assert {s: v for s, v in after.items() if s != "syntax_error"} == \
        {s: v for s, v in before.items() if s != "syntax_error"}
    # the same points and messages; graded by a new run (the last column)
    assert [without_run(line) for line in after["syntax_error"]] == \
        [without_run(line) for line in before["syntax_error"]]
    assert all("run 2 (make grade, " in line for line in after["syntax_error"])


def without_run(line: str) -> list[str]:
    """A sheet line's fields but the last (graded_by: the run)."""
    import csv

    return next(csv.reader([line]))[:-1]
