"""Shared helpers for the checker tests: run a check on seeds, through the transport, on
tampered probe data."""

import json

import numpy as np
import pytest
import torch

from support.checking import CheckFailure, PartialFailure, plain_options
from course.grade.transport import decode, encode


@pytest.fixture
def torch_one_thread():
    """One torch thread per test: with pytest-xdist, torch's worker threads on a busy
    2-core machine spin and cost each small check ten times its CPU time."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SWEEP_SEEDS = range(1, 201)


def sweep_chunks(n_chunks):
    """The 200 sweep seeds split into ``n_chunks`` parametrize cases (for pytest-xdist)."""
    seeds = list(SWEEP_SEEDS)
    size = -(-len(seeds) // n_chunks)
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def passes(check, *args, seed=0, device="cpu", **options):
    return check.run(*args, seed=seed, device=device, **options)


def fails_with(check, prop, *args, seed=0, device="cpu", **options) -> CheckFailure:
    """Runs the check, expects a CheckFailure naming ``prop``; returns it."""
    with pytest.raises(CheckFailure) as info:
        check.run(*args, seed=seed, device=device, **options)
    assert info.value.prop == prop, str(info.value)
    message = str(info.value)
    assert "expected" in message or "observed" in message, message
    return info.value


def through_transport(check, *args, seed=0, device="cpu", **options) -> str:
    """probe -> encode -> decode -> verdict, as the grader runs a check across a pipe."""
    params = check.make_params(seed, device)
    assert json.loads(json.dumps(params)) == params  # parameters are plain data
    data = check.probe(params, *args, **options)
    blob = encode(data)
    assert isinstance(blob, bytes)
    received = decode(blob)
    return check.verdict(params, received, **plain_options(options))


def tampered(data: dict):
    """Variants of probe data: each key removed, and each key replaced by junk."""
    yield "empty", {}
    for key in data:
        yield f"without {key}", {k: v for k, v in data.items() if k != key}
        for junk in (None, "junk", [1, "x"], np.zeros((2, 3, 4)), True):
            yield f"{key} = {junk!r:.20}", {**data, key: junk}


def assert_tamper_safe(check, *args, seed=0, device="cpu", keys=None, **options):
    """A verdict given missing or junk data raises CheckFailure (or passes), never a crash."""
    params = check.make_params(seed, device)
    data = decode(encode(check.probe(params, *args, **options)))
    for label, variant in tampered(data):
        if keys is not None and label != "empty" and not any(k in label for k in keys):
            continue
        try:
            check.verdict(params, variant, **plain_options(options))
        except CheckFailure as failure:
            if label.startswith("without") or label == "empty":
                assert failure.prop == "probe data", (label, str(failure))
        except Exception as error:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"verdict crashed on tampered data ({label}): "
                                 f"{type(error).__name__}: {error}") from error


def assert_partial_credit(check, run, fraction, held, seeds=range(4)):
    """``run(seed)`` (a wrong implementation of ``check``) earns exactly ``fraction`` of the
    points on every seed, with the properties ``held`` holding and the others failing; the
    message says which passed, which failed, and what they give."""
    names = [p.name for p in check.properties]
    for seed in seeds:
        with pytest.raises(CheckFailure) as info:
            run(seed)
        failure = info.value
        assert isinstance(failure, PartialFailure), (seed, str(failure))
        assert failure.fraction == pytest.approx(fraction), (seed, str(failure))
        assert set(failure.held) == set(held), (seed, str(failure))
        lines = str(failure).splitlines()
        assert lines[0] == (f"{check.name} failed {len(names) - len(held)} of {len(names)} "
                            f"properties: partial credit {fraction:.0%} of this check's "
                            "points"), lines
        passed = lines[1].removeprefix("  passed: ")
        failed = lines[2].removeprefix("  failed: ")
        for name in names:
            assert (name in passed) == (name in held), (name, lines[:3])
            assert (name in failed) == (name not in held), (name, lines[:3])
        for name in set(names) - set(held):
            assert any(line.startswith(f"[{name}] ") for line in lines[3:]), (name, lines)
