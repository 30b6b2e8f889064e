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
