"""test_dropout against correct and wrong Dropout modules."""

import pytest

from support.checking import CheckFailure
from support.hw4_pytorch_regularization.dropout_checks import DROPOUT, TESTS_PER_INSTANCE, INSTANCES
from support.stats import FALSE_REJECT, binomial_interval

from . import corpus_dropout as corpus
from .helpers import torch_one_thread  # noqa: F401 (a fixture, see pytestmark)
from .helpers import (CUDA, assert_partial_credit, assert_tamper_safe, fails_with, passes,
                      sweep_chunks, through_transport)

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _name(value):
    return getattr(value, "__name__", repr(value))


@pytest.mark.parametrize("dropout", corpus.CORRECT, ids=_name)
def test_accepts_correct_modules(dropout):
    for seed in range(4):
        passes(DROPOUT, dropout, seed=seed)


@pytest.mark.parametrize("dropout, prop", corpus.WRONG, ids=_name)
def test_rejects_wrong_modules(dropout, prop):
    for seed in range(4):
        failure = fails_with(DROPOUT, prop, dropout, seed=seed)
        if dropout in corpus.HINTS:
            assert corpus.HINTS[dropout] in failure.hint, failure.hint


@pytest.mark.parametrize("dropout", list(corpus.PARTIAL), ids=_name)
def test_partial_credit(dropout):
    """A module wrong in some modes earns the weights of the properties it gets right."""
    fraction, held = corpus.PARTIAL[dropout]
    assert_partial_credit(DROPOUT, lambda seed: DROPOUT.run(dropout, seed=seed, device="cpu"),
                          fraction, held)


def test_partial_credit_declared():
    assert [(p.name, p.weight) for p in DROPOUT.properties] == [
        ("training mode", 0.5), ("evaluation mode", 0.3), ("autograd", 0.2)]


@pytest.mark.parametrize("seeds", sweep_chunks(4), ids=lambda s: f"seeds{s[0]}-{s[-1]}")
def test_sweep_no_false_reject(seeds):
    for seed in seeds:
        passes(DROPOUT, corpus.CORRECT[seed % len(corpus.CORRECT)], seed=seed)


def test_rates_keep_the_mistakes_apart():
    """At every seed the accepted keep fractions exclude swapped masks and a fixed 0.01."""
    alpha = FALSE_REJECT / (TESTS_PER_INSTANCE * len(INSTANCES))
    for seed in range(201):
        params = DROPOUT.make_params(seed, "cpu")
        rows, columns = params["shape"]
        assert rows % 2 == 0 and columns % 2 == 0
        for rate in params["rates"]:
            lo, hi = binomial_interval(2 * rows * columns, 1 - rate, alpha)
            assert not lo <= rate <= hi and not lo <= 0.99 <= hi, (seed, rate)
            assert abs(rate - 0.5) > 0.05
        lo, hi = binomial_interval(2 * rows * columns, 0.99, alpha)
        assert hi < 1.0 and lo > 0.98


def test_through_transport():
    assert through_transport(DROPOUT, corpus.RandLike, seed=5)


def test_verdict_survives_tampered_probe_data():
    assert_tamper_safe(DROPOUT, corpus.Bernoulli)


def test_rejects_a_function_instead_of_a_class():
    fails_with(DROPOUT, "argument", lambda x: x)


@CUDA
def test_on_cuda():
    passes(DROPOUT, corpus.RandLike, device="cuda")
    passes(DROPOUT, corpus.Where, seed=3, device="cuda")
    through_transport(DROPOUT, corpus.Bernoulli, seed=2, device="cuda")
    with pytest.raises(CheckFailure):
        DROPOUT.run(corpus.Inverted, device="cuda")


def test_binomial_interval_tails_are_below_alpha():
    """The exact binomial tails beyond the Chernoff interval are below alpha / 2 each."""
    import math

    import numpy as np

    def log_pmf(n, p, k):
        k = np.asarray(k, dtype=float)
        return (math.lgamma(n + 1) - np.vectorize(math.lgamma)(k + 1)
                - np.vectorize(math.lgamma)(n - k + 1) + k * math.log(p)
                + (n - k) * math.log(1 - p))

    for n, p in ((60_000, 0.7), (60_000, 0.99), (15_000, 0.58), (30_000, 0.9802)):
        alpha = 1e-10
        lo, hi = binomial_interval(n, p, alpha)
        upper = np.arange(math.floor(n * hi) + 1, n + 1)
        lower = np.arange(0, math.ceil(n * lo))
        for ks in (upper, lower):
            tail = np.exp(log_pmf(n, p, ks)).sum()
            assert tail <= alpha / 2, (n, p, tail)
        # and the interval is not much wider than the exact one
        assert hi - lo < 1.3 * 2 * 6.5 * math.sqrt(p * (1 - p) / n)
