"""make_mlp and perceptron_loss as students write them: correct variants and usual mistakes.

Each WRONG entry is (implementation, the prop the checker must name).
"""

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# ============================================================================= make_mlp: correct

def mlp_loop(sizes):
    """Append a Linear, then a ReLU unless it is the last layer."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mlp_pop(sizes):
    """Pairs (Linear, ReLU) for every layer, then drop the trailing ReLU."""
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    layers.pop()
    return nn.Sequential(*layers)


def mlp_ordered_dict(sizes):
    """Named layers in an OrderedDict."""
    named = OrderedDict()
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            named[f"relu{i}"] = nn.ReLU()
        named[f"linear{i}"] = nn.Linear(n_in, n_out)
    return nn.Sequential(named)


def mlp_append(sizes):
    """nn.Sequential().append, ReLU inserted before every layer but the first."""
    model = nn.Sequential()
    for i in range(1, len(sizes)):
        if i > 1:
            model.append(nn.ReLU())
        model.append(nn.Linear(sizes[i - 1], sizes[i]))
    return model


MLP_CORRECT = [mlp_loop, mlp_pop, mlp_ordered_dict, mlp_append]


# ============================================================================= make_mlp: wrong

def mlp_relu_at_end(sizes):
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)


def mlp_sigmoid(sizes):
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.Sigmoid()]
    return nn.Sequential(*layers[:-1])


def mlp_transposed(sizes):
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_out, n_in), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def mlp_hard_coded(sizes):
    return nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1))


def mlp_module_list(sizes):
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.ModuleList(layers[:-1])


def mlp_no_bias(sizes):
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out, bias=False), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def mlp_no_activation(sizes):
    return nn.Sequential(*[nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])


MLP_WRONG = [
    (mlp_relu_at_end, "layer pattern"),
    (mlp_sigmoid, "layer pattern"),
    (mlp_no_activation, "layer pattern"),
    (mlp_transposed, "layer sizes"),
    (mlp_hard_coded, "layer sizes"),
    (mlp_module_list, "returns an nn.Sequential"),
    (mlp_no_bias, "parameters"),
]


# ========================================================================= perceptron_loss: correct

def loss_clamp(predicted_labels, true_labels):
    """clamp(min=0) of the negated margins, flattened scores."""
    return torch.clamp(-true_labels * predicted_labels.reshape(-1), min=0).mean()


def loss_relu_column(predicted_labels, true_labels):
    """Labels made a column (N, 1) to match the scores."""
    return F.relu(-true_labels[:, None] * predicted_labels).mean()


def loss_maximum(predicted_labels, true_labels):
    """torch.maximum against a zero tensor, squeeze(1)."""
    margin = -true_labels * predicted_labels.squeeze(1)
    return torch.maximum(margin, torch.zeros_like(margin)).mean()


def loss_where_sum(predicted_labels, true_labels):
    """torch.where, sum divided by N."""
    margin = true_labels * predicted_labels.view_as(true_labels)
    return torch.where(margin < 0, -margin, torch.zeros_like(margin)).sum() / len(true_labels)


def loss_margin_ranking(predicted_labels, true_labels):
    """nn.MarginRankingLoss with margin 0: max(0, -y (x1 - x2)) with x2 = 0."""
    scores = predicted_labels.flatten()
    return nn.MarginRankingLoss(margin=0.0)(scores, torch.zeros_like(scores), true_labels)


LOSS_CORRECT = [loss_clamp, loss_relu_column, loss_maximum, loss_where_sum, loss_margin_ranking]


# =========================================================================== perceptron_loss: wrong

def loss_sum(predicted_labels, true_labels):
    return torch.clamp(-true_labels * predicted_labels.reshape(-1), min=0).sum()


def loss_no_clamp(predicted_labels, true_labels):
    return (-true_labels * predicted_labels.reshape(-1)).mean()


def loss_wrong_sign(predicted_labels, true_labels):
    return torch.clamp(true_labels * predicted_labels.reshape(-1), min=0).mean()


def loss_broadcast(predicted_labels, true_labels):
    return torch.clamp(-true_labels * predicted_labels, min=0).mean()


def loss_divide_by_labels(predicted_labels, true_labels):
    """The reference homework's slip: .sum() / y divides by the label tensor."""
    y = true_labels[..., None]
    return torch.maximum(-y * predicted_labels, torch.zeros(1)).sum() / true_labels


def loss_item(predicted_labels, true_labels):
    return torch.clamp(-true_labels * predicted_labels.reshape(-1), min=0).mean().item()


def loss_numpy(predicted_labels, true_labels):
    s = predicted_labels.detach().cpu().numpy().reshape(-1)
    y = true_labels.cpu().numpy()
    return torch.tensor(np.maximum(0, -y * s).mean())


def loss_in_place(predicted_labels, true_labels):
    flipped = true_labels
    flipped *= -1
    return torch.clamp(flipped * predicted_labels.reshape(-1), min=0).mean()


LOSS_WRONG = [
    (loss_sum, "mean over examples"),
    (loss_no_clamp, "clamp at zero"),
    (loss_wrong_sign, "sign"),
    (loss_broadcast, "shape broadcasting"),
    (loss_divide_by_labels, "scalar output"),
    (loss_item, "returns a tensor"),
    (loss_numpy, "differentiable"),
    (loss_in_place, "inputs unchanged"),
]
