"""Hostile submissions through real ``nbgrader autograde`` and ``generate_feedback``.

One autograde run grades the class of tests/sandbox/attack_class.py (an intruder, a
cheater, a patcher, a crasher, a shadower and a correct student) in a copy of the released
course, with the course's nbgrader_config.py (the grading engine: student code in
sandboxed student processes, verdicts in nbgrader's process); every test reads what that
run left.  For every student: the points it earned, exactly those of ``make grade`` on the
same seeds (tests/test_attacks_grader.py grades the same class), a reason in the notebook
for each cell that scored 0, the other students untouched, the run complete (exit 0), the
gradebook intact, no hidden-test source in the feedback.  The infinite loops (which cost a
check timeout each) are graded in a second, slow run.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbgrader.api import Gradebook

from tests.conftest import REPO
from tests.engine_agreement import disagreements
from tests.sandbox.attack_class import (ASSIGNMENT, LOOPER, PARTIAL, SECOND_NOTEBOOK, SEEDS,
                                        SHADOW, ZERO, Listener, build, hidden_lines,
                                        students)
from tests.submissions import source_notebook
from tests.test_attacks_grader import grade_class as grade_with_make_grade

A = ASSIGNMENT
LOOP_TIMEOUT = 20  # seconds per check in the slow run: each infinite loop costs about this


def run_nbgrader(root: Path, *args, timeout=1800) -> subprocess.CompletedProcess:
    """The venv's nbgrader in ``root``, with a private Jupyter runtime folder."""
    runtime = tempfile.mkdtemp(prefix="rt-", dir="/tmp")  # short: IPC socket paths
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=runtime,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    try:
        return subprocess.run([str(Path(sys.executable).with_name("nbgrader")), *args],
                              cwd=root, env=env, capture_output=True, text=True,
                              timeout=timeout)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade_class(released_course, folder: Path, specs_of, extra=(),
                timeout_s: float | None = None) -> SimpleNamespace:
    """Copy the released course to ``folder``, submit the class, autograde it (with
    ``timeout_s`` per check and cell, when given) and generate its feedback; what
    happened (picklable)."""
    root = folder / "course"
    shutil.copytree(released_course, root, ignore=shutil.ignore_patterns("executed"))
    if timeout_s:
        pyproject = root / "pyproject.toml"
        pyproject.write_text(re.sub(r"(?m)^(check|cell)_timeout_s = \d+",
                                    rf"\1_timeout_s = {int(timeout_s)}", pyproject.read_text()))
    listener = Listener()
    specs = specs_of(root, listener.port)
    build(root / "submitted", specs)
    before = {p: digest(p) for p in (root / "submitted").rglob("*.ipynb")}
    result = run_nbgrader(root, "autograde", A, "--force", f"--EngineExecute.seeds={SEEDS}",
                          *extra)
    connected = listener.reached()
    feedback = run_nbgrader(root, "generate_feedback", A, "--force")
    return SimpleNamespace(root=root, result=result, feedback=feedback, students=list(specs),
                           connected=connected, before=before,
                           log=f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")


def _attack_class(root, port):
    return students(root, REPO, port)


def _looper_class(root, port):
    return LOOPER


@pytest.fixture(scope="module")
def graded(released_course, computed_once):
    return computed_once("autograde_attacks",
                         lambda folder: grade_class(released_course, folder, _attack_class))[0]


@pytest.fixture(scope="module")
def graded_by_make_grade(computed_once):
    """The same class through ``make grade``'s command (tests/test_attacks_grader.py)."""
    return computed_once("grader_attacks", grade_with_make_grade)[0]


@pytest.fixture(scope="module")
def looped(released_course, computed_once):
    return computed_once("autograde_loops", lambda folder: grade_class(
        released_course, folder, _looper_class, timeout_s=LOOP_TIMEOUT))[0]


def scores(root: Path, student: str) -> dict:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission(A, student).notebooks[0]
        return {g.name: (g.score, g.max_score) for g in notebook.grades
                if g.cell.cell_type == "code"}


def autograded(root: Path, student: str):
    return nbformat.read(str(root / "autograded" / student / A / f"{A}.ipynb"), 4)


def errors_by_cell(nb) -> dict:
    """grade_id -> [(ename, evalue)] of the error outputs of each graded cell."""
    found = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            if gid and output.output_type == "error":
                found.setdefault(gid, []).append((output.ename, output.evalue))
    return found


def check_scores(run, student, zero):
    got = scores(run.root, student)
    assert got, f"{student}: not graded\n{run.log}"
    observed_zero = {cell for cell, (score, top) in got.items() if score == 0}
    partial = {cell: s[0] for cell, s in got.items() if 0 < s[0] < s[1]}
    assert observed_zero == zero, f"{student}: zero {sorted(observed_zero)}"
    assert partial == {cell: points for (who, cell), points in PARTIAL.items()
                       if who == student}, f"{student}: partial scores {partial}"
    reasons = errors_by_cell(autograded(run.root, student))
    for cell in zero:  # each lost cell says why
        assert reasons.get(cell) and all(evalue.strip() or ename for ename, evalue
                                         in reasons[cell]), (student, cell, reasons.get(cell))


# --------------------------------------------------------------------------- the class


def test_autograde_completes_and_reports_success(graded):
    assert graded.result.returncode == 0, graded.log
    assert graded.feedback.returncode == 0, graded.feedback.stderr[-3000:]


def student_output(run, student: str) -> str:
    """What the student's code printed while graded (kept beside the autograded notebook)."""
    return (run.root / "autograded" / student / A / "student_output.txt").read_text()


@pytest.mark.parametrize("student", sorted(ZERO.keys() - {"looper"}))
def test_each_student_gets_the_points_it_earned(graded, student):
    check_scores(graded, student, ZERO[student])


def test_the_same_points_and_messages_as_make_grade(graded, graded_by_make_grade):
    csv_path = graded_by_make_grade.root / "grades" / f"{A}.csv"
    assert not disagreements(graded.root, A, csv_path)


def test_reasons_name_the_cause(graded):
    cheater = errors_by_cell(autograded(graded.root, "b_cheater"))
    assert all(ename == "CheckFailed" for cell in ZERO["b_cheater"]
               for ename, _ in cheater[cell]), cheater
    patient = autograded(graded.root, "b_cheater")
    patient = next(c for c in patient.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                   == "patient_early_stopping_tests")
    assert "test_early_stopping failed 1 of 3 properties: partial credit 1 of 2 points" in \
        patient.outputs[0]["text"], patient.outputs
    patcher = errors_by_cell(autograded(graded.root, "c_patcher"))
    assert set(patcher) == ZERO["c_patcher"], patcher  # patched torch: only its data counts
    assert "test_dropout failed" in patcher["dropout_tests"][0][1]
    crasher = errors_by_cell(autograded(graded.root, "d_crasher"))
    for cell in ZERO["d_crasher"]:
        (ename, evalue), = crasher[cell]
        assert ename == "GradingError" and "died" in evalue, crasher[cell]
    assert "Passed!" in student_output(graded, "b_cheater")  # printed, and worth nothing


def test_every_attack_on_the_machine_was_blocked(graded):
    log = student_output(graded, "a_intruder")
    lines = [line for line in log.splitlines() if line.startswith("ATTACK")]
    assert len(lines) == 14, log[-3000:]
    assert all(": blocked (" in line for line in lines), lines
    assert int(re.search(r"forked (\d+) processes", log).group(1)) <= 256
    assert not graded.connected, "a student process reached the host's loopback"


def test_files_handed_in_beside_the_notebook_are_never_imported(graded):
    assert SHADOW not in student_output(graded, "e_shadower")
    assert SHADOW not in graded.log
    kept = sorted(p.name for p in (graded.root / "autograded" / "e_shadower" / A).iterdir())
    assert kept == sorted([f"{A}.ipynb", "student_output.txt"]), kept
    assert (graded.root / "submitted" / "e_shadower" / A / SECOND_NOTEBOOK).is_file()
    (ename, evalue), = errors_by_cell(autograded(graded.root, "e_shadower"))["dropout_tests"]
    assert ename == "CheckFailed" and "test_dropout failed" in evalue


def test_other_students_files_and_the_gradebook_are_intact(graded):
    after = {p: digest(p) for p in (graded.root / "submitted").rglob("*.ipynb")}
    assert after == graded.before
    with sqlite3.connect(graded.root / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    with Gradebook(f"sqlite:///{graded.root / 'gradebook.db'}") as gb:
        assert sorted(s.id for s in gb.students) == sorted(graded.students)


def test_no_links_fifos_or_processes_are_left_behind(graded):
    for folder in ("autograded", "feedback"):
        for path in (graded.root / folder).rglob("*"):
            assert path.is_file() or path.is_dir(), f"left behind: {path}"
            assert not path.is_symlink(), f"left behind: {path}"
    assert not list((graded.root / "feedback").rglob("solutions.txt"))
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        assert not cwd.startswith(str(graded.root / "autograded")), f"process {pid} survived"


def test_feedback_has_the_messages_but_no_hidden_test_source(graded):
    hidden = hidden_lines(source_notebook(A))
    assert len(hidden) > 20
    for student in graded.students:
        path = graded.root / "feedback" / student / A / f"{A}.html"
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(errors="replace")))
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:3]}"
        assert "hidden tests: not shown" in text
    cheater = graded.root / "feedback" / "b_cheater" / A / f"{A}.html"
    text = html.unescape(re.sub(r"<[^>]+>", "", cheater.read_text()))
    assert "test_early_stopping failed 1 of 3 properties" in text  # never stops: partial
    assert "[stopping rule] stops at the first increase" in text
    assert "test_train_eval failed" in text


# --------------------------------------------------------------------------- loops (slow)


@pytest.mark.slow
def test_infinite_loops_cost_their_cells_only(looped):
    assert looped.result.returncode == 0, looped.log
    check_scores(looped, "correct", set())
    check_scores(looped, "looper", ZERO["looper"])
    reasons = errors_by_cell(autograded(looped.root, "looper"))
    for cell in ZERO["looper"]:
        (ename, evalue), = reasons[cell]
        assert ename == "CheckTimeout" and f"within {LOOP_TIMEOUT} s" in evalue, reasons
