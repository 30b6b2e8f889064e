"""course.notebooks: loading, the cell classification rule, and test-cell call parsing."""

import json

import nbformat
import pytest

from course.notebooks import (Literal, Name, NotebookError, cell_kind, defined_names,
                              load_notebook, parse_checker_call, points_summary,
                              remove_hidden_tests, remove_solution_markers)


def code(**flags):
    cell = nbformat.v4.new_code_cell("x = 1")
    if flags:
        cell.metadata["nbgrader"] = {"grade_id": "c", **flags}
    return cell


def markdown(**flags):
    cell = nbformat.v4.new_markdown_cell("text")
    if flags:
        cell.metadata["nbgrader"] = {"grade_id": "m", **flags}
    return cell


@pytest.mark.parametrize("cell, kind", [
    (code(), "demo"),
    (code(locked=False, solution=False, grade=False), "demo"),
    (code(locked=True), "setup"),
    (code(solution=True), "solution"),
    (code(solution=True, locked=True), "solution"),
    (code(grade=True, solution=True, points=2), "solution"),  # autograded answer
    (code(grade=True, locked=True, points=1), "test"),
    (code(grade=True, points=1), "test"),
    (markdown(), "markdown"),
    (markdown(solution=True), "markdown"),
    (markdown(grade=True, solution=True, points=2), "answer"),
    (markdown(task=True, points=3), "task"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_cell_kind(cell, kind):
    assert cell_kind(cell) == kind


def test_malformed_metadata_is_a_demo_cell():
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = "not a dict"
    assert cell_kind(cell) == "demo"


def test_parse_checker_call_names_literals_and_keywords():
    call = parse_checker_call("test_build(model, LinearZeros, dropout_type=None, type='zeros')")
    assert call.checker == "test_build"
    assert call.args == [Name("model"), Name("LinearZeros")]
    assert call.kwargs == {"dropout_type": Literal(None), "type": Literal("zeros")}
    checker, args, kwargs = call  # it is a plain tuple too
    assert checker == "test_build"


def test_parse_checker_call_ignores_hidden_tests_and_comments():
    source = ("# the visible check\ntest_mse_loss(mse_loss)\n### BEGIN HIDDEN TESTS\n"
              "test_mse_loss(mse_loss, seed=7)\nimport os\n### END HIDDEN TESTS\n")
    assert parse_checker_call(source) == ("test_mse_loss", [Name("mse_loss")], {})


def test_parse_checker_call_negative_numbers_and_tuples():
    call = parse_checker_call("test_x(f, -1.5, (2, 3), flag=True)")
    assert call.args == [Name("f"), Literal(-1.5), Literal((2, 3))]


@pytest.mark.parametrize("source, words", [
    ("", "exactly one"),
    ("test_a(a)\ntest_b(b)", "exactly one"),
    ("x = test_a(a)", "exactly one"),
    ("support.test_a(a)", "plain name"),
    ("test_a(a.b)", "names or literals"),
    ("test_a(f(1))", "names or literals"),
    ("test_a(*args)", "*args"),
    ("test_a(**options)", "**kwargs"),
    ("test_a(a, seed=3)", "chosen by the grader"),
    ("test_a(a, device='cpu')", "chosen by the grader"),
    ("test_a(a", "not valid Python"),
])
def test_parse_checker_call_refuses(source, words):
    with pytest.raises(NotebookError, match=words.replace("*", r"\*")):
        parse_checker_call(source, where="cell t")


def test_remove_hidden_tests_like_nbgrader():
    source = "a\n### BEGIN HIDDEN TESTS\nb\n### END HIDDEN TESTS\nc\n### BEGIN HIDDEN TESTS\nd"
    assert remove_hidden_tests(source) == "a\nc"


def test_remove_solution_markers_keeps_the_solution():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    assert remove_solution_markers(source) == "def f(x):\n    return x"


def test_defined_names():
    source = ("import torch.nn as nn\nfrom math import pi\nimport numpy\nclass A: pass\n"
              "def f(): y = 2\nmodel = nn.Linear(1, 1)\na, (b, c) = 1, (2, 3)\nx: int = 3\n")
    assert defined_names(source) == {"nn", "pi", "numpy", "A", "f", "model", "a", "b", "c",
                                     "x"}
    assert defined_names("def f(:") == set()


def test_points_summary():
    nb = nbformat.v4.new_notebook()
    nb.cells = [code(locked=True), code(solution=True), code(grade=True, points=2),
                code(grade=True, solution=True, points=1), markdown(grade=True, solution=True,
                                                                    points=3),
                markdown(task=True, points=4), markdown()]
    summary = points_summary(nb)
    assert (summary.autograded, summary.manual, summary.total) == (3, 7, 10)
    assert [kind for _, kind, _ in summary.cells] == ["test", "solution", "answer", "task"]


@pytest.mark.parametrize("content, words", [
    (None, "not found"),
    (b"\x00\x01 binary", "not valid JSON"),
    ("{\"cells\": [", "not valid JSON"),
    ("[1, 2]", "not a Jupyter notebook"),
    (json.dumps({"metadata": {}}), "not a Jupyter notebook"),
    (json.dumps({"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5,
                 "metadata": {}}), "malformed|not a readable"),
])
def test_load_notebook_errors(tmp_path, content, words):
    path = tmp_path / "hw.ipynb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(NotebookError, match=words):
        load_notebook(path)


def test_a_notebook_that_is_a_link_is_refused(tmp_path):
    """A submitted ``hw.ipynb -> /course/source/hw/hw.ipynb`` would hand in the solutions."""
    solved = tmp_path / "solutions.ipynb"
    solved.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                  "nbformat_minor": 5}))
    (tmp_path / "hw.ipynb").symlink_to(solved)
    with pytest.raises(NotebookError, match="symbolic link"):
        load_notebook(tmp_path / "hw.ipynb")


def test_load_notebook_reads_v4(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [code(solution=True)]
    nbformat.write(nb, str(tmp_path / "hw.ipynb"))
    assert cell_kind(load_notebook(tmp_path / "hw.ipynb").cells[0]) == "solution"


def test_load_notebook_joins_source_lines_as_nbformat_does(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [code(solution=True)]
    nb.cells[0].source = "def f(x):\n    return 2 * x\n"
    nbformat.write(nb, str(tmp_path / "hw.ipynb"))  # on disk: a list of lines
    assert isinstance(json.loads((tmp_path / "hw.ipynb").read_text())["cells"][0]["source"],
                      list)
    ours = load_notebook(tmp_path / "hw.ipynb")
    theirs = nbformat.read(str(tmp_path / "hw.ipynb"), as_version=4)
    assert ours.cells[0].source == theirs.cells[0].source == "def f(x):\n    return 2 * x\n"
    assert ours.cells[0].metadata.nbgrader == theirs.cells[0].metadata.nbgrader


def test_load_notebook_upgrades_a_version_3_notebook(tmp_path):
    old = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(
        cells=[nbformat.v3.new_code_cell(input="x = 1")])])
    (tmp_path / "hw.ipynb").write_text(nbformat.v3.writes_json(old))
    nb = load_notebook(tmp_path / "hw.ipynb")
    assert [(c.cell_type, c.source) for c in nb.cells] == [("code", "x = 1")]
