"""course.grade.plan (what runs for one submission) and course.config (the grader's settings)."""

import copy

import nbformat
import pytest

from course.config import load_grading_config
from course.notebooks import Literal, Name, NotebookError
from course.grade.plan import build_steps, load_assignment, plain_kwargs
from tests.grading.toy_course import FACADE, NAME, write_toy_source
from tests.submissions import make_submission, solution_of


@pytest.fixture(scope="module")
def source_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy") / "source"
    write_toy_source(root)
    return root


@pytest.fixture(scope="module")
def assignment(source_root):
    return load_assignment(NAME, source_root, facade=FACADE)


def params_for(check, seed):
    return {"seed": seed, "device": "cpu", "checker": check.checker}


def test_assignment_reads_checks_points_and_definers(assignment):
    assert [(c.grade_id, c.checker, c.points) for c in assignment.checks] == [
        ("double_tests", "test_double", 2), ("square_tests", "test_square", 1),
        ("scale_tests", "test_scale", 3)]
    scale = assignment.check("scale_tests")
    assert scale.args == (Name("scale"),) and scale.kwargs == (("factor", Literal(3)),)
    assert scale.call_text() == "test_scale(scale, factor=3)"
    assert plain_kwargs(scale) == {"factor": 3}
    assert assignment.max_points == 6
    assert assignment.definers["double"] == ["double"]
    assert assignment.definers["np"] == ["setup"]


def test_steps_follow_the_source_order(assignment, source_root):
    steps, lost = build_steps(assignment, make_submission(NAME, source_root=source_root),
                              [0, 5], params_for)
    described = [(s["kind"], s.get("cell") or s["check"], s.get("seed")) for s in steps]
    assert described == [
        ("code", "setup", None), ("code", "double", None),
        ("probe", "double_tests", 0), ("probe", "double_tests", 5),
        ("code", "square", None), ("probe", "square_tests", 0), ("probe", "square_tests", 5),
        ("code", "scale", None), ("probe", "scale_tests", 0), ("probe", "scale_tests", 5)]
    assert [s["id"] for s in steps] == list(range(len(steps)))
    assert lost == {}
    probe = steps[2]
    assert probe["args"] == [{"name": "double"}] and probe["params"]["seed"] == 0
    assert steps[8]["kwargs"] == {"factor": {"literal": 3}}


def test_setup_comes_from_the_source_and_solutions_from_the_student(assignment, source_root):
    nb = make_submission(NAME, source_root=source_root,
                         replace={"double": "def double(x):\n    return x + x"})
    nb.cells[1].source = "import os; os.system('rm -rf /')"  # a student editing setup
    steps, _ = build_steps(assignment, nb, [0], params_for)
    assert steps[0]["source"] == assignment.cells[1].source and steps[0]["origin"] == "source"
    assert steps[1]["source"] == "def double(x):\n    return x + x"
    assert steps[1]["origin"] == "student"
    assert "BEGIN SOLUTION" not in solution_of(NAME, "double", source_root)


def test_demo_markdown_and_answer_cells_are_not_steps(assignment, source_root):
    steps, _ = build_steps(assignment, make_submission(NAME, source_root=source_root), [0],
                           params_for)
    sources = " ".join(s.get("source", "") for s in steps)
    assert "demo cells are not run" not in sources and "linear" not in sources


def test_lost_and_duplicated_solution_cells(assignment, source_root):
    nb = make_submission(NAME, source_root=source_root, delete=("square",))
    double = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                  == "double")
    copy_ = copy.deepcopy(double)
    copy_.source, copy_.id = "def double(x):\n    return 2.0 * x", "copy"
    nb.cells.insert(nb.cells.index(double) + 1, copy_)
    scale = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                 == "scale")
    scale.cell_type = "markdown"
    steps, lost = build_steps(assignment, nbformat.from_dict(nb), [0], params_for)
    codes = [s["cell"] for s in steps if s["kind"] == "code"]
    assert codes == ["setup", "double", "double"]  # both copies run, in the student's order
    assert "missing" in lost["square"]
    assert "not a code cell" in lost["scale"]


def test_source_notebook_errors(tmp_path):
    with pytest.raises(NotebookError, match="not found"):
        load_assignment("nothing_here", tmp_path)
    write_toy_source(tmp_path)
    path = tmp_path / NAME / f"{NAME}.ipynb"
    nb = nbformat.read(str(path), 4)
    nb.cells[4].source = "test_double(double"
    nbformat.write(nb, str(path))
    with pytest.raises(NotebookError, match="double_tests.*not valid Python"):
        load_assignment(NAME, tmp_path)


def test_a_test_cell_that_is_not_a_checker_call_keeps_nbgraders_meaning(tmp_path):
    """Its whole source (hidden tests too) runs as a code step; no probe is made."""
    write_toy_source(tmp_path)
    path = tmp_path / NAME / f"{NAME}.ipynb"
    nb = nbformat.read(str(path), 4)
    nb.cells[4].source = ("assert double(2) == 4\n### BEGIN HIDDEN TESTS\n"
                          "assert double(-3) == -6\n### END HIDDEN TESTS")
    nbformat.write(nb, str(path))
    check = load_assignment(NAME, tmp_path).check("double_tests")
    assert check.checker is None and "double(-3)" in check.source
    assert check.call_text() == "cell double_tests runs without error"


def test_grading_config_from_pyproject(tmp_path):
    with pytest.raises(ValueError, match="missing.toml not found"):
        load_grading_config(tmp_path / "missing.toml")
    repo = load_grading_config()
    assert repo.device == "auto" and repo.fresh_seeds >= 1 and repo.memory_limit_mb >= 1024
    good = tmp_path / "pyproject.toml"
    good.write_text("[tool.course.grading]\ncheck_timeout_s = 5\n"
                    "[tool.course.limits]\nmemory_limit_mb = 2048\n")
    config = load_grading_config(good)
    assert (config.check_timeout_s, config.memory_limit_mb) == (5, 2048)
    assert config.replace(check_timeout_s=None, device="cpu").check_timeout_s == 5
    for bad, words in [("check_timout_s = 5", "unknown"), ("check_timeout_s = 'x'", "must be"),
                       ("device = 'gpu'", "device"), ("fresh_seeds = -1", "fresh_seeds")]:
        good.write_text(f"[tool.course.grading]\n{bad}\n[tool.course.limits]\n")
        with pytest.raises(ValueError, match=words):
            load_grading_config(good)


def test_submissions_library(source_root):
    blank = make_submission(NAME, stub=True, source_root=source_root)
    sources = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in blank.cells}
    assert sources["double"] == ("def double(x):\n    # YOUR CODE HERE\n"
                                 "    raise NotImplementedError()")
    assert sources["double_tests"] == "test_double(double)"  # hidden tests stripped
    partly = make_submission(NAME, stub=("square",), add=[("double", "print(1)")],
                             edit_tests={"double_tests": "pass"}, source_root=source_root)
    texts = [c.source for c in partly.cells]
    assert "def double(x):\n    return 2 * x" in texts and "print(1)" in texts
    assert "pass" in texts and any("NotImplementedError" in t for t in texts)
    with pytest.raises(KeyError, match="no_such_cell"):
        make_submission(NAME, replace={"no_such_cell": ""}, source_root=source_root)


def test_grader_and_notebook_use_the_same_check_definitions():
    import importlib

    from tests.grading.fixture_class import ASSIGNMENT

    facade = importlib.import_module(f"support.{ASSIGNMENT}")
    for check in load_assignment(ASSIGNMENT).checks:
        assert getattr(facade, check.checker).check is facade.CHECKS[check.checker]
