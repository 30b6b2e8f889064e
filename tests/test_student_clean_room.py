"""Where students work: the released zip, unpacked, in a fresh virtual environment with only
the student's packages (no nbgrader, no course installed), run top to bottom in a real kernel
with the solutions pasted in; its last cell, check_my_work(), reports full visible points.

Minutes (a venv with torch from the local wheels, then the notebook's training runs): marked
``clean_room``, left out of ``make test``, run by ``make test-clean-room``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course.notebooks import cell_kind, grade_id, remove_solution_markers
from course.release.build import generate
from tests.submissions import source_notebook

pytestmark = pytest.mark.clean_room

REPO = Path(__file__).resolve().parent.parent
A = "hw4_pytorch_regularization"
# The README's student install (jupyter's kernel and notebook runner: ipykernel, nbclient).
STUDENT_PACKAGES = ["torch==2.13.0", "numpy", "matplotlib", "tqdm", "scikit-learn",
                    "ipykernel", "nbclient"]
RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[3])
"""


def student_venv(folder: Path) -> Path:
    """A fresh venv with only the student's packages (pinned by constraints.txt, from the
    local wheels and package index pip is configured with); its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    python = folder / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *STUDENT_PACKAGES, "-c", str(REPO / "constraints.txt")],
                   check=True, timeout=900)
    return python


def with_solutions(released: Path) -> nbformat.NotebookNode:
    """The released notebook with every answer the source has pasted into its cell."""
    answers = {grade_id(c): remove_solution_markers(c.source)
               for c in source_notebook(A).cells if cell_kind(c) in ("solution", "answer")}
    nb = nbformat.read(str(released), as_version=4)
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def student_env(venv_python: Path, home: Path) -> dict:
    """What a student's shell has: their venv first on PATH, nothing of this repository."""
    return {"PATH": f"{venv_python.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(home), "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1",
            "MPLBACKEND": "Agg"}


def test_the_released_notebook_runs_top_to_bottom_from_the_zip_in_a_clean_venv(
        tmp_path, course_copy):
    generate(course_copy, A)  # release/<A>.zip, as make release writes it
    with zipfile.ZipFile(course_copy / "release" / f"{A}.zip") as archive:
        archive.extractall(tmp_path / "student")
    folder = tmp_path / "student" / A
    notebook = folder / f"{A}.ipynb"
    nbformat.write(with_solutions(notebook), str(notebook))  # and saved, as the README asks

    python = student_venv(tmp_path / "venv")
    home = tmp_path / "home"
    home.mkdir()
    env = student_env(python, home)
    for package in ("nbgrader", "course", "support"):  # only the zip has the course's code
        outside = subprocess.run([str(python), "-c", f"import {package}"], env=env, cwd=home,
                                 capture_output=True, text=True)
        assert outside.returncode != 0, package
    (tmp_path / "run.py").write_text(RUN_NOTEBOOK)
    executed = tmp_path / "executed.ipynb"
    result = subprocess.run([str(python), str(tmp_path / "run.py"), str(notebook), str(folder),
                             str(executed)], env=env, cwd=folder, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr

    nb = nbformat.read(str(executed), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    last = nb.cells[-1]
    assert "check_my_work()" in last.source
    report = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream")
    assert re.search(r"visible cases\s+21/21", report), report
    assert "passed" in report and "not written yet" not in report
