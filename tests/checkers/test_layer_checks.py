"""test_linear_zeros, test_normal, test_kaiming against correct and wrong layer classes."""

import math

import pytest

from support.checking import CheckFailure
from support.hw4_pytorch_regularization.layer_checks import KAIMING, LINEAR_ZEROS, NORMAL, kaiming_params, normal_params
from support.stats import FALSE_REJECT, variance_interval

from . import corpus_layers as corpus
from .helpers import torch_one_thread  # noqa: F401 (a fixture, see pytestmark)
from .helpers import (CUDA, assert_tamper_safe, fails_with, passes, sweep_chunks,
                      through_transport)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _name(value):
    return getattr(value, "__name__", str(value))


# ----------------------------------------------------------------------------- LinearZeros

@pytest.mark.parametrize("layer", corpus.ZEROS_CORRECT, ids=_name)
def test_zeros_accepts_correct_layers(layer):
    for seed in range(6):
        passes(LINEAR_ZEROS, layer, seed=seed)


@pytest.mark.parametrize("layer, prop", corpus.ZEROS_WRONG, ids=lambda v: _name(v))
def test_zeros_rejects_wrong_layers(layer, prop):
    for seed in range(3):
        fails_with(LINEAR_ZEROS, prop, layer, seed=seed)


def test_zeros_names_a_missing_bias_and_the_transpose():
    failure = fails_with(LINEAR_ZEROS, "forward values", corpus.ZerosNoBias)
    assert "bias is not added" in failure.hint
    failure = fails_with(LINEAR_ZEROS, "weights shape", corpus.ZerosTransposed)
    assert "torch.nn.Linear" in failure.hint and "(37, 23)" in str(failure)


def test_zeros_rejects_an_instance_instead_of_the_class():
    fails_with(LINEAR_ZEROS, "argument", corpus.ZerosAt(3, 2))


def test_zeros_parameters_vary_with_the_seed():
    shapes = {(p["in"], p["out"], p["batch"]) for p in
              (LINEAR_ZEROS.make_params(s, "cpu") for s in range(30))}
    assert len(shapes) > 20
    for seed in range(200):
        p = LINEAR_ZEROS.make_params(seed, "cpu")
        assert p["in"] != p["out"] and p["batch"] not in (p["in"], p["out"])


# ----------------------------------------------------------------------------- LinearNormal

@pytest.mark.parametrize("layer", corpus.NORMAL_CORRECT, ids=_name)
def test_normal_accepts_correct_layers(layer):
    for seed in range(3):
        passes(NORMAL, layer, seed=seed)


@pytest.mark.parametrize("layer, prop", corpus.NORMAL_WRONG, ids=lambda v: _name(v))
def test_normal_rejects_wrong_layers(layer, prop):
    for seed in range(3):
        fails_with(NORMAL, prop, layer, seed=seed)


@pytest.mark.parametrize("seeds", sweep_chunks(8), ids=lambda s: f"seeds{s[0]}-{s[-1]}")
def test_normal_sweep_no_false_reject(seeds):
    for seed in seeds:
        passes(NORMAL, corpus.NORMAL_CORRECT[seed % len(corpus.NORMAL_CORRECT)], seed=seed)


def test_normal_sample_sizes_catch_five_percent():
    """At every seed, a bias std 5 % off lies > 5 standard errors outside the interval."""
    for seed in range(201):
        p = normal_params(seed, "cpu")
        n = p["instances"] * p["out"]
        lo, hi = variance_interval(n, FALSE_REJECT / 6)
        for std in (0.95, 1.05):
            se = std ** 2 * math.sqrt(2.0 / n)
            margin = (std ** 2 - hi) if std > 1 else (lo - std ** 2)
            assert margin > 5 * se, (seed, std, margin / se)
        assert p["in"] != p["out"]


# ----------------------------------------------------------------------------- LinearKaiming

@pytest.mark.parametrize("layer", corpus.KAIMING_CORRECT, ids=_name)
def test_kaiming_accepts_correct_layers(layer):
    for seed in range(5):
        passes(KAIMING, layer, seed=seed)


@pytest.mark.parametrize("layer, prop", corpus.KAIMING_WRONG, ids=lambda v: _name(v))
def test_kaiming_rejects_wrong_layers(layer, prop):
    for seed in range(5):
        fails_with(KAIMING, prop, layer, seed=seed)


@pytest.mark.parametrize("seeds", sweep_chunks(4), ids=lambda s: f"seeds{s[0]}-{s[-1]}")
def test_kaiming_sweep_no_false_reject(seeds):
    for seed in seeds:
        passes(KAIMING, corpus.KAIMING_CORRECT[seed % len(corpus.KAIMING_CORRECT)], seed=seed)


def test_kaiming_hints_name_the_mistake():
    assert "He" in fails_with(KAIMING, "weight std", corpus.KaimingHe).hint
    assert "fan-out" in fails_with(KAIMING, "weight std", corpus.KaimingFanOut).hint
    assert "variance used" in fails_with(KAIMING, "weight std", corpus.KaimingVarianceAsStd).hint


def test_kaiming_shapes_separate_fan_in_from_fan_out():
    for seed in range(201):
        p = kaiming_params(seed, "cpu")
        d, e = p["in"], p["out"]
        assert max(d, e) >= 3 * min(d, e) and min(d, e) >= 8
        assert e != 2 * d  # sqrt(2 / out) would equal 1 / sqrt(in)
        assert p["instances"] * d * e >= 100_000


# ----------------------------------------------------------------------------- all three

CASES = [(LINEAR_ZEROS, corpus.ZerosAt), (NORMAL, corpus.NormalRandn),
         (KAIMING, corpus.KaimingDivide)]


@pytest.mark.parametrize("check, layer", CASES, ids=lambda v: getattr(v, "name", _name(v)))
def test_through_transport(check, layer):
    assert through_transport(check, layer, seed=3)


@pytest.mark.parametrize("check, layer", CASES, ids=lambda v: getattr(v, "name", _name(v)))
def test_verdict_survives_tampered_probe_data(check, layer):
    keys = None if check is LINEAR_ZEROS else (
        "is_module", "weights_", "bias_", "parameter", "output", "forward", "pool_bias")
    assert_tamper_safe(check, layer, keys=keys)


def test_a_crash_in_the_constructor_is_reported():
    class Broken(corpus.ZerosAt):
        def __init__(self, in_dimensions, out_dimensions):
            raise ValueError("not yet")
    failure = fails_with(LINEAR_ZEROS, "your code raised an exception", Broken)
    assert "LinearZeros(37, 23)" in str(failure) and "not yet" in str(failure)


@CUDA
@pytest.mark.parametrize("check, layer", CASES, ids=lambda v: getattr(v, "name", _name(v)))
def test_on_cuda(check, layer):
    passes(check, layer, seed=0, device="cuda")
    through_transport(check, layer, seed=1, device="cuda")
    with pytest.raises(CheckFailure):
        check.run(corpus.ZerosNoBias if check is LINEAR_ZEROS else corpus.KaimingHe,
                  seed=0, device="cuda")


# ----------------------------------------------------------------------------- stats helpers

def test_z_threshold_and_tails():
    from support.stats import two_sided_p, z_threshold
    assert abs(z_threshold(1e-9) - 6.109) < 1e-3
    for alpha in (1e-3, 1e-9, 1e-12):
        assert math.isclose(two_sided_p(z_threshold(alpha)), alpha, rel_tol=1e-6)


def test_variance_interval_solves_the_chernoff_equation():
    for n in (1_000, 30_000, 100_000):
        alpha = 1e-10
        lo, hi = variance_interval(n, alpha)
        assert lo < 1 < hi
        for r in (lo, hi):
            assert math.isclose(n * (r - 1 - math.log(r)) / 2, math.log(2 / alpha), rel_tol=1e-9)
        # the normal approximation of the same test is close (the bound is not loose)
        z = math.sqrt(2 / n) * 6.47  # z_threshold(1e-10)
        assert abs((hi - 1) - z) < 0.25 * z and abs((1 - lo) - z) < 0.25 * z


def test_dkw_and_grid_ks():
    import numpy as np
    from support.stats import dkw_epsilon, ks_normal
    rng = np.random.default_rng(0)
    assert math.isclose(dkw_epsilon(100_000, 1e-9), math.sqrt(math.log(2e9) / 2e5))
    assert ks_normal(rng.standard_normal(50_000), 1.0) < 0.01
    assert ks_normal(2.0 * rng.standard_normal(50_000), 2.0) < 0.01
    assert 0.05 < ks_normal(rng.uniform(-math.sqrt(3), math.sqrt(3), 50_000), 1.0) < 0.065
