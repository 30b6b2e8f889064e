"""``make autograde WORKERS=n``: ``nbgrader autograde`` of a class, graded by warm workers,
written in this process.

1. The assignment is in the course's ``gradebook.db`` (recorded from source/ when it is
   missing: :mod:`course.autograde.gradebook`), and the run gets its row there
   (``course_grading_run``, command ``make autograde``, :mod:`course.gradebook.record`).
2. The class is graded as ``make grade`` grades it (:func:`course.grade.run.grade_class`:
   ``n`` warm workers, verdicts in this process), on seeds drawn once for the run (or
   ``--seeds``).
3. As each student's grade comes in, a writer thread in this same process runs nbgrader's
   own autograde step for that student (:class:`nbgrader.converters.Autograde`, with the
   course's nbgrader_config.py: the sanitizing preprocessors, the restored test cells, the
   late penalty, the pre-convert hook), where :class:`course.autograde.engine.EngineExecute`
   takes the grade handed over in memory (:class:`HandOver`) instead of grading, and
   :class:`course.autograde.engine.SaveEngineGrades` writes its points and messages into
   ``gradebook.db`` with nbgrader's API.  No nbgrader process is started per student, one
   process writes the gradebook, and writing overlaps grading.

The autograded notebooks and the gradebook rows are those ``nbgrader autograde`` writes for
the same seeds (a test checks it).  A student nbgrader could not write (its autograde step
raised) is listed at the end with the reason, and the command exits 1; students already in
``autograded/`` are skipped unless ``--force`` (run it again to grade just those).

Usage: python -m course.autograde ASSIGNMENT [--workers N] [--force] [--root DIR]
                                          [--seeds 0,S1,S2] [--student ID ...]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import io
import logging
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from course.config import ROOT


@dataclass
class StudentRun:
    """One student's autograde step."""

    student: str
    returncode: int
    seconds: float
    log: str


class HandOver:
    """Grades computed before nbgrader's step, for :class:`EngineExecute` to take: a
    student still being graded is waited for; one not expected here is graded by
    nbgrader's own step as usual."""

    def __init__(self, assignment: str, students, seeds: list[int], device: str,
                 run_id: int):
        self.assignment, self.seeds, self.device, self.run_id = assignment, seeds, device, \
            run_id
        self.pending, self.grades = set(students), {}
        self.condition = threading.Condition()

    def put(self, grade) -> None:
        with self.condition:
            self.grades[grade.student] = grade
            self.pending.discard(grade.student)
            self.condition.notify_all()

    def take(self, assignment: str, student: str):
        """The grade of ``student`` (waiting for it while it is being graded), or None."""
        if assignment != self.assignment:
            return None
        with self.condition:
            while student in self.pending:
                self.condition.wait()
            return self.grades.pop(student, None)

    def close(self) -> None:
        """No more grades will come (nobody waits forever)."""
        with self.condition:
            self.pending.clear()
            self.condition.notify_all()


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a notebook in ``submitted/<student>/<assignment>/`` (what nbgrader grades;
    a folder without a notebook is skipped by nbgrader too)."""
    folder = root / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith(".")
                  and glob.glob(glob.escape(str(p / assignment)) + "/*.ipynb"))


def gradebook_scores(db_url: str, assignment: str, course_id: str) -> dict:
    """student -> {cell: (auto_score, manual_score, extra_credit, needs_manual_grade,
    max_score)} and comments and notebook flags: everything autograde decides, for
    comparisons."""
    from nbgrader.api import Gradebook, MissingEntry

    table = {}
    with Gradebook(db_url, course_id) as gb:
        try:
            submissions = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return {}
        for submission in submissions:
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[(notebook.name, grade.name, "grade")] = (
                        grade.auto_score, grade.manual_score, grade.extra_credit,
                        grade.needs_manual_grade, grade.max_score)
                for comment in notebook.comments:
                    cells[(notebook.name, comment.cell.name, "comment")] = (
                        comment.auto_comment, comment.manual_comment)
                cells[(notebook.name, "", "notebook")] = (
                    notebook.flagged, notebook.late_submission_penalty)
            table[submission.student.id] = cells
    return table


def total_scores(db_url: str, assignment: str, course_id: str) -> dict[str, tuple]:
    """student -> (score, max_score) of the submission (autograded + manual)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
        return {s.student.id: (s.score, s.max_score)
                for s in gb.find_assignment(assignment).submissions}


class ParallelAutograde:
    """Autograde the students of one assignment: ``workers`` warm workers grade, this
    process writes (module docstring)."""

    def __init__(self, root: Path, assignment: str, workers: int, force: bool = False,
                 progress: bool = True, seeds: list[int] | None = None):
        self.root, self.assignment = Path(root).resolve(), assignment
        self.seeds = list(seeds) if seeds else None  # drawn for the run when None
        self.workers, self.force, self.progress = max(1, workers), force, progress
        self.database = self.root / "gradebook.db"
        self.main_url = f"sqlite:///{self.database}"
        self.runs: list[StudentRun] = []

    @functools.cached_property
    def course_id(self) -> str:
        """nbgrader_config.py's course id (reading it imports nbgrader: asked once the
        warm workers are starting)."""
        from course.autograde.gradebook import course_id_of

        return course_id_of(self.root)

    def check_gradebook(self) -> None:
        """The assignment in the course's gradebook before anyone is graded: recorded from
        source/ when missing (:func:`course.autograde.gradebook.ensure_assignment`)."""
        from course.autograde.gradebook import ensure_assignment

        try:
            ensure_assignment(self.root, self.assignment)
        except Exception as error:  # noqa: BLE001 - nobody can be graded: say why and stop
            raise SystemExit(f"{self.assignment}: could not record it in {self.database} "
                             f"from source/: {type(error).__name__}: {error}") from None

    def already_autograded(self, student: str) -> bool:
        """In autograded/ already: nbgrader skips such a student unless ``force``."""
        return not self.force and (self.root / "autograded" / student
                                   / self.assignment).is_dir()

    def run(self, students: list[str] | None = None) -> list[StudentRun]:
        """Grade and write ``students`` (default: every submission); one run per student
        (a student already autograded, skipped without ``force``, included)."""
        students = submitted_students(self.root, self.assignment) if students is None \
            else list(students)
        skipped = [StudentRun(s, 0, 0.0, "already in autograded/: skipped (--force grades "
                                         "it again)") for s in students
                   if self.already_autograded(s)]
        self.runs = list(skipped)
        self.grade_and_write([s for s in students if not self.already_autograded(s)])
        order = {s: i for i, s in enumerate(students)}
        return sorted(self.runs, key=lambda r: order[r.student])

    def grade_and_write(self, students: list[str]) -> None:
        """Grade ``students`` with the warm workers, writing each as its grade comes in."""
        from course.grade.run import grade_class

        if not students:
            self.check_gradebook()
            return
        pool = self.warm_pool(len(students))  # warming up while this process imports
        try:
            self.check_gradebook()
            grader = self.engine_grader(students)
        except BaseException:
            pool.remove()
            raise
        run_id = self.run_row(grader)
        hand_over = HandOver(self.assignment, students, grader.seeds, grader.device, run_id)
        finished: queue.Queue = queue.Queue()
        writer = threading.Thread(target=self._write_all, args=(finished,), daemon=True)
        notebooks = {s: self.root / "submitted" / s / self.assignment
                     / f"{self.assignment}.ipynb" for s in students}

        def graded(grade):
            hand_over.put(grade)
            finished.put(grade.student)

        with handing_over(hand_over, self.root):
            writer.start()
            try:
                grade_class(grader, notebooks, self.workers, progress=self.progress,
                            on_grade=graded, pool=pool)
            finally:
                hand_over.close()
                finished.put(None)  # the writer's last item
                writer.join()
        self.run_row(grader, run_id)

    def warm_pool(self, count: int):
        """The run's warm workers (:class:`course.grade.worker_pool.WarmPool`), started
        first: each imports torch and warms up while this process imports nbgrader and the
        checkers, as ``make grade``'s do.  No student is forked from them before the engine
        has settled the sandbox's isolation (:class:`course.autograde.engine.Engine`)."""
        from types import SimpleNamespace

        from course.config import load_grading_config
        from course.grade.grader import matplotlib_cache, resolve_device
        from course.grade.plan import load_assignment
        from course.grade.worker_pool import WarmPool

        config = load_grading_config(self.root / "pyproject.toml")
        setup = SimpleNamespace(assignment=load_assignment(self.assignment,
                                                           self.root / "source"),
                                config=config, device=resolve_device(config.device),
                                sys_path=[])
        return WarmPool(setup, min(self.workers, count), fonts=matplotlib_cache())

    def engine_grader(self, students: list[str]):
        """The grading engine's grader for this run (seeds drawn once, or ``--seeds``),
        after what nbgrader's pre-convert hook does to each submission."""
        from course.autograde.engine import Engine
        from course.autograde.preprocessors import drop_submitted_links
        from course.config import load_grading_config
        from course.grade.grader import draw_seeds

        for student in students:
            drop_submitted_links(self.assignment, student, root=self.root)
        if not self.seeds:
            self.seeds = draw_seeds(load_grading_config(self.root / "pyproject.toml")
                                    .fresh_seeds)
        grader = Engine(self.root, self.assignment, self.seeds).grader
        print(f"grading {self.assignment} on {grader.device} with seeds {grader.seeds}",
              file=sys.stderr, flush=True)
        return grader

    def run_row(self, grader, run_id: int | None = None) -> int:
        """The run's row in the gradebook: made (``run_id`` None), or marked finished."""
        from course.gradebook.record import RunInfo, finish_run, open_gradebook, start_run

        with open_gradebook(self.main_url, self.course_id) as gradebook:
            if run_id is None:
                return start_run(gradebook, RunInfo(self.assignment, "make autograde",
                                                    grader.seeds, grader.device,
                                                    {"workers": self.workers}))
            finish_run(gradebook, run_id)
            return run_id

    def _write_all(self, finished: queue.Queue) -> None:
        """nbgrader's autograde step for each student as its grade comes in (until None)."""
        converter = NbgraderStep(self.root, self.assignment, self.force)
        while (student := finished.get()) is not None:
            started = time.monotonic()
            returncode, log = converter.write(student)
            self.runs.append(StudentRun(student, returncode, time.monotonic() - started, log))


@contextlib.contextmanager
def handing_over(hand_over: HandOver, root: Path):
    """``EngineExecute`` takes its grades from ``hand_over``, and this process works in the
    course root (where nbgrader's step runs), until the block ends."""
    from course.autograde.engine import EngineExecute

    previous = os.getcwd()
    EngineExecute.hand_over = hand_over
    os.chdir(root)
    try:
        yield
    finally:
        EngineExecute.hand_over = None
        os.chdir(previous)


class NbgraderStep:
    """nbgrader's :class:`~nbgrader.converters.Autograde` for one student at a time, in this
    process, configured by the course's nbgrader_config.py."""

    def __init__(self, root: Path, assignment: str, force: bool):
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        self.config.CourseDirectory.root = str(root)
        self.config.BaseConverter.force = force
        self.coursedir = CourseDirectory(config=self.config)
        self.coursedir.assignment_id = assignment

    def write(self, student: str) -> tuple[int, str]:
        """(0, log) when nbgrader wrote the student's autograded notebook and gradebook
        rows; (1, log) when its step failed (its log says why)."""
        from nbgrader.converters import Autograde
        from nbgrader.converters.base import NbGraderException

        text = io.StringIO()
        log = logging.getLogger(f"course.autograde.nbgrader.{student}")
        log.propagate, log.level = False, logging.INFO
        handler = logging.StreamHandler(text)
        log.addHandler(handler)
        self.coursedir.student_id = glob.escape(student)
        converter = Autograde(coursedir=self.coursedir, config=self.config, log=log)
        try:
            with contextlib.redirect_stdout(text):
                converter.start()
            returncode = 0
        except NbGraderException:
            returncode = 1
        except Exception as error:  # noqa: BLE001 - this student only
            text.write(f"{type(error).__name__}: {error}\n")
            returncode = 1
        finally:
            log.removeHandler(handler)
        return returncode, text.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=0,
                        help="warm workers grading at a time (default: the number of cores)")
    parser.add_argument("--force", action="store_true",
                        help="grade again students already in autograded/")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course directory")
    parser.add_argument("--student", action="append", default=None,
                        help="grade only this student (repeatable)")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds instead of fresh ones (to reproduce a run)")
    args = parser.parse_args(argv)
    workers = args.workers or os.cpu_count() or 1
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    grader = ParallelAutograde(args.root, args.assignment, workers, force=args.force,
                               seeds=seeds)
    started = time.monotonic()
    runs = grader.run(args.student)
    totals = total_scores(grader.main_url, args.assignment, grader.course_id) if runs else {}
    failed = [r for r in runs if r.returncode != 0]
    for run in runs:
        score, top = totals.get(run.student, (None, None))
        points = "NOT WRITTEN (nbgrader's autograde step failed)" if run.returncode \
            or score is None else f"{score:g}/{top:g} points"
        skipped = " (already autograded: skipped; --force grades it again)" \
            if run.log.startswith("already in autograded/") else ""
        print(f"{run.student}: {points}{skipped}")
    for run in failed:
        print(f"--- nbgrader log of {run.student} (last lines)\n"
              + "\n".join(run.log.strip().splitlines()[-15:]), file=sys.stderr)
    print(f"autograded {len(runs) - len(failed)} of {len(runs)} students with {workers} "
          f"workers in {time.monotonic() - started:.1f} s -> {grader.database}")
    if grader.seeds:
        print(f"seeds {grader.seeds}: reproduce with --seeds {','.join(map(str, grader.seeds))}")
    if failed:
        print(f"not graded: {', '.join(r.student for r in failed)}; run it again to grade "
              f"them (students already in autograded/ are skipped)", file=sys.stderr)
    return 1 if failed else 0
