"""Choices for the closing exercise (model, optimizer, batch size, steps): ones that beat the
benchmark, and the usual ways of not getting there."""

import torch
import torch.nn.functional as F
from torch import nn

from support.hw3_helpers import MLP


class Choice:
    """One student's solution cell: make_model, make_optimizer, BATCH_SIZE, NUM_STEPS."""

    def __init__(self, name, make_model, make_optimizer, batch_size, num_steps):
        self.__name__ = name
        self.args = (make_model, make_optimizer, batch_size, num_steps)

    def __repr__(self):
        return self.__name__


def _adam(lr):
    return lambda model: torch.optim.Adam(model.parameters(), lr=lr)


class LogSoftmaxNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(64, 100)
        self.out = nn.Linear(100, 10)

    def forward(self, x):
        return F.log_softmax(self.out(torch.relu(self.hidden(x))), dim=1)


class LogOfSoftmax(nn.Module):
    """log(softmax(...)) in two steps: -inf once a probability underflows to 0."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return torch.log(torch.softmax(self.net(x), dim=1))


ADAM_MLP = Choice("adam_mlp128", lambda: MLP(64, 10, [128]), _adam(3e-3), 64, 600)
SGD_MOMENTUM = Choice("sgd_momentum_mlp", lambda: MLP(64, 10, [100]),
                      lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), 32, 800)
RMSPROP_SEQUENTIAL = Choice(
    "rmsprop_sequential",
    lambda: nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 10), nn.LogSoftmax(dim=1)),
    lambda m: torch.optim.RMSprop(m.parameters(), lr=1e-3), 50, 700)
ADAMW_CUSTOM = Choice("adamw_custom_module", LogSoftmaxNet,
                      lambda m: torch.optim.AdamW(m.parameters(), lr=5e-3, weight_decay=1e-4),
                      128, 300)

CORRECT = [ADAM_MLP, SGD_MOMENTUM, RMSPROP_SEQUENTIAL, ADAMW_CUSTOM]

_other_model = MLP(64, 10, [32])

WRONG = [
    (Choice("seed_stub_tiny_lr", lambda: MLP(64, 10, [200, 100, 50]),
            lambda m: torch.optim.SGD(m.parameters(), lr=1e-5), 64, 100),
     "test accuracy beats the benchmark"),
    (Choice("plain_sgd_too_slow", lambda: MLP(64, 10, [64]),
            lambda m: torch.optim.SGD(m.parameters(), lr=0.01), 64, 200),
     "test accuracy beats the benchmark"),
    (Choice("logits_not_log_probs",
            lambda: nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)),
            _adam(3e-3), 64, 600),
     "model outputs log-probabilities"),
    (Choice("over_budget", lambda: MLP(64, 10, [128]), _adam(1e-3), 256, 1000),
     "training budget"),
    (Choice("huge_model", lambda: MLP(64, 10, [512, 256]), _adam(1e-3), 64, 300),
     "model size"),
    (Choice("optimizer_of_other_model", lambda: MLP(64, 10, [32]),
            lambda m: torch.optim.Adam(_other_model.parameters(), lr=1e-3), 64, 300),
     "optimizer updates the model's parameters"),
    (Choice("log_of_softmax_diverges", LogOfSoftmax,
            lambda m: torch.optim.SGD(m.parameters(), lr=10.0), 64, 200),
     "training loss stays finite"),
    (Choice("float_steps", lambda: MLP(64, 10, [128]), _adam(1e-3), 64, 600.0),
     "training settings"),
    (Choice("returns_class", lambda: MLP, _adam(1e-3), 64, 300),
     "make_model returns a model"),
    (Choice("optimizer_class", lambda: MLP(64, 10, [64]), lambda m: torch.optim.Adam, 64, 300),
     "make_optimizer returns a torch optimizer"),
]
