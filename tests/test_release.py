"""make release: solved sources run clean, stubs carry no solutions, committed release/ is fresh."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest

from course.config import assignments
from course.release import leaks
from tests.conftest import REPO, run

ASSIGNMENTS = assignments()


def comparable(path):
    """A notebook's cells as (type, source, nbgrader metadata), the parts a release defines."""
    nb = nbformat.read(str(path), as_version=4)
    return [(c.cell_type, c.source, json.dumps(c.metadata.get("nbgrader", {}), sort_keys=True))
            for c in nb.cells], nb.metadata.get("kernelspec", {}).get("name")


def files_under(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_equals_a_fresh_release(released_course, assignment):
    fresh, committed = released_course / "release" / assignment, REPO / "release" / assignment
    assert committed.is_dir(), f"release/{assignment} is not committed: run make release"
    name = f"{assignment}.ipynb"
    assert comparable(committed / name) == comparable(fresh / name), \
        f"release/{assignment}/{name} is stale: run make release and commit"
    fresh_files = {k: v for k, v in files_under(fresh).items() if k.suffix != ".ipynb"}
    committed_files = {k: v for k, v in files_under(committed).items() if k.suffix != ".ipynb"}
    assert committed_files == fresh_files, f"release/{assignment} files differ from a fresh release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_stubs_and_no_solution_text(assignment):
    folder = REPO / "release" / assignment
    assert leaks(folder) == []
    nb = nbformat.read(str(folder / f"{assignment}.ipynb"), as_version=4)
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solution_cells, "the release has no answer cells"
    for cell in solution_cells:
        assert "YOUR CODE HERE" in cell.source or "YOUR ANSWER HERE" in cell.source, cell.source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_summary_reports_points(released_course, assignment):
    log = (released_course / "release.log").read_text()
    line = next(l for l in log.splitlines() if l.startswith(f"{assignment}:"))
    assert "graded cells" in line and "autograded" in line and "manual points" in line
    assert "stubs" in line


def test_committed_sources_have_no_outputs():
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), 4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), assignment


def test_release_stops_and_names_the_failing_test_cell(course_copy):
    assignment = "hw4_pytorch_regularization"
    path = course_copy / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    target = next(c for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "mse_loss")
    target.source = target.source.replace(
        "### BEGIN SOLUTION", "### BEGIN SOLUTION\n    return torch.tensor(0.0, requires_grad=True)")
    nbformat.write(nb, str(path))
    result = run([sys.executable, "-m", "course.release", assignment, "--root",
                  str(course_copy)], cwd=REPO, check=False)
    assert result.returncode == 1
    assert "mse_loss_tests" in result.stderr and "test_mse_loss failed" in result.stderr
    assert not (course_copy / "release" / assignment).exists()



@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_folder_is_self_sufficient(assignment):
    """The notebook's imports resolve to the support copy inside the release folder."""
    folder = REPO / "release" / assignment
    nb = nbformat.read(str(folder / f"{assignment}.ipynb"), 4)
    imports = [line for cell in nb.cells if cell.cell_type == "code"
               for line in cell.source.splitlines() if line.startswith("from support")]
    assert imports, "the notebook does not import its support package"
    code = "\n".join(imports + ["import support",
                                "print(support.__file__)"])
    result = run([sys.executable, "-c", code], cwd=folder)
    assert result.stdout.strip() == str(folder / "support" / "__init__.py")
