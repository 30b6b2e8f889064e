"""test_mse_loss against correct and wrong loss functions."""

import pytest

from support.checking import CheckFailure
from support.hw4_pytorch_regularization.loss_checks import MSE_LOSS, loss_inputs

from . import corpus_loss as corpus
from .helpers import torch_one_thread  # noqa: F401 (a fixture, see pytestmark)
from .helpers import CUDA, assert_tamper_safe, fails_with, passes, through_transport

pytestmark = [pytest.mark.filterwarnings("ignore:Using a target size:UserWarning"),
              pytest.mark.usefixtures("torch_one_thread")]


def _name(value):
    return getattr(value, "__name__", repr(value))


@pytest.mark.parametrize("loss", corpus.CORRECT, ids=_name)
def test_accepts_correct_losses(loss):
    for seed in range(20):
        passes(MSE_LOSS, loss, seed=seed)


@pytest.mark.parametrize("loss, prop", corpus.WRONG, ids=_name)
def test_rejects_wrong_losses(loss, prop):
    for seed in range(5):
        failure = fails_with(MSE_LOSS, prop, loss, seed=seed)
        if loss in corpus.HINTS:
            assert corpus.HINTS[loss] in failure.hint, failure.hint


def test_the_flat_labels_case_names_the_broadcast():
    failure = fails_with(MSE_LOSS, "loss value", corpus.broadcast)
    assert "labels (N,)" in failure.expected


def test_only_flat_labels_fails_on_column_labels():
    failure = fails_with(MSE_LOSS, "loss value", corpus.squeeze_only_prediction)
    assert "labels (N, 1)" in failure.expected


def test_inputs_keep_the_usual_mistakes_apart():
    import numpy as np
    for seed in range(200):
        params = MSE_LOSS.make_params(seed, "cpu")
        a, y = loss_inputs(params)
        r = a[:, 0] - y
        mse = np.mean(r ** 2)
        assert np.isclose(mse, params["mse"], rtol=1e-5)
        others = [np.sum(r ** 2), np.sqrt(mse), np.mean(np.abs(r)), mse / 2,
                  np.mean((a - y[None, :]) ** 2)]
        assert all(abs(o - mse) > 0.1 * mse for o in others), seed


def test_through_transport():
    assert through_transport(MSE_LOSS, corpus.mse_squeeze, seed=4)


def test_verdict_survives_tampered_probe_data():
    assert_tamper_safe(MSE_LOSS, corpus.mse_squeeze)


@CUDA
def test_on_cuda():
    passes(MSE_LOSS, corpus.mse_reshape_labels, device="cuda")
    through_transport(MSE_LOSS, corpus.mse_functional, seed=2, device="cuda")
    with pytest.raises(CheckFailure):
        MSE_LOSS.run(corpus.broadcast, device="cuda")
