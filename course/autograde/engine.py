"""``nbgrader autograde`` on the grading engine: no verdict runs in the student's kernel.

:class:`EngineExecute` takes the place of nbgrader's ``Execute`` in nbgrader_config.py's
list of autograde preprocessors.  For each submitted notebook it

1. leaves in the student's autograded folder only the assignment's own files and its
   notebooks (:func:`keep_course_files`): whatever else was handed in beside the notebook
   (a ``support/`` or ``torch/`` package, ``sitecustomize.py``, ``*.pth``, a second
   notebook) stays in ``submitted/`` for the TA to look at, and no kernel ever imports it;
2. grades the submitted notebook, ``submitted/<student>/<a>/<a>.ipynb``, exactly as
   ``make grade`` does, with the same :class:`course.grade.grader.Grader`: the plan comes from
   the source notebook, the student's code runs in a sandboxed student process (a warm
   worker kept for the whole nbgrader run), only plain probe data comes back, and every
   verdict runs here, in nbgrader's process, on parameters drawn here.  The seeds are seed
   0 (the notebook's visible call) and ``fresh_seeds`` drawn once per nbgrader run (or
   :attr:`EngineExecute.seeds`, to reproduce a run); ``make autograde``
   (:mod:`course.autograde.parallel`) grades the class first with warm workers and hands
   each grade over in memory (:attr:`EngineExecute.hand_over`);
3. with ``demo_cells = "run"`` runs the notebook's other cells in the sandboxed kernel
   (:class:`course.autograde.preprocessors.SandboxedExecute`), for feedback with printed numbers and
   plots; their outputs never change a grade.  With ``"skip"`` (the default) no kernel
   starts at all;
4. writes each check's verdict as its test cell's output (the pass line, or the failure
   message as an error output: the messages feedback shows), and in place of the test
   cell's hidden tests the cases that ran (:mod:`course.autograde.cases`); the grade goes
   on in ``resources`` to :class:`SaveEngineGrades`, which takes the place of nbgrader's
   ``SaveAutoGrades`` and writes the engine's points and messages into the gradebook
   (:mod:`course.gradebook.record`): points, not error outputs, so a check's partial
   credit is kept, and a TA's manual score is never touched.

The run's seeds and device are recorded in the autograded notebook's metadata
(``course_grading``) and in nbgrader's log, where each student then gets one progress line,
``[3/20] alice  graded 18/21  1.2 s  ETA 20 s`` (:mod:`course.autograde.progress`).  What
the student's code printed while it was graded is kept beside the notebook,
``autograded/<student>/<a>/student_output.txt`` (as ``make grade`` keeps it in
``grades/``), for the TA.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import SaveAutoGrades
from traitlets import Enum, List

from course.autograde.preprocessors import SandboxedExecute, is_test_cell
from course.autograde.progress import progress_for
from course.autograde.cases import show_cases
from course.grade.grader import CheckResult, StudentGrade

RECORD_KEY = "course_grading"  # notebook metadata with the run's seeds (kept by nbgrader)
OUTPUT_FILE = "student_output.txt"  # what the student's code printed, beside the notebook
ERROR_NAMES = {"failed": "CheckFailed", "timeout": "CheckTimeout", "error": "GradingError"}


# --------------------------------------------------------------------------- the folder


def keep_course_files(folder: Path, source_folder: Path) -> list[str]:
    """Remove from ``folder`` everything but the notebooks and files of ``source_folder``;
    returns the removed paths, relative to ``folder``."""
    keep = {p.relative_to(source_folder) for p in source_folder.rglob("*")
            if not p.is_symlink()}
    removed = []
    for path in sorted(folder.rglob("*"), reverse=True):  # children before their folder
        relative = path.relative_to(folder)
        if relative in keep and not path.is_symlink() and (path.is_file() or path.is_dir()):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(str(relative))
    return sorted(set(removed))


# --------------------------------------------------------------------------- the engine


class Engine:
    """One assignment's grader, and the warm worker its students' processes fork from."""

    def __init__(self, root: Path, assignment: str, seeds: list[int] | None = None):
        from course.config import load_grading_config
        from course.grade.grader import Grader, draw_seeds, one_thread_each, resolve_device
        from course.grade.plan import load_assignment

        one_thread_each()
        self.isolation = engine_isolation(root)
        config = load_grading_config(root / "pyproject.toml")
        plan = load_assignment(assignment, root / "source")
        seeds = list(seeds) if seeds else draw_seeds(config.fresh_seeds)
        self.grader = Grader(plan, config, resolve_device(config.device), seeds)
        self.zygote = None

    def grade(self, student: str, notebook: Path) -> StudentGrade:
        """Grade one submission, as ``make grade`` does (its process forked from a warm
        worker started at the first student)."""
        from course.grade.warm_worker import Zygote

        if self.zygote is None:
            self.zygote = Zygote(self.grader.assignment.facade, self.grader.sys_path,
                                 self.grader.config.startup_timeout_s)
        grader = copy.copy(self.grader)
        grader.launcher, grader.scratch = self.zygote.launch, self.zygote.root
        return grader.grade(student, notebook)


def engine_isolation(root: Path):
    """The sandbox's isolation for the course at ``root`` (:mod:`course.sandbox.isolation`):
    IsolationRefused when below ``[tool.course.sandbox] require`` (nobody is graded); in the
    fallback, the course's private files (source, submissions, gradebook...) are first
    closed to the sandbox's user."""
    from course.config import load_sandbox_config
    from course.sandbox.isolation import close_private_files, require_isolation

    found = require_isolation(load_sandbox_config(root / "pyproject.toml"))
    close_private_files(found, root=root)
    return found


_ENGINES: dict[tuple, Engine] = {}
_LOGGED_SEEDS: dict[str, tuple] = {}  # assignment -> the (seeds, device, sandbox) last logged


def engine_for(root: Path, assignment: str, seeds: list[int] | None) -> Engine:
    """The engine of this nbgrader run for ``assignment`` (made at its first student)."""
    key = (str(root), assignment, tuple(seeds or ()))
    if key not in _ENGINES:
        _ENGINES[key] = Engine(root, assignment, seeds)
    return _ENGINES[key]


# --------------------------------------------------------------------------- outputs


def verdict_outputs(row: CheckResult) -> list[NotebookNode]:
    """A test cell's outputs for its check, the message feedback shows: the pass line, or a
    partial score's message, on stdout; otherwise the message as an error.  The points are
    not read from these outputs: :class:`SaveEngineGrades` writes the row's own."""
    if row.status == "passed" or row.points > 0:
        return [NotebookNode(output_type="stream", name="stdout", text=row.message + "\n")]
    name = ERROR_NAMES.get(row.status, "GradingError")
    return [NotebookNode(output_type="error", ename=name, evalue=row.message,
                         traceback=[f"{name}: {row.message}"])]


def write_verdicts(nb, grade: StudentGrade) -> list[str]:
    """Each graded test cell's outputs become its check's verdict; returns the grade ids
    of test cells the grade has no row for (they get an error saying so)."""
    from course.notebooks import grade_id

    rows = {row.check: row for row in grade.results}
    missing = []
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        row = rows.get(grade_id(cell))
        if row is None:
            missing.append(grade_id(cell))
            row = CheckResult(grade.student, grade_id(cell) or "?", 0, 0, "error",
                              "this cell is not a test cell of the source notebook")
        cell.outputs = verdict_outputs(row)
        cell.execution_count = None
    return missing


# --------------------------------------------------------------------------- nbgrader


class EngineExecute(SandboxedExecute):
    """nbgrader's Execute step, done by the course's grading engine (module docstring)."""

    demo_cells = Enum(
        ["skip", "run"], "skip",
        help="skip: run no kernel (fast: only the checks' code runs, in the grading "
             "engine); run: also run the notebook's other cells in the sandboxed kernel, "
             "for feedback with their outputs and plots (grades are the same)").tag(config=True)
    seeds = List(
        help="Seeds of the checks (0 first, then the hidden cases' seeds); empty: 0 and "
             "fresh ones drawn once per nbgrader run.  Set them to reproduce a run."
    ).tag(config=True)
    hand_over = None  # make autograde's grades (course.autograde.parallel.HandOver)

    def preprocess(self, nb, resources=None, km=None):
        from nbgrader.coursedir import CourseDirectory

        info = resources["nbgrader"]
        student, assignment = info["student"], info["assignment"]
        course = CourseDirectory(config=self.config)
        root = Path(course.root).resolve()
        folder = Path(resources["metadata"]["path"]).resolve()
        source = Path(course.format_path(course.source_directory, ".", assignment))
        removed = keep_course_files(folder, source)
        if removed:
            self.log.warning("%s: not used for grading (handed in beside the notebook): %s",
                             student, ", ".join(removed[:20]))
        if info["notebook"] != assignment:
            raise ValueError(f"{assignment}: the grading engine grades the notebook "
                             f"{assignment}.ipynb, not {info['notebook']}.ipynb")
        notebook = Path(course.format_path(course.submitted_directory, student, assignment),
                        f"{assignment}.ipynb")
        grade, seeds, device, run_id = self._grade(root, assignment, student, notebook)
        if self.demo_cells == "run":
            nb, resources = self._run_demo_cells(nb, resources, km)
        (folder / OUTPUT_FILE).write_text(grade.output, encoding="utf-8")
        missing = write_verdicts(nb, grade)
        if missing:
            self.log.warning("%s: test cells not in the source notebook: %s", student, missing)
        show_cases(nb, grade, load_plan(root, assignment).checks, seeds, assignment)
        resources[RECORD_KEY] = {"grade": grade, "seeds": seeds, "device": device,
                                 "run_id": run_id, "course_id": course.course_id}
        found = engine_isolation(root)  # measured once per process
        nb.metadata[RECORD_KEY] = {"seeds": seeds, "device": device,
                                   "demo_cells": self.demo_cells,
                                   "reproduce": f"--seeds {','.join(map(str, seeds))}",
                                   "isolation": found.as_dict(),
                                   "device_regrades": grade.device_regrades}
        self._log_progress(course, assignment, student, grade, seeds, device, found.level)
        if grade.device_regrades:
            from course.grade.device_policy import summary

            self.log.warning("%s: %s", student, summary(grade))
        if grade.internal_error:
            raise RuntimeError(f"internal grader error: {grade.internal_error}")
        return nb, resources

    def _log_progress(self, course, assignment, student, grade, seeds, device,
                      isolation: str) -> None:
        """The student's progress line (:mod:`course.autograde.progress`), after the run's
        seeds, device and sandbox whenever they are new to this log."""
        if _LOGGED_SEEDS.get(assignment) != (seeds, device, isolation):
            _LOGGED_SEEDS[assignment] = (seeds, device, isolation)
            self.log.info("%s: graded by the grading engine on %s with seeds %s, sandbox %s "
                          "(--EngineExecute.seeds=\"%s\" reproduces them)",
                          assignment, device, seeds, isolation, seeds)
        folder = course.format_path(course.submitted_directory, student, assignment)
        self.log.info("%s", progress_for(course, assignment).line(
            folder, student, grade.points, grade.max_points))

    def _grade(self, root: Path, assignment: str, student: str, notebook: Path):
        """(grade, seeds, device, run id or None): handed over by make autograde, or
        graded now."""
        hand_over = EngineExecute.hand_over
        found = hand_over.take(assignment, student) if hand_over is not None else None
        if found is not None:
            return found, hand_over.seeds, hand_over.device, hand_over.run_id
        engine = engine_for(root, assignment, [int(s) for s in self.seeds])
        return (engine.grade(student, notebook), engine.grader.seeds,
                engine.grader.device, None)

    def _run_demo_cells(self, nb, resources, km):
        """Run every cell but the test cells in the sandboxed kernel (for their outputs)."""
        tests = {index: cell.source for index, cell in enumerate(nb.cells)
                 if is_test_cell(cell)}
        for index in tests:
            nb.cells[index].source = ""  # nbclient skips empty cells
        try:
            nb, resources = SandboxedExecute.preprocess(self, nb, resources, km)
        finally:
            for index, source in tests.items():
                nb.cells[index].source = source
        return nb, resources


def load_plan(root: Path, assignment: str):
    """The assignment's plan from source/ (:func:`course.grade.plan.load_assignment`),
    read once per process."""
    from course.grade.plan import load_assignment

    key = (str(root), assignment)
    if key not in _PLANS:
        _PLANS[key] = load_assignment(assignment, Path(root) / "source")
    return _PLANS[key]


_PLANS: dict = {}
_RUNS: dict = {}  # (db_url, assignment, seeds) -> this process's run id (nbgrader autograde)


class SaveEngineGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades`` for the grading engine: the engine's points and
    messages into the gradebook (:func:`course.gradebook.record.record_grade`), not points
    read back from the test cells' outputs; every other graded cell (written answers) as
    nbgrader scores it.  A notebook :class:`EngineExecute` did not grade is scored as stock
    nbgrader does."""

    def preprocess(self, nb, resources):
        from course.gradebook.record import open_gradebook, record_grade

        handed = resources.get(RECORD_KEY)
        self._engine_checks = set() if handed is None else \
            {row.check for row in handed["grade"].results}
        nb, resources = super().preprocess(nb, resources)
        if handed is None:
            return nb, resources
        info = resources["nbgrader"]
        with open_gradebook(info["db_url"], handed["course_id"]) as gradebook:
            run_id = handed["run_id"] or self._run_id(gradebook, info, handed)
            unknown = record_grade(gradebook, run_id, info["assignment"], info["notebook"],
                                   handed["grade"])
        if unknown:
            self.log.warning("%s: checks not in the gradebook: %s", info["student"], unknown)
        return nb, resources

    def _add_score(self, cell, resources):
        if cell.metadata["nbgrader"]["grade_id"] not in self._engine_checks:
            super()._add_score(cell, resources)

    @staticmethod
    def _run_id(gradebook, info: dict, handed: dict) -> int:
        """This nbgrader process's run (one per seeds), made at its first student."""
        from course.gradebook.record import RunInfo, finish_run, start_run

        key = (info["db_url"], info["assignment"], tuple(handed["seeds"]))
        if key not in _RUNS:
            _RUNS[key] = start_run(gradebook, RunInfo(
                info["assignment"], "nbgrader autograde", handed["seeds"], handed["device"]))
        finish_run(gradebook, _RUNS[key])
        return _RUNS[key]
