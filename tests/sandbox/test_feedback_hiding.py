"""course.autograde.preprocessors.HideHiddenTests: feedback keeps scores and messages, not hidden tests.

Unit tests on a small autograded-like notebook; tests/test_attacks.py checks the HTML that
``nbgrader generate_feedback`` writes for real submissions.
"""

from __future__ import annotations

import nbformat
from nbformat.notebooknode import NotebookNode

from course.autograde.preprocessors import HideHiddenTests

HIDDEN = ["test_mse_loss(mse_loss, seed=12)", "test_mse_loss(mse_loss, seed=11)"]


def make_test_cell(source: str, outputs=()):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "points": 1, "grade_id": "mse_loss_tests"}
    cell.outputs = [NotebookNode(o) for o in outputs]
    return cell


def notebook():
    nb = nbformat.v4.new_notebook()
    failing = {"output_type": "error", "ename": "CheckFailure",
               "evalue": "test_mse_loss failed: loss value\n  expected: 0.5\n  observed: 3.5",
               "traceback": ["\x1b[0;31mCheckFailure\x1b[0m Traceback",
                             f"----> 4 {HIDDEN[1]}", "CheckFailure: test_mse_loss failed"]}
    printed = {"output_type": "stream", "name": "stdout",
               "text": f"I found the tests:\n{HIDDEN[1]}\n"}
    nb.cells = [
        nbformat.v4.new_code_cell("def mse_loss(p, l):\n    return (p - l).sum()"),
        make_test_cell("test_mse_loss(mse_loss)\n### BEGIN HIDDEN TESTS\n" + "\n".join(HIDDEN)
                  + "\n### END HIDDEN TESTS", [failing]),
        nbformat.v4.new_code_cell("print(open('hw.ipynb').read())"),
    ]
    nb.cells[2].outputs = [NotebookNode(printed)]
    return nb


def test_hidden_region_and_its_traceback_are_gone_but_the_message_stays():
    nb, _ = HideHiddenTests().preprocess(notebook(), {})
    test = nb.cells[1]
    assert test.source.splitlines() == ["test_mse_loss(mse_loss)", "# (hidden tests: not shown)"]
    error = test.outputs[0]
    assert "expected: 0.5" in error.evalue and "observed: 3.5" in error.evalue
    text = nbformat.writes(nb)
    for line in HIDDEN:
        assert line not in text


def test_hidden_lines_a_student_printed_are_redacted():
    nb, _ = HideHiddenTests().preprocess(notebook(), {})
    assert nb.cells[2].outputs[0].text == "I found the tests:\n[hidden test]\n"


def test_the_sources_hidden_lines_are_redacted_from_the_gradebook(tmp_path, monkeypatch):
    """An autograded test cell shows the cases that ran, not the source's hidden tests
    (course.autograde.cases); a student's output quoting those hidden tests (read from the
    sanitized notebook while demo cells ran) is still redacted: their lines come from the
    gradebook's record of the source cell."""
    import os
    import sys

    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}{os.pathsep}"
                               f"{os.environ['PATH']}")  # a new gradebook runs alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("hw")
        gb.add_notebook("hw", "hw")
        gb.add_source_cell("mse_loss_tests", "hw", "hw", cell_type="code", locked=True,
                           source=notebook().cells[1].source)
    nb = notebook()
    nb.cells[1].source = ("test_mse_loss(mse_loss)\n### BEGIN HIDDEN TESTS\n"
                          "#   hidden, seed 77: test_mse_loss(mse_loss, seed=77)  -> passed\n"
                          "### END HIDDEN TESTS")
    resources = {"nbgrader": {"db_url": url, "notebook": "hw", "assignment": "hw"}}
    nb, _ = HideHiddenTests().preprocess(nb, resources)
    assert nb.cells[2].outputs[0].text == "I found the tests:\n[hidden test]\n"
    assert "seed 77" not in nbformat.writes(nb)
