"""Networks as students build them for test_build: correct variants and the usual mistakes.

Each builder returns (model, layertype, dropout_type, type) for test_build.
"""

from collections import OrderedDict

import torch
from torch import nn

from .corpus_dropout import Bernoulli, RandLike
from .corpus_layers import (KaimingDivide, NormalRandn, NormalSeeded, ZerosAt, ZerosMatmul)

SIZES = [(1, 20), (20, 20), (20, 20), (20, 20), (20, 1)]


def literal(L):
    return nn.Sequential(
        L(1, 20), nn.ReLU(),
        L(20, 20), nn.ReLU(),
        L(20, 20), nn.ReLU(),
        L(20, 20), nn.ReLU(),
        L(20, 1),
    )


def looped(L):
    layers = []
    for d, e in SIZES:
        layers += [L(d, e), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def ordered_dict(L):
    parts = []
    for k, (d, e) in enumerate(SIZES):
        parts.append((f"linear{k}", L(d, e)))
        if k < len(SIZES) - 1:
            parts.append((f"relu{k}", nn.ReLU()))
    return nn.Sequential(OrderedDict(parts))


def appended(L):
    model = nn.Sequential()
    width = [1, 20, 20, 20, 20, 1]
    for k in range(5):
        model.append(L(width[k], width[k + 1]))
        if k < 4:
            model.add_module(f"act{k}", nn.ReLU())
    return model


def shared_relu(L):
    """One nn.ReLU object used four times: it has no state, so this is fine."""
    relu = nn.ReLU()
    return nn.Sequential(L(1, 20), relu, L(20, 20), relu, L(20, 20), relu, L(20, 20), relu,
                         L(20, 1))


def with_dropout(L, D):
    layers = []
    for k, (d, e) in enumerate(SIZES):
        layers += [D(), L(d, e)] + ([nn.ReLU()] if k < 4 else [])
    return nn.Sequential(*layers)


def with_dropout_literal(L, D):
    return nn.Sequential(
        D(), L(1, 20), nn.ReLU(),
        D(), L(20, 20), nn.ReLU(),
        D(), L(20, 20), nn.ReLU(),
        D(), L(20, 20), nn.ReLU(),
        D(), L(20, 1),
    )


def with_dropout_rate(L, D):
    """A non-default dropout rate is allowed."""
    layers = []
    for k, (d, e) in enumerate(SIZES):
        layers += [D(0.2), L(d, e)] + ([nn.ReLU()] if k < 4 else [])
    return nn.Sequential(*layers)


CORRECT = [
    ("zeros literal", lambda: (literal(ZerosAt), ZerosAt, None, "zeros")),
    ("zeros looped", lambda: (looped(ZerosMatmul), ZerosMatmul, None, "zeros")),
    ("zeros ordered dict", lambda: (ordered_dict(ZerosAt), ZerosAt, None, "zeros")),
    ("zeros appended", lambda: (appended(ZerosAt), ZerosAt, None, "zeros")),
    ("zeros shared relu", lambda: (shared_relu(ZerosAt), ZerosAt, None, "zeros")),
    ("normal literal", lambda: (literal(NormalRandn), NormalRandn, None, "normal")),
    ("normal looped", lambda: (looped(NormalRandn), NormalRandn, None, "normal")),
    ("kaiming literal", lambda: (literal(KaimingDivide), KaimingDivide, None, "normal")),
    ("kaiming ordered dict", lambda: (ordered_dict(KaimingDivide), KaimingDivide, None,
                                      "normal")),
    ("dropout looped", lambda: (with_dropout(KaimingDivide, RandLike), KaimingDivide, RandLike,
                                "normal")),
    ("dropout literal", lambda: (with_dropout_literal(KaimingDivide, Bernoulli), KaimingDivide,
                                 Bernoulli, "normal")),
    ("dropout rate 0.2", lambda: (with_dropout_rate(KaimingDivide, RandLike), KaimingDivide,
                                  RandLike, "normal")),
]


# ----------------------------------------------------------------------------- wrong

def three_hidden(L):
    return nn.Sequential(L(1, 20), nn.ReLU(), L(20, 20), nn.ReLU(), L(20, 20), nn.ReLU(),
                         L(20, 1))


def five_hidden(L):
    return nn.Sequential(L(1, 20), nn.ReLU(), L(20, 20), nn.ReLU(), L(20, 20), nn.ReLU(),
                         L(20, 20), nn.ReLU(), L(20, 20), nn.ReLU(), L(20, 1))


def wide(L):
    return nn.Sequential(L(1, 32), nn.ReLU(), L(32, 32), nn.ReLU(), L(32, 32), nn.ReLU(),
                         L(32, 32), nn.ReLU(), L(32, 1))


def activation(L, A):
    return nn.Sequential(L(1, 20), A(), L(20, 20), A(), L(20, 20), A(), L(20, 20), A(),
                         L(20, 1))


def relu_after_output(L):
    return nn.Sequential(*literal(L), nn.ReLU())


def torch_linear(L):
    model = literal(L)
    model[4] = nn.Linear(20, 20)
    return model


def reused_layer(L):
    hidden = L(20, 20)
    return nn.Sequential(L(1, 20), nn.ReLU(), hidden, nn.ReLU(), hidden, nn.ReLU(), hidden,
                         nn.ReLU(), L(20, 1))


def shared_parameters(L):
    model = literal(L)
    model[4].weights = model[2].weights
    return model


def missing_activation(L):
    return nn.Sequential(L(1, 20), nn.ReLU(), L(20, 20), L(20, 20), nn.ReLU(), L(20, 20),
                         nn.ReLU(), L(20, 1))


def extra_module(L):
    model = literal(L)
    return nn.Sequential(*model[:2], nn.Identity(), *model[2:])


def double_relu(L):
    model = literal(L)
    return nn.Sequential(*model[:2], nn.ReLU(), *model[2:])


def dropout_missing_one(L, D):
    model = with_dropout(L, D)
    return nn.Sequential(*[m for i, m in enumerate(model) if i != 0])


def dropout_after_linear(L, D):
    layers = []
    for k, (d, e) in enumerate(SIZES):
        layers += [L(d, e), D()] + ([nn.ReLU()] if k < 4 else [])
    return nn.Sequential(*layers)


def dropout_before_relu(L, D):
    """L, D, ReLU: dropout not right before the next layer."""
    layers = [D()]
    for k, (d, e) in enumerate(SIZES):
        layers += [L(d, e)] + ([D(), nn.ReLU()] if k < 4 else [])
    return nn.Sequential(*layers)


def torch_dropout(L, D):
    layers = []
    for k, (d, e) in enumerate(SIZES):
        layers += [nn.Dropout(0.01), L(d, e)] + ([nn.ReLU()] if k < 4 else [])
    return nn.Sequential(*layers)


class SkipConnection(nn.Sequential):
    """A Sequential whose forward is not the composition."""

    def forward(self, x):
        return super().forward(x) + x


class EvalDropping(RandLike):
    def forward(self, x):
        return x * self.mask(x)


class Flipped(nn.Module):
    """A layer computing x @ W - b."""

    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.zeros(out_dimensions))

    def forward(self, x):
        return x @ self.weights - self.bias


class ConstantInit(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.full((in_dimensions, out_dimensions), 0.1))


class RepeatedUnits(ZerosAt):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__(in_dimensions, out_dimensions)
        self.weights = nn.Parameter(torch.randn(in_dimensions, 1).repeat(1, out_dimensions))


class SeededKaiming(KaimingDivide):
    def __init__(self, in_dimensions, out_dimensions):
        torch.manual_seed(0)
        super().__init__(in_dimensions, out_dimensions)


WRONG = [
    ("three hidden layers", lambda: (three_hidden(ZerosAt), ZerosAt, None, "zeros"),
     "number of layers"),
    ("five hidden layers", lambda: (five_hidden(ZerosAt), ZerosAt, None, "zeros"),
     "number of layers"),
    ("width 32", lambda: (wide(ZerosAt), ZerosAt, None, "zeros"), "layer sizes"),
    ("tanh", lambda: (activation(ZerosAt, nn.Tanh), ZerosAt, None, "zeros"), "activation"),
    ("sigmoid", lambda: (activation(NormalRandn, nn.Sigmoid), NormalRandn, None, "normal"),
     "activation"),
    ("leaky relu", lambda: (activation(ZerosAt, nn.LeakyReLU), ZerosAt, None, "zeros"),
     "activation"),
    ("relu after output", lambda: (relu_after_output(ZerosAt), ZerosAt, None, "zeros"),
     "activation after output"),
    ("nn.Linear inside", lambda: (torch_linear(ZerosAt), ZerosAt, None, "zeros"), "layer type"),
    ("all nn.Linear", lambda: (literal(lambda d, e: nn.Linear(d, e)), ZerosAt, None, "zeros"),
     "layer type"),
    ("nn.Linear as layertype", lambda: (literal(lambda d, e: nn.Linear(d, e)), nn.Linear, None,
                                        "zeros"), "layertype argument"),
    ("LinearNormal passed as LinearKaiming",
     lambda: (literal(NormalRandn), KaimingDivide, None, "normal"), "layer type"),
    ("reused layer", lambda: (reused_layer(ZerosAt), ZerosAt, None, "zeros"), "distinct layers"),
    ("shared parameters", lambda: (shared_parameters(NormalRandn), NormalRandn, None, "normal"),
     "distinct layers"),
    ("missing activation", lambda: (missing_activation(ZerosAt), ZerosAt, None, "zeros"),
     "missing activation"),
    ("identity inserted", lambda: (extra_module(ZerosAt), ZerosAt, None, "zeros"),
     "module order"),
    ("two relus", lambda: (double_relu(ZerosAt), ZerosAt, None, "zeros"), "module order"),
    ("dropout given, none in model",
     lambda: (literal(KaimingDivide), KaimingDivide, RandLike, "normal"), "dropout placement"),
    ("dropout in model, not given",
     lambda: (with_dropout(KaimingDivide, RandLike), KaimingDivide, None, "normal"),
     "module order"),
    ("four dropouts", lambda: (dropout_missing_one(KaimingDivide, RandLike), KaimingDivide,
                               RandLike, "normal"), "dropout placement"),
    ("dropout after linear", lambda: (dropout_after_linear(KaimingDivide, RandLike),
                                      KaimingDivide, RandLike, "normal"), "dropout placement"),
    ("dropout before relu", lambda: (dropout_before_relu(KaimingDivide, RandLike),
                                     KaimingDivide, RandLike, "normal"), "dropout placement"),
    ("torch dropout", lambda: (torch_dropout(KaimingDivide, RandLike), KaimingDivide, RandLike,
                               "normal"), "dropout placement"),
    ("dropout drops in eval", lambda: (with_dropout(KaimingDivide, EvalDropping), KaimingDivide,
                                       EvalDropping, "normal"), "forward pass"),
    ("skip connection", lambda: (SkipConnection(*literal(ZerosAt)), ZerosAt, None, "zeros"),
     "forward pass"),
    ("layer subtracts its bias", lambda: (literal(Flipped), Flipped, None, "zeros"),
     "forward pass"),
    ("normal model, type zeros", lambda: (literal(NormalRandn), NormalRandn, None, "zeros"),
     "zero initialisation"),
    ("kaiming model, type zeros", lambda: (literal(KaimingDivide), KaimingDivide, None, "zeros"),
     "zero initialisation"),
    ("zeros model, type normal", lambda: (literal(ZerosAt), ZerosAt, None, "normal"),
     "weights random"),
    ("constant weights", lambda: (literal(ConstantInit), ConstantInit, None, "normal"),
     "units identical"),
    ("repeated units", lambda: (literal(RepeatedUnits), RepeatedUnits, None, "normal"),
     "units identical"),
    ("seed reset in __init__", lambda: (literal(SeededKaiming), SeededKaiming, None, "normal"),
     "layers identical"),
    ("seed reset, LinearNormal", lambda: (literal(NormalSeeded), NormalSeeded, None, "normal"),
     "layers identical"),
    ("not a Sequential", lambda: (list(literal(ZerosAt)), ZerosAt, None, "zeros"), "model type"),
    ("type misspelt", lambda: (literal(ZerosAt), ZerosAt, None, "zero"), "type option"),
    ("instance as layertype", lambda: (literal(ZerosAt), ZerosAt(1, 1), None, "zeros"),
     "layertype argument"),
]
