"""``make grade`` with warm workers (course/workers.py) and on a Dask cluster
(course/distributed_grading.py): the same grade sheet as one worker, whatever the students do.

One small class (a correct student, a partly wrong one, an exception at import, a notebook
that is not JSON, a cell that allocates far too much, and a student who kills the warm
worker that forked it) is graded by the real command, ``pytest grader_tests``, with the same
seeds: with 1 worker, with 2 workers, and on a real ``dask.distributed.LocalCluster`` (2
worker processes on the loopback).  The three CSV files must be identical.
"""

from __future__ import annotations

import csv
import io
import json
import pickle

import pytest
from filelock import FileLock

from tests.grading.fixture_class import ASSIGNMENT, STUDENTS, expected_status, submission
from tests.grading.grader_cli import output, run_grader
from tests.submissions import solution_of, write_submission

SEEDS = "0,1234,98765"
CLASS = ("correct", "partial", "import_error", "not_json", "huge_alloc")
KILLS_WORKER = ("import os, signal\n"
                "os.kill(os.getppid(), signal.SIGKILL)  # the process that started me\n")


def build(folder):
    for student in CLASS:
        write_submission(folder, student, ASSIGNMENT, submission(student))
    from tests.submissions import make_submission

    nb = make_submission(ASSIGNMENT, replace={
        "mse_loss": KILLS_WORKER + solution_of(ASSIGNMENT, "mse_loss")})
    write_submission(folder, "kills_worker", ASSIGNMENT, nb)
    return folder


def grade(folder, name, *options):
    grades = folder / f"grades-{name}"
    result = run_grader("--submissions", folder / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "cpu", "--grades-dir", grades, "--seeds", SEEDS,
                        "--check-timeout", 60, *options, cpu_only=True)
    csv = grades / f"{ASSIGNMENT}.csv"
    return {"returncode": result.returncode, "text": output(result),
            "csv": csv.read_text() if csv.exists() else None,
            "run": json.loads((grades / f"{ASSIGNMENT}-run.json").read_text())
            if (grades / f"{ASSIGNMENT}-run.json").exists() else {}}


def grade_three_ways(folder):
    build(folder / "submitted")
    runs = {"1": grade(folder, "1", "--workers", 1), "2": grade(folder, "2", "--workers", 2)}
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        runs["dask"] = grade(folder, "dask", "--scheduler", cluster.scheduler_address)
    return runs


@pytest.fixture(scope="module")
def graded(tmp_path_factory, worker_id):
    """The three runs, made once per test session (pytest-xdist workers share them)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    folder, done = shared / "parallel_grading", shared / "parallel_grading.pickle"
    with FileLock(str(shared / "parallel_grading.lock")):
        if not done.exists():
            folder.mkdir(exist_ok=True)
            done.write_bytes(pickle.dumps(grade_three_ways(folder)))
    return pickle.loads(done.read_bytes())


def rows(run):
    assert run["csv"] is not None, run["text"]
    return {(r["student_id"], r["check"]): r
            for r in csv.DictReader(io.StringIO(run["csv"]))}


@pytest.mark.parametrize("name", ["1", "2", "dask"])
def test_every_run_completes(graded, name):
    assert graded[name]["returncode"] == 0, graded[name]["text"]


def test_two_workers_give_the_grade_sheet_of_one(graded):
    assert graded["2"]["csv"] == graded["1"]["csv"]
    assert graded["2"]["run"]["workers"]["workers"] == 2
    assert graded["1"]["run"]["workers"]["cold_fallbacks"] == 0


def test_the_dask_cluster_gives_the_grade_sheet_of_a_local_run(graded):
    assert graded["dask"]["csv"] == graded["2"]["csv"]
    assert graded["dask"]["run"]["workers"]["scheduler"].startswith("tcp://127.0.0.1:")


@pytest.mark.parametrize("student", CLASS)
def test_statuses_are_those_of_the_fixture_class(graded, student):
    table = rows(graded["2"])
    observed = {check: row["status"] for (who, check), row in table.items() if who == student}
    expected = {check: expected_status(student, check) for check in observed}
    assert observed == expected


def test_killing_the_warm_worker_costs_only_that_check(graded):
    """The student process kills the zygote that forked it: the check running then fails
    (the process is stopped with it), a new warm worker takes over, the rest is graded."""
    table = rows(graded["1"])
    mine = {check: row for (who, check), row in table.items() if who == "kills_worker"}
    broken = {check for check, row in mine.items() if row["status"] != "passed"}
    assert broken and len(broken) <= 3, {c: mine[c]["message"] for c in broken}
    assert mine["dropout_tests"]["status"] == "passed"
    assert graded["1"]["run"]["workers"]["zygote_starts"] >= 2


def test_a_wrapped_student_command_is_started_cold():
    """A command a sandbox wrapped cannot be forked from the warm worker: it runs as given."""
    import sys

    from course.workers import Zygote, _is_student_command

    plain = [sys.executable, *(["-P"] if sys.version_info >= (3, 11) else []), "-m",
             "course.student_process", "--events-fd", "5"]
    assert _is_student_command(plain)
    assert not _is_student_command(["bwrap", "--", *plain])
    zygote = Zygote("support", ())
    proc = zygote.launch(["/bin/sh", "-c", "echo cold"], cwd="/", env={"PATH": "/bin"})
    assert proc.stdout.read().strip() == b"cold" and proc.wait() == 0
    assert zygote.cold_fallbacks == 1 and zygote.starts == 0


def test_students_in_the_fixture_class_module_exist():
    assert set(CLASS) <= set(STUDENTS)
