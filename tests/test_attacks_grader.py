"""Hostile submissions through the authoritative grading path, sandboxed student processes.

The class of tests/sandbox/attack_class.py is graded once by the real command
(``python -m pytest grader_tests --submissions ... --device cpu``) in a scratch folder that
also holds a copy of the solutions and a gradebook, as a course directory would; every
test reads what that run wrote.  Seeds are fixed (``attack_class.SEEDS``, also used by
tests/test_attacks.py's nbgrader run, which must give the same grades).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from types import SimpleNamespace

import pytest

from course.grade.reports import read_csv
from tests.conftest import REPO
from tests.grading.grader_cli import output, run_grader
from tests.sandbox.attack_class import (ASSIGNMENT, PARTIAL, SEEDS, SHADOW, ZERO, Listener, build,
                                        hidden_lines, students)
from tests.submissions import source_notebook

A = ASSIGNMENT


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(computed_once):
    return computed_once("grader_attacks", grade_class)[0]


def grade_class(root):
    """Grade the class in ``root`` (with a copy of the solutions and a gradebook there)."""
    shutil.copytree(REPO / "source", root / "source")
    (root / "gradebook.db").write_bytes(b"SQLite format 3\x00 the course's grades")
    listener = Listener()
    specs = students(root, REPO, listener.port)
    build(root / "submitted", specs)
    before = {p: digest(p) for p in [*(root / "submitted").rglob("*.ipynb"),
                                     root / "gradebook.db"]}
    result = run_grader("--submissions", root / "submitted", "--assignment", A,
                        "--device", "cpu", "--grades-dir", root / "grades", "--seeds", ",".join(map(str, SEEDS)),
                        timeout=1800, cpu_only=True)
    connected = listener.reached()
    csv_path = root / "grades" / f"{A}.csv"
    assert csv_path.exists(), output(result)
    rows = read_csv(csv_path)
    return SimpleNamespace(root=root, result=result, rows=rows, students=list(specs),
                           before=before, connected=connected, text=output(result),
                           by_key={(r["student_id"], r["check"]): r for r in rows})


def test_grading_completes_with_exit_status_0(graded):
    assert graded.result.returncode == 0, graded.text


@pytest.mark.parametrize("student", sorted(ZERO.keys() - {"looper"}))
def test_each_student_gets_the_points_it_earned(graded, student):
    rows = {check: row for (who, check), row in graded.by_key.items() if who == student}
    assert rows, graded.text
    zero = {check for check, row in rows.items() if float(row["points"]) == 0}
    assert zero == ZERO[student], {c: rows[c]["message"][:200] for c in zero}
    for check in zero:
        assert rows[check]["status"] in ("failed", "error", "timeout")
        assert rows[check]["message"].strip(), (student, check)
    partial = {check for (who, check) in PARTIAL if who == student}
    for check in partial:  # honestly earned: the verdict's properties, not the fakery
        assert rows[check]["status"] == "failed", rows[check]
        assert float(rows[check]["points"]) == PARTIAL[(student, check)], rows[check]
    for check in rows.keys() - zero - partial:
        assert rows[check]["status"] == "passed"
        assert float(rows[check]["points"]) == float(rows[check]["max_points"])


def test_a_crash_is_an_error_of_that_check(graded):
    for check in ZERO["d_crasher"]:
        row = graded.by_key[("d_crasher", check)]
        assert row["status"] == "error" and "died" in row["message"], row


def test_every_attack_on_the_machine_was_blocked(graded):
    log = (graded.root / "grades" / A / "a_intruder" / "student_output.txt").read_text()
    lines = [line for line in log.splitlines() if line.startswith("ATTACK")]
    assert len(lines) == 14, log[-3000:]
    assert all(": blocked (" in line for line in lines), lines
    assert int(re.search(r"forked (\d+) processes", log).group(1)) <= 256
    assert not graded.connected, "a student process reached the host's loopback"


def test_files_handed_in_beside_the_notebook_are_never_imported(graded):
    log = (graded.root / "grades" / A / "e_shadower" / "student_output.txt").read_text()
    assert SHADOW not in log and SHADOW not in graded.text, log[-2000:]
    row = graded.by_key[("e_shadower", "dropout_tests")]
    assert row["status"] == "failed" and "test_dropout failed" in row["message"], row


def test_the_course_files_are_intact(graded):
    after = {p: digest(p) for p in graded.before}
    assert after == graded.before


def test_no_student_visible_output_shows_hidden_tests(graded):
    hidden = hidden_lines(source_notebook(A))
    visible = [(graded.root / "grades" / f"{A}.csv").read_text()]
    for student in graded.students:
        folder = graded.root / "grades" / A / student
        results = json.loads((folder / "results.json").read_text())
        visible += [json.dumps(results), (folder / "student_output.txt").read_text()]
    for text in visible:
        leaked = [line for line in hidden if line in text]
        assert not leaked, leaked[:3]
