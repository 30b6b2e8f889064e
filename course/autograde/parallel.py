"""``make autograde WORKERS=n``: ``nbgrader autograde`` over a class in parallel.

Grading comes first, as in ``make grade``: the whole class is graded by the grading engine
with ``n`` warm workers (:func:`course.grade.run.grade_class`), on seeds drawn once for the
run (or ``--seeds``), and each student's grade is handed to nbgrader in a private folder
(``EngineExecute.grades_dir``, :mod:`course.autograde.engine`): nbgrader's own step then
only writes the verdicts into the test cells, scores them and stores them.

nbgrader autogrades one student after another (nbgrader issue #174), and several
``nbgrader autograde --student`` processes sharing one SQLite gradebook get in each other's
way: SQLite lets one process write at a time, so they queue on the lock (no speed-up) and a
process that waits too long fails its student.  Here every worker has its own gradebook:

1. the course's ``gradebook.db`` (which holds the assignment since
   ``nbgrader generate_assignment``, or is given it from source/ first:
   :mod:`course.autograde.gradebook`) is copied once per worker (SQLite's backup API, so the
   copy is consistent);
2. ``n`` workers take students from one queue; each student is graded by its own process,
   ``nbgrader autograde <a> --student <id> --CourseDirectory.db_url=sqlite:///<worker db>``,
   so one student's crash or hang costs only that student;
3. as soon as a student is graded, this process (the only writer of the course's gradebook)
   copies that student's submission from the worker's database into ``gradebook.db`` with
   nbgrader's own API (:class:`nbgrader.api.Gradebook`): the student, the submission's
   timestamp and extension, and for each notebook its flags, late penalty, grades (auto,
   manual, extra credit, needs-manual-grade) and comments.

Each worker's database starts as the course's own, so nbgrader sees exactly what a serial
run would see (existing manual grades, extensions), and the merged gradebook is what
``nbgrader autograde`` alone would have written.  A database server (nbgrader's ``db_url``
pointing at PostgreSQL) would also serialise the writes, but needs a server and a driver on
every grading machine; SQLite files need nothing.

Load and timeouts: nbgrader_config.py's ``Execute.timeout`` (per cell) is sized for a
loaded machine, and each worker's kernel gets ``cores / n`` threads (``OMP_NUM_THREADS``),
so ``n`` kernels do not fight over the cores.  Kernels starting side by side on a busy
machine can take longer than nbclient's 60 s ``startup_timeout`` (measured: "Kernel didn't
respond in 60 seconds" with two workers on a loaded 2-core machine), so unless
nbgrader_config.py sets it, it is raised to ``Execute.timeout``.  A student whose
``nbgrader autograde`` fails anyway (it exits non-zero: nbgrader could not grade, which is
not a grade) is tried once more; if it fails again it is NOT merged (the course's gradebook
keeps what it had, rather than a 0 nobody earned), it is listed with its log, and the
command exits 1.  Running ``make autograde`` again grades just the students not yet in
``autograded/``.

Usage: python -m course.autograde ASSIGNMENT [--workers N] [--force] [--root DIR]
                                          [--seeds 0,S1,S2] [--student ID ...]
"""

from __future__ import annotations

import argparse
import glob
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from course.config import ROOT, THREAD_VARIABLES
from course.autograde.engine import grade_path
from course.autograde.preprocessors import ignore_gradebook_autoflush_warnings


@dataclass
class StudentRun:
    """One student's ``nbgrader autograde`` process."""

    student: str
    returncode: int
    seconds: float
    log: str
    attempts: int = 1


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a notebook in ``submitted/<student>/<assignment>/`` (what nbgrader grades;
    a folder without a notebook is skipped by nbgrader too)."""
    folder = root / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith(".")
                  and glob.glob(glob.escape(str(p / assignment)) + "/*.ipynb"))


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database (the backup API, not a file copy)."""
    with sqlite3.connect(str(source)) as src, sqlite3.connect(str(target)) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def merge_submission(source_url: str, target_url: str, assignment: str, student: str,
                     course_id: str) -> bool:
    """Copy one student's submission of ``assignment`` from one gradebook into another;
    False when the source has none (nbgrader skipped the student)."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(source_url, course_id) as src, Gradebook(target_url, course_id) as dst, \
            warnings.catch_warnings():
        ignore_gradebook_autoflush_warnings()  # nbgrader's add_submission, as in autograde
        try:
            submission = src.find_submission(assignment, student)
        except MissingEntry:
            return False
        person = submission.student
        dst.update_or_create_student(student, first_name=person.first_name,
                                     last_name=person.last_name, email=person.email,
                                     lms_user_id=person.lms_user_id)
        merged = dst.update_or_create_submission(assignment, student)
        merged.timestamp, merged.extension = submission.timestamp, submission.extension
        for notebook in submission.notebooks:
            target_nb = dst.find_submission_notebook(notebook.name, assignment, student)
            target_nb.flagged = notebook.flagged
            target_nb.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                target = dst.find_grade(grade.name, notebook.name, assignment, student)
                for attr in ("auto_score", "manual_score", "extra_credit",
                             "needs_manual_grade"):
                    setattr(target, attr, getattr(grade, attr))
            for comment in notebook.comments:
                target = dst.find_comment(comment.name, notebook.name, assignment, student)
                target.auto_comment = comment.auto_comment
                target.manual_comment = comment.manual_comment
        dst.db.commit()
    return True


def gradebook_scores(db_url: str, assignment: str, course_id: str) -> dict:
    """student -> {cell: (auto_score, manual_score, extra_credit, needs_manual_grade,
    max_score, auto_comment)}: everything autograde decides, for comparisons."""
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
                    cells[(notebook.name, comment.name, "comment")] = (
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
    """Autograde the students of one assignment with ``workers`` processes at a time."""

    def __init__(self, root: Path, assignment: str, workers: int, force: bool = False,
                 extra_args: tuple = (), progress: bool = True, seeds: list[int] | None = None):
        from course.config import nbgrader_setting

        self.root, self.assignment = Path(root).resolve(), assignment
        self.seeds = list(seeds) if seeds else None  # drawn by the engine when None
        self.grades_dir: Path | None = None  # the engine's grades, for nbgrader's processes
        self.workers, self.force, self.extra_args = max(1, workers), force, tuple(extra_args)
        self.progress = progress
        self.course_id = nbgrader_setting("CourseDirectory", "course_id", self.root) \
            or "default_course"
        self.database = self.root / "gradebook.db"
        self.main_url = f"sqlite:///{self.database}"
        self.startup_timeout = None
        if nbgrader_setting("Execute", "startup_timeout", self.root) is None:
            self.startup_timeout = nbgrader_setting("Execute", "timeout", self.root)
        self.lock = threading.Lock()
        self.runs: list[StudentRun] = []

    def check_gradebook(self) -> None:
        """The assignment in the course's gradebook before the workers copy it: recorded from
        source/ when missing (:func:`course.autograde.gradebook.ensure_assignment`)."""
        from course.autograde.gradebook import ensure_assignment

        try:
            ensure_assignment(self.root, self.assignment)
        except Exception as error:  # noqa: BLE001 - nobody can be graded: say why and stop
            raise SystemExit(f"{self.assignment}: could not record it in {self.database} "
                             f"from source/: {type(error).__name__}: {error}") from None

    def command(self, student: str, db_path: Path) -> list[str]:
        nbgrader = Path(sys.executable).with_name("nbgrader")
        command = [str(nbgrader), "autograde", self.assignment,
                   f"--student={glob.escape(student)}",
                   f"--CourseDirectory.db_url=sqlite:///{db_path}"]
        if self.force:
            command.append("--force")
        if self.startup_timeout:
            command.append(f"--Execute.startup_timeout={int(self.startup_timeout)}")
        if self.seeds:
            command.append(f"--EngineExecute.seeds={self.seeds}")
        if self.grades_dir:
            command.append(f"--EngineExecute.grades_dir={self.grades_dir}")
        return command + list(self.extra_args)

    def environment(self) -> dict:
        env = dict(os.environ)
        threads = str(max(1, (os.cpu_count() or 1) // self.workers))
        for name in THREAD_VARIABLES:
            env[name] = threads
        return env

    def run(self, students: list[str] | None = None) -> list[StudentRun]:
        """Grade ``students`` (default: every submission); returns one run per student."""
        self.check_gradebook()
        students = submitted_students(self.root, self.assignment) if students is None \
            else list(students)
        todo: queue.Queue = queue.Queue()
        for student in students:
            todo.put(student)
        scratch = Path(tempfile.mkdtemp(prefix="autograde-"))
        try:
            self.grade_with_engine(students, scratch / "grades")
            bar = _progress(len(students), self.progress, f"autograde {self.assignment}")
            threads = []
            for index in range(min(self.workers, len(students))):
                db_path = scratch / f"worker-{index}.db"
                copy_database(self.database, db_path)
                runtime = scratch / f"runtime-{index}"
                runtime.mkdir(mode=0o700)
                thread = threading.Thread(target=self._worker,
                                          args=(todo, db_path, runtime, bar), daemon=True)
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join()
            bar.close()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        order = {s: i for i, s in enumerate(students)}
        return sorted(self.runs, key=lambda r: order[r.student])

    def grade_with_engine(self, students: list[str], folder: Path) -> None:
        """Grade ``students`` as ``make grade`` does (warm workers, verdicts here) and save
        each grade in ``folder`` for the students' nbgrader processes."""
        from course.autograde.preprocessors import drop_submitted_links
        from course.config import load_grading_config
        from course.grade.grader import draw_seeds
        from course.autograde.engine import Engine, write_grade
        from course.grade.run import grade_class

        if not self.seeds:  # one set for the run, here and in every nbgrader process
            self.seeds = draw_seeds(load_grading_config(self.root / "pyproject.toml")
                                    .fresh_seeds)
        folder.mkdir(mode=0o700)
        notebooks = {}
        if not self.force:  # nbgrader skips these (or, for a newer submission, grades it)
            students = [s for s in students if not (self.root / "autograded" / s
                                                    / self.assignment).is_dir()]
        for student in students:  # what nbgrader's pre-convert hook does, done first here
            drop_submitted_links(self.assignment, student, root=self.root)
            notebooks[student] = (self.root / "submitted" / student / self.assignment
                                  / f"{self.assignment}.ipynb")
        self.grades_dir = folder
        if not students:
            return
        grader = Engine(self.root, self.assignment, self.seeds).grader
        print(f"grading {self.assignment} on {grader.device} with seeds {grader.seeds}",
              file=sys.stderr, flush=True)
        grades, _ = grade_class(grader, notebooks, self.workers, progress=self.progress)
        for grade in grades.values():
            write_grade(folder, grade, grader.seeds, grader.device)

    def _worker(self, todo: queue.Queue, db_path: Path, runtime: Path, bar) -> None:
        env = self.environment()
        env["JUPYTER_RUNTIME_DIR"] = str(runtime)  # this worker's kernels' connection files
        while True:
            try:
                student = todo.get_nowait()
            except queue.Empty:
                return
            started, log, attempts = time.monotonic(), "", 0
            while attempts < 2:
                attempts += 1
                if attempts > 1 and self.grades_dir:  # graded again there, same seeds
                    grade_path(self.grades_dir, student).unlink(missing_ok=True)
                command = self.command(student, db_path)
                if attempts > 1 and "--force" not in command:
                    command.append("--force")
                result = subprocess.run(command, cwd=self.root, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, errors="replace")
                log += (f"--- attempt {attempts}\n" if attempts > 1 else "") + result.stdout
                if result.returncode == 0:
                    break
            returncode = result.returncode
            with self.lock:  # this process is the only writer of gradebook.db
                if returncode == 0:
                    try:
                        merge_submission(f"sqlite:///{db_path}", self.main_url,
                                         self.assignment, student, self.course_id)
                    except Exception as error:  # noqa: BLE001 - reported, the class goes on
                        log += (f"\nmerging into gradebook.db failed: "
                                f"{type(error).__name__}: {error}")
                        returncode = 1
                self.runs.append(StudentRun(student, returncode, time.monotonic() - started,
                                            log, attempts))
                bar.update(1)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool, description: str):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="student", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes at a time (default: the number of cores)")
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
        if run.returncode:
            points = f"NOT GRADED (nbgrader exited {run.returncode}, {run.attempts} attempts)"
        else:
            points = f"{score:g}/{top:g} points"
        print(f"{run.student}: {points} ({run.seconds:.1f} s)")
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
