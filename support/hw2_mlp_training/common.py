"""Small tools the hw2_mlp_training checks share: a module that records how the model was
called, seeded tensors, and float64 reference maths.

Nothing here is a solution to an exercise: the reference maths are closed forms in numpy
(softmax cross-entropy of a linear model and its gradient), written the way the notebook
states them.
"""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np
import torch
from torch import nn

from ..numeric import close, fmt as _fmt, in_one_thread  # noqa: F401 - used by the checks

# hw2's messages: always a list, followed by how many values it had.
fmt = functools.partial(_fmt, scalar=False, count="always")


# ----------------------------------------------------------------------------- probe side

def float_list(values):
    """A list of Python floats from a list/tuple of numbers or 1-element tensors/arrays.

    Returns (list, None), or (None, a description of what was wrong).
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().reshape(-1).tolist()
    if isinstance(values, np.ndarray):
        values = values.reshape(-1).tolist()
    if not isinstance(values, (list, tuple)):
        return None, f"a {type(values).__name__}"
    out = []
    for i, value in enumerate(values):
        try:
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    return None, f"entry {i} is a tensor of shape {tuple(value.shape)}"
                value = value.detach().cpu().reshape(-1)[0].item()
            elif isinstance(value, np.ndarray):
                if value.size != 1:
                    return None, f"entry {i} is an array of shape {value.shape}"
                value = value.reshape(-1)[0].item()
            if isinstance(value, bool):
                return None, f"entry {i} is a bool"
            out.append(float(value))
        except (TypeError, ValueError, RuntimeError):
            return None, f"entry {i} is a {type(value).__name__}"
    return out, None


def to_numpy(tensor) -> np.ndarray:
    """A detached float64 copy of a tensor, on the CPU."""
    return tensor.detach().cpu().double().numpy()


class Recorder(nn.Module):
    """An identity layer that writes down, for every forward call, the module's mode, whether
    autograd was recording, the input's device type and the batch size."""

    def __init__(self):
        super().__init__()
        self.log = []

    def forward(self, x):
        self.log.append((bool(self.training), bool(torch.is_grad_enabled()), x.device.type,
                         int(x.shape[0]) if x.dim() else 0))
        return x

    def as_data(self, prefix="calls"):
        return {f"{prefix}_training": [entry[0] for entry in self.log],
                f"{prefix}_grad": [entry[1] for entry in self.log],
                f"{prefix}_device": [entry[2] for entry in self.log],
                f"{prefix}_batch": [entry[3] for entry in self.log]}


def linear_layer(weight: np.ndarray, bias: np.ndarray, device: str) -> nn.Linear:
    """An nn.Linear holding the given (out, in) weight and (out,) bias, in float32."""
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return layer.to(device)


def f32(values) -> np.ndarray:
    """Values rounded to float32 and held in float64 (what the student's tensors contain)."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


# ----------------------------------------------------------------------------- reference maths

def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log p_ij = z_ij - log sum_k exp z_ik, computed stably (row-wise)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def smoothed_targets(labels: np.ndarray, classes: int, smoothing: float) -> np.ndarray:
    """q_ij = (1 - eps) [j = y_i] + eps / C: the target distribution of
    nn.CrossEntropyLoss(label_smoothing=eps)."""
    q = np.full((len(labels), classes), smoothing / classes)
    q[np.arange(len(labels)), labels] += 1.0 - smoothing
    return q


def cross_entropy_per_example(logits, labels, smoothing=0.0) -> np.ndarray:
    """l_i = - sum_j q_ij log softmax(z_i)_j (plain cross-entropy when eps = 0)."""
    q = smoothed_targets(labels, logits.shape[1], smoothing)
    return -(q * log_softmax(logits)).sum(axis=1)


def cross_entropy_logit_grad(logits, labels, smoothing=0.0) -> np.ndarray:
    """d mean_i(l_i) / d z = (softmax(z) - q) / B for a batch of B rows."""
    q = smoothed_targets(labels, logits.shape[1], smoothing)
    return (np.exp(log_softmax(logits)) - q) / len(labels)


def top_two_gap(logits: np.ndarray) -> float:
    """The smallest, over rows, distance between the largest and second largest logit."""
    part = np.sort(logits, axis=1)
    return float((part[:, -1] - part[:, -2]).min())


def batches(n: int, batch_size: int):
    """Index ranges of a DataLoader without shuffling: [0, B), [B, 2B), ..., last partial."""
    return [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def ceil_div(a: int, b: int) -> int:
    return int(math.ceil(a / b))
