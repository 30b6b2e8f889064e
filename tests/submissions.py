"""Build student submissions from a source notebook, for grading tests.

``make_submission(assignment)`` is the notebook a student who solved everything would hand
in: the source notebook with each solution cell's ``BEGIN/END SOLUTION`` markers removed and
hidden tests stripped from test cells (as in the released notebook).  Patches make other
students from it:

* ``replace={grade_id: source}``: new text for a cell (usually a solution cell);
* ``delete=(grade_id, ...)``: cells the student lost;
* ``edit_tests={grade_id: source}``: a student who edited a test cell;
* ``add=[(after_grade_id, source), ...]``: extra code cells the student inserted;
* ``stub=(grade_id, ...)`` or ``stub=True`` (every solution cell): cells left as released,
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (a student who did not answer).

``write_submission(root, student, assignment, nb)`` writes it where nbgrader and the grader
look: ``<root>/<student>/<assignment>/<assignment>.ipynb``.  ``nb`` may also be raw text or
bytes (a corrupted file), or None (a student folder without the notebook).
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from course.notebooks import (BEGIN_SOLUTION, END_SOLUTION, cell_kind, grade_id,
                              remove_hidden_tests, remove_solution_markers)

REPO = Path(__file__).resolve().parent.parent


def source_notebook(assignment: str, source_root: str | Path | None = None):
    root = Path(source_root) if source_root else REPO / "source"
    return nbformat.read(str(root / assignment / f"{assignment}.ipynb"), as_version=4)


def solution_of(assignment: str, cell_id: str, source_root=None) -> str:
    """The completed text of a solution cell (markers removed): what a correct student wrote."""
    for cell in source_notebook(assignment, source_root).cells:
        if grade_id(cell) == cell_id:
            return remove_solution_markers(cell.source)
    raise KeyError(f"{assignment} has no cell {cell_id!r}")


def released_stub(source: str) -> str:
    """A solution cell as released: each solution region replaced by nbgrader's code stub."""
    lines, inside = [], False
    for line in source.split("\n"):
        if BEGIN_SOLUTION in line:
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            lines += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError()"]
        elif END_SOLUTION in line:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def make_submission(assignment: str, replace: dict | None = None, delete=(),
                    edit_tests: dict | None = None, add=(), stub=(), source_root=None):
    """A submitted notebook (nbformat v4): the correct one, then the patches applied."""
    nb = copy.deepcopy(source_notebook(assignment, source_root))
    replace, edit_tests = dict(replace or {}), dict(edit_tests or {})
    known = {grade_id(cell) for cell in nb.cells}
    stubbed = {grade_id(c) for c in nb.cells if cell_kind(c) == "solution"} if stub is True \
        else set(stub)
    unknown = (set(replace) | set(edit_tests) | set(delete) | stubbed
               | {a for a, _ in add}) - known
    if unknown:
        raise KeyError(f"{assignment} has no cells {sorted(unknown)}")
    cells = []
    for cell in nb.cells:
        gid, kind = grade_id(cell), cell_kind(cell)
        if gid in delete:
            continue
        if kind == "solution":
            cell.source = (released_stub if gid in stubbed else remove_solution_markers)(
                cell.source)
        elif kind == "test":
            cell.source = remove_hidden_tests(cell.source).rstrip()
        if gid in replace:
            cell.source = replace[gid]
        if gid in edit_tests:
            cell.source = edit_tests[gid]
        cells.append(cell)
        for after, source in add:
            if after == gid:
                cells.append(nbformat.v4.new_code_cell(source))
    nb.cells = cells
    return nb


def write_submission(root: str | Path, student: str, assignment: str, nb) -> Path:
    """Write ``nb`` (notebook, text, bytes or None) as the student's submission."""
    folder = Path(root) / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb)
    elif nb is not None:
        nbformat.write(nb, str(path))
    return path


# Realistic wrong answers of the core assignment, shared by the fixture classes.
WRONG_MSE = """def mse_loss(prediction, labels):
    return torch.sum((prediction.reshape(-1) - labels.reshape(-1)) ** 2)
"""
WRONG_DROPOUT = """class Dropout(nn.Module):
    def __init__(self, rate=0.01):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.training:
            return x * (torch.rand_like(x) >= self.rate).float() / (1 - self.rate)
        return x
"""
