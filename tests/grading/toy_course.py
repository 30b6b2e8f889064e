"""A three-question toy assignment (numpy only) for fast tests of the grading machinery.

``write_toy_source(root)`` writes ``root/toy_grading/toy_grading.ipynb`` with every kind of
cell; its checks live in ``toy/grading_toy_support.py`` (on the student process's path via
``TOY_PATH``).
"""

from pathlib import Path

import nbformat

NAME = "toy_grading"
FACADE = "grading_toy_support"
TOY_PATH = Path(__file__).resolve().parent / "toy"


def make_cell(kind, source, gid=None, points=None):
    if kind in ("markdown", "answer"):
        cell = nbformat.v4.new_markdown_cell(source)
    else:
        cell = nbformat.v4.new_code_cell(source)
    flags = {"setup": dict(locked=True), "solution": dict(solution=True),
             "test": dict(grade=True, locked=True), "answer": dict(grade=True, solution=True)}
    if kind in flags:
        meta = {"schema_version": 3, "grade": False, "locked": False, "solution": False,
                "task": False, "grade_id": gid, **flags[kind]}
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


CELLS = [
    ("markdown", "# Toy assignment"),
    ("setup", "import numpy as np\nfrom grading_toy_support import *", "setup"),
    ("markdown", "## Q1: double"),
    ("solution", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
     "double"),
    ("test", "test_double(double)\n### BEGIN HIDDEN TESTS\ntest_double(double, seed=5)\n"
             "### END HIDDEN TESTS", "double_tests", 2),
    ("code", "raise RuntimeError('demo cells are not run by the grader')"),
    ("solution", "def square(x):\n    ### BEGIN SOLUTION\n    return x ** 2\n    ### END SOLUTION",
     "square"),
    ("test", "test_square(square)", "square_tests", 1),
    ("solution", "def scale(x, factor):\n    ### BEGIN SOLUTION\n    return factor * x\n"
                 "    ### END SOLUTION", "scale"),
    ("test", "test_scale(scale, factor=3)\n### BEGIN HIDDEN TESTS\n"
             "test_scale(scale, factor=3, seed=9)\n### END HIDDEN TESTS", "scale_tests", 3),
    ("answer", "Doubling is linear.", "why_answer", 2),
]


def write_toy_source(root: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [make_cell(*spec) for spec in CELLS]
    path = Path(root) / NAME / f"{NAME}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
