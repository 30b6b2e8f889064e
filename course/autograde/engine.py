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
   :attr:`EngineExecute.seeds`, to reproduce a run); ``make autograde`` grades the class
   first with warm workers and hands the grades over (:attr:`EngineExecute.grades_dir`);
3. with ``demo_cells = "run"`` runs the notebook's other cells in the sandboxed kernel
   (:class:`course.autograde.preprocessors.SandboxedExecute`), for feedback with printed numbers and
   plots; their outputs never change a grade.  With ``"skip"`` (the default) no kernel
   starts at all;
4. writes each check's verdict as its test cell's output: the pass line, or the failure
   message as an error output, or, for a check that earned partial credit, the message on
   stdout and its points as the cell's result.  nbgrader's ``SaveAutoGrades`` then scores
   the cells as it always does (an error output: 0; a result: that many points; otherwise
   full points), so the gradebook holds
   exactly the points ``make grade`` writes in ``grades/<a>.csv``, and feedback shows the
   same messages.

The run's seeds and device are recorded in the autograded notebook's metadata
(``course_grading``) and in nbgrader's log, where each student then gets one progress line,
``[3/20] alice  graded 18/21  1.2 s  ETA 20 s`` (:mod:`course.autograde.progress`).  What
the student's code printed while it was graded is kept beside the notebook,
``autograded/<student>/<a>/student_output.txt`` (as ``make grade`` keeps it in
``grades/``), for the TA.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import asdict
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from traitlets import Enum, List, Unicode

from course.autograde.preprocessors import SandboxedExecute, is_test_cell
from course.autograde.progress import progress_for
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


# --------------------------------------------------------------------------- hand-over


def grade_path(folder: Path, student: str) -> Path:
    return Path(folder) / f"{student}.json"


def write_grade(folder: Path, grade: StudentGrade, seeds: list[int], device: str) -> Path:
    """Save one student's grade for :class:`EngineExecute` (``make autograde``)."""
    record = {"grade": asdict(grade), "seeds": list(seeds), "device": device}
    path = grade_path(folder, grade.student)
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def read_grade(folder: Path, student: str) -> tuple[StudentGrade, list[int], str] | None:
    """What :func:`write_grade` saved for ``student``, or None."""
    path = grade_path(folder, student)
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    fields = dict(record["grade"])
    fields["results"] = [CheckResult(**row) for row in fields["results"]]
    return StudentGrade(**fields), record["seeds"], record["device"]


# --------------------------------------------------------------------------- outputs


def verdict_outputs(row: CheckResult) -> list[NotebookNode]:
    """A test cell's outputs for its check: the pass line on stdout; a check with partial
    credit, its message on stdout and its points as the cell's result (which nbgrader's
    ``SaveAutoGrades`` reads as partial credit); otherwise the message as an error (which
    nbgrader scores 0)."""
    if row.status == "passed":
        return [NotebookNode(output_type="stream", name="stdout", text=row.message + "\n")]
    if 0 < row.points < row.max_points:
        return [NotebookNode(output_type="stream", name="stdout", text=row.message + "\n"),
                NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                             data={"text/plain": f"{row.points:g}"})]
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
    grades_dir = Unicode(
        "",
        help="A folder of grades already computed by the engine (make autograde: the class "
             "graded with warm workers first); a student found there is not graded again"
    ).tag(config=True)

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
        grade, seeds, device = self._grade(root, assignment, student, notebook)
        if self.demo_cells == "run":
            nb, resources = self._run_demo_cells(nb, resources, km)
        (folder / OUTPUT_FILE).write_text(grade.output, encoding="utf-8")
        missing = write_verdicts(nb, grade)
        if missing:
            self.log.warning("%s: test cells not in the source notebook: %s", student, missing)
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
        """(grade, seeds, device): handed over by make autograde, or graded now."""
        if self.grades_dir:
            found = read_grade(Path(self.grades_dir), student)
            if found is not None:
                return found
        engine = engine_for(root, assignment, [int(s) for s in self.seeds])
        return (engine.grade(student, notebook), engine.grader.seeds,
                engine.grader.device)

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
