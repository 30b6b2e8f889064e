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

A code cell of a *submission* that carries no grade id of the source notebook and is not
one of its demo cells as released is a cell the student *added* (:func:`added_cells`): the
grader runs its imports, definitions and assignments only (:func:`graded_part`), the rule
:data:`ADDED_CELL_RULE` states for students.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

# nbgrader's region markers, each spelled in two parts: this module ships in the student's
# folder (check_my_work), and a scan of release/ for a marker must find only a leak.
BEGIN_HIDDEN, END_HIDDEN = "BEGIN " + "HIDDEN TESTS", "END " + "HIDDEN TESTS"
BEGIN_SOLUTION, END_SOLUTION = "BEGIN " + "SOLUTION", "END " + "SOLUTION"
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
    """The source without its hidden-test regions (:data:`BEGIN_HIDDEN` ... :data:`END_HIDDEN`).

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
    """The source with its solution marker lines (:data:`BEGIN_SOLUTION`, :data:`END_SOLUTION`)
    dropped.

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
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {name for node in tree.body for name in _bound_names(node)}


def _bound_names(node: ast.stmt) -> set[str]:
    """The names one top-level statement binds: a def or class, an import, an assignment's
    plain names (not ``obj.attr`` or ``d[key]``); nothing for other statements."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names
                if alias.name != "*"}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for target in targets for n in _target_names(target)}
    return set()


def _target_names(target: ast.expr):
    """The plain names an assignment target binds (``a, (b, *c)``), not ``obj.attr``'s."""
    if isinstance(target, ast.Name):
        yield target
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


# --------------------------------------------------------------------------- added cells

# What grading runs of a cell the student added, in one sentence (the notebooks'
# instructions and the README say it in these words; a test checks that they do).
ADDED_CELL_RULE = ("When your notebook is graded, cells you add run only their imports, "
                   "function and class definitions and assignments; training runs, plots "
                   "and prints in them do not run, so put code an answer needs in a "
                   "definition.")

# The top-level statements of an added cell that grading runs (decorators included).
KEPT_STATEMENTS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                   ast.ClassDef, ast.Assign, ast.AnnAssign, ast.AugAssign)
# Cell magics whose body runs as the cell (the student process runs them the same way).
BODY_MAGICS = ("time", "capture")
_STATEMENT_WORDS = {
    ast.For: "a for loop", ast.AsyncFor: "an async for loop", ast.While: "a while loop",
    ast.If: "an if block", ast.With: "a with block", ast.AsyncWith: "an async with block",
    ast.Try: "a try block", ast.Match: "a match block", ast.Delete: "a del statement",
    ast.Assert: "an assert", ast.Raise: "a raise", ast.Return: "a return",
    ast.Global: "a global statement", ast.Nonlocal: "a nonlocal statement",
    ast.Break: "a break", ast.Continue: "a continue",
}
if hasattr(ast, "TryStar"):  # Python 3.11+: try ... except*
    _STATEMENT_WORDS[ast.TryStar] = "a try block"


@dataclass(frozen=True)
class GradedPart:
    """What grading runs of one cell a student added (:func:`graded_part`).

    ``source``: the code that runs, on the cell's own line numbers (a line that does not run
    is blank, so an error names the student's line); ``skipped``: one short description per
    top-level statement that does not run, e.g. ``"line 4: a for loop (for epoch in
    range(100):)"`` (``pass`` and bare constants, which do nothing, are not listed);
    ``names``: the names the kept code binds, sorted; ``skipped_names``: names bound only in
    statements that do not run (a name bound inside a for loop, an if or a with block).
    """

    source: str
    skipped: tuple[str, ...]
    names: tuple[str, ...]
    skipped_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddedCell:
    """A code cell the student added (:func:`added_cells`): its ``index`` in the student's
    notebook (0-based), ``after``, the grade id of the nearest cell above it that carries a
    grade id of the source notebook (None: above all of them; grading runs it right after
    that cell), its ``source`` as written and the :class:`GradedPart` grading runs."""

    index: int
    after: str | None
    source: str
    part: GradedPart

    @property
    def label(self) -> str:
        """How messages name it (:func:`cell_label`)."""
        return cell_label(self.index, self.source)


QUESTION_HEADING = re.compile(r"^#+\s+(Questions?\s+\d[\d.]*(?:\s+and\s+\d[\d.]*)?|Q\d+[\w.]*)",
                              re.MULTILINE)


def question_labels(nb) -> dict[str, str]:
    """grade id -> the question its cell belongs to, as the notebook's headings name it
    (``Question 3.6``, ``Q13``): the last such heading above the cell; cells above every
    such heading have none."""
    labels, current = {}, None
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            found = QUESTION_HEADING.findall(cell.source)
            current = found[-1] if found else current
        gid = grade_id(cell)
        if gid and current:
            labels[gid] = current
    return labels


def cell_label(index: int, source: str) -> str:
    """How messages name a notebook cell: ``cell 12 (def keep_mask(x, rate):)``, its
    position counted from 1 and its first line."""
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return f"cell {index + 1} ({_shorten(first)})"


def graded_part(source: str) -> GradedPart:
    """What grading runs of an added cell: its top-level imports, ``def``/``async def`` and
    ``class`` statements (with their decorators) and assignments (``x = ...``, ``x: T =
    ...``, ``x += ...``), on their own lines; every other top-level statement (expressions
    such as plots and prints, loops, ``if``/``with``/``try`` blocks, magics and shell lines)
    is skipped and described.  A ``%%time`` or ``%%capture`` cell is read as its body; any
    other cell magic is skipped whole.  A cell that is not Python (nor IPython) is kept as it
    is, so running it reports its SyntaxError as the notebook would.
    """
    lines = source.split("\n")
    text = _cell_body(lines)
    if text is None:
        number, magic = next((i + 1, line.split()[0]) for i, line in enumerate(lines)
                             if line.strip())
        return GradedPart("", (f"line {number}: a {magic} cell",), ())
    parsed = _parse_cell(text)
    if parsed is None:
        return GradedPart(source, (), ())
    tree, code = parsed
    kept = [node for node in tree.body if isinstance(node, KEPT_STATEMENTS)]
    skipped = [node for node in tree.body if not isinstance(node, KEPT_STATEMENTS)]
    names = {name for node in kept for name in _bound_names(node)}
    unrun = {name for node in skipped for name in _names_inside(node)} - names
    code_lines = code.split("\n")
    return GradedPart(_kept_text(kept, code_lines),
                      tuple(_describe(node, lines, code_lines) for node in skipped
                            if not _no_op(node)),
                      tuple(sorted(names)), tuple(sorted(unrun)))


def added_cells(student_nb, source_nb) -> list[AddedCell]:
    """The code cells of ``student_nb`` that the student added, in notebook order.

    A code cell is *added* when it carries no grade id of ``source_nb`` and its text is not
    a non-graded code cell of ``source_nb`` (a demo cell: training runs, plots) as released;
    a demo cell the student edited is added.  Texts are compared with trailing spaces and
    blank lines at either end ignored (an editor's stray newline is not an edit).
    """
    source_ids = {grade_id(cell) for cell in source_nb.cells if grade_id(cell)}
    demos = {_normalised(cell.source) for cell in source_nb.cells
             if cell_kind(cell) == "demo"}
    found, after = [], None
    for index, cell in enumerate(student_nb.cells):
        gid = grade_id(cell)
        if gid in source_ids:
            after = gid
        elif cell.get("cell_type") == "code" and _normalised(cell.source) not in demos:
            found.append(AddedCell(index, after, cell.source, graded_part(cell.source)))
    return found


def _normalised(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().split("\n"))


def _cell_body(lines: list[str]) -> str | None:
    """The cell (its ``lines``) as Python reads it: a leading ``%%time``/``%%capture`` line
    blanked (its body is the cell, on the same line numbers); None for a cell under any
    other cell magic."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not lines[first].lstrip().startswith("%%"):
        return "\n".join(lines)
    magic = lines[first].strip()[2:].split()
    if not magic or magic[0] not in BODY_MAGICS:
        return None
    return "\n".join(lines[:first] + [""] + lines[first + 1:])


def _parse_cell(text: str) -> tuple[ast.Module, str] | None:
    """``text`` parsed, and the code parsed: ``text`` itself, or when plain Python fails
    IPython's translation of its magics and ``!shell`` lines (on the same line numbers);
    None when neither parses."""
    try:
        return ast.parse(text), text
    except (SyntaxError, ValueError):
        pass
    except (RecursionError, MemoryError):
        return None
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        translated = TransformerManager().transform_cell(text)
        if translated.count("\n") < text.rstrip("\n").count("\n"):
            return None  # lines were merged: line numbers would not be the student's
        return ast.parse(translated), translated
    except Exception:  # noqa: BLE001 - no IPython, or not IPython syntax either
        return None


def _kept_text(kept: list, code_lines: list[str]) -> str:
    """The kept statements' text, each on its own lines of the cell (the others blank;
    two kept statements on one line joined by ``;``)."""
    out = [""] * len(code_lines)
    encoded = [line.encode() for line in code_lines]  # ast's columns count UTF-8 bytes
    for node in kept:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        segment = encoded[first - 1:node.end_lineno]
        segment[-1] = segment[-1][:node.end_col_offset]
        segment[0] = segment[0][node.col_offset if first == node.lineno else 0:]
        texts = [part.decode() for part in segment]
        row = first - 1
        out[row] = f"{out[row]}; {texts[0]}" if out[row] else texts[0]
        out[row + 1:node.end_lineno] = texts[1:]
    text = "\n".join(out).rstrip()
    return text + "\n" if text else ""


def _names_inside(node: ast.stmt) -> set[str]:
    """Every name a statement binds anywhere inside it (a loop's body, an if's branches)."""
    names = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.stmt):
            names |= _bound_names(inner)
        elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
            names.add(inner.id)
    return names


def _no_op(node: ast.stmt) -> bool:
    return isinstance(node, ast.Pass) or (isinstance(node, ast.Expr)
                                          and isinstance(node.value, ast.Constant))


def _describe(node: ast.stmt, lines: list[str], code_lines: list[str]) -> str:
    """``line 4: a for loop (for epoch in range(100):)``: the statement's first line as the
    student wrote it (a magic's whole line, IPython having translated it)."""
    magic = _magic_word(node)
    if magic:
        text = lines[node.lineno - 1]
    else:
        line = code_lines[node.lineno - 1].encode()  # ast's columns count UTF-8 bytes
        end = node.end_col_offset if node.end_lineno == node.lineno else len(line)
        text = line[node.col_offset:end].decode(errors="replace")
    word = magic or _STATEMENT_WORDS.get(type(node), f"a {type(node).__name__} statement")
    if isinstance(node, ast.Expr) and not magic:
        word = "a call" if isinstance(node.value, ast.Call) else "an expression"
    return f"line {node.lineno}: {word} ({_shorten(text.strip())})"


def _magic_word(node: ast.stmt) -> str:
    """"a magic" or "a shell command" for IPython's translation of one, else ""."""
    call = node.value if isinstance(node, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
            and isinstance(call.func.value, ast.Call) \
            and getattr(call.func.value.func, "id", "") == "get_ipython":
        return "a shell command" if call.func.attr in ("system", "getoutput") else "a magic"
    return ""


def _shorten(text: str, width: int = 50) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


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
