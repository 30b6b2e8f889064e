"""Each setting in nbgrader_config.py, and what goes wrong without it.

The executed source notebooks come from the shared release fixture (real kernels); nbgrader's
own grading function (``determine_grade``) and preprocessor (``IgnorePattern``) score them.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbgrader.preprocessors import IgnorePattern
from nbgrader.utils import determine_grade

from course.config import assignments, nbgrader_setting
from course.notebooks import nbgrader_meta
from tests.conftest import REPO, clean_environment

ASSIGNMENTS = assignments()


def executed(released_course, assignment):
    return nbformat.read(str(released_course / "executed" / f"{assignment}.ipynb"), 4)


def graded_test_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")
            and not nbgrader_meta(c).get("solution")]


def grade_after(nb, pattern):
    """Scores of the test cells after nbgrader's IgnorePattern with ``pattern`` (None: off)."""
    nb = copy.deepcopy(nb)
    if pattern is not None:
        nb, _ = IgnorePattern(pattern=pattern, enabled=True).preprocess(nb, {})
    return {c.metadata["nbgrader"]["grade_id"]: determine_grade(c)[0] for c in graded_test_cells(nb)}


NOISY_TEST_CELL = """\
import warnings
from tqdm import tqdm  # the text bar, as on a machine without ipywidgets
for _ in tqdm(range(3)):
    pass
warnings.warn("a benign warning from a library", UserWarning)
"""


def test_ignore_pattern_keeps_full_marks_that_stderr_noise_would_zero(tmp_path):
    """A passing test cell that prints a tqdm bar and a warning: nbgrader scores it 0 unless
    the course's IgnorePattern removes that noise first."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(NOISY_TEST_CELL)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "points": 2, "grade_id": "noisy_tests", "schema_version": 3,
                                 "task": False}
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert any(o.get("name") == "stderr" for o in cell.outputs), "the cell wrote no stderr"
    assert grade_after(nb, None) == {"noisy_tests": 0}
    assert grade_after(nb, nbgrader_setting("IgnorePattern", "pattern")) == {"noisy_tests": 2}
    assert nbgrader_setting("IgnorePattern", "enabled") is True


@pytest.mark.parametrize("text, benign", [
    ("\n", True),
    ("100%|##########| 7/7 [00:00<00:00, 2033.19it/s]", True),
    ("  0%|          | 0/7 [00:00<?, ?it/s]", True),
    ("/x/torch/nn/modules/module.py:1: UserWarning: something\n  warnings.warn(", True),
    ("Traceback (most recent call last):\n  File ...\nValueError: bad", False),
    ("my own debugging line", False),
])
def test_ignore_pattern_matches_noise_only(text, benign):
    assert bool(re.search(nbgrader_setting("IgnorePattern", "pattern"), text)) is benign


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_timeout_leaves_room_for_the_slowest_cell_on_a_loaded_machine(released_course,
                                                                     assignment):
    nb = executed(released_course, assignment)
    slowest = max(c.metadata.get("seconds", 0) for c in nb.cells if c.cell_type == "code")
    timeout = nbgrader_setting("Execute", "timeout")
    # The fixture ran under the test suite's own load; grading machines may be 5x slower.
    assert timeout >= 5 * slowest, f"slowest cell {slowest:.1f} s vs timeout {timeout} s"


@pytest.mark.parametrize("folder", ["source", "release"])
def test_notebook_kernel_exists_where_grading_runs(folder):
    """Autograde runs every notebook in the sandboxed kernel nbgrader_config.py names
    (installed into the venv by `make venv`), whatever kernel the notebook's metadata
    names; `make release` runs the source notebooks in the kernel their metadata names."""
    specs = KernelSpecManager().find_kernel_specs()
    assert nbgrader_setting("Execute", "kernel_name") == "course-sandbox"
    assert "course-sandbox" in specs, "run `make venv`: it installs the sandboxed kernel"
    for assignment in ASSIGNMENTS:
        path = REPO / folder / assignment / f"{assignment}.ipynb"
        assert nbformat.read(str(path), 4).metadata.kernelspec.name in specs


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_end_without_a_value_nbgrader_could_read_as_partial_credit(
        released_course, assignment):
    nb = executed(released_course, assignment)
    for cell in graded_test_cells(nb):
        kinds = {o.output_type for o in cell.outputs}
        assert "execute_result" not in kinds, cell.metadata["nbgrader"]["grade_id"]


def test_only_nbgrader_add_submission_autoflush_warnings_are_silenced():
    """nbgrader_config.py silences the three harmless SQLAlchemy warnings of nbgrader's
    add_submission (tests/test_autograde.py: none in a real run); any other SQLAlchemy
    warning, or the same text from elsewhere, still shows."""
    import warnings

    from sqlalchemy.exc import SAWarning

    from course.autograde.preprocessors import ignore_gradebook_autoflush_warnings

    harmless = ("Object of type <SubmittedNotebook> not in session, add operation along "
                "'Notebook.submissions' will not proceed (This warning originated from the "
                "Session 'autoflush' process)")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        ignore_gradebook_autoflush_warnings()
        for message, module in [(harmless, "nbgrader.api"), (harmless, "course.export.lms"),
                                ("Object of type <Grade> not in session, add operation "
                                 "along 'Grade.notebook' will not proceed", "nbgrader.api"),
                                ("relationship X will copy column y", "nbgrader.api")]:
            warnings.warn_explicit(message, SAWarning, "api.py", 1, module=module)
    assert [(str(w.message)[:20]) for w in shown] == [
        "Object of type <Subm", "Object of type <Grad", "relationship X will "]


def test_nbgrader_creates_the_gradebook_without_the_venv_on_path(course_copy):
    """nbgrader creates gradebook.db by running `alembic` by name: nbgrader_config.py puts
    the scripts of the Python that runs nbgrader first on PATH.  Without that line,
    `.venv/bin/nbgrader ...` fails in a fresh clone from a shell without the venv on PATH."""
    nbgrader = [str(Path(sys.executable).with_name("nbgrader")), "db", "student", "list"]
    env = clean_environment()
    assert shutil.which("alembic", path=env["PATH"]) is None
    result = subprocess.run(nbgrader, cwd=course_copy, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (course_copy / "gradebook.db").is_file()

    (course_copy / "gradebook.db").unlink()
    config = course_copy / "nbgrader_config.py"
    config.write_text(config.read_text().replace('os.environ["PATH"] =', "_unused ="))
    result = subprocess.run(nbgrader, cwd=course_copy, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "alembic" in result.stdout + result.stderr


def test_the_formgrader_finds_an_exchange_so_it_shows_no_warning(course_copy):
    """The course does not use nbgrader's exchange; its default root does not exist, and the
    formgrader warns on every page (``exchange_missing``) and logs "Unwritable directory"
    on every action.  nbgrader_config.py points it at a folder of the environment."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_copy)).load_config()
    assert NbGraderAPI(config=config).exchange_missing is False
    config.Exchange.root = "/usr/local/share/nbgrader/exchange"  # nbgrader's default
    if not os.path.isdir(config.Exchange.root):
        assert NbGraderAPI(config=config).exchange_missing is True
