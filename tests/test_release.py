"""make release: solved sources run clean, stubs carry no solutions, committed stubs are fresh,
and each generated release folder (support code beside the stub, and its zip) runs alone."""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

from course.config import assignments
from course.release import execute
from course.release.build import leaks
from tests.conftest import REPO, run

ASSIGNMENTS = assignments()


def comparable(path):
    """A notebook's cells as (type, source, nbgrader metadata), the parts a release defines."""
    nb = nbformat.read(str(path), as_version=4)
    return [(c.cell_type, c.source, json.dumps(c.metadata.get("nbgrader", {}), sort_keys=True))
            for c in nb.cells], nb.metadata.get("kernelspec", {}).get("name")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_equals_a_fresh_release(released_course, assignment):
    """Only the stub is committed (the support code is generated), and it is fresh."""
    fresh, committed = released_course / "release" / assignment, REPO / "release" / assignment
    assert committed.is_dir(), f"release/{assignment} is not committed: run make release"
    name = f"{assignment}.ipynb"
    assert comparable(committed / name) == comparable(fresh / name), \
        f"release/{assignment}/{name} is stale: run make release and commit"
    tracked = subprocess.run(["git", "ls-files", f"release/{assignment}"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == [f"release/{assignment}/{name}"], tracked


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


def test_release_says_what_it_is_doing_on_stderr(released_course):
    """A line per assignment and step, and a bar that counts each source notebook's code
    cells to the end; stdout keeps only the summary rows."""
    err = (released_course / "release.err").read_text()
    for number, assignment in enumerate(ASSIGNMENTS, 1):
        step = f"[{number}/{len(ASSIGNMENTS)}] {assignment}"
        assert f"make release: {step}: running the source notebook" in err, err[-2000:]
        assert f"make release: {step}: nbgrader generate_assignment" in err
        nb = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), 4)
        cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
        assert re.search(rf"{re.escape(step)}: 100%\|[^|\r\n]*\| {cells}/{cells} cells \[",
                         err), assignment
    log = (released_course / "release.log").read_text()
    assert "make release:" not in log and " cells [" not in log


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



CORE = {"__init__.py", "checking.py", "numeric.py", "probe_data.py", "stats.py", "plotting.py"}

# Run in a release folder copied away from the repository: the editable install's finder is
# dropped first, so a module the folder lacks cannot be found in the repository instead.
ALONE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path[:] = [p for p in sys.path if p not in ("", ".", {repo!r})]
sys.path.insert(0, {folder!r})
"""


def copied_release(released_course, assignment, tmp_path):
    """The fresh release folder of ``assignment``, copied alone into ``tmp_path``."""
    folder = tmp_path / assignment
    shutil.copytree(released_course / "release" / assignment, folder,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return folder


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_folder_carries_only_what_its_assignment_imports(released_course, assignment,
                                                                  tmp_path):
    """support/__init__.py, the core modules the facade imports and support/<a>/, no more; the
    notebook's imports resolve to that copy, with no repository on sys.path.  Of course/,
    check_my_work's package and the grading engine it runs, nothing of nbgrader's side."""
    folder = copied_release(released_course, assignment, tmp_path)
    pipeline = {p.relative_to(folder).as_posix() for p in (folder / "course").rglob("*.py")}
    assert {"course/check/my_work.py", "course/check/__main__.py", "course/grade/plan.py",
            "course/grade/student_process.py", "course/grade/grader.py"} <= pipeline
    assert not {name for name in pipeline if name.split("/")[1] in
                ("autograde", "export", "release", "similarity", "bench")}
    assert (folder / "course" / "check" / "released" / assignment
            / f"{assignment}.ipynb").read_bytes() == (folder / f"{assignment}.ipynb").read_bytes()
    carried = {p.relative_to(folder).as_posix() for p in folder.rglob("*.py")} - pipeline
    own = {f"support/{assignment}/{p.name}" for p in (REPO / "support" / assignment).glob("*.py")}
    assert own <= carried, own - carried
    extra = {name for name in carried - own if not (name.startswith("support/")
                                                    and name.count("/") == 1
                                                    and name.split("/")[1] in CORE)}
    assert not extra, extra
    assert "support/__init__.py" in carried

    nb = nbformat.read(str(folder / f"{assignment}.ipynb"), 4)
    imports = [line for cell in nb.cells if cell.cell_type == "code"
               for line in cell.source.splitlines() if line.startswith("from support")]
    assert imports, "the notebook does not import its support package"
    code = ALONE.format(repo=str(REPO), folder=str(folder)) + "\n".join(imports + [
        "import importlib, pkgutil",
        f"import support.{assignment} as facade",
        f"[importlib.import_module(f'support.{assignment}.' + m.name) "
        "for m in pkgutil.iter_modules(facade.__path__)]",
        "print('\\n'.join(m.__file__ for n, m in sorted(sys.modules.items())",
        "                 if n == 'support' or n.startswith('support.')))",
    ])
    result = run([sys.executable, "-c", code], cwd=tmp_path)
    loaded = {str(pathlib.Path(line).resolve().relative_to(folder.resolve()))
              for line in result.stdout.split()}
    assert loaded == carried, (loaded ^ carried)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_folder_runs_its_notebooks_checks_alone(released_course, assignment, tmp_path):
    """The solved notebook, run inside a copied release folder, passes every test cell with
    the support code that folder carries."""
    folder = copied_release(released_course, assignment, tmp_path)
    solved = folder / "solved.ipynb"
    shutil.copy2(released_course / "source" / assignment / f"{assignment}.ipynb", solved)
    nb, _ = execute.execute_notebook(solved)
    assert execute.test_cell_problems(nb) == []
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert str(REPO / "support") not in outputs


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_zip_holds_the_notebook_and_its_support_code(released_course, assignment):
    folder = released_course / "release" / assignment
    with zipfile.ZipFile(released_course / "release" / f"{assignment}.zip") as archive:
        names = set(archive.namelist())
    carried = {p.relative_to(folder.parent).as_posix() for p in folder.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert names == carried, names ^ carried
    assert f"{assignment}/{assignment}.ipynb" in names


def test_a_folder_without_hw4_says_so_when_a_hw4_name_is_used(released_course, tmp_path):
    folder = copied_release(released_course, "hw1_gradient_descent", tmp_path)
    code = ALONE.format(repo=str(REPO), folder=str(folder)) + (
        "import support\n"
        "try:\n"
        "    support.test_mse_loss\n"
        "except ImportError as error:\n"
        "    print(error)\n")
    out = run([sys.executable, "-c", code], cwd=tmp_path).stdout
    assert "hw4_pytorch_regularization" in out and "from support.<assignment> import *" in out
