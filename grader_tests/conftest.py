"""The authoritative grading path as a pytest run: one test item per student per check.

    pytest grader_tests --submissions submitted --assignment hw4_pytorch_regularization \\
        --device auto

grades every ``<submissions>/<student>/<a>/<a>.ipynb`` (every folder of ``<submissions>`` is
a student, even one without the notebook; ``--students a,b`` or ``-k`` grade some of them)
with :class:`course.grading.Grader`, each student once: when the first item runs, every
selected student is graded by ``--workers`` warm workers (default: one per core) or on the
Dask cluster of ``--scheduler`` (:func:`course.workers.grade_class`), with a progress bar.
At the end it writes ``grades/<a>.csv``,
``grades/<a>/<student>/results.json`` (Gradescope), ``grades/<a>-run.json`` and the JUnit
report ``grades/<a>-junit.xml`` (unless ``--junitxml`` says otherwise), and prints one line
per student.  A run that grades some of the class replaces their rows and results files
and keeps everyone else's; the run record keeps every run's seeds and students.

Exit status: 0 when grading completed, whatever the students scored; non-zero only when the
grader could not grade (bad options, no source notebook, an internal error).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from course.config import DEVICES, assignments, load_grading_config
from course.grading import (Grader, GraderError, StudentGrade, draw_seeds, one_thread_each,
                            resolve_device)
from course.notebooks import NotebookError
from course.plan import load_assignment
from course.reports import summary_line, write_reports

RUN = pytest.StashKey["GradingRun"]()


def pytest_addoption(parser):
    group = parser.getgroup("grading", "grading submissions (grader_tests)")
    group.addoption("--submissions", default="submitted",
                    help="folder with one sub-folder per student (default: submitted)")
    group.addoption("--assignment", default=None,
                    help="assignment to grade (required when the course has several)")
    group.addoption("--device", default=None, choices=DEVICES,
                    help="where student code runs: auto (CUDA when available), cpu, cuda")
    group.addoption("--grades-dir", default="grades", help="where reports go (default: grades)")
    group.addoption("--source", default="source", help="folder of source notebooks")
    group.addoption("--seeds", default=None,
                    help="comma-separated seeds instead of fresh ones (to reproduce a run)")
    group.addoption("--check-timeout", type=float, default=None,
                    help="seconds per check and per cell (default from pyproject.toml)")
    group.addoption("--memory-limit-mb", type=int, default=None,
                    help="memory per student process in MiB (default from pyproject.toml)")
    group.addoption("--workers", type=int, default=0,
                    help="students graded at a time, each by a warm worker "
                         "(course/workers.py; default: one per core)")
    group.addoption("--scheduler", default=None,
                    help="grade on the Dask cluster of this scheduler, e.g. tls://host:8786 "
                         "(course/distributed_grading.py)")
    group.addoption("--tls-ca-file", default=None,
                    help="the cluster's CA certificate (PEM), for a tls:// --scheduler")
    group.addoption("--tls-cert", default=None,
                    help="this machine's certificate (PEM), signed by that CA")
    group.addoption("--tls-key", default=None, help="the private key of --tls-cert (PEM)")
    group.addoption("--students", default=None,
                    help="comma-separated students to grade (default: every folder of "
                         "--submissions); their rows replace theirs in the grade sheet")


def tls_files(option) -> dict:
    """The ``--tls-*`` files, as course.distributed_grading.cluster_security takes them."""
    return {"ca_file": option.tls_ca_file, "cert": option.tls_cert, "key": option.tls_key}


class GradingRun:
    """The run's grader, its students, and their grades (each student graded once)."""

    def __init__(self, config: pytest.Config):
        option = config.option
        self.name = option.assignment or _only_assignment()
        self.submissions = Path(option.submissions)
        self.grades_dir = Path(option.grades_dir)
        if not self.submissions.is_dir():
            raise pytest.UsageError(f"no submissions folder {self.submissions}")
        self.students = sorted(p.name for p in self.submissions.iterdir()
                               if p.is_dir() and not p.name.startswith("."))
        if not self.students:
            raise pytest.UsageError(f"no student folders in {self.submissions}")
        self.folders = self.students  # every student of the class
        if option.students:
            self.students = _chosen_students(option.students, self.folders, self.submissions)
        self.workers, self.scheduler = option.workers, option.scheduler
        self.pool = None  # warm workers, warming up while this process imports the checkers
        one_thread_each()
        try:
            settings = load_grading_config().replace(
                device=option.device, check_timeout_s=option.check_timeout,
                cell_timeout_s=option.check_timeout, memory_limit_mb=option.memory_limit_mb)
            self.assignment = load_assignment(self.name, option.source)
            device = resolve_device(settings.device)
            seeds = ([int(s) for s in option.seeds.split(",")] if option.seeds
                     else draw_seeds(settings.fresh_seeds))
            if not self.scheduler and not config.option.collectonly:
                self.pool = self._start_workers(settings, device)
            self.grader = Grader(self.assignment, settings, device, seeds)
        except (NotebookError, GraderError, ValueError) as error:
            self.stop_workers()
            raise pytest.UsageError(f"cannot grade {self.name}: {error}") from None
        self.grades: dict[str, StudentGrade] = {}
        self.selected: list[str] | None = None  # students with selected items (-k)
        self.worker_stats: dict = {}
        self.pytest_config = config
        self.student_failures = 0
        self.started = time.time()

    def _start_workers(self, settings, device: str):
        """Start the warm workers now (course/workers.py): each imports torch and warms up
        while this process imports the checkers."""
        from course.grading import matplotlib_cache
        from course.workers import WarmPool

        setup = SimpleNamespace(assignment=self.assignment, config=settings, device=device,
                                sys_path=[])
        count = min(self.workers or os.cpu_count() or 1, len(self.students))
        return WarmPool(setup, count, fonts=matplotlib_cache())

    def stop_workers(self) -> None:
        if self.pool is not None:
            self.pool.remove()
            self.pool = None

    def notebook(self, student: str) -> Path:
        return self.submissions / student / self.name / f"{self.name}.ipynb"

    def row(self, student: str, check: str):
        if student not in self.grades:
            self.grade_selected()
        if student not in self.grades:
            self.grades[student] = self._grade(student)
        return next(r for r in self.grades[student].results if r.check == check)

    def grade_selected(self) -> None:
        """Grade every selected student not graded yet, all at once: warm workers here or a
        Dask cluster (course/workers.py), with a progress bar on the terminal."""
        from course.workers import grade_class

        todo = [s for s in (self.selected or self.students) if s not in self.grades]
        if not todo:
            return
        capture = self.pytest_config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            try:
                pool, self.pool = self.pool, None  # used up by this call
                grades, self.worker_stats = grade_class(
                    self.grader, {s: self.notebook(s) for s in todo}, self.workers,
                    self.scheduler, progress=True, pool=pool,
                    tls=tls_files(self.pytest_config.option))
            except Exception as error:  # noqa: BLE001 - e.g. no scheduler at that address
                message = f"internal grader error: {type(error).__name__}: {error}"
                grades = {}
                for student in todo:
                    grades[student] = StudentGrade(
                        student, self.grader.all_rows(student, "error", message))
                    grades[student].internal_error = message
        self.grades.update(grades)

    def _grade(self, student: str) -> StudentGrade:
        try:
            return self.grader.grade(student, self.notebook(student))
        except Exception as error:  # noqa: BLE001 - a grader bug must not stop the class
            message = f"internal grader error: {type(error).__name__}: {error}"
            grade = StudentGrade(student, self.grader.all_rows(student, "error", message))
            grade.internal_error = message
            return grade

    @property
    def internal_errors(self) -> list[str]:
        return [f"{g.student}: {g.internal_error}" for g in self.grades.values()
                if g.internal_error]

    def write(self) -> list[Path]:
        grades = [self.grades[s] for s in self.students if s in self.grades]
        partial = len(grades) < len(self.folders)
        labels = {c.grade_id: f"{c.grade_id}: {c.call_text()}" for c in self.assignment.checks}
        info = {
            "assignment": self.name, "device": self.grader.device, "seeds": self.grader.seeds,
            "settings": dataclasses.asdict(self.grader.config),
            "students": len(grades), "started": time.ctime(self.started),
            "finished": time.ctime(), "command": sys.argv,
            "reproduce": f"--seeds {','.join(map(str, self.grader.seeds))}",
            "workers": self.worker_stats,
        }
        return write_reports(self.grades_dir, self.name, grades, info, labels, partial)


def _chosen_students(names: str, folders: list[str], submissions: Path) -> list[str]:
    """The students of ``--students alice,bob``, each of whom must have a folder."""
    chosen = sorted({name.strip() for name in names.split(",") if name.strip()})
    unknown = [name for name in chosen if name not in folders]
    if unknown or not chosen:
        raise pytest.UsageError(f"--students {names}: no folder in {submissions} for "
                                f"{', '.join(unknown) or 'anyone'}")
    return chosen


def _only_assignment() -> str:
    names = assignments()
    if len(names) != 1:
        raise pytest.UsageError(f"--assignment is required (one of {', '.join(names)})")
    return names[0]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        raise pytest.UsageError("grader_tests grades in one process: drop -n")
    run = GradingRun(config)
    config.stash[RUN] = run
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(run.grades_dir / f"{run.name}-junit.xml")
    if config.option.tbstyle == "auto":
        config.option.tbstyle = "no"  # the short summary and the grade lines say it all


def pytest_collection_finish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None:
        run.selected = sorted({item.callspec.params["submission_check"][0]
                               for item in session.items if hasattr(item, "callspec")
                               and "submission_check" in item.callspec.params})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "submission_check" not in metafunc.fixturenames:
        return
    run = metafunc.config.stash[RUN]
    pairs = [(s, c.grade_id) for s in run.students for c in run.assignment.checks]
    metafunc.parametrize("submission_check", pairs, ids=[f"{s}-{c}" for s, c in pairs])


@pytest.fixture(scope="session")
def grading_run(pytestconfig, record_testsuite_property) -> GradingRun:
    run = pytestconfig.stash[RUN]
    record_testsuite_property("assignment", run.name)
    record_testsuite_property("device", run.grader.device)
    record_testsuite_property("seeds", ",".join(map(str, run.grader.seeds)))
    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None or not run.grades:
        return  # nothing graded (e.g. --collect-only): leave earlier reports alone
    run.written = run.write()
    # The grading is over: what this process made lives until it exits.  Python's last
    # garbage collections would walk all of it (torch's and the checkers' objects too), a
    # quarter of a second or more of every run; frozen objects are left to the exit.
    gc.freeze()
    only_students_failed = session.testsfailed == run.student_failures
    if exitstatus == pytest.ExitCode.TESTS_FAILED and only_students_failed \
            and not run.internal_errors:
        session.exitstatus = pytest.ExitCode.OK


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        run.stop_workers()  # started but never used (nothing selected, or interrupted)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    run = config.stash.get(RUN, None)
    if run is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"grades: {run.name} on {run.grader.device}, "
                             f"seeds {run.grader.seeds}")
    for student in run.students:
        if student in run.grades:
            write(summary_line(run.grades[student]))
    for path in getattr(run, "written", [])[:1] + [Path(config.option.xmlpath)]:
        write(f"wrote {path}")
    if getattr(run, "written", None):
        write(f"wrote {run.grades_dir / run.name}/<student>/results.json")
    if 0 < len(run.grades) < len(run.folders):
        write(f"note: {len(run.grades)} of {len(run.folders)} students were graded in this "
              f"run: their rows replace theirs in the grade sheet, everyone else's are kept",
              yellow=True)
    for error in run.internal_errors:
        write(f"GRADER ERROR {error}", red=True)
