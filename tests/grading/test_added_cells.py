"""Cells a student adds: what of them grading runs, where, within what budget, and what a
failing check then says (``course.notebooks.graded_part`` / ``added_cells``, the plan, the
grader).  Both commands and Gradescope grade the added-cells class in tests/test_autograde.py
and tests/test_gradescope.py.
"""

from __future__ import annotations

import copy
import re
import time

import nbformat
import pytest

from course.config import ROOT, assignments, load_grading_config
from course.grade.grader import Grader
from course.grade.plan import build_steps, load_assignment
from course.grade.warm_worker import Zygote
from course.notebooks import (ADDED_CELL_RULE, added_cells, grade_id, graded_part,
                              load_notebook)
from tests.grading.added_cells_class import ASSIGNMENT, HELPERS, STUDENTS, ZERO, submission
from tests.grading.toy_course import NAME, write_toy_source
from tests.submissions import make_submission, write_submission

CELL = '''\
%matplotlib inline
import numpy as np
from math import sqrt as root
RATE = 0.5
rate: float = 0.25
RATE += 0.1


@staticmethod
def helper(x):
    return root(x) * RATE


class Net(object):
    pass


print(helper(4)); scale = 2
for epoch in range(100):
    history = helper(epoch)
if scale:
    import os
!pip install tqdm
"""a note"""
helper(9)
'''


def test_graded_part_keeps_imports_definitions_and_assignments_on_their_lines():
    part = graded_part(CELL)
    assert part.names == ("Net", "RATE", "helper", "np", "rate", "root", "scale")
    assert part.skipped_names == ("epoch", "history", "os")
    assert part.skipped == (
        "line 1: a magic (%matplotlib inline)",
        "line 18: a call (print(helper(4)))",
        "line 19: a for loop (for epoch in range(100):)",
        "line 21: an if block (if scale:)",
        "line 23: a shell command (!pip install tqdm)",
        "line 25: a call (helper(9))")  # the bare string on line 24 does nothing: not listed
    lines = part.source.split("\n")
    assert lines[0] == "" and lines[1] == "import numpy as np"  # the student's line numbers
    assert lines[8] == "@staticmethod" and lines[17] == "scale = 2"
    assert "print" not in part.source and "for" not in part.source and "pip" not in part.source
    namespace = {}
    exec(compile(part.source, "<cell>", "exec"), namespace)
    assert namespace["helper"](4) == pytest.approx(1.2) and namespace["scale"] == 2


def test_graded_part_of_magic_cells_and_broken_cells():
    timed = graded_part("%%time\nmodel = 3\nprint(model)\n")
    assert timed.names == ("model",) and timed.source == "\nmodel = 3\n"
    assert graded_part("%%bash\necho hi\n").source == ""
    assert graded_part("%%bash\necho hi\n").skipped == ("line 1: a %%bash cell",)
    broken = graded_part("def f(:\n    pass\n")  # runs as written: its SyntaxError is reported
    assert broken.source == "def f(:\n    pass\n" and broken.names == ()
    assert graded_part("").source == "" and graded_part("x = 'é'; y = 2").names == ("x", "y")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy") / "source"
    write_toy_source(root)
    return load_assignment(NAME, root, facade="grading_toy_support"), root


def toy_student(root, extra: list[tuple[int, str]], edit_demo=""):
    nb = make_submission(NAME, source_root=root)
    demo = next(c for c in nb.cells if "demo cells are not run" in c.source)
    demo.source += edit_demo
    for position, source in sorted(extra, reverse=True):
        nb.cells.insert(position, nbformat.v4.new_code_cell(source))
    return nb


def test_added_cells_are_new_or_edited_code_cells_with_their_place(toy):
    assignment, root = toy
    nb = toy_student(root, [(0, "import math"), (4, "def helper(x):\n    return x")])
    nb.cells.append(copy.deepcopy(nb.cells[4]))  # a copy of the double answer: not added
    foreign = nbformat.v4.new_code_cell("LIMIT = 3")
    foreign.metadata["nbgrader"] = {"grade_id": "from_another_notebook", "solution": True}
    nb.cells.append(foreign)
    found = added_cells(nb, assignment.notebook)
    assert [(c.index, c.after, c.part.names) for c in found] == [
        (0, None, ("math",)), (5, "double", ("helper",)), (len(nb.cells) - 1,
                                                         "double", ("LIMIT",))]
    assert found[1].label == "cell 6 (def helper(x):)"
    assert added_cells(toy_student(root, [], edit_demo="\n\n"), assignment.notebook) == []
    edited = added_cells(toy_student(root, [], edit_demo="\nx = 1"), assignment.notebook)
    assert [c.part.names for c in edited] == [("x",)]  # a demo cell the student edited


def test_added_cells_run_where_they_stand(toy):
    assignment, root = toy
    nb = toy_student(root, [(0, "import math"), (4, "def helper(x):\n    return x\nhelper(1)")])
    steps, _ = build_steps(assignment, nb, [0], lambda check, seed: {})
    described = [(s["kind"], s.get("cell") or s["check"], s.get("origin")) for s in steps]
    assert described[:5] == [("code", "added:1", "added"), ("code", "setup", "source"),
                             ("code", "double", "student"), ("code", "added:6", "added"),
                             ("probe", "double_tests", None)]
    helper = steps[3]
    assert helper["source"] == "def helper(x):\n    return x\n"
    assert helper["names"] == ["helper"] and helper["skipped"] == ["line 3: a call (helper(1))"]
    assert helper["label"] == "cell 6 (def helper(x):)"
    # the demo cell (it raises) is still not a step, and setup still comes from the source
    assert all("demo cells are not run" not in s.get("source", "") for s in steps)


def test_the_rule_is_in_every_notebook_and_the_readme():
    def flat(text):
        return re.sub(r"\s+", " ", text)

    for assignment in assignments():
        for folder in ("source", "release"):
            nb = load_notebook(ROOT / folder / assignment / f"{assignment}.ipynb")
            assert flat(ADDED_CELL_RULE) in flat(nb.cells[0].source), (folder, assignment)
    readme = flat((ROOT / "README.md").read_text())
    assert flat(ADDED_CELL_RULE) in readme
    assert "added_cell_timeout_s" in readme


def test_the_budget_is_a_grading_setting():
    assert load_grading_config().added_cell_timeout_s == 10
    with pytest.raises(ValueError, match="added_cell_timeout_s"):
        load_grading_config().replace(added_cell_timeout_s=0)


# --------------------------------------------------------------------------- graded

BUDGET = 3  # seconds: the spinner's added cell is stopped after this


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The added-cells class graded by the engine (warm worker, as nbgrader autograde does),
    with a 3 s budget; each student's grade and seconds."""
    config = load_grading_config().replace(added_cell_timeout_s=BUDGET, device="cpu")
    grader = Grader(load_assignment(ASSIGNMENT), config, "cpu", [0, 1234, 98765])
    zygote = Zygote(grader.assignment.facade, (), config.startup_timeout_s)
    grader.launcher, grader.scratch = zygote.launch, zygote.root
    root = tmp_path_factory.mktemp("added_cells")
    plain = make_submission(ASSIGNMENT, replace=STUDENTS["redefiner"]["replace"])
    notebooks = {**{s: submission(s) for s in STUDENTS}, "warm_up": submission("helpers"),
                 "redefiner_without": plain}
    grades = {}
    try:
        for student in ["warm_up", *STUDENTS, "redefiner_without"]:
            path = write_submission(root, student, ASSIGNMENT, notebooks[student])
            started = time.monotonic()
            grade = grader.grade(student, path)
            grades[student] = (grade, time.monotonic() - started)
    finally:
        zygote.close()
    return grades


@pytest.mark.parametrize("student", sorted(ZERO))
def test_only_the_checks_that_need_a_missing_name_fail(graded, student):
    grade, _ = graded[student]
    failed = {r.check: r.message for r in grade.results if r.status != "passed"}
    assert set(failed) == ZERO[student], failed
    assert grade.internal_error is None


@pytest.mark.parametrize("student, words", [
    ("spinner", f"that cell was stopped after its {BUDGET} s budget"),
    ("raiser", "that cell raised ModuleNotFoundError"),
    ("looped", "only by code that grading does not run: line 1: a for loop"),
])
def test_a_check_that_misses_a_name_says_which_added_cell_and_why(graded, student, words):
    grade, _ = graded[student]
    message = next(r.message for r in grade.results if r.check == "dropout_tests")
    assert "`keep_mask` is defined in a cell you added, cell " in message, message
    assert "(def keep_mask(x, rate):)" in message or student != "spinner", message
    assert words in message and ADDED_CELL_RULE in message, message


def test_an_added_cell_that_spins_costs_its_budget(graded):
    _, spinner = graded["spinner"]
    _, helpers = graded["helpers"]  # the same notebook without the spin
    assert BUDGET <= spinner < helpers + BUDGET + 3, (spinner, helpers)


def test_redefining_setup_names_and_checkers_changes_no_verdict(graded):
    with_cells, _ = graded["redefiner"]
    without, _ = graded["redefiner_without"]
    rows = [(r.check, r.status, r.points, r.message) for r in with_cells.results]
    assert rows == [(r.check, r.status, r.points, r.message) for r in without.results]


def test_what_added_cells_print_is_not_run(graded):
    grade, _ = graded["helpers"]
    assert "helpers loaded" not in grade.output and "my note" not in grade.output
    assert "[grader] step" in grade.output and "added cell " in grade.output
    assert "print(" in HELPERS  # the cell did print in the notebook
