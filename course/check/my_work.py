"""``check_my_work()``: the saved notebook graded as the grader will, on its visible cases.

The last cell of every notebook calls it.  It

1. finds the SAVED notebook (:func:`find_saved_notebook`: the path given, else VS Code's
   ``__vsc_ipynb_file__``, JupyterLab's / Notebook's ``JPY_SESSION_NAME``, Colab's copy of
   the open notebook, else the one ``.ipynb`` in the working folder): unsaved changes are
   not checked, so the student saves first;
2. grades it with the grading engine, :mod:`course.grade` (the plan of
   :mod:`course.grade.plan`, a fresh student process of :mod:`course.grade.student_process`
   that runs the setup cells, the answer cells and the probes, the verdicts of
   :class:`course.grade.grader.Grader`), on seed 0 only: the notebook's own visible cases,
   no hidden case.  The plan comes from the course's notebook (:func:`plan_notebook`), never
   from the student's, so an edited test cell changes nothing here either;
3. prints a table (question, points, passed or the one-line reason) and what the grader
   will not see (:func:`unseen`): names the graded code uses that only cells the grader
   does not run define, answers that are still stubs, cells that raise (a fresh Run All
   stops there), cells missing from the notebook.

The student's own code on the student's own machine: no sandbox (the limits of
``[tool.course.grading]`` still apply; without pyproject.toml, in the student's folder,
their defaults in :class:`course.config.GradingConfig`).
"""

from __future__ import annotations

import builtins
import os
import symtable
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course.config import ROOT, GradingConfig, load_grading_config
from course.grade import device_policy
from course.grade.grader import (Grader, StudentGrade, matplotlib_cache, resolve_device,
                                 run_steps_in_folder)
from course.grade.plan import Assignment, load_assignment
from course.grade.reports import number
from course.notebooks import (NotebookError, added_cells, cell_label, defined_names,
                              grade_id, graded_part, load_notebook)

VISIBLE_SEEDS = [0]  # the notebook's own cases; the grader adds hidden ones
# where the plan's notebook is: the course's repository (the grading plan itself), or the
# student's unpacked zip (the released notebook, written there by make release)
PLAN_FOLDERS = (ROOT / "source", ROOT / "course" / "check" / "released")
STUB_MARK, ANSWER_MARK = "raise NotImplementedError()", "YOUR ANSWER HERE"
SAVE_FIRST = ("it checks the SAVED file: save the notebook first (Ctrl+S, Cmd+S on a Mac) "
              "so that your last changes count")


class CheckError(Exception):
    """The check cannot run: no saved notebook found, or no plan for it."""


@dataclass
class CheckReport:
    """What :func:`check_notebook` found: the grade on the visible cases, and notes on what
    the grader will not see."""

    notebook: Path
    assignment: Assignment
    grade: StudentGrade
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> str:
        """The report as the student reads it (plain text, one row per question)."""
        rows = [(label(self.assignment, r.check), f"{number(r.points)}/{number(r.max_points)}",
                 "passed" if r.status == "passed" else reason(r.message))
                for r in self.grade.results]
        widths = [max(len(row[i]) for row in rows + [("question", "points", "")])
                  for i in range(2)]
        lines = [f"{'question':<{widths[0]}}  {'points':>{widths[1]}}  result",
                 f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 6}"]
        lines += [f"{q:<{widths[0]}}  {p:>{widths[1]}}  {r}" for q, p, r in rows]
        lines.append(f"{'visible cases':<{widths[0]}}  "
                     f"{number(self.grade.points)}/{number(self.grade.max_points)}")
        saved = time.strftime("%H:%M:%S", time.localtime(self.notebook.stat().st_mtime))
        head = [f"check_my_work: {self.notebook.name} as saved at {saved}, run as the grader "
                f"runs it, in a fresh process ({self.seconds:.0f} s)",
                f"  ({SAVE_FIRST})", ""]
        tail = ["", "The grader runs the same checks on these cases and on hidden ones (other "
                    "shapes, rates, data); written answers are graded by hand."]
        tail += device_policy.student_lines(self.grade, lambda c: label(self.assignment, c))
        if self.notes:
            tail += ["", "What the grader will not see:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(head + lines + tail)


def check_my_work(notebook: str | os.PathLike | None = None) -> None:
    """Grade the SAVED notebook as the grader will, on its visible cases, and print the
    table: question, points, passed or why not; then what the grader will not see.

    Save the notebook first.  ``notebook``: its path, when it cannot be found by itself
    (:func:`find_saved_notebook`).  Prints instead of raising when it cannot run.
    """
    if os.environ.get("COURSE_GRADING"):
        print("check_my_work: skipped while grading")
        return
    if os.name != "posix":  # the engine's process control (select on pipes, sessions)
        print("check_my_work runs on Linux, macOS, WSL or Colab, not on native Windows")
        return
    try:
        report = check_notebook(find_saved_notebook(notebook))
    except (CheckError, NotebookError) as error:
        print(f"check_my_work could not run: {error}")
        return
    print(report.table())


def check_notebook(path: str | os.PathLike, assignment: str | None = None) -> CheckReport:
    """The :class:`CheckReport` of the notebook at ``path`` (:func:`check_my_work` prints
    it), graded by :class:`course.grade.grader.Grader` on :data:`VISIBLE_SEEDS`."""
    started = time.monotonic()
    path = Path(path).resolve()
    name = assignment or assignment_of(path)
    plan_assignment = load_assignment(name, plan_notebook_folder(name))
    config = load_grading_config() if (ROOT / "pyproject.toml").is_file() else GradingConfig()
    device = resolve_device(config.device)
    grader = Grader(plan_assignment, config, device, VISIBLE_SEEDS)
    plan = grader.plan("you", path)
    if isinstance(plan, StudentGrade):  # the notebook could not be read
        return CheckReport(path, plan_assignment, plan, [], time.monotonic() - started)
    grade, run = _run_and_judge(grader, plan, started)
    grade = grader.settle_devices(grade, lambda cpu: _graded_again(cpu, path))
    notes = unseen(load_notebook(path), plan_assignment, plan.steps, run.outcomes, plan.lost)
    if run.startup_failure:
        notes.insert(0, f"the check itself could not start: {run.startup_failure}")
    return CheckReport(path, plan_assignment, grade, notes, time.monotonic() - started)


def _run_and_judge(grader: Grader, plan, started: float):
    """(grade, run) of ``plan``'s steps, run here without the sandboxes: the student's own
    machine."""
    run = run_steps_in_folder(plan.steps, grader.config, grader.device,
                              grader.assignment.facade, [],
                              grader.assignment.notebook_path.parent, matplotlib_cache(),
                              sandboxed=False, hide_gpus=grader.hide_gpus)
    return grader.judge(plan, run.outcomes, time.monotonic() - started, run.output,
                        run.startup_failure), run


def _graded_again(grader: Grader, path: Path) -> StudentGrade:
    """The notebook graded by the device policy's CPU pass (``grader``: Grader.on_cpu)."""
    started = time.monotonic()
    plan = grader.plan("you", path)
    return plan if isinstance(plan, StudentGrade) else _run_and_judge(grader, plan, started)[0]


# --------------------------------------------------------------------------- finding things


def find_saved_notebook(path: str | os.PathLike | None = None) -> Path:
    """The notebook to check: ``path``; else the one this kernel runs, as the front end
    says (VS Code: ``__vsc_ipynb_file__``; JupyterLab and Notebook 7: ``JPY_SESSION_NAME``;
    Colab: the open notebook, fetched from the browser); else the one ``.ipynb`` in the
    working folder (or the one named after an assignment)."""
    if path is not None:
        return _existing(Path(path))
    namespace = _ipython_namespace()
    for candidate in (namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if candidate and str(candidate).endswith(".ipynb") and Path(candidate).is_file():
            return Path(candidate)
    colab = _colab_notebook()
    if colab is not None:
        return colab
    here = sorted(p for p in Path.cwd().glob("*.ipynb") if p.is_file())
    named = [p for p in here if p.stem in available_assignments()]
    if len(here) == 1 or len(named) == 1:
        return (named or here)[0]
    if not here:
        raise CheckError(f"no notebook in {Path.cwd()}: change to the assignment's folder "
                         f"(%cd hw...) or give the path, check_my_work('hw....ipynb')")
    raise CheckError(f"several notebooks in {Path.cwd()} ({', '.join(p.name for p in here)}): "
                     f"give the path, check_my_work('{here[0].name}')")


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise CheckError(f"no notebook at {path}")
    return path


def _ipython_namespace() -> dict:
    try:
        return get_ipython().user_ns  # noqa: F821 - defined in IPython only
    except Exception:  # noqa: BLE001 - not in IPython
        return {}


def _colab_notebook() -> Path | None:
    """In Google Colab, the open notebook as the browser holds it (Colab keeps it in Drive,
    not in the working folder), written to a temporary file; None elsewhere."""
    import sys

    if "google.colab" not in sys.modules:
        return None
    import json

    from google.colab import _message  # noqa: PLC0415 - Colab only

    notebook = _message.blocking_request("get_ipynb", timeout_sec=30)["ipynb"]
    folder = Path(tempfile.mkdtemp(prefix="check-my-work-"))
    stem = next((a for a in available_assignments()), "notebook")
    target = folder / f"{stem}.ipynb"
    target.write_text(json.dumps(notebook))
    return target


def available_assignments() -> list[str]:
    """The assignments whose plan is here (:data:`PLAN_FOLDERS`)."""
    return sorted({p.parent.name for folder in PLAN_FOLDERS if folder.is_dir()
                   for p in folder.glob("*/*.ipynb") if p.stem == p.parent.name})


def assignment_of(path: Path) -> str:
    """The assignment of a notebook: its name, or the only assignment here (a renamed
    copy, "hw4 (1).ipynb")."""
    names = available_assignments()
    if path.stem in names:
        return path.stem
    if len(names) == 1:
        return names[0]
    raise CheckError(f"{path.name} is not named after an assignment "
                     f"({', '.join(names) or 'none found beside the course code'})")


def plan_notebook_folder(assignment: str) -> Path:
    """The folder holding ``<assignment>/<assignment>.ipynb``, the notebook the plan is
    built from: the source notebook in the course's repository (what the grader uses), the
    released one in the student's folder."""
    for folder in PLAN_FOLDERS:
        if (folder / assignment / f"{assignment}.ipynb").is_file():
            return folder
    raise CheckError(f"no plan for {assignment}: course/check/released/{assignment}/ is "
                     f"missing (unpack the assignment's zip again)")


# --------------------------------------------------------------------------- the table


def label(assignment: Assignment, grade_id_: str) -> str:
    """A question as the notebook shows it: its test cell's call."""
    text = assignment.check(grade_id_).call_text()
    return text if len(text) <= 48 else text[:45] + "..."


def reason(message: str, width: int = 100) -> str:
    """A failure's one-line reason: what failed, and what was observed."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "failed"
    failed = next((line for line in lines[1:3] if line.startswith("failed: ")), None)
    if " properties: partial credit " in lines[0] and failed:  # support.checking.partial_message
        text = f"partial credit, {failed}"
        return text if len(text) <= width else text[:width - 3] + "..."
    first = lines[0].split(" failed: ", 1)[-1]
    observed = next((line[len("observed:"):].strip() for line in lines[1:]
                     if line.startswith("observed:")), "")
    text = f"{first}: {observed}" if observed else first
    return text if len(text) <= width else text[:width - 3] + "..."


# --------------------------------------------------------------------------- what is unseen


def unseen(student_nb, assignment: Assignment, steps: list[dict], outcomes: dict,
           lost: dict) -> list[str]:
    """What the grader will not see, one line each: cells missing, answers still stubs,
    cells that raise (a fresh Run All stops there), and names the graded code uses that only
    cells it does not run define."""
    notes = [f"{text}: the checks that need it get 0" for text in lost.values()]
    unwritten = stubs(student_nb, assignment)
    notes += [text for _, text in unwritten]
    for step in steps:
        outcome = outcomes.get(step["id"])
        if step["kind"] == "code" and outcome is not None and outcome.kind == "error" \
                and step["cell"] not in dict(unwritten):  # a stub raises: said above
            notes.append(f"cell {step['cell']} raises {outcome.message}: run top to bottom, "
                         f"the notebook stops there")
    notes += names_not_run(student_nb, assignment, steps)
    return notes


def stubs(student_nb, assignment: Assignment) -> list[tuple[str, str]]:
    """The student's answers that are still the released stub: (grade id, note) pairs."""
    solutions = {c.grade_id for c in assignment.cells if c.kind in ("solution", "answer")}
    found = []
    for cell in student_nb.cells:
        gid = grade_id(cell)
        if gid not in solutions:
            continue
        if cell.get("cell_type") == "code" and STUB_MARK in cell.source:
            found.append((gid, f"cell {gid} is not written yet: it still raises "
                               f"NotImplementedError (YOUR CODE HERE)"))
        elif cell.get("cell_type") != "code" and ANSWER_MARK in cell.source:
            found.append((gid, f"written answer {gid} is not written yet (YOUR ANSWER HERE)"))
    return found


def names_not_run(student_nb, assignment: Assignment, steps: list[dict]) -> list[str]:
    """Names the code the grader runs uses that only code it does not run defines: a demo
    cell (a training run, a plot), or the part of a cell the student added that grading
    skips (:func:`course.notebooks.graded_part`: a loop, an ``if`` block, a print).  The
    names the answer cells are to define are left out: while they are stubs,
    :func:`stubs` says so."""
    bound = set(dir(builtins)) | set(assignment.definers)
    for step in steps:
        if step["kind"] == "code":
            bound |= defined_names(step["source"]) | set(step.get("names", []))
    elsewhere: dict[str, str] = {}
    added = {cell.index: cell for cell in added_cells(student_nb, assignment.notebook)}
    for index, cell in enumerate(student_nb.cells):
        if index in added:
            names, where = added[index].part.skipped_names, (
                f"{added[index].label}, in a part grading skips")
        elif cell.get("cell_type") == "code" and grade_id(cell) is None:  # a demo cell
            part = graded_part(cell.source)
            names, where = (*part.names, *part.skipped_names), (
                f"{cell_label(index, cell.source)}, which grading does not run")
        else:
            continue
        for name in set(names) - bound:
            elsewhere.setdefault(name, where)
    users: dict[str, str] = {}
    for step in steps:
        if step["kind"] == "code":
            for name in global_names_used(step["source"]) & set(elsewhere):
                users.setdefault(name, step.get("label") or f"cell {step['cell']}")
        else:
            for arg in step.get("args", []) + list(step.get("kwargs", {}).values()):
                if arg.get("name") in elsewhere:
                    users.setdefault(arg["name"], f"the check of {step['check']}")
    return [f"`{name}` is defined only in {elsewhere[name]}; {user} uses it, so graded it "
            f"is not defined: define it at the top level of a cell (a def, an import, an "
            f"assignment)" for name, user in sorted(users.items())]


def global_names_used(source: str) -> set[str]:
    """The global names a cell's code reads (at top level or inside its functions and
    classes); empty when it does not parse."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set()
    found, tables = set(), [table]
    while tables:
        current = tables.pop()
        module = current.get_type() == "module"
        for symbol in current.get_symbols():
            if symbol.is_referenced() and (symbol.is_global() or
                                           (module and not symbol.is_assigned())):
                found.add(symbol.get_name())
        tables.extend(current.get_children())
    return found


def main(argv=None) -> None:
    """``python -m course.check [NOTEBOOK]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course.check",
                                     description="grade a saved notebook on its visible "
                                                 "cases, as the grader will")
    parser.add_argument("notebook", nargs="?", default=None,
                        help="the notebook (default: the one .ipynb in this folder)")
    check_my_work(parser.parse_args(argv).notebook)
