"""Every checker holds its own call: a mistyped call fails loudly and says how to call it.

How a checker is called is its probe's signature (support.checking.call_signature).  These
tests go through every checker of every assignment: each call its source notebook makes
(visible and hidden) fits that signature; an unknown keyword, a missing or an extra argument,
and a bool option given a non-bool fail with CallError naming the call to write, in the
notebook's process (Check.run, before any student code runs) and on the grader's two sides
(Check.probe in the student's process, Check.verdict on the plain options of the call).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import nbformat
import pytest

from course.config import assignments
from support.checking import GIVEN, CallError, CheckFailure, make_checker

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = assignments()
CHECKS = [(a, name, check) for a in ASSIGNMENTS
          for name, check in importlib.import_module(f"support.{a}").CHECKS.items()]
IDS = [f"{a}:{name}" for a, name, _ in CHECKS]


def _positional(check) -> list:
    return [p for p in check.signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _bool_options(check) -> list:
    return [p.name for p in check.signature.parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.annotation in (bool, "bool")]


def _calls_in(assignment):
    """(checker name, number of positional arguments, keywords) of every checker call in the
    assignment's source notebook, hidden tests included."""
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        if cell.metadata["nbgrader"].get("solution"):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id.startswith("test_"):
                yield node.func.id, len(node.args), [k.arg for k in node.keywords]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_call_in_the_notebooks_fits_its_checker(assignment):
    checks = importlib.import_module(f"support.{assignment}").CHECKS
    calls = list(_calls_in(assignment))
    assert calls
    for name, n_args, keywords in calls:
        signature = checks[name].signature
        options = {k: object() for k in keywords if k not in ("seed", "device")}
        signature.bind(*[object()] * n_args, **options)  # raises TypeError if it does not fit


@pytest.mark.parametrize("assignment, name, check", CHECKS, ids=IDS)
def test_usage_names_every_argument(assignment, name, check):
    usage = check.usage
    assert usage.startswith(f"{name}(") and usage.endswith(")")
    for parameter in check.signature.parameters.values():
        assert parameter.name in usage
    assert f"Call: {usage}" in make_checker(check).__doc__


@pytest.mark.parametrize("assignment, name, check", CHECKS, ids=IDS)
def test_an_unknown_keyword_fails_and_says_how_to_call(assignment, name, check):
    args = [object()] * len(_positional(check))
    for run in (lambda: check.run(*args, not_an_option=True),
                lambda: check.probe({}, *args, not_an_option=True),
                lambda: check.verdict({}, {}, not_an_option=True)):
        with pytest.raises(CallError) as excinfo:
            run()
        failure = excinfo.value
        assert isinstance(failure, CheckFailure) and isinstance(failure, TypeError)
        assert failure.prop == "how the checker is called"
        assert failure.expected == check.usage
        assert "not_an_option" in failure.observed
        assert "test cell" in failure.hint


@pytest.mark.parametrize("assignment, name, check", CHECKS, ids=IDS)
def test_a_missing_or_an_extra_argument_fails(assignment, name, check):
    positional = _positional(check)
    with pytest.raises(CallError) as excinfo:
        check.run(*[object()] * (len(positional) - 1))
    assert f"'{positional[-1].name}'" in excinfo.value.observed
    with pytest.raises(CallError) as excinfo:
        check.run(*[object()] * (len(positional) + 1))
    assert "too many positional arguments" in excinfo.value.observed


@pytest.mark.parametrize("assignment, name, check", CHECKS, ids=IDS)
def test_bool_options_take_only_true_or_false(assignment, name, check):
    args = [object()] * len(_positional(check))
    for option in _bool_options(check):
        for value in (1, 0, "True", None):
            with pytest.raises(CallError) as excinfo:
                check.run(*args, **{option: value})
            assert f"{option}={value!r}" in excinfo.value.observed
            assert "True or False" in excinfo.value.hint
            with pytest.raises(CallError):  # the grader's side: the source call's literal
                check.verdict({}, {}, **{option: value})
        with pytest.raises(CallError):  # a variable reaches the verdict as GIVEN
            check.verdict({}, {}, **{option: GIVEN})


def test_the_bool_options_are_the_notebooks_flags():
    flags = {name: _bool_options(check) for _, name, check in CHECKS if _bool_options(check)}
    assert flags == {"test_optimize_f": ["decay"], "test_gradient_descent": ["l1"],
                     "test_early_stopping": ["patient"]}


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_seed_must_be_a_whole_number(seed):
    _, _, check = CHECKS[0]
    with pytest.raises(CallError) as excinfo:
        check.run(*[object()] * len(_positional(check)), seed=seed)
    assert "seed=" in excinfo.value.observed


def test_options_are_keyword_only():
    """A probe option given by position would not reach the verdict (which sees only the
    call's keywords), so every option with a default is keyword-only."""
    for _, name, check in CHECKS:
        for parameter in check.signature.parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                assert parameter.kind is parameter.KEYWORD_ONLY, (name, parameter.name)
