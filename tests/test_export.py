"""make export (course/export/lms.py): the gradebook make grade wrote for the fixture class,
with a TA's manual scores and an override written as the formgrader writes them (nbgrader's
API), as one row per student and as a Canvas gradebook import, with a roster; and the
command's errors."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import pytest

from course.notebooks import cell_kind, cell_points, grade_id
from tests.conftest import REPO
from tests.grading.fixture_class import (ASSIGNMENT, STUDENTS, checks, expected_check_points,
                                         expected_points)
from tests.grading.test_grading_fixture_class import grade_fixture_class
from tests.submissions import source_notebook

COURSE_ID = "dl-course"  # nbgrader_config.py's
MANUAL = {"correct": {"q4_answer": 2, "q6_answer": 1.5, "q9_answer": 2, "q12_answer": 0},
          "partial": {"q4_answer": 1}}  # partial's other answers: not graded yet
OVERRIDE = ("partial", "mse_loss_tests", 1)  # a check the engine scored 0, raised by a TA
ROSTER = [  # Canvas's identity columns for some of the class, and one who never submitted
    {"student_id": "correct", "Student": "Ada Lovelace", "ID": "101", "SIS User ID": "s101",
     "SIS Login ID": "ada", "Section": "A"},
    {"student_id": "partial", "Student": "Bo Diddley", "ID": "102", "SIS User ID": "s102",
     "SIS Login ID": "bo", "Section": "B"},
    {"student_id": "never_submitted", "Student": "Cy Young", "ID": "103",
     "SIS User ID": "s103", "SIS Login ID": "cy", "Section": "A"},
]


def graded_cells():
    return [(grade_id(c), cell_points(c), c.cell_type) for c in source_notebook(ASSIGNMENT).cells
            if cell_kind(c) in ("test", "answer")]


def grade_by_hand(path, manual: dict, override=None) -> None:
    """What a TA does in the formgrader: scores on the written answers, and an override of
    an autograded check (``Grade.manual_score``, through nbgrader's API)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{path}", COURSE_ID) as gradebook:
        for student, answers in manual.items():
            for gid, score in answers.items():
                gradebook.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student).manual_score = score
        if override:
            student, gid, score = override
            gradebook.find_grade(gid, ASSIGNMENT, ASSIGNMENT, student).manual_score = score
        gradebook.db.commit()


def write_csv(path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def export(*args) -> subprocess.CompletedProcess:
    """``python -m course.export <args>`` from the repository (what make export runs)."""
    return subprocess.run([sys.executable, "-m", "course.export", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def rows_of(path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def course(computed_once, tmp_path_factory):
    """A grades folder with make grade's sheet of the fixture class, a gradebook, a roster."""
    graded = computed_once("fixture_class_cpu", grade_fixture_class)[1]
    folder = tmp_path_factory.mktemp("export")
    (folder / "grades").mkdir()
    shutil.copy2(graded / "grades" / "gradebook.db", folder / "gradebook.db")  # make grade's
    grade_by_hand(folder / "gradebook.db", MANUAL, OVERRIDE)
    write_csv(folder / "roster.csv", ROSTER)
    return folder


@pytest.fixture(scope="module")
def exported(course):
    result = export(ASSIGNMENT, "--grades-dir", course / "grades", "--gradebook",
                    course / "gradebook.db", "--roster", course / "roster.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_one_row_per_student(course, exported):
    rows = rows_of(course / "grades" / f"{ASSIGNMENT}-lms.csv")
    questions = [gid for gid, _, _ in graded_cells()]
    assert rows[0] == ["student_id", *questions, "autograded", "manual", "total",
                       "graded_by"]
    table = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert sorted(table) == sorted([*STUDENTS, "never_submitted"])
    for student in STUDENTS:
        manual = sum(MANUAL.get(student, {}).values())
        auto = expected_points(student) + (OVERRIDE[2] if student == OVERRIDE[0] else 0)
        assert float(table[student]["autograded"]) == auto, student
        assert float(table[student]["manual"]) == manual
        assert float(table[student]["total"]) == auto + manual
        assert table[student]["graded_by"].startswith("run 1 (make grade, ")
        for check in checks():
            points = expected_check_points(student, check)
            if (student, check.grade_id) == OVERRIDE[:2]:
                points = OVERRIDE[2]  # the TA's score counts
            assert float(table[student][check.grade_id]) == points
    assert table["correct"]["q6_answer"] == "1.5" and table["correct"]["q12_answer"] == "0"
    assert table["partial"]["q4_answer"] == "1" and table["partial"]["q6_answer"] == ""
    assert table["all_wrong"]["q4_answer"] == ""  # in no gradebook: not graded by hand
    assert {table["never_submitted"][q] for q in questions} == {"0"}
    assert table["never_submitted"]["total"] == "0"


def test_canvas_import(course, exported):
    rows = rows_of(course / "grades" / f"{ASSIGNMENT}-canvas.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    possible = sum(points for _, points, _ in graded_cells())
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) == possible
    assert [row[:5] for row in rows[2:]] == [
        [r["Student"], r["ID"], r["SIS User ID"], r["SIS Login ID"], r["Section"]]
        for r in ROSTER]
    totals = [float(row[5]) for row in rows[2:]]
    assert totals == [expected_points("correct") + 5.5, expected_points("partial") + 2, 0]


def test_missing_students_are_listed(exported):
    assert "no submission (0 points): never_submitted" in exported.stdout
    line = next(x for x in exported.stdout.splitlines() if x.startswith("not in the roster"))
    assert set(line.split(": ", 1)[1].split(", ")) == set(STUDENTS) - {"correct", "partial"}
    assert "answers not graded by hand yet" in exported.stdout
    assert "TA overrides of autograded checks (the TA's score counts): partial " \
        "mse_loss_tests: 0 -> 1" in exported.stdout
    assert "graded by run 1 (make grade, " in exported.stdout


def test_a_canvas_export_is_a_roster(course, tmp_path):
    """Canvas's own gradebook export (its Points Possible row included), when the SIS Login
    IDs are the nbgrader ids."""
    canvas = [{"Student": "Points Possible", "ID": "", "SIS User ID": "", "SIS Login ID": "",
               "Section": "", "HW4 (55)": "29"}]
    canvas += [{**{k: v for k, v in r.items() if k != "student_id"},
                "SIS Login ID": r["student_id"], "HW4 (55)": ""} for r in ROSTER]
    write_csv(tmp_path / "canvas-export.csv", canvas)
    grades = tmp_path / "grades"
    shutil.copytree(course / "grades", grades)
    result = export(ASSIGNMENT, "--grades-dir", grades, "--roster", tmp_path / "canvas-export.csv",
                    "--gradebook", course / "gradebook.db", "--column", "HW4 (55)")
    assert result.returncode == 0, result.stderr
    rows = rows_of(grades / f"{ASSIGNMENT}-canvas.csv")
    assert rows[0][-1] == "HW4 (55)"
    assert [row[3] for row in rows[2:]] == ["correct", "partial", "never_submitted"]
    assert float(rows[2][5]) == expected_points("correct") + 5.5


def test_without_a_roster(course, tmp_path):
    grades = tmp_path / "grades"
    shutil.copytree(course / "grades", grades)
    result = export(ASSIGNMENT, "--grades-dir", grades, "--gradebook", course / "gradebook.db")
    assert result.returncode == 0, result.stderr
    rows = rows_of(grades / f"{ASSIGNMENT}-canvas.csv")
    assert [row[3] for row in rows[2:]] == sorted(STUDENTS)
    assert "no roster" in result.stdout


def test_errors(course, tmp_path):
    result = export("no_such_homework", "--grades-dir", course / "grades")
    assert result.returncode == 2 and "no assignment 'no_such_homework'" in result.stderr
    result = export(ASSIGNMENT, "--grades-dir", tmp_path, "--gradebook", tmp_path / "none.db")
    assert result.returncode == 2 and "no gradebook" in result.stderr
    assert "run make grade, make autograde or nbgrader autograde first" in result.stderr
    from course.gradebook.record import open_gradebook  # a new gradebook, as nbgrader makes one

    with open_gradebook(f"sqlite:///{tmp_path / 'empty.db'}", COURSE_ID) as gradebook:
        gradebook.add_assignment(ASSIGNMENT)  # recorded, nobody graded
    result = export(ASSIGNMENT, "--grades-dir", tmp_path, "--gradebook", tmp_path / "empty.db")
    assert result.returncode == 2 and f"holds no grades of {ASSIGNMENT}" in result.stderr
    write_csv(tmp_path / "bad-roster.csv", [{"name": "ada"}])
    result = export(ASSIGNMENT, "--grades-dir", course / "grades", "--gradebook",
                    course / "gradebook.db", "--roster", tmp_path / "bad-roster.csv")
    assert result.returncode == 2 and "needs a 'student_id' column" in result.stderr
