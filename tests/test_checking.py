"""The check framework itself: messages, student exceptions, random state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from support.checking import Check, CheckFailure, call_student, make_checker


def make_params(seed, device):
    return {"seed": seed, "device": device, "n": 3 + seed}


def probe_square(params, fn):
    x = torch.arange(params["n"], dtype=torch.float32)
    torch.rand(5)  # a probe that draws random numbers must not move the notebook's stream
    return {"out": call_student("square(x)", fn, x)}


def verdict_square(params, data):
    """The output equals x ** 2 exactly."""
    expected = np.arange(params["n"], dtype=np.float32) ** 2
    if not np.array_equal(np.asarray(data["out"]), expected):
        raise CheckFailure("test_square", "values", expected=expected.tolist(),
                           observed=np.asarray(data["out"]).tolist(), hint="square each entry")
    return f"{params['n']} values squared"


check_square = make_checker(Check("test_square", probe_square, verdict_square, make_params))


def test_passing_check_prints_one_line(capsys):
    check_square(lambda x: x * x)
    assert capsys.readouterr().out == "test_square passed: 3 values squared\n"


def test_failure_names_property_expected_observed_and_hint():
    with pytest.raises(AssertionError) as info:
        check_square(lambda x: x + x, seed=1)
    failure = info.value
    assert isinstance(failure, CheckFailure) and failure.prop == "values"
    text = str(failure)
    assert "test_square failed: values" in text and "expected: [0.0, 1.0, 4.0, 9.0]" in text
    assert "observed: [0.0, 2.0, 4.0, 6.0]" in text and "hint: square each entry" in text


def test_student_exception_becomes_a_failure_pointing_at_their_line():
    def square(x):
        return x.nonexistent()

    with pytest.raises(CheckFailure) as info:
        check_square(square)
    assert info.value.prop == "your code raised an exception"
    assert "square(x) raised AttributeError" in str(info.value)
    assert "return x.nonexistent()" in str(info.value)


def test_running_a_check_leaves_the_notebooks_random_streams_alone():
    torch.manual_seed(0)
    np.random.seed(0)
    expected = torch.rand(3), np.random.rand(3)
    torch.manual_seed(0)
    np.random.seed(0)
    check_square(lambda x: x ** 2)
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])


# ----------------------------------------------------------------------------- partial credit

def verdict_affine(params, data):
    """out = 2 x + 1 on x = 0 .. n-1.

    Partial credit (the share of the check's points each property gives):
    - slope (0.6): out[1] - out[0] = 2
    - intercept (0.4): out[0] = 1
    """
    from support.probe_data import ProbeData

    out = ProbeData("test_affine", data).array("out")
    judged = AFFINE.judge()
    with judged("slope"):
        if out[1] - out[0] != 2:
            raise CheckFailure("test_affine", "slope", expected=2, observed=out[1] - out[0])
    with judged("intercept"):
        if out[0] != 1:
            raise CheckFailure("test_affine", "intercept", expected=1, observed=out[0])
    return judged.verdict("slope 2, intercept 1")


def probe_affine(params, fn):
    return {"out": probe_square(params, fn)["out"].tolist()}


AFFINE = Check("test_affine", probe_affine, verdict_affine, make_params)


def test_properties_are_read_from_the_verdicts_docstring():
    from support.checking import Property

    assert AFFINE.properties == (Property("slope", 0.6), Property("intercept", 0.4))
    assert Check("test_square", probe_square, verdict_square, make_params).properties == ()


@pytest.mark.parametrize("section, problem", [
    ("- only (1.0): one property", "two or more"),
    ("- a (0.5): x\n- a (0.5): y", "distinct names"),
    ("- a (0.5): x\n- b (0.4): y", "sum to 1"),
    ("- a 0.5: x\n- b (0.5): y", "cannot read"),
])
def test_a_wrong_partial_credit_section_fails_at_import(section, problem):
    def verdict(params, data):
        return ""
    verdict.__doc__ = "A verdict.\n\nPartial credit:\n" + section + "\n"
    with pytest.raises(ValueError, match=problem):
        Check("test_x", probe_square, verdict, make_params)


def test_partial_failure_in_the_notebook_lists_what_passed_and_what_it_gives():
    from support.checking import PartialFailure

    with pytest.raises(AssertionError) as info:  # the notebook's contract: AssertionError
        AFFINE.run(lambda x: 2 * x + 3)  # right slope, wrong intercept
    failure = info.value
    assert isinstance(failure, PartialFailure) and failure.fraction == pytest.approx(0.6)
    assert failure.held == ("slope",) and failure.prop == "intercept"
    assert str(failure).splitlines() == [
        "test_affine failed 1 of 2 properties: partial credit 60% of this check's points",
        "  passed: slope (0.6)",
        "  failed: intercept (0.4)",
        "[intercept] intercept",
        "  expected: 1",
        "  observed: 3.0"]
    assert AFFINE.run(lambda x: 2 * x + 1) == "slope 2, intercept 1"


def test_malformed_probe_data_fails_every_property():
    with pytest.raises(CheckFailure) as info:
        AFFINE.verdict({"seed": 0, "device": "cpu", "n": 3}, {"out": "junk"})
    assert info.value.prop == "probe data" and not hasattr(info.value, "fraction")


# ----------------------------------------------------------------------------- blame

def stable_loss(y):
    # YOUR CODE HERE
    raise NotImplementedError()


def train_step(x):
    return stable_loss(x) * 2


def test_a_stub_the_checked_function_calls_is_named_not_the_function():
    from support.checking import NotWritten

    with pytest.raises(NotWritten) as info:
        Check("test_square", probe_square, verdict_square, make_params).run(train_step)
    assert str(info.value).startswith(
        "test_square failed: train_step calls stable_loss, which is not implemented yet: its "
        "cell still raises NotImplementedError"), str(info.value)
    assert "write stable_loss first" in info.value.hint
