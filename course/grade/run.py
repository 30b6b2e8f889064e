"""Grade a class: the grading verb, without pytest.

    python -m course.grade hw4_pytorch_regularization --submissions submitted --workers 2

grades every ``<submissions>/<student>/<a>/<a>.ipynb`` (every folder of ``<submissions>`` is
a student, even one without the notebook; ``--students a,b`` grades some of them) with
:class:`course.grade.grader.Grader`, each student once, and writes ``grades/<a>.csv``,
``grades/<a>/<student>/results.json`` (Gradescope) and ``grades/<a>-run.json``
(:func:`course.grade.reports.write_reports`).  ``make grade`` runs the same through pytest
(``grader_tests/``: one test item per student and check, and a JUnit report); both call
:class:`GradingRun`.

Where student processes run is a *placement*, one interface for all three
(``grade(grader, notebooks, progress, on_grade) -> (grades, stats)``): :class:`Cold` (a new
process per student process, one student at a time), :class:`WarmWorkers` (forks of warm
workers here, :mod:`course.grade.worker_pool`) and :class:`DaskCluster`
(:mod:`course.grade.dask_cluster`); :func:`grade_class` picks one.

Exit status of ``python -m course.grade``: 0 when grading completed, whatever the students
scored; 1 when the grader failed a student (an internal error); 2 for bad options.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from course.config import DEVICES, assignments, load_grading_config
from course.grade.device_policy import run_record
from course.grade.grader import (Grader, GraderError, StudentGrade, draw_seeds, matplotlib_cache,
                      one_thread_each, resolve_device)
from course.notebooks import NotebookError
from course.grade.overview import PER_STUDENT_UP_TO, class_overview
from course.grade.plan import load_assignment
from course.grade.reports import summary_line, write_reports

# The options of a grading run, for argparse (python -m course.grade) and pytest's addoption
# (grader_tests/conftest.py) alike: (flag, keyword arguments).
OPTIONS = [
    ("--submissions", dict(default="submitted",
                           help="folder with one sub-folder per student (default: submitted)")),
    ("--assignment", dict(default=None,
                          help="assignment to grade (required when the course has several)")),
    ("--device", dict(default=None, choices=DEVICES,
                      help="where student code runs: auto (CUDA when available), cpu, cuda")),
    ("--grades-dir", dict(default="grades", help="where reports go (default: grades)")),
    ("--source", dict(default="source", help="folder of source notebooks")),
    ("--seeds", dict(default=None,
                     help="comma-separated seeds instead of fresh ones (to reproduce a run)")),
    ("--check-timeout", dict(type=float, default=None,
                             help="seconds per check and per cell (default from pyproject.toml)")),
    ("--memory-limit-mb", dict(type=int, default=None,
                               help="memory per student process in MiB (default from "
                                    "pyproject.toml)")),
    ("--workers", dict(type=int, default=0,
                       help="students graded at a time, each by a warm worker "
                            "(course/grade/worker_pool.py; default: one per core)")),
    ("--scheduler", dict(default=None,
                         help="grade on the Dask cluster of this scheduler, e.g. "
                              "tls://host:8786 (course/grade/dask_cluster.py)")),
    ("--tls-ca-file", dict(default=None,
                           help="the cluster's CA certificate (PEM), for a tls:// --scheduler")),
    ("--tls-cert", dict(default=None, help="this machine's certificate (PEM), signed by that CA")),
    ("--tls-key", dict(default=None, help="the private key of --tls-cert (PEM)")),
    ("--gradebook", dict(default=None,
                         help="nbgrader's gradebook the run records its grades in, and the "
                              "sheet is written from (default: gradebook.db of the course, "
                              "beside grades/; with another --grades-dir, "
                              "<grades-dir>/gradebook.db)")),
    ("--students", dict(default=None,
                        help="comma-separated students to grade (default: every folder of "
                             "--submissions); their rows replace theirs in the grade sheet")),
    ("--fresh", dict(action="store_true", default=False,
                     help="start over instead of resuming an interrupted run "
                          "(grades/<a>-journal.jsonl, course/grade/journal.py)")),
]


class GradingSetupError(ValueError):
    """The run cannot start: bad options, no submissions, no source notebook."""


# --------------------------------------------------------------------------- placements


class Cold:
    """Every student process started anew (``Popen``), one student after another."""

    def grade(self, grader, notebooks: dict, progress: bool = False, on_grade=None):
        grades = {}
        for student, path in notebooks.items():
            try:
                grades[student] = grader.grade(student, path)
            except Exception as error:  # noqa: BLE001 - a grader bug must not stop the class
                grades[student] = grader.internal_error(student, error)
            if on_grade is not None:
                on_grade(grades[student])
        return grades, {}


class WarmWorkers:
    """``workers`` warm workers here (0: one per core), or those of ``pool`` (a
    :class:`course.grade.worker_pool.WarmPool` already warming up; used up)."""

    def __init__(self, workers: int = 0, pool=None):
        self.workers, self.pool = workers, pool

    def grade(self, grader, notebooks: dict, progress: bool = True, on_grade=None):
        from course.grade.worker_pool import grade_all

        stats: dict = {}
        pool, self.pool = self.pool, None
        grades = grade_all(grader, notebooks, self.workers or os.cpu_count() or 1, progress,
                           on_grade, stats, pool)
        return grades, stats


class DaskCluster:
    """The Dask cluster of ``scheduler`` (``tls``: the files
    :func:`course.grade.dask_cluster.cluster_security` takes)."""

    def __init__(self, scheduler: str, tls: dict | None = None):
        self.scheduler, self.tls = scheduler, tls

    def grade(self, grader, notebooks: dict, progress: bool = True, on_grade=None):
        from course.grade.dask_cluster import grade_on_cluster

        started = time.monotonic()
        grades = grade_on_cluster(grader, notebooks, self.scheduler, progress, on_grade,
                                  tls=self.tls)
        return grades, {"scheduler": self.scheduler, "seconds": time.monotonic() - started}


def placement(workers: int = 0, scheduler: str | None = None, pool=None,
              tls: dict | None = None):
    """Where student processes run: a Dask cluster when ``scheduler`` is given, else warm
    workers here."""
    return DaskCluster(scheduler, tls) if scheduler else WarmWorkers(workers, pool)


def grade_class(grader, notebooks: dict, workers: int = 0, scheduler: str | None = None,
                progress: bool = True, on_grade=None, pool=None,
                tls: dict | None = None) -> tuple[dict, dict]:
    """Grade ``notebooks`` (student -> notebook path) where :func:`placement` says.
    Returns (student -> StudentGrade, statistics of the run)."""
    return placement(workers, scheduler, pool, tls).grade(grader, notebooks, progress,
                                                          on_grade)


# --------------------------------------------------------------------------- a run


class GradingRun:
    """One grading run: its grader, its students, and their grades (each graded once).

    ``options`` holds :data:`OPTIONS` by their attribute names (an argparse namespace or
    pytest's ``config.option``).  ``start_workers``: start the warm workers now, while this
    process imports the checkers.  ``quiet_output()``: a context in which the progress bar
    may write to the terminal (pytest's capture off).  Raises :class:`GradingSetupError`.
    """

    def __init__(self, options, start_workers: bool = True,
                 quiet_output=contextlib.nullcontext):
        self.name = options.assignment or _only_assignment()
        self.submissions = Path(options.submissions)
        self.grades_dir = Path(options.grades_dir)
        if not self.submissions.is_dir():
            raise GradingSetupError(f"no submissions folder {self.submissions}")
        self.students = sorted(p.name for p in self.submissions.iterdir()
                               if p.is_dir() and not p.name.startswith("."))
        if not self.students:
            raise GradingSetupError(f"no student folders in {self.submissions}")
        self.folders = self.students  # every student of the class
        if options.students:
            self.students = _chosen_students(options.students, self.folders, self.submissions)
        self.workers, self.scheduler = options.workers, options.scheduler
        self.tls = {"ca_file": options.tls_ca_file, "cert": options.tls_cert,
                    "key": options.tls_key}
        self.quiet_output = quiet_output
        self.pool = None  # warm workers, warming up while this process imports the checkers
        self.isolation = _isolation(options, self.submissions, self.grades_dir)
        one_thread_each()
        try:
            settings = load_grading_config().replace(
                device=options.device, check_timeout_s=options.check_timeout,
                cell_timeout_s=options.check_timeout, memory_limit_mb=options.memory_limit_mb)
            self.assignment = load_assignment(self.name, options.source)
            device = resolve_device(settings.device)
            seeds = self._open_journal(options, settings, device)
            if not self.scheduler and start_workers:
                self.pool = self._start_workers(settings, device)
            self.grader = Grader(self.assignment, settings, device, seeds)
        except (NotebookError, GraderError, ValueError) as error:
            self.stop_workers()
            raise GradingSetupError(f"cannot grade {self.name}: {error}") from None
        self.gradebook = gradebook_path(options.gradebook, self.grades_dir)
        self.source = Path(options.source)
        self.recorded = _Background(self._ensure_assignment)  # while the class is graded
        self.grades: dict[str, StudentGrade] = {}
        self.resumed: list[str] = []  # graded by the interrupted run this one resumes
        self.selected: list[str] | None = None  # the students to grade now (pytest's -k)
        self.worker_stats: dict = {}
        self.written: list[Path] = []  # the reports, once write() ran
        self.started = time.time()

    def _open_journal(self, options, settings, device: str) -> list[int]:
        """The run's journal (:mod:`course.grade.journal`): an interrupted run's, resumed
        when it matches, or a new one; returns the seeds."""
        from course.grade.journal import grading_key, journal_path, open_journal

        given = [int(s) for s in options.seeds.split(",")] if options.seeds else None
        key = grading_key(self.name, Path(options.source), self.submissions,
                          dataclasses.asdict(settings), device)
        self.journal, seeds, note = open_journal(
            journal_path(self.grades_dir, self.name), key, given,
            getattr(options, "fresh", False), lambda: draw_seeds(settings.fresh_seeds))
        if note:
            print(note, file=sys.stderr)
        return seeds

    def _start_workers(self, settings, device: str):
        """Start the warm workers now (course/grade/worker_pool.py): each imports torch and warms
        up while this process imports the checkers."""
        from course.grade.worker_pool import WarmPool

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
        """The row of one student and check, grading first when needed."""
        if student not in self.grades:
            self.grade_selected()
        if student not in self.grades:
            self.grades.update(Cold().grade(self.grader, {student: self.notebook(student)})[0])
        return next(r for r in self.grades[student].results if r.check == check)

    def grade_selected(self, progress: bool = True) -> None:
        """Grade every selected student not graded yet, all at once, where
        :func:`placement` says, with a progress bar on the terminal."""
        todo = [s for s in self.to_grade if s not in self.grades]
        resumed = self.journal.grades(todo, self.notebook)
        self.grades.update(resumed)
        self.resumed += list(resumed)
        todo = [s for s in todo if s not in resumed]
        if not todo:
            return

        def record(grade) -> None:  # on disk as each student finishes: a run resumes
            self.journal.record(grade, self.notebook(grade.student))

        with self.quiet_output():
            try:
                pool, self.pool = self.pool, None  # used up by this call
                grades, self.worker_stats = grade_class(
                    self.grader, {s: self.notebook(s) for s in todo}, self.workers,
                    self.scheduler, progress=progress, on_grade=record, pool=pool,
                    tls=self.tls)
            except Exception as error:  # noqa: BLE001 - e.g. no scheduler at that address
                grades = {s: self.grader.internal_error(s, error) for s in todo}
        self.grades.update(grades)

    @property
    def to_grade(self) -> list[str]:
        """The students this run grades (those pytest's -k selected, or all of them)."""
        return self.selected or self.students

    @property
    def complete(self) -> bool:
        """Every student this run grades is graded (not a run stopped half-way)."""
        return all(s in self.grades for s in self.to_grade)

    @property
    def internal_errors(self) -> list[str]:
        return [f"{g.student}: {g.internal_error}" for g in self.grades.values()
                if g.internal_error]

    def _ensure_assignment(self) -> None:
        """The assignment in the run's gradebook (recorded from the source folder, as
        ``nbgrader generate_assignment`` records it, when the gradebook lacks it)."""
        from course.autograde.gradebook import ensure_assignment

        source = self.source.resolve()
        self.gradebook.resolve().parent.mkdir(parents=True, exist_ok=True)
        ensure_assignment(source.parent, self.name, self.gradebook_url, source.name)

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.gradebook.resolve()}"

    def record(self, grades: list[StudentGrade], info: dict):
        """This run's grades into the gradebook (:mod:`course.gradebook.record`), then the
        whole assignment as the gradebook holds it (:mod:`course.gradebook.views`)."""
        from course.autograde.gradebook import course_id_of
        from course.gradebook.record import RunInfo, record_run
        from course.gradebook.views import read_class

        self.recorded.join()
        course_id = course_id_of(self.source.resolve().parent)
        run = RunInfo(self.name, "make grade", self.grader.seeds, self.grader.device,
                      {k: info[k] for k in ("settings", "workers", "isolation")})
        self.run_id = record_run(self.gradebook_url, course_id, run, grades,
                                 self.assignment.notebook_path.stem)
        return read_class(self.gradebook_url, course_id, self.name)

    def write(self, command=None) -> list[Path]:
        """Record the run in the gradebook, then write its views (grade sheet, Gradescope
        results) from it, and the run record; the paths written.  A run stopped half-way
        records and writes nothing: its journal keeps the students it graded, and the next
        run resumes it."""
        from course.gradebook.views import student_grade

        if not self.complete:
            return []
        grades = [self.grades[s] for s in self.students if s in self.grades]
        labels = {c.grade_id: f"{c.grade_id}: {c.call_text()}" for c in self.assignment.checks}
        info = {
            "assignment": self.name, "device": self.grader.device, "seeds": self.grader.seeds,
            "settings": dataclasses.asdict(self.grader.config),
            "students": len(grades), "started": time.ctime(self.started),
            "finished": time.ctime(), "command": sys.argv if command is None else command,
            "reproduce": f"--seeds {','.join(map(str, self.grader.seeds))}",
            "workers": self.worker_stats,
            "isolation": self.isolation.as_dict(),
            **run_record(grades),  # checks settled by [tool.course.grading] device_errors
            "resumed": sorted(self.resumed),  # graded before an interruption, not again
        }
        record = self.record(grades, info)
        order = [c.grade_id for c in self.assignment.checks]
        sheet = [student_grade(r, order) for r in record.students.values()]
        extra = {(r.student, c.grade_id): (c.auto_points, record.run_label(c.run_id))
                 for r in record.students.values() for c in r.checks()}
        recorded = {g.student: g for g in sheet}
        for grade in grades:  # results files: as recorded, with what the student printed
            recorded[grade.student].output = grade.output  # and what the device policy did
            recorded[grade.student].device_regrades = grade.device_regrades
        info["gradebook"] = str(self.gradebook)
        self.written = write_reports(self.grades_dir, self.name,
                                     [recorded[g.student] for g in grades], info, labels,
                                     sheet=sheet, extra=extra)
        if not self.internal_errors:  # else the next run regrades just those students
            self.journal.finish()
        return self.written

    def interrupted_line(self) -> str:
        """What a run stopped half-way tells the TA."""
        done = len(self.journal.graded & set(self.to_grade))
        return (f"interrupted: {done} of {len(self.to_grade)} students graded, kept in "
                f"{self.journal.path}; the same command again resumes (the others only, "
                f"same seeds)")

    def summary(self, also_written=()) -> list[tuple[str, str | None]]:
        """The lines that end a run, each with a colour (None, "yellow", "red");
        ``also_written``: other files the front end wrote (a JUnit report)."""
        if not self.complete and (self.grades or self.journal.graded):
            return [(self.interrupted_line(), "yellow")]
        graded = [self.grades[s] for s in self.students if s in self.grades]
        if len(graded) > PER_STUDENT_UP_TO:  # a large class at a glance, not a line each
            lines = [(line, None) for line in class_overview(graded, str(self.written[0]) if
                                                             self.written else "the grade sheet")]
        else:
            lines = [(summary_line(grade), None) for grade in graded]
        lines += [(f"wrote {path}", None) for path in [*self.written[:1], *also_written]]
        if self.resumed:
            lines.append((f"resumed an interrupted run: {len(self.resumed)} students graded "
                          f"before it stopped were not graded again", None))
        if self.written:
            lines.append((f"wrote {self.grades_dir / self.name}/<student>/results.json", None))
        if 0 < len(self.grades) < len(self.folders):
            lines.append((f"note: {len(self.grades)} of {len(self.folders)} students were "
                          f"graded in this run: their rows replace theirs in the grade "
                          f"sheet, everyone else's are kept", "yellow"))
        if self.isolation.level != "namespaces":
            lines.append((f"note: student code ran with '{self.isolation.level}' isolation "
                          f"(python -m course.sandbox --check says what it lacks)", "yellow"))
        errors = self.internal_errors
        lines += [(f"GRADER ERROR {error}", "red") for error in errors[:PER_STUDENT_UP_TO]]
        if len(errors) > PER_STUDENT_UP_TO:
            lines.append((f"GRADER ERROR for {len(errors) - PER_STUDENT_UP_TO} more students "
                          f"(the grade sheet has each one's reason)", "red"))
        if errors:
            lines.append((f"the same command again grades these {len(errors)} students "
                          f"only", "red"))
        return lines


def gradebook_path(option: str | None, grades_dir: Path) -> Path:
    """The gradebook a run records in: ``--gradebook``, else the course's ``gradebook.db``
    beside the default ``grades/`` folder, else ``<grades-dir>/gradebook.db`` (a run into a
    scratch grades folder never writes the course's record)."""
    if option:
        return Path(option)
    if Path(grades_dir).resolve() == Path("grades").resolve():
        return Path("gradebook.db")
    return Path(grades_dir) / "gradebook.db"


class _Background:
    """``work()`` in a thread of its own, started now; :meth:`join` re-raises its error."""

    def __init__(self, work):
        import threading

        self.error: BaseException | None = None

        def run():
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - handed to join()
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise GraderError(f"cannot record the assignment in the gradebook: "
                              f"{type(self.error).__name__}: {self.error}")


def _isolation(options, submissions: Path, grades_dir: Path):
    """The sandbox's isolation here (:mod:`course.sandbox.isolation`), refused with a
    GradingSetupError when below ``[tool.course.sandbox] require`` (nobody is graded); in
    the fallback, the course's private files are first closed to the sandbox's user."""
    from course.sandbox.isolation import (IsolationRefused, close_private_files,
                                          require_isolation)

    try:
        found = require_isolation()
    except IsolationRefused as error:
        raise GradingSetupError(str(error)) from None
    closed = close_private_files(found, extra=[options.source, submissions, grades_dir])
    if closed:
        print(f"sandbox fallback: closed to other users (o-rwx): {', '.join(closed)}",
              file=sys.stderr)
    return found


def _chosen_students(names: str, folders: list[str], submissions: Path) -> list[str]:
    """The students of ``--students alice,bob``, each of whom must have a folder."""
    chosen = sorted({name.strip() for name in names.split(",") if name.strip()})
    unknown = [name for name in chosen if name not in folders]
    if unknown or not chosen:
        raise GradingSetupError(f"--students {names}: no folder in {submissions} for "
                                f"{', '.join(unknown) or 'anyone'}")
    return chosen


def _only_assignment() -> str:
    names = assignments()
    if len(names) != 1:
        raise GradingSetupError(f"--assignment is required (one of {', '.join(names)})")
    return names[0]


# --------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.grade",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("assignment_name", nargs="?", default=None, metavar="ASSIGNMENT")
    for flag, kwargs in OPTIONS:
        parser.add_argument(flag, **kwargs)
    options = parser.parse_args(argv)
    options.assignment = options.assignment or options.assignment_name
    try:
        run = GradingRun(options)
    except GradingSetupError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    try:
        run.grade_selected()
        run.write()
    except KeyboardInterrupt:
        print(run.interrupted_line(), file=sys.stderr)
        return 130
    finally:
        run.stop_workers()
    for line, _ in run.summary():
        print(line)
    return 1 if run.internal_errors else 0
