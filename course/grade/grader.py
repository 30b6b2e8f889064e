"""Grade submissions: run each one's code in a student process, judge its data here.

For each submission the grader

1. builds the steps from the trusted source notebook and the student's solution cells
   (:mod:`course.grade.plan`), with every check at seed 0 (the notebook's case) and at the run's
   fresh seeds (drawn with :mod:`secrets` once per grading run, the same for everyone);
2. runs them in a separate process (:mod:`course.grade.supervisor` starts and watches
   :mod:`course.grade.student_process`), in a fresh folder, with limits on memory and on disk, a
   wall-clock limit per cell and per check, and a limit per submission; when that process
   dies or hangs in a step, the step is charged and a new process resumes after it;
3. judges each probe's data in this process: ``check.verdict(params, data, **options)``
   recomputes its own reference from the parameters this process drew.  Whatever the
   student's process did (patching torch, shadowing checkers, printing "Passed!"), only its
   data reaches the verdict;
4. applies the course's device policy (:mod:`course.grade.device_policy`,
   :meth:`Grader.settle_devices`): a check that failed on the GPU because of where the
   student put a tensor is graded again on the CPU, or stays failed.

A check passes when every seed passes; its status is then ``passed``, else the first
problem in seed order: ``failed`` (wrong result, the student's exception, an undefined
name, malformed data), ``timeout`` (a wall-clock limit) or ``error`` (the process died or
ran out of memory or disk, or the notebook could not be read).  A check that declares
properties (:func:`support.checking.declared_properties`) and fails only some of them on
some seeds scores the weights of the properties that hold on *every* seed, with status
``failed`` and a message listing what passed and what did not (each failure from the first
seed that showed it); any other problem on any seed scores 0, as before.

One job, the grader of one submission (:class:`Grader`: :meth:`~Grader.plan`, run,
:meth:`~Grader.judge`), with the settings a run draws once (device, seeds); a front end
that runs the steps elsewhere (:mod:`course.grade.dask_cluster`, :mod:`course.check`) calls
``plan``, ``judge`` and ``settle_devices`` itself.  Where a check's verdict is defined is on
every row (``CheckResult.verdict_at``).
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course.config import GradingConfig
from course.grade import device_policy
from course.notebooks import (ADDED_CELL_RULE, Name, NotebookError, load_notebook,
                              question_labels)
from course.grade.plan import Assignment, GradedCheck, build_steps, plain_kwargs
from course.grade.supervisor import StepRunner

STATUSES = ("passed", "failed", "error", "timeout")
# a name that was not defined: Python's NameError, or a checker argument (_undefined)
UNDEFINED = re.compile(r"name '(\w+)' is not defined|`(\w+)` is not defined when")
# the student's function (in ...) read a name no cell bound (support.checking.StudentCodeError)
CALLS_MISSING = re.compile(r"name '(\w+)' is not defined \(in (\w+)\)")


class GraderError(Exception):
    """The grader itself cannot grade (bad source notebook, no such device, broken setup)."""


# --------------------------------------------------------------------------- results


@dataclass
class CheckResult:
    """One row of the grade sheet."""

    student: str
    check: str
    points: float
    max_points: float
    status: str
    message: str
    case_seed: int | None = None  # a check that did not pass: the seed that decided it
    #                               (0: the notebook's visible case; None: not a probe)
    verdict_at: str = ""  # where its verdict is defined: a verdict function's module and
    #                       name (support.<a>.dropout_checks.verdict_dropout), or the
    #                       notebook's test cell
    properties: tuple = ()  # a check with partial credit: (name, weight, held) for each
    #                         property its verdict declares, in declaration order; held when
    #                         it held on every seed.  points = max_points * the sum of the
    #                         weights held (status "passed" only when all held); () when the
    #                         check is all or nothing


@dataclass
class StudentGrade:
    """Everything graded for one student."""

    student: str
    results: list[CheckResult]
    seconds: float = 0.0
    output: str = ""  # what the student's code printed (capped), for the TA
    internal_error: str | None = None  # set when the grader, not the student, failed
    device_regrades: list = field(default_factory=list)  # checks that failed because of a
    #                     device, and what the policy made of them (course.grade.device_policy)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results)


@dataclass
class Plan:
    """One submission's steps (:func:`course.grade.plan.build_steps`) and the cells it lost."""

    student: str
    steps: list[dict]
    lost: dict


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cuda`` without a GPU is an error.

    A Linux machine without GPU device nodes has no CUDA: ``auto`` is then ``cpu`` without
    importing torch (seconds that a grading run spends starting its warm workers instead).
    """
    if device == "cpu" or (device == "auto" and not _gpu_device_nodes()):
        return "cpu"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GraderError("--device cuda, but torch sees no CUDA device on this machine")
    return device


def _gpu_device_nodes() -> bool:
    """Whether this machine may have a GPU: NVIDIA's or AMD's (ROCm) device nodes, or not
    Linux (where there are no such nodes to look at)."""
    if not sys.platform.startswith("linux"):
        return True
    return os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/kfd")


def one_thread_each() -> None:
    """One thread for this process's numpy and torch (the verdicts: small arrays), set before
    they are imported: the cores are for the student processes, and an idle OpenMP or
    OpenBLAS pool here would spin beside them.  A value already set is kept."""
    from course.config import THREAD_VARIABLES

    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


def draw_seeds(fresh: int) -> list[int]:
    """Seed 0 (the notebook's case) and ``fresh`` seeds no one can predict."""
    return [0] + [secrets.randbelow(2**31 - 2) + 1 for _ in range(fresh)]


# --------------------------------------------------------------------------- grader


class Grader:
    """Grades submissions of one assignment with one configuration, device and seed list."""

    launcher = None  # how student processes start (StepRunner.launcher; course.grade.warm_worker)
    scratch = None   # where submissions' folders are made (None: the system's temp folder)
    hide_gpus = False       # student processes see no GPU (the CPU pass of on_cpu())
    settles_devices = True  # its grades go through the device policy (not on_cpu()'s)

    def __init__(self, assignment: Assignment, config: GradingConfig, device: str,
                 seeds: list[int], sys_path: tuple = ()):
        import importlib

        self.assignment, self.config, self.device = assignment, config, device
        self.seeds, self.sys_path = list(seeds), [str(p) for p in sys_path]
        sys.path[:0] = [p for p in self.sys_path if p not in sys.path]
        try:
            facade = importlib.import_module(assignment.facade)
            self.checks = dict(facade.CHECKS)
        except Exception as error:  # noqa: BLE001
            raise GraderError(f"cannot import {assignment.facade}.CHECKS: {error}") from error
        unknown = {c.checker for c in assignment.checks if c.checker} - set(self.checks)
        if unknown:
            raise GraderError(f"{assignment.notebook_path} calls checkers that "
                              f"{assignment.facade}.CHECKS lacks: {sorted(unknown)}")
        self._params: dict = {}
        self.mpl_cache = matplotlib_cache()  # the font list each work folder gets
        self.questions = question_labels(assignment.notebook) if assignment.notebook else {}

    def params_for(self, check: GradedCheck, seed: int) -> dict:
        """The probe's parameters, drawn here (plain JSON, checked by a round trip)."""
        key = (check.checker, seed)
        if key not in self._params:
            params = self.checks[check.checker].make_params(seed, self.device)
            self._params[key] = json.loads(json.dumps(params))
        return json.loads(json.dumps(self._params[key]))

    # ----------------------------------------------------------------- one student

    def grade(self, student: str, notebook_path: str | Path) -> StudentGrade:
        """Grade one submission here: :meth:`plan`, run its steps in student processes
        (:attr:`launcher`), :meth:`judge`; never raises for anything the submission
        contains."""
        started = time.monotonic()
        plan = self.plan(student, notebook_path)
        if isinstance(plan, StudentGrade):
            return plan
        run = run_steps_in_folder(plan.steps, self.config, self.device, self.assignment.facade,
                                  self.sys_path, self.assignment.notebook_path.parent,
                                  self.mpl_cache, self.launcher, self.scratch,
                                  hide_gpus=self.hide_gpus)
        first = self.judge(plan, run.outcomes, time.monotonic() - started, run.output,
                           run.startup_failure)
        return self.settle_devices(first, lambda cpu: cpu.grade(student, notebook_path))

    def settle_devices(self, first: StudentGrade, regrade) -> StudentGrade:
        """``first`` under the course's device policy (:mod:`course.grade.device_policy`):
        ``regrade(grader)`` grades the same submission with :meth:`on_cpu`'s grader, where
        the front end runs student code; every front end calls this on every grade."""
        return device_policy.settle(self, first, regrade)

    def on_cpu(self) -> "Grader":
        """This grader for a CPU pass: the same seeds, probe parameters drawn for the CPU,
        each student process started afresh (cold) and seeing no GPU, as on a CPU machine;
        its grades are final (not settled again)."""
        cpu = copy.copy(self)
        cpu.device, cpu._params = "cpu", {}
        cpu.launcher = cpu.scratch = None
        cpu.hide_gpus, cpu.settles_devices = True, False
        return cpu

    def plan(self, student: str, notebook_path: str | Path) -> "Plan | StudentGrade":
        """What to run for one submission (its steps, :mod:`course.grade.plan`), or its grade
        when its notebook cannot be read."""
        started = time.monotonic()
        try:
            nb = load_notebook(notebook_path, where=Path(notebook_path).name)
        except NotebookError as error:
            message = str(error) + _other_notebooks(Path(notebook_path))
            return StudentGrade(student, self.all_rows(student, "error", message),
                                time.monotonic() - started)
        steps, lost = build_steps(self.assignment, nb, self.seeds, self.params_for)
        return Plan(student, steps, lost)

    def judge(self, plan: "Plan", outcomes: dict, seconds: float = 0.0, output: str = "",
              startup_failure: str | None = None) -> StudentGrade:
        """The grade of a submission from its steps' outcomes (step id -> StepOutcome),
        wherever they ran."""
        results = [self._judge(plan.student, check, plan.steps, outcomes, plan.lost)
                   for check in self.assignment.checks]
        grade = StudentGrade(plan.student, results, seconds, output)
        if startup_failure:
            grade.internal_error = startup_failure
        return grade

    def internal_error(self, student: str, error: BaseException | str,
                       where: str = "") -> StudentGrade:
        """The grade of a student the grader failed (a bug, a lost cluster): every check
        ``error`` with the reason, and the run reports it as an internal grader error."""
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        message = f"internal grader error{f' ({where})' if where else ''}: {reason}"
        grade = StudentGrade(student, self.all_rows(student, "error", message))
        grade.internal_error = message
        return grade

    def all_rows(self, student: str, status: str, message: str) -> list[CheckResult]:
        """The same status and message for every check (a notebook that could not run)."""
        return [CheckResult(student, c.grade_id, 0, c.points, status, message,
                            verdict_at=self.verdict_at(c)) for c in self.assignment.checks]

    def verdict_at(self, check: GradedCheck) -> str:
        """Where the verdict of ``check`` is defined: its checker's verdict function
        (module and qualified name, read from the function), or, for a test cell that is
        not a checker call, that cell of the notebook."""
        if check.checker is None:
            return f"{self.assignment.notebook_path.name}:{check.grade_id}"
        return function_location(self.checks[check.checker].verdict_fn)

    # ----------------------------------------------------------------- verdicts

    def _judge(self, student, check, steps, outcomes, lost) -> CheckResult:
        """The row for one check: the first seed that does not pass decides its status;
        where every seed that fails fails only some declared properties, the check keeps
        the weights of those that hold on every seed (:meth:`_combine`)."""
        seed, properties = None, ()
        if check.checker is None:
            status, message = self._judge_cell(check, steps, outcomes, lost)
            fraction = 1.0 if status == "passed" else 0.0
        else:
            judged = [(step, *self._judge_probe(check, step, outcomes.get(step["id"]), steps,
                                                outcomes, lost))
                      for step in steps if step.get("check") == check.grade_id]
            status, message, seed, fraction, properties = self._combine(check, judged)
            stale = self._stale_argument(check, steps, outcomes)
            if stale:
                status, message, fraction = "failed", stale, 0.0
                properties = tuple((name, weight, False) for name, weight, _ in properties)
            elif status != "passed":
                message = self._blame_callee(check, message, steps, outcomes, lost)
        notes = ""
        if status != "passed":
            message = _with_hints(message, self.device)
            notes = self._unrun_notes(check, message, steps, outcomes)
        limit = self.config.message_limit_chars - len(notes)
        if len(message) > limit:
            message = message[:max(0, limit - 15)] + " [... cut]"
        message += notes
        points = check.points if status == "passed" else round(fraction * check.points, 4)
        return CheckResult(student, check.grade_id, points, check.points, status, message,
                           seed, self.verdict_at(check), properties)

    def _combine(self, check, judged) -> tuple:
        """Status, message, deciding seed, share of the points and the properties row of a
        checker's cases ``judged`` ((step, status, text, partial) per seed, seed 0 first).

        A declared property holds only if it holds on every seed; the share is the sum of
        the weights of those that hold.  Any other problem on any seed (a plain failure,
        the student's exception in the probe, a timeout...) leaves nothing: the first such
        seed decides the row, as for a check that declares nothing."""
        properties = self.checks[check.checker].properties
        failing = [(step, status, text, partial) for step, status, text, partial in judged
                   if status != "passed"]
        if not failing:
            text = next((t for _, _, t, _ in judged), "")
            return "passed", text, None, 1.0, tuple((p.name, p.weight, True)
                                                  for p in properties)
        step, status, text, _ = failing[0]
        if not properties or any(partial is None for *_, partial in failing):
            return status, _case(check, step) + text, step["seed"], 0.0, tuple(
                (p.name, p.weight, False) for p in properties)
        failed: dict[str, str] = {}
        for step_, _, _, partial in failing:
            for name, failure in partial.failures.items():
                failed.setdefault(name, _case(check, step_) + str(failure))
        from support.checking import held_fraction, partial_message

        message = partial_message(check.checker, properties, failed, check.points)
        return ("failed", message, step["seed"], held_fraction(properties, failed),
                tuple((p.name, p.weight, p.name not in failed) for p in properties))

    def _judge_probe(self, check, step, outcome, steps, outcomes, lost) -> tuple:
        """(status, message, partial) of one case: ``partial`` is the verdict's
        :class:`~support.checking.PartialFailure` when only some declared properties failed,
        else None."""
        status_text = self._probe_problem(check, outcome, steps, outcomes, lost)
        if status_text is not None:
            return (*status_text, None)
        return self._verdict(check, step, outcome.data)

    def _probe_problem(self, check, outcome, steps, outcomes, lost) -> tuple | None:
        """(status, message) when the probe did not bring data to judge; None when it did."""
        config = self.config
        if outcome is None:
            return "error", "the check did not run (the student process ended before it)"
        if outcome.kind == "timeout":
            return "timeout", (f"did not finish within {config.check_timeout_s:g} s "
                               f"(an infinite loop, or far too slow?)")
        if outcome.kind == "total":
            return "timeout", (f"the submission used up its time limit "
                               f"({config.student_timeout_s:g} s) before this check")
        if outcome.kind == "memory":
            return "error", (f"stopped: used more than {config.memory_limit_mb} MiB of "
                             f"memory")
        if outcome.kind == "disk":
            return "error", (f"stopped: wrote more than {config.disk_limit_mb} MiB of files "
                             f"(the work folder of a submission may hold that much)")
        if outcome.kind == "died":
            return "error", f"the student process died during this check ({outcome.message})"
        if outcome.kind == "malformed":
            return "failed", f"malformed probe data: {outcome.message}"
        if outcome.kind == "report":
            report = outcome.data
            if "undefined" in report:
                return "failed", self._undefined(check, str(report["undefined"]), steps,
                                                 outcomes, lost)
            text = str(report.get("failure", "the probe failed"))
            if "allocat" in text or "MemoryError" in text:
                text += f"\n  note: each submission may use {config.memory_limit_mb} MiB"
            return "failed", text
        return None

    def _verdict(self, check, step, data) -> tuple:
        from support.checking import CheckFailure, PartialFailure

        try:
            summary = self.checks[check.checker].verdict(step["params"], data,
                                                         **plain_kwargs(check))
        except PartialFailure as failure:
            return "failed", str(failure), failure
        except CheckFailure as failure:
            return "failed", str(failure), None
        except Exception as error:  # noqa: BLE001 - data the verdict could not read
            return "failed", f"malformed probe data ({type(error).__name__}: {error})", None
        return "passed", str(summary or "passed"), None

    def _undefined(self, check, name, steps, outcomes, lost) -> str:
        """Why a notebook name a check needs does not exist: the last cell before the check
        that should have bound it (missing, raised, timed out...)."""
        text = f"{check.checker} failed: `{name}` is not defined when this check runs"
        order = [cell.grade_id for cell in self.assignment.cells]
        here = order.index(check.grade_id)
        before = [g for g in self.assignment.definers.get(name, []) if order.index(g) < here]
        if before and _still_stub(before[-1], steps, outcomes):
            return self._not_written(check, name, before[-1])
        if before:
            reason = self._cell_problem(before[-1], steps, outcomes, lost)
            text += f"\n  {reason}" if reason else \
                f"\n  hint: cell {before[-1]} should define `{name}`"
        return text

    def _definer_before(self, name: str, check, kinds=("setup", "solution")) -> str | None:
        """The last cell of ``kinds`` above ``check``'s test cell that binds ``name``."""
        order = [cell.grade_id for cell in self.assignment.cells]
        kind_of = {cell.grade_id: cell.kind for cell in self.assignment.cells}
        here = order.index(check.grade_id)
        before = [g for g in self.assignment.definers.get(name, [])
                  if order.index(g) < here and kind_of[g] in kinds]
        return before[-1] if before else None

    def _not_written(self, check, name: str, gid: str) -> str:
        return (f"{check.checker} failed: `{name}` is not written yet: its cell {gid} still "
                f"raises NotImplementedError")

    def _stale_argument(self, check, steps, outcomes) -> str:
        """Why a check must not judge an argument: the last solution cell above the check
        that binds it is still the released stub (it raised NotImplementedError, before
        binding the name), so the name is undefined or, worse, still what an earlier cell
        made (hw4's model cells all bind ``model``: a model cell left as a stub would have
        the model of an earlier question judged).  '' when no argument's cell is a stub."""
        for name in _argument_names(check):
            gid = self._definer_before(name, check)
            if gid is not None and self._kind(gid) == "solution" and \
                    _still_stub(gid, steps, outcomes):
                return self._not_written(check, name, gid)
        return ""

    def _kind(self, gid: str) -> str:
        return next((cell.kind for cell in self.assignment.cells if cell.grade_id == gid), "")

    def _blame_callee(self, check, message, steps, outcomes, lost) -> str:
        """A failure caused by a function of another question that the checked function
        calls, still a stub or not defined, names that function, its question and its cell
        ("train_epoch calls stable_bce_loss, which is not implemented yet (Question 3.6)"),
        instead of blaming the checked function."""
        from support.checking import CALLS_STUB

        for match in list(CALLS_STUB.finditer(message)):
            gid = self._definer_before(match[2], check, ("solution",))
            if gid is not None:
                message = message.replace(match[0], match[0].replace(
                    "not implemented yet: its cell still",
                    f"not implemented yet{self._question(gid)}: its cell {gid} still"))
        for callee, caller in dict.fromkeys(CALLS_MISSING.findall(message)):
            gid = self._definer_before(callee, check, ("solution",))
            if callee in _argument_names(check) or gid is None:
                continue
            problem = self._cell_problem(gid, steps, outcomes, lost) or \
                f"cell {gid} should define it"
            blame = (f"{caller} calls {callee}, which is not defined{self._question(gid)}: "
                     f"{problem}")
            lines = message.split("\n")
            first = next((i for i, line in enumerate(lines)
                          if line.startswith(f"{check.checker} failed: ")), None)
            if first is None:
                message += f"\n  note: {blame}"
            else:
                lines[first] = f"{check.checker} failed: {blame}"
                message = "\n".join(lines)
        return message

    def _question(self, gid: str) -> str:
        return f" ({self.questions[gid]})" if gid in self.questions else ""

    def _unrun_notes(self, check, message, steps, outcomes) -> str:
        """Notes for the names a failed check missed (Python's "name 'x' is not defined")
        that the notebook binds where grading did not run it: a cell the student added that
        raised or ran past its budget, the part of an added cell grading skips, or a demo
        cell; then the rule for added cells.  Empty when there is no such name."""
        first = next((s["id"] for s in steps if s.get("check") == check.grade_id), len(steps))
        added = [s for s in steps if s.get("origin") == "added" and s["id"] < first]
        names = (a or b for a, b in UNDEFINED.findall(message))
        notes = [note for name in dict.fromkeys(names)
                 if (note := self._unrun_note(name, added, outcomes))]
        if not notes:
            return ""
        return "".join(f"\n  note: {note}" for note in notes) + f"\n  note: {ADDED_CELL_RULE}"

    def _unrun_note(self, name, added, outcomes) -> str:
        """Why ``name`` was not defined when graded, if the notebook binds it in a cell (or
        a part of one) grading did not run."""
        definers = [s for s in added if name in s["names"]]
        if definers:
            step = definers[-1]
            problem = self._added_problem(outcomes.get(step["id"]))
            return f"`{name}` is defined in a cell you added, {step['label']}; when " \
                   f"graded, that cell {problem}" if problem else ""
        unrun = [s for s in added if name in s["skipped_names"]]
        if unrun:
            step = unrun[-1]
            return (f"`{name}` is defined in a cell you added, {step['label']}, only by "
                    f"code that grading does not run: {'; '.join(step['skipped'][:3])}")
        if name in self.assignment.demo_names:
            return f"`{name}` is bound only in a demo cell of the notebook (training runs, " \
                   f"plots), which grading does not run"
        return ""

    def _added_problem(self, outcome) -> str:
        """What went wrong with a cell the student added ('' when it ran)."""
        if outcome is None:
            return "did not run (the student process ended before it)"
        if outcome.kind == "ok":
            return ""
        if outcome.kind == "error":
            return f"raised {outcome.message}"
        if outcome.kind == "timeout":
            return (f"was stopped after its {self.config.added_cell_timeout_s:g} s budget "
                    f"(a cell you add may run only that long when graded: keep training runs "
                    f"and other long computations out of its assignments)")
        if outcome.kind == "total":
            return "was stopped: the submission used up its time limit"
        return f"stopped the student process ({outcome.kind}: {outcome.message})"

    def _cell_problem(self, gid, steps, outcomes, lost) -> str:
        if gid in lost:
            return lost[gid]
        for step in steps:
            if step["kind"] == "code" and step["cell"] == gid:
                outcome = outcomes.get(step["id"])
                if outcome is None:
                    return f"cell {gid} did not run"
                if outcome.kind == "error":
                    return f"cell {gid} raised {outcome.message}"
                if outcome.kind in ("timeout", "total"):
                    return f"cell {gid} did not finish within {self.config.cell_timeout_s:g} s"
                if outcome.kind in ("died", "memory", "disk"):
                    return f"cell {gid} stopped the process ({outcome.kind}: {outcome.message})"
        return ""

    def _judge_cell(self, check, steps, outcomes, lost) -> tuple[str, str]:
        """A test cell that is not a checker call: passes when it runs without an error."""
        problem = self._cell_problem(check.grade_id, steps, outcomes, lost)
        if not problem:
            return "passed", f"cell {check.grade_id} ran without error"
        return ("timeout" if "did not finish" in problem else "failed"), problem


def _argument_names(check: GradedCheck) -> list[str]:
    """The notebook names a checker call passes (positional, then keyword)."""
    values = [*check.args, *(value for _, value in check.kwargs)]
    return list(dict.fromkeys(v.id for v in values if isinstance(v, Name)))


def _still_stub(gid: str, steps: list[dict], outcomes: dict) -> bool:
    """Whether cell ``gid`` raised NotImplementedError (the released stub, unanswered)."""
    return any(step["kind"] == "code" and step["cell"] == gid
               and getattr(outcomes.get(step["id"]), "kind", None) == "error"
               and outcomes[step["id"]].message.startswith("NotImplementedError")
               for step in steps)


def function_location(function) -> str:
    """``module.qualified_name`` of a function (through decorators and partials)."""
    import functools
    import inspect

    while isinstance(function, functools.partial):
        function = function.func
    function = inspect.unwrap(function)
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}"


def _other_notebooks(path: Path) -> str:
    """' (found instead: hw4 (1).ipynb)' when the student handed in a misnamed notebook."""
    if path.exists():
        return ""
    found = sorted(p.name for folder in (path.parent, path.parent.parent) if folder.is_dir()
                   for p in folder.glob("*.ipynb"))
    return f" (found instead: {', '.join(found[:5])})" if found else ""


def _case(check: GradedCheck, step: dict) -> str:
    if step["seed"] == 0:
        return ""
    return (f"[hidden case, seed {step['seed']}: reproduce with "
            f"{check.call_text()[:-1]}, seed={step['seed']})]\n")


def _with_hints(message: str, device: str) -> str:
    """Add what a student needs to know about where grading ran."""
    if device == "cpu" and ("CUDA" in message or "NVIDIA" in message):
        message += ("\n  note: grading ran on the CPU; do not hard-code .cuda() or 'cuda': "
                    "put new tensors on the device of the inputs (x.device)")
    return message  # tensors on two devices: course.grade.device_policy's note


@dataclass
class StepsRun:
    """What running one submission's steps left: each step's outcome (step id ->
    StepOutcome), what the student's code printed, and why a student process could not
    start (None when it could)."""

    outcomes: dict
    output: str
    startup_failure: str | None


def run_steps_in_folder(steps: list[dict], config: GradingConfig, device: str, facade: str,
                        sys_path, source_dir: Path, mpl_cache: str | None, launcher=None,
                        scratch=None, sandboxed: bool = True,
                        hide_gpus: bool = False) -> StepsRun:
    """Run ``steps`` in student processes (:class:`course.grade.supervisor.StepRunner`,
    started by ``launcher``: None, cold; a warm worker's fork) in a fresh folder under
    ``scratch``, removed afterwards; the same here and on a Dask worker.  ``sandboxed=False``
    only for a student checking their own notebook (:mod:`course.check`); ``hide_gpus``: the
    processes see no GPU (``CUDA_VISIBLE_DEVICES=""``)."""
    folder = Path(tempfile.mkdtemp(prefix="grading-", dir=scratch))
    try:
        work, out = folder / "work", folder / "out"
        work.mkdir()
        out.mkdir()
        prepare_work_folder(work, source_dir, mpl_cache)
        runner = StepRunner(steps, work, out, config, device, facade, sys_path)
        runner.launcher, runner.sandboxed, runner.hide_gpus = launcher, sandboxed, hide_gpus
        outcomes = runner.run()
        return StepsRun(outcomes, runner.output.text(), runner.startup_failure)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def prepare_work_folder(work: Path, source_dir: Path, mpl_cache: str | None) -> None:
    """What a work folder starts with, wherever it is (here or on a Dask worker): the files
    next to the source notebook (data the setup cells read) and the matplotlib font list of
    ``mpl_cache`` (it spares each student process a rebuild)."""
    for item in Path(source_dir).iterdir():
        if item.suffix == ".ipynb" or item.name.startswith("."):
            continue
        target = work / item.name
        if item.is_dir():
            shutil.copytree(item, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, target)
    mpl = work / ".matplotlib"
    mpl.mkdir()
    if mpl_cache:
        for font_list in Path(mpl_cache).glob("fontlist-*.json"):
            shutil.copy2(font_list, mpl / font_list.name)


def matplotlib_cache() -> str | None:
    """This machine's matplotlib cache folder (its font list spares each process a rebuild)."""
    try:
        import matplotlib

        return matplotlib.get_cachedir()
    except Exception:  # noqa: BLE001 - no matplotlib: the student process builds its own
        return None
