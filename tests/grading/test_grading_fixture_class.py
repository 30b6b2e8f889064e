"""The grading command on the fixture class: expected rows, reports, exit status.

The class (tests/grading/fixture_class.py) is graded once per test run by the real command,
``python -m pytest grader_tests --submissions ... --device cpu``, with real student
processes and any GPU hidden (a laptop); every test reads what that run wrote.
"""

import json
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest

from course.grade.reports import read_csv
from tests.grading.fixture_class import (ASSIGNMENT, EXPECTED, MESSAGES, STUDENTS, build_class,
                                         checks, expected_check_points, expected_points,
                                         expected_status)
from tests.grading.grader_cli import output, run_grader

CHECK_TIMEOUT = 20  # seconds: the student with an infinite loop costs this much


def grade_fixture_class(folder):
    build_class(folder / "submitted")
    return make_grade(folder)


def make_grade(folder) -> dict:
    """Grade ``<folder>/submitted`` with make grade's command on the CPU (grade sheets in
    ``<folder>/grades``); its exit status and output."""
    result = run_grader("--submissions", folder / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "cpu", "--grades-dir", folder / "grades",
                        "--check-timeout", CHECK_TIMEOUT, cpu_only=True)
    return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


@pytest.fixture(scope="module")
def run(computed_once):
    result, folder = computed_once("fixture_class_cpu", grade_fixture_class)
    grades = folder / "grades"
    run = SimpleNamespace(**result, folder=folder, grades=grades,
                          text=output(SimpleNamespace(**result)))
    csv_path = grades / f"{ASSIGNMENT}.csv"
    assert csv_path.exists(), run.text
    run.rows = read_csv(csv_path)
    run.by_key = {(r["student_id"], r["check"]): r for r in run.rows}
    return run


def test_grading_completes_with_exit_status_0(run):
    assert run.returncode == 0, run.text


def test_one_row_per_student_per_check(run):
    expected = {(s, c.grade_id) for s in STUDENTS for c in checks()}
    assert len(run.rows) == len(expected)
    assert set(run.by_key) == expected


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_status_of_every_check(run, student):
    observed = {c.grade_id: run.by_key[(student, c.grade_id)]["status"] for c in checks()}
    expected = {c.grade_id: expected_status(student, c.grade_id) for c in checks()}
    differing = {k: (observed[k], expected[k]) for k in expected if observed[k] != expected[k]}
    assert not differing, (differing, [run.by_key[(student, k)]["message"] for k in differing])


def test_points_follow_status(run):
    """Full points for a passed check, partial credit for one that holds some of its
    properties on every seed (in the grade sheet as fractional points), 0 otherwise."""
    by_id = {c.grade_id: c for c in checks()}
    for row in run.rows:
        points = float(row["points"])
        assert points == expected_check_points(row["student_id"], by_id[row["check"]]), row
    assert run.by_key[("partial", "dropout_tests")]["points"] == "1.4"
    points = {(c.grade_id): c.points for c in checks()}
    assert all(float(r["max_points"]) == points[r["check"]] for r in run.rows)
    for student in STUDENTS:
        total = sum(float(r["points"]) for r in run.rows if r["student_id"] == student)
        assert total == expected_points(student), student


@pytest.mark.parametrize("key, words", sorted(MESSAGES.items()), ids=lambda v: str(v))
def test_messages_give_the_reason(run, key, words):
    assert words in run.by_key[key]["message"], run.by_key[key]


def test_cuda_hardcoded_student_gets_a_clear_message(run):
    message = run.by_key[("cuda_hardcoded", "linear_kaiming_tests")]["message"]
    assert "grading ran on the CPU; do not hard-code .cuda()" in message


def test_gradescope_results(run):
    for student in STUDENTS:
        results = json.loads((run.grades / ASSIGNMENT / student / "results.json").read_text())
        rows = [r for r in run.rows if r["student_id"] == student]
        assert results["score"] == pytest.approx(sum(float(r["points"]) for r in rows))
        assert [t["name"].split(":")[0] for t in results["tests"]] == [r["check"] for r in rows]
        for test, row in zip(results["tests"], rows):
            assert test["visibility"] == "visible"
            assert test["score"] == float(row["points"])
            assert test["max_score"] == float(row["max_points"])
            assert test["status"] == ("passed" if row["status"] == "passed" else "failed")
            assert isinstance(test["output"], str) and test["output"]


def test_no_hidden_test_text_in_any_report(run):
    hidden = re.compile(r"HIDDEN TESTS|seed=1[123]\b")  # the source's hidden calls
    for path in [run.grades / f"{ASSIGNMENT}.csv",
                 *sorted((run.grades / ASSIGNMENT).glob("*/results.json"))]:
        assert not hidden.search(path.read_text()), path


def test_junit_report(run):
    root = ET.parse(run.grades / f"{ASSIGNMENT}-junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(run.rows)
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == sum(r["status"] != "passed" for r in run.rows)


def test_terminal_summary_has_one_line_per_student(run):
    total = sum(c.points for c in checks())
    for student in STUDENTS:
        line = f"{student}: {expected_points(student):g}/{total:g} points"
        assert line in run.stdout, run.text


def test_run_info_says_how_to_reproduce(run):
    info = json.loads((run.grades / f"{ASSIGNMENT}-run.json").read_text())
    assert info["device"] == "cpu" and info["students"] == len(STUDENTS)
    assert info["seeds"][0] == 0 and len(info["seeds"]) == 3
    assert info["reproduce"] == "--seeds " + ",".join(map(str, info["seeds"]))


def test_every_failure_mode_is_in_the_class():
    statuses = {status for table in EXPECTED.values() for status in table.values()}
    assert statuses == {"failed", "error", "timeout"}
