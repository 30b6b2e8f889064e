"""mse_loss as students write it: correct variants and the usual mistakes."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def mse_squeeze(prediction, labels):
    return torch.mean((prediction.squeeze(1) - labels.view(-1)) ** 2)


def mse_functional(prediction, labels):
    return F.mse_loss(prediction.view(-1), labels.view(-1))


def mse_reshape_labels(prediction, labels):
    return ((prediction - labels.reshape(-1, 1)) ** 2).mean()


def mse_sum_over_n(prediction, labels):
    return torch.sum((prediction.flatten() - labels.flatten()) ** 2) / labels.shape[0]


def mse_module(prediction, labels):
    return nn.MSELoss()(prediction, labels.view_as(prediction))


def mse_view_as_labels(prediction, labels):
    return (prediction.view(labels.shape) - labels).pow(2).mean()


def mse_len(prediction, labels):
    diff = prediction.reshape(-1) - labels.reshape(-1)
    return (diff * diff).sum() / len(diff)


CORRECT = [mse_squeeze, mse_functional, mse_reshape_labels, mse_sum_over_n, mse_module,
           mse_view_as_labels, mse_len]


def broadcast(prediction, labels):
    return ((prediction - labels) ** 2).mean()


def functional_broadcast(prediction, labels):
    return F.mse_loss(prediction, labels)


def squeeze_only_prediction(prediction, labels):
    return ((prediction.squeeze() - labels) ** 2).mean()


def summed(prediction, labels):
    return ((prediction.view(-1) - labels.view(-1)) ** 2).sum()


def rmse(prediction, labels):
    return torch.sqrt(torch.mean((prediction.view(-1) - labels.view(-1)) ** 2))


def mae(prediction, labels):
    return torch.mean(torch.abs(prediction.view(-1) - labels.view(-1)))


def halved(prediction, labels):
    return torch.mean((prediction.view(-1) - labels.view(-1)) ** 2) / 2


def item(prediction, labels):
    return torch.mean((prediction.view(-1) - labels.view(-1)) ** 2).item()


def detached(prediction, labels):
    return torch.mean((prediction.view(-1) - labels.view(-1)) ** 2).detach()


def numpy_mean(prediction, labels):
    p = prediction.detach().cpu().numpy().reshape(-1)
    y = labels.detach().cpu().numpy().reshape(-1)
    return np.mean((p - y) ** 2)


def fresh_tensor(prediction, labels):
    value = torch.mean((prediction.view(-1) - labels.view(-1)) ** 2).item()
    return torch.tensor(value, requires_grad=True)


def no_mean(prediction, labels):
    return (prediction.view(-1) - labels.view(-1)) ** 2


def mean_over_rows(prediction, labels):
    return ((prediction - labels.view(-1, 1)) ** 2).mean(dim=0)


def crashes(prediction, labels):
    return torch.mean((prediction - labels.view(1, -1, 1)) ** 2, dim=5)


WRONG = [
    (broadcast, "loss value"),
    (functional_broadcast, "loss value"),
    (squeeze_only_prediction, "loss value"),
    (summed, "loss value"),
    (rmse, "loss value"),
    (mae, "loss value"),
    (halved, "loss value"),
    (item, "return type"),
    (detached, "differentiable"),
    (numpy_mean, "return type"),
    (fresh_tensor, "gradient"),
    (no_mean, "result shape"),
    (mean_over_rows, "result shape"),
    (crashes, "your code raised an exception"),
    ("mse_loss", "argument"),
]

HINTS = {broadcast: "N x N", summed: "sum", rmse: "root", mae: "absolute", halved: "half",
         squeeze_only_prediction: "N x N"}
