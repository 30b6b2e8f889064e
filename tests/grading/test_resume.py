"""A grading run stopped half-way resumes without grading anyone twice (course/grade/journal.py).

A real ``python -m course.grade`` grades part of the fixture class, one student at a time,
with the seeds of the run that graded the whole class (shared with
tests/grading/test_grading_fixture_class.py), and gets SIGINT (what Ctrl-C sends) once two
students are in its journal.  Then one of those students' notebooks is saved again (the
same answers, other bytes) and the same command runs again: it must take the journal's
seeds, grade only the students the first run did not finish and the one whose notebook
changed, and write the grade sheet the uninterrupted run wrote for those students.
"""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat

from course.grade.journal import read_journal
from course.grade.reports import read_csv
from tests.grading.fixture_class import ASSIGNMENT
from tests.grading.grader_cli import REPO
from tests.grading.test_grading_fixture_class import CHECK_TIMEOUT, grade_fixture_class

# quick students of the fixture class (not those that hang or fill memory on purpose)
STUDENTS = ("all_wrong", "correct", "import_error", "missing_notebook", "not_json", "partial",
            "patched_allclose", "shadowed_checker", "syntax_error")


def command(folder, grades, seeds) -> list[str]:
    return [sys.executable, "-m", "course.grade", ASSIGNMENT,
            "--submissions", str(folder / "submitted"), "--device", "cpu",
            "--grades-dir", str(grades), "--workers", "1", "--check-timeout", str(CHECK_TIMEOUT),
            "--seeds", ",".join(map(str, seeds)), "--students", ",".join(STUDENTS)]


def environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_"))}
    return {**env, "CUDA_VISIBLE_DEVICES": ""}


def interrupt_after(args, journal, graded: int, timeout: float = 600):
    """Run ``args``; SIGINT once the journal holds ``graded`` students; (exit status,
    output)."""
    proc = subprocess.Popen(args, cwd=REPO, env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if len(read_journal(journal)[1]) >= graded:
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.1)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def rows(path) -> list[tuple]:
    return [(r["student_id"], r["check"], r["points"], r["status"], r["message"])
            for r in read_csv(path) if r["student_id"] in STUDENTS]


def test_an_interrupted_run_resumes_without_regrading(computed_once, tmp_path):
    folder = computed_once("fixture_class_cpu", grade_fixture_class)[1]
    uninterrupted = json.loads((folder / "grades" / f"{ASSIGNMENT}-run.json").read_text())
    grades = tmp_path / "grades"
    journal = grades / f"{ASSIGNMENT}-journal.jsonl"
    args = command(folder, grades, uninterrupted["seeds"])

    status, out = interrupt_after(args, journal, graded=2)
    assert status == 130, out
    assert "interrupted:" in out and "the same command again resumes" in out, out
    assert not (grades / f"{ASSIGNMENT}.csv").exists(), out  # no half sheet
    header, done = read_journal(journal)
    assert header["seeds"] == uninterrupted["seeds"] and 2 <= len(done) < len(STUDENTS), out

    # one graded student saves their notebook again: same answers, other bytes
    changed = next(s for s in sorted(done) if s not in ("not_json", "missing_notebook"))
    path = folder / "submitted" / changed / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    original = path.read_bytes()
    try:
        nbformat.write(nbformat.reads(original.decode(), as_version=4), str(path))
        path.write_text(path.read_text() + "\n")
        result = subprocess.run(args, cwd=REPO, env=environment(), capture_output=True,
                                text=True, timeout=600)
    finally:
        path.write_bytes(original)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"resuming the interrupted run in {journal}: {len(done)} students" in result.stderr
    record = json.loads((grades / f"{ASSIGNMENT}-run.json").read_text())
    assert record["seeds"] == uninterrupted["seeds"]
    assert record["resumed"] == sorted(set(done) - {changed})
    # graded by this run's workers: the students the first run did not finish, and the one
    # whose notebook changed
    assert record["workers"]["students"] == len(STUDENTS) - len(done) + 1, record["workers"]
    assert not journal.exists()  # the run completed
    assert rows(grades / f"{ASSIGNMENT}.csv") == rows(folder / "grades" / f"{ASSIGNMENT}.csv")


def test_only_a_run_that_would_grade_the_same_way_is_resumed(tmp_path):
    """The journal's rules without a grading run: what must match, --fresh, a line cut
    short by a crash, a notebook saved again."""
    from course.grade.grader import CheckResult, StudentGrade
    from course.grade.journal import Journal, grading_key, open_journal

    notebook = tmp_path / "submitted" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text("{}")
    path = tmp_path / "grades" / f"{ASSIGNMENT}-journal.jsonl"

    def key(**settings):
        return grading_key(ASSIGNMENT, REPO / "source", tmp_path / "submitted",
                           {"check_timeout_s": 60, **settings}, "cpu")

    journal = Journal(path, key(), [0, 5, 7])
    assert not path.exists()  # nothing graded, no journal
    journal.record(StudentGrade("ada", [CheckResult("ada", "mse_loss_tests", 2, 2, "passed",
                                                    "ok")], seconds=1.5), notebook)
    with open(path, "a") as handle:
        handle.write('{"kind": "graded", "student": "bo')  # the crash, mid-line

    def draw():
        return [0, 1, 2]

    resumed, seeds, note = open_journal(path, key(), None, False, draw)
    assert seeds == [0, 5, 7] and "resuming" in note and "1 students graded" in note
    assert resumed.grades(["ada"], lambda s: notebook)["ada"].results[0].message == "ok"
    resumed.record(StudentGrade("bob", []), notebook)  # on a line of its own
    assert sorted(read_journal(path)[1]) == ["ada", "bob"]
    assert open_journal(path, key(), [0, 5, 7], False, draw)[1] == [0, 5, 7]
    for other, why in ((dict(key=key(check_timeout_s=20)), "its limits changed"),
                       (dict(seeds=[0, 1, 2]), "its seeds changed")):
        _, seeds, note = open_journal(path, other.get("key", key()), other.get("seeds"),
                                      False, draw)
        assert seeds == [0, 1, 2] and why in note and "starting over" in note
    _, seeds, note = open_journal(path, key(), None, True, draw)
    assert seeds == [0, 1, 2] and "--fresh" in note
    notebook.write_text('{"saved": "again"}')
    assert resumed.grades(["ada"], lambda s: notebook) == {}  # graded again
