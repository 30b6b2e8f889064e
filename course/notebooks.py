"""Reading nbgrader notebooks: load one, say what kind each cell is, parse a test cell's call.

Cell kinds, decided by a cell's ``nbgrader`` metadata alone (:func:`cell_kind`):

==========  =================================================================  ============
kind        rule (first match wins)                                            grader
==========  =================================================================  ============
markdown    markdown/raw cell without grade or task flags                      skips
answer      markdown/raw cell with ``grade`` and ``solution`` (manual points)  skips
task        any cell with ``task`` (manually graded task, points)              skips
solution    code cell with ``solution`` (student writes it; with ``grade``      runs it
            too it is nbgrader's "manually graded answer": a TA scores it)
test        code cell with ``grade`` and not ``solution`` (points)             probes it
setup       code cell with ``locked`` (read-only: imports, data)               runs it
demo        any other code cell (training runs, plots, printing)              skips
==========  =================================================================  ============

A test cell holds exactly one visible checker call, ``test_x(name, 'literal', kw=name)``,
then nbgrader's hidden tests; :func:`parse_checker_call` reads the call with :mod:`ast`
(never executing it) after removing the hidden region the way nbgrader does.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a notebook larger than this is not a homework submission
RESERVED_KEYWORDS = ("seed", "device")  # the grader chooses these, never the notebook

CELL_KINDS = ("markdown", "answer", "task", "solution", "test", "setup", "demo")


class NotebookError(Exception):
    """A notebook that cannot be used: missing, not JSON, not a notebook, or a bad cell."""


# --------------------------------------------------------------------------- loading


def load_notebook(path: str | Path, where: str | None = None) -> "Node":
    """Read a notebook as nbformat v4, or raise :class:`NotebookError` saying what is wrong.

    ``where`` names the notebook in messages (default: its path).
    """
    path = Path(path)
    where = where or str(path)
    if path.is_symlink():
        raise NotebookError(f"{where} is a symbolic link, not a notebook: hand in the "
                            f"notebook file itself")
    if not path.is_file():
        raise NotebookError(f"notebook not found: {where}")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{where} is too large ({path.stat().st_size} bytes)")
    text = path.read_bytes().decode("utf-8", errors="replace")
    return notebook_from_text(text, where=where)


def notebook_from_text(text: str, where: str = "notebook") -> "Node":
    """Parse notebook JSON text; see :func:`load_notebook`.

    A version-4 notebook (what Jupyter has written since 2015) is read here, as nbformat
    reads it: a cell's ``source`` stored as a list of lines is joined into one string.  Older
    versions go through ``nbformat``, which upgrades them (it is imported only then: its
    import costs a second, paid by every grading run otherwise).
    """
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise NotebookError(f"{where} is not valid JSON ({error}); was it saved from "
                            f"Jupyter, or renamed from another file type?") from None
    # a list of cells, or before version 4 a list of worksheets holding them
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")),
                                                   list):
        raise NotebookError(f"{where} is JSON but not a Jupyter notebook (no list of cells)")
    if raw.get("nbformat") == 4 and isinstance(raw.get("cells"), list):
        for cell in raw["cells"]:
            if isinstance(cell, dict) and isinstance(cell.get("source"), list) \
                    and all(isinstance(line, str) for line in cell["source"]):
                cell["source"] = "".join(cell["source"])
        nb = as_node(raw)
    else:
        try:
            import nbformat

            nb = as_node(nbformat.reads(text, as_version=4))
        except Exception as error:  # noqa: BLE001 - nbformat raises many types on odd files
            raise NotebookError(f"{where} is not a readable notebook: {error}") from None
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("source"), str) \
                or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(f"{where}: cell {index} is malformed")
    return nb


class Node(dict):
    """A dict whose keys also read as attributes (``nb.cells``, ``cell.source``), like
    nbformat's ``NotebookNode``."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def as_node(value):
    """``value`` with every dict in it (at any depth) a :class:`Node`."""
    if isinstance(value, dict):
        return Node((key, as_node(item)) for key, item in value.items())
    if isinstance(value, list):
        return [as_node(item) for item in value]
    return value


# --------------------------------------------------------------------------- cells


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata (an empty dict when absent or malformed)."""
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id``, if it has one."""
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def cell_points(cell) -> float:
    """Points of a graded or task cell (0 for any other cell)."""
    meta = nbgrader_meta(cell)
    if not (meta.get("grade") or meta.get("task")):
        return 0
    try:
        return float(meta.get("points", 0) or 0)
    except (TypeError, ValueError):
        return 0


def cell_kind(cell) -> str:
    """One of :data:`CELL_KINDS`, by the rule in this module's docstring."""
    meta = nbgrader_meta(cell)
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    if meta.get("task"):
        return "task"
    if cell.get("cell_type") != "code":
        return "answer" if grade and solution else "markdown"
    if solution:
        return "solution"
    if grade:
        return "test"
    if meta.get("locked"):
        return "setup"
    return "demo"


# --------------------------------------------------------------------------- regions


def remove_hidden_tests(source: str) -> str:
    """The source without its ``BEGIN HIDDEN TESTS`` ... ``END HIDDEN TESTS`` regions.

    Same rule as nbgrader's ClearHiddenTests (a marker anywhere in a line; an unterminated
    region runs to the end of the cell).
    """
    kept, hidden = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def remove_solution_markers(source: str) -> str:
    """The source with its ``BEGIN SOLUTION`` / ``END SOLUTION`` marker lines dropped.

    What is left is the completed cell a student who solved it would submit.
    """
    return "\n".join(line for line in source.split("\n")
                     if BEGIN_SOLUTION not in line and END_SOLUTION not in line)


# --------------------------------------------------------------------------- test calls


@dataclass(frozen=True)
class Name:
    """A notebook variable passed to a checker, e.g. ``mse_loss``."""
    id: str


@dataclass(frozen=True)
class Literal:
    """A literal passed to a checker, e.g. ``'zeros'``, ``True``, ``3``."""
    value: Any


class CheckerCall(NamedTuple):
    """The visible checker call of a test cell: ``checker(*args, **kwargs)``."""
    checker: str
    args: list
    kwargs: dict


def parse_checker_call(source: str, where: str = "test cell") -> CheckerCall:
    """Parse the one visible call of a test cell; raise :class:`NotebookError` otherwise.

    Allowed: ``name(arg, ..., kw=arg, ...)`` where each arg is a notebook variable or a
    literal (numbers, strings, booleans, None, and tuples/lists of those).  ``seed`` and
    ``device`` may not appear: the grader draws them.
    """
    visible = remove_hidden_tests(source)
    try:
        tree = ast.parse(visible)
    except SyntaxError as error:
        raise NotebookError(f"{where}: visible part is not valid Python ({error.msg}, "
                            f"line {error.lineno})") from None
    statements = tree.body
    if len(statements) != 1 or not isinstance(statements[0], ast.Expr) \
            or not isinstance(statements[0].value, ast.Call):
        raise NotebookError(f"{where}: expected exactly one checker call such as "
                            f"test_x(x), found {len(statements)} statement(s)")
    call = statements[0].value
    if not isinstance(call.func, ast.Name):
        raise NotebookError(f"{where}: the checker must be called by its plain name")
    args = [_argument(node, where) for node in call.args]
    kwargs = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise NotebookError(f"{where}: **kwargs is not allowed in a checker call")
        if keyword.arg in RESERVED_KEYWORDS:
            raise NotebookError(f"{where}: {keyword.arg}= is chosen by the grader; "
                                f"put calls with {keyword.arg}= in the hidden tests")
        kwargs[keyword.arg] = _argument(keyword.value, where)
    return CheckerCall(call.func.id, args, kwargs)


def _argument(node: ast.AST, where: str) -> Name | Literal:
    if isinstance(node, ast.Name):
        return Name(node.id)
    if isinstance(node, ast.Starred):
        raise NotebookError(f"{where}: *args is not allowed in a checker call")
    try:
        return Literal(ast.literal_eval(node))
    except ValueError:
        raise NotebookError(f"{where}: checker arguments must be notebook names or "
                            f"literals, not {ast.unparse(node)!r}") from None


def is_python(source: str) -> bool:
    """Whether ``source`` parses as Python."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def defined_names(source: str) -> set[str]:
    """Names a cell binds at top level (def, class, assignment, import); empty if unparsable."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names
                         if alias.name != "*")
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


# --------------------------------------------------------------------------- points


@dataclass
class PointsSummary:
    """Points of a notebook: autograded (test cells and graded code answers), manual."""
    autograded: float = 0
    manual: float = 0
    cells: list = field(default_factory=list)  # (grade_id, kind, points) of each graded cell

    @property
    def total(self) -> float:
        return self.autograded + self.manual


def points_summary(nb) -> PointsSummary:
    """Add up the points of a notebook's graded cells, split autograded / manual."""
    summary = PointsSummary()
    for cell in nb.cells:
        points = cell_points(cell)
        meta, kind = nbgrader_meta(cell), cell_kind(cell)
        if not (meta.get("grade") or meta.get("task")):
            continue
        if kind in ("test", "solution"):  # a graded code cell is scored by running it
            summary.autograded += points
        else:
            summary.manual += points
        summary.cells.append((grade_id(cell), kind, points))
    return summary
