"""``make grade`` with warm workers (course/grade/warm_worker.py, course/grade/worker_pool.py) and on a Dask cluster
(course/grade/dask_cluster.py): the same grade sheet as one worker, whatever the students do.

One small class (a correct student, a partly wrong one, an exception at import, a notebook
that is not JSON, a cell that allocates far too much, and a student who kills the warm
worker that forked it) is graded by the real command, ``pytest grader_tests``, with the same
seeds: with 1 worker, with 2 workers, and on a real ``dask.distributed.LocalCluster`` (2
worker processes on the loopback) over TLS, with certificates made by the README's openssl
commands (tests/tls_certificates.py).  The three CSV files must be identical (but for the
worker killer's rows, whose timing decides which step it loses: tested on their own).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.grading.fixture_class import ASSIGNMENT, STUDENTS, expected_status, submission
from tests.grading.grader_cli import output, run_grader
from tests.submissions import make_submission, solution_of, write_submission
from tests.tls_certificates import cluster_security, grader_options, make_certificates

SEEDS = "0,1234,98765"
CLASS = ("correct", "partial", "import_error", "not_json", "huge_alloc")
KILLS_WORKER = ("import os, signal\n"
                "os.kill(os.getppid(), signal.SIGKILL)  # the process that started me\n")


def build(folder):
    for student in CLASS:
        write_submission(folder, student, ASSIGNMENT, submission(student))
    nb = make_submission(ASSIGNMENT, replace={
        "mse_loss": KILLS_WORKER + solution_of(ASSIGNMENT, "mse_loss")})
    write_submission(folder, "kills_worker", ASSIGNMENT, nb)
    return folder


def grade(folder, name, *options):
    grades = folder / f"grades-{name}"
    result = run_grader("--submissions", folder / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "cpu", "--grades-dir", grades, "--seeds", SEEDS,
                        "--check-timeout", 60, *options, cpu_only=True)
    sheet_path = grades / f"{ASSIGNMENT}.csv"
    return {"returncode": result.returncode, "text": output(result),
            "csv": sheet_path.read_text() if sheet_path.exists() else None,
            "run": json.loads((grades / f"{ASSIGNMENT}-run.json").read_text())
            if (grades / f"{ASSIGNMENT}-run.json").exists() else {}}


def grade_three_ways(folder):
    build(folder / "submitted")
    runs = {"1": grade(folder, "1", "--workers", 1), "2": grade(folder, "2", "--workers", 2)}
    from distributed import LocalCluster

    files = make_certificates(folder / "certs")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      protocol="tls://", security=cluster_security(files),
                      dashboard_address=None) as cluster:
        runs["dask"] = grade(folder, "dask", "--scheduler", cluster.scheduler_address,
                             *grader_options(files))
    return runs


@pytest.fixture(scope="module")
def graded(computed_once):
    """The three runs, made once per test session (pytest-xdist workers share them)."""
    return computed_once("parallel_grading", grade_three_ways)[0]


def rows(run):
    assert run["csv"] is not None, run["text"]
    return {(r["student_id"], r["check"]): r
            for r in csv.DictReader(io.StringIO(run["csv"]))}


@pytest.mark.parametrize("name", ["1", "2", "dask"])
def test_every_run_completes(graded, name):
    assert graded[name]["returncode"] == 0, graded[name]["text"]


def sheet(run) -> list[list[str]]:
    """The grade sheet without the student who kills the warm worker (which of its steps
    the death lands in depends on timing: see the test on it), and without the column
    that names the run (each run is a run of its own)."""
    import csv

    assert run["csv"] is not None, run["text"]
    rows = list(csv.reader(run["csv"].splitlines()))
    drop = rows[0].index("graded_by")
    return [row[:drop] + row[drop + 1:] for row in rows if row[0] != "kills_worker"]


def test_two_workers_give_the_grade_sheet_of_one(graded):
    assert sheet(graded["2"]) == sheet(graded["1"])
    assert graded["2"]["run"]["workers"]["workers"] == 2
    for name in ("1", "2"):  # students were forked from warm workers
        assert graded[name]["run"]["workers"]["child_peak_rss_kb"] > 0


@pytest.mark.parametrize("name", ["1", "2"])
def test_workers_warm_up_before_grading_starts(graded, name):
    """Each warm worker starts while the grader imports its checkers (WarmPool), not at its
    first student, where its start-up would count in the grading phase (a slower class, and
    a make bench rate that measures the warm-up)."""
    assert graded[name]["run"]["workers"]["prestart_errors"] == []


def test_the_dask_cluster_gives_the_grade_sheet_of_a_local_run(graded):
    assert sheet(graded["dask"]) == sheet(graded["2"])
    assert graded["dask"]["run"]["workers"]["scheduler"].startswith("tls://127.0.0.1:")
    assert "plain connection" not in graded["dask"]["text"]  # no tcp:// warning over TLS


@pytest.mark.parametrize("student", CLASS)
def test_statuses_are_those_of_the_fixture_class(graded, student):
    table = rows(graded["2"])
    observed = {check: row["status"] for (who, check), row in table.items() if who == student}
    expected = {check: expected_status(student, check) for check in observed}
    assert observed == expected


@pytest.mark.parametrize("name", ["1", "2", "dask"])
def test_killing_the_warm_worker_costs_that_student_only(graded, name):
    """The student's mse_loss cell kills the process that started it: the warm worker (a
    cold sandboxed process could only reach the sandbox's init, and is refused).  The
    student process dies with it a moment later, in whichever step it has reached by then
    (so which check it loses depends on timing); its restarts then start cold (it cannot
    make the grader pay one warm-up per step), the student's other checks are graded, the
    next student gets a new warm worker, and nobody else is affected (the sheets above)."""
    table = rows(graded[name])
    mine = {check: row for (who, check), row in table.items() if who == "kills_worker"}
    lost = {check for check, row in mine.items() if row["status"] != "passed"}
    assert lost, "killing the warm worker must cost something"
    assert mine["linear_zeros_tests"]["status"] == "passed"  # graded before the kill
    assert all(row["status"] in ("passed", "failed", "error") for row in mine.values())
    if name != "dask":
        assert graded[name]["run"]["workers"]["cold_fallbacks"] >= 1


def test_commands_a_warm_worker_can_fork_and_the_others(tmp_path):
    """The student command, plain or in course.sandbox.launcher, is forked from the warm worker (in
    the same sandbox); anything else (another wrapper) is started as given, cold.  What the
    warm worker needs comes as objects (StudentCommand, sandbox.Wrapped), not argv."""
    from course.config import GradingConfig
    from course.grade.supervisor import StudentCommand, student_argv, wrap_command
    from course.grade.warm_worker import Zygote

    plain = student_argv(5)
    assert wrap_command(plain).student == plain
    wrapped = wrap_command(plain, work="/w/work", out="/w/out", keep_fds=(5,),
                           config=GradingConfig(memory_limit_mb=100))
    sandbox = wrapped.sandbox
    assert wrapped.student == plain and wrapped.argv[-len(plain) - 1:] == ["--", *plain]
    assert sandbox.argv == wrapped.argv and sandbox.argv[2:4] == ["-m", "course.sandbox"]
    assert sandbox.shared[:2] == ["--mode", sandbox.mode]
    assert "--memory-limit-mb" in sandbox.shared
    assert not {"--workdir", "--rw", "--keep-fd", "--wall-time-s"} & set(sandbox.shared)
    assert sandbox.workdir == "/w/work" and sandbox.rw == [("/w/out", "/w/out")]
    zygote = Zygote("support", ())
    try:
        cold = StudentCommand(["/bin/sh", "-c", "echo cold"])
        proc = zygote.launch(cold, cwd="/", env={"PATH": "/bin"})
        assert proc.stdout.read().strip() == b"cold" and proc.wait() == 0
        assert zygote.cold_fallbacks == 1 and zygote.starts == 0
        assert not zygote._inside_root(sandbox)  # folders the zygote's sandbox lacks: cold
        import dataclasses

        inside = dataclasses.replace(sandbox, workdir=str(zygote.root / "s" / "work"),
                                     rw=[(str(zygote.root / "s" / "out"),) * 2])
        assert zygote._inside_root(inside)
    finally:
        zygote.remove()


def test_students_in_the_fixture_class_module_exist():
    assert set(CLASS) <= set(STUDENTS)
