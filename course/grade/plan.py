"""What the grader runs for one submission: the steps, built from the source notebook.

The *source* notebook (``source/<a>/<a>.ipynb``) is trusted: it fixes the cell order, the
grade ids, the points and which checker each test cell calls.  From the *student's*
notebook the grader takes only the text of the solution cells (matched by grade id).
Walking the source cells in order:

* setup cell    -> code step with the SOURCE text (students cannot change setup);
* solution cell -> code step with the student's text (every student code cell carrying that
                   grade id, in the student's order); a cell the student lost is noted and
                   the checks that need its names fail with that note;
* test cell     -> one probe step per seed for the check parsed from the source cell's
                   visible call (hidden tests are ignored: the grader draws its own seeds).
                   A test cell that is not one checker call keeps nbgrader's meaning: its
                   whole SOURCE text (hidden tests included) runs as a code step, and it
                   passes when it raises nothing;
* anything else (markdown, written answers, graded solution cells, which nbgrader leaves
  to a TA, demo cells with training runs and plots) is skipped, so grading costs only what
  the checks cost.

A code cell the *student added* (:func:`course.notebooks.added_cells`: no grade id of the
source, and not a demo cell as released) runs where it stands in the student's notebook,
right after the step(s) of the nearest source cell above it, as a code step of origin
``added`` with only its imports, definitions and assignments
(:func:`course.notebooks.graded_part`); the student process runs it within
``added_cell_timeout_s`` (``[tool.course.grading]``).  Like an answer it is student code
in the student process: setup and tests still come from the source.

Steps are plain JSON, sent to the student process (``course.grade.student_process``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from course.notebooks import (AddedCell, Literal, Name, NotebookError, added_cells, cell_kind,
                              cell_points, defined_names, grade_id, is_python,
                              load_notebook, parse_checker_call, remove_hidden_tests)


@dataclass(frozen=True)
class GradedCheck:
    """One autograded test cell: the checker it calls, with what, for how many points.

    ``checker`` is None for a test cell that is not a checker call (``source`` is then its
    text): as in nbgrader, it passes when it runs without an error.
    """

    grade_id: str
    checker: str | None
    args: tuple = ()
    kwargs: tuple = ()  # (keyword, Name | Literal) pairs, in call order
    points: float = 0
    source: str | None = None  # a plain test cell's code (hidden tests included)

    def call_text(self) -> str:
        """The visible call as the notebook writes it, e.g. ``test_build(model, type='zeros')``."""
        if self.checker is None:
            return f"cell {self.grade_id} runs without error"
        parts = [_arg_text(a) for a in self.args]
        parts += [f"{k}={_arg_text(v)}" for k, v in self.kwargs]
        return f"{self.checker}({', '.join(parts)})"


def _arg_text(arg) -> str:
    return arg.id if isinstance(arg, Name) else repr(arg.value)


@dataclass(frozen=True)
class SourceCell:
    kind: str
    grade_id: str | None
    source: str


@dataclass
class Assignment:
    """An assignment as the grader sees it: source cells in order, and the checks."""

    name: str
    notebook_path: Path
    facade: str  # module with CHECKS, e.g. support.hw4_pytorch_regularization
    cells: list[SourceCell]
    checks: list[GradedCheck]
    definers: dict = field(default_factory=dict)  # name -> grade ids of cells that bind it
    notebook: object = None  # the source notebook (its demo cells tell added cells apart)

    @property
    def max_points(self) -> float:
        return sum(check.points for check in self.checks)

    def check(self, grade_id: str) -> GradedCheck:
        return next(c for c in self.checks if c.grade_id == grade_id)


def load_assignment(name: str, source_root: str | Path = "source",
                    facade: str | None = None) -> Assignment:
    """Read ``<source_root>/<name>/<name>.ipynb``; raise NotebookError on any authoring error."""
    path = Path(source_root) / name / f"{name}.ipynb"
    nb = load_notebook(path)
    cells, checks, definers, seen = [], [], {}, set()
    for index, cell in enumerate(nb.cells):
        kind, gid = cell_kind(cell), grade_id(cell)
        if kind in ("setup", "solution", "test", "answer", "task") and not gid:
            raise NotebookError(f"{path}: {kind} cell {index} has no grade_id")
        if gid and gid in seen:
            raise NotebookError(f"{path}: grade_id {gid!r} is used twice")
        seen.add(gid)
        cells.append(SourceCell(kind, gid, cell.source))
        if kind in ("setup", "solution"):
            for bound in defined_names(cell.source):
                definers.setdefault(bound, []).append(gid)
        if kind == "test":
            checks.append(_test_check(cell, gid, where=f"{path}: test cell {gid}"))
    if not checks:
        raise NotebookError(f"{path}: no autograded test cells")
    return Assignment(name, path, facade or f"support.{name}", cells, checks, definers, nb)


def _test_check(cell, gid: str, where: str) -> GradedCheck:
    """The check of a test cell: its checker call, or (not a single call) the cell itself."""
    try:
        call = parse_checker_call(cell.source, where=where)
    except NotebookError:
        if not is_python(remove_hidden_tests(cell.source)):
            raise
        return GradedCheck(gid, None, points=cell_points(cell), source=cell.source)
    return GradedCheck(gid, call.checker, tuple(call.args), tuple(call.kwargs.items()),
                       cell_points(cell))


# --------------------------------------------------------------------------- steps


def student_solutions(student_nb) -> dict[str, list[str]]:
    """grade id -> sources of the student's code cells with that id (in notebook order)."""
    found: dict[str, list[str]] = {}
    for cell in student_nb.cells:
        gid = grade_id(cell)
        if gid and cell.get("cell_type") == "code":
            found.setdefault(gid, []).append(cell.source)
    return found


def build_steps(assignment: Assignment, student_nb, seeds: list[int],
                params_for) -> tuple[list[dict], dict[str, str]]:
    """The steps for one submission, and notes on solution cells the student lost.

    ``params_for(check, seed)`` gives the plain-JSON parameters of one probe.
    """
    solutions = student_solutions(student_nb)
    added: dict[str | None, list[AddedCell]] = {}
    for cell in added_cells(student_nb, assignment.notebook):
        added.setdefault(cell.after, []).append(cell)
    other_kinds = {grade_id(c): c.get("cell_type") for c in student_nb.cells if grade_id(c)}
    steps: list[dict] = []
    lost: dict[str, str] = {}
    tests = {check.grade_id: check for check in assignment.checks}
    steps += [_added_step(len(steps) + i, cell) for i, cell in enumerate(added.get(None, []))]
    for cell in assignment.cells:
        if cell.kind == "setup":
            steps.append(_code_step(len(steps), cell.grade_id, cell.source, "source"))
        elif cell.kind == "solution":
            texts = solutions.get(cell.grade_id, [])
            if not texts:
                lost[cell.grade_id] = (
                    f"cell {cell.grade_id} is not a code cell in the submitted notebook "
                    f"(its type was changed?)" if cell.grade_id in other_kinds else
                    f"cell {cell.grade_id} is missing from the submitted notebook")
            for text in texts:
                steps.append(_code_step(len(steps), cell.grade_id, text, "student"))
        elif cell.kind == "test" and tests[cell.grade_id].checker is None:
            steps.append(_code_step(len(steps), cell.grade_id, cell.source, "test"))
        elif cell.kind == "test":
            check = tests[cell.grade_id]
            for seed in seeds:
                steps.append({
                    "id": len(steps), "kind": "probe", "check": check.grade_id,
                    "checker": check.checker, "seed": seed,
                    "args": [_arg_json(a) for a in check.args],
                    "kwargs": {k: _arg_json(v) for k, v in check.kwargs},
                    "params": params_for(check, seed),
                })
        if cell.grade_id in added:
            steps += [_added_step(len(steps) + i, c) for i, c in enumerate(added[cell.grade_id])]
    return steps, lost


def _code_step(index: int, gid: str, source: str, origin: str) -> dict:
    return {"id": index, "kind": "code", "cell": gid, "source": source, "origin": origin}


def _added_step(index: int, cell: AddedCell) -> dict:
    """The code step of a cell the student added: its graded part, with what messages need
    (its label, the names it binds, what of it does not run and the names bound there)."""
    part = cell.part
    return {**_code_step(index, f"added:{cell.index + 1}", part.source, "added"),
            "label": cell.label, "names": list(part.names), "skipped": list(part.skipped),
            "skipped_names": list(part.skipped_names)}


def _arg_json(arg) -> dict:
    return {"name": arg.id} if isinstance(arg, Name) else {"literal": arg.value}


def plain_kwargs(check: GradedCheck) -> dict:
    """The options the verdict sees, as :func:`support.checking.plain_options` makes them:
    plain literals as written, anything else (a notebook name, a list) as "<given>"."""
    from support.checking import GIVEN, PLAIN_TYPES

    return {k: (v.value if isinstance(v, Literal) and isinstance(v.value, PLAIN_TYPES)
                else GIVEN) for k, v in check.kwargs}
