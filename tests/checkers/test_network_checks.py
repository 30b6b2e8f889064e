"""test_build against correct and wrong networks."""

import pytest
from torch import nn

from support.checking import CheckFailure
from support.hw4_pytorch_regularization.network_checks import BUILD

from . import corpus_network as corpus
from .corpus_dropout import RandLike
from .corpus_layers import KaimingDivide, ZerosAt
from .helpers import torch_one_thread  # noqa: F401 (a fixture, see pytestmark)
from .helpers import CUDA, assert_tamper_safe, fails_with, passes, through_transport

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _run(outcome, build, seed, **extra):
    model, layertype, dropout_type, init = build()
    return outcome(BUILD, *extra.get("prop", ()), model, layertype, dropout_type=dropout_type,
                   type=init, seed=seed)


@pytest.mark.parametrize("label, build", corpus.CORRECT, ids=[c[0] for c in corpus.CORRECT])
def test_accepts_correct_networks(label, build):
    for seed in range(4):
        _run(passes, build, seed)


@pytest.mark.parametrize("label, build, prop", corpus.WRONG, ids=[c[0] for c in corpus.WRONG])
def test_rejects_wrong_networks(label, build, prop):
    for seed in range(2):
        _run(fails_with, build, seed, prop=(prop,))


def test_the_model_is_left_as_it_was():
    model = corpus.with_dropout(KaimingDivide, RandLike)
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    passes(BUILD, model, KaimingDivide, dropout_type=RandLike, type="normal")
    assert all(m.training for m in model.modules())
    assert all((a == b.detach()).all() for a, b in zip(before, model.parameters()))
    model.eval()
    passes(BUILD, model, KaimingDivide, dropout_type=RandLike, type="normal")
    assert not any(m.training for m in model.modules())


def test_positional_options_are_refused_with_a_hint():
    """The options are keyword-only: given by position they would not reach the verdict."""
    model = corpus.literal(KaimingDivide)
    failure = fails_with(BUILD, "how the checker is called", model, KaimingDivide, None,
                         "normal")
    assert "by keyword (dropout_type=..., type=...)" in failure.hint
    assert failure.expected == "test_build(model, layertype, dropout_type=None, type='zeros')"
    failure = fails_with(BUILD, "how the checker is called", model, KaimingDivide,
                         type=["normal"])
    assert "type takes a string" in failure.hint


def test_messages_name_the_modules():
    failure = fails_with(BUILD, "activation", corpus.activation(ZerosAt, nn.Tanh), ZerosAt,
                         dropout_type=None, type="zeros")
    assert "Tanh" in failure.observed
    failure = fails_with(BUILD, "layer type", corpus.torch_linear(ZerosAt), ZerosAt,
                         dropout_type=None, type="zeros")
    assert "Linear" in failure.observed and "torch.nn.Linear" in failure.hint


def test_a_crashing_layer_is_reported():
    class Crashes(ZerosAt):
        def forward(self, x):
            raise RuntimeError("boom")
    fails_with(BUILD, "your code raised an exception", corpus.literal(Crashes), Crashes,
               dropout_type=None, type="zeros")


@pytest.mark.parametrize("label, build", [corpus.CORRECT[0], corpus.CORRECT[9]],
                         ids=["zeros", "dropout"])
def test_through_transport(label, build):
    model, layertype, dropout_type, init = build()
    assert through_transport(BUILD, model, layertype, dropout_type=dropout_type, type=init,
                             seed=2)


@pytest.mark.parametrize("label, build", [corpus.CORRECT[0], corpus.CORRECT[9]],
                         ids=["zeros", "dropout"])
def test_verdict_survives_tampered_probe_data(label, build):
    model, layertype, dropout_type, init = build()
    assert_tamper_safe(BUILD, model, layertype, dropout_type=dropout_type, type=init)


@CUDA
def test_on_cuda():
    for label, build in corpus.CORRECT:
        model, layertype, dropout_type, init = build()
        passes(BUILD, model, layertype, dropout_type=dropout_type, type=init, device="cuda")
        assert all(p.device.type == "cpu" for p in model.parameters())
    model, layertype, dropout_type, init = corpus.CORRECT[9][1]()
    through_transport(BUILD, model, layertype, dropout_type=dropout_type, type=init,
                      device="cuda")
    with pytest.raises(CheckFailure):
        BUILD.run(corpus.reused_layer(ZerosAt), ZerosAt, dropout_type=None, type="zeros",
                  device="cuda")
