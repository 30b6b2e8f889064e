"""Offline data and plots for hw2_mlp_training.

* :func:`zero_one_features`: two hand-made features of scikit-learn's bundled 8x8 images of
  the digits 0 and 1 (computed here, nothing is downloaded), standardised, labels +1 / -1.
* :func:`digits_datasets`: the ten-class 8x8 digits split into training, validation and test
  sets with a fixed seed, as TensorDatasets of images (N, 1, 8, 8) in [0, 1] and int64 labels.
* :func:`mnist_datasets`: the same for MNIST, only when torchvision is installed AND the
  files are already on disk; otherwise ``None``.  It never downloads.
* plots: :func:`plot_features`, :func:`plot_decision`, :func:`plot_loss_history`,
  :func:`plot_history`, :func:`show_predictions`.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ..numeric import bundled_digits

SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


# ----------------------------------------------------------------------------- the features

def ink_features(images) -> np.ndarray:
    """The two features of each 8x8 image, as an (N, 2) float64 array.

    1. ink count: the number of pixels with a non-zero intensity;
    2. x-variance: the variance of the column index x in {0, ..., 7}, each pixel weighted by
       its intensity I:  mean_x = sum I x / sum I,  var_x = sum I (x - mean_x)^2 / sum I.
    A 0 is a wide ring (much ink, spread left to right), a 1 a thin vertical stroke.
    """
    images = np.asarray(images, dtype=float)
    x = np.arange(images.shape[-1], dtype=float)[None, None, :]
    total = images.sum(axis=(1, 2))
    mean_x = (images * x).sum(axis=(1, 2)) / total
    var_x = (images * (x - mean_x[:, None, None]) ** 2).sum(axis=(1, 2)) / total
    count = (images > 0).sum(axis=(1, 2)).astype(float)
    return np.stack([count, var_x], axis=1)


@functools.lru_cache(maxsize=1)
def _digits():
    """(images (1797, 8, 8) float64, classes (1797,) int64): sklearn's load_digits."""
    pixels, classes = bundled_digits()
    return pixels.reshape(-1, 8, 8), classes.astype(np.int64)


def zero_one_features():
    """(features, labels, mean, std) for the bundled images of 0s and 1s (360 images).

    features: float32 tensor (N, 2), each column standardised, (raw - mean) / std;
    labels: float32 tensor (N,), +1 for a 1 and -1 for a 0;
    mean, std: float64 arrays (2,) of the raw features (std with ddof=0).
    """
    images, targets = _digits()
    keep = targets < 2
    raw = ink_features(images[keep])
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    features = torch.tensor((raw - mean) / std, dtype=torch.float32)
    labels = torch.tensor(np.where(targets[keep] == 1, 1.0, -1.0), dtype=torch.float32)
    return features, labels, mean, std


# ----------------------------------------------------------------------------- ten classes

def split_indices(n: int, seed: int, fractions=SPLIT_FRACTIONS):
    """A seeded permutation of range(n) cut into train / validation / test index arrays."""
    order = np.random.default_rng([seed, 2024]).permutation(n)
    n_valid, n_test = int(fractions[1] * n), int(fractions[2] * n)
    n_train = n - n_valid - n_test
    return order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:]


def digits_arrays(seed: int = 0):
    """[(images, labels)] * 3 for train / validation / test: float32 (N, 1, 8, 8) in [0, 1]
    (the raw 0..16 intensities divided by 16) and int64 (N,)."""
    images, targets = _digits()
    images = (images / 16.0).astype(np.float32)[:, None, :, :]
    return [(images[idx], targets[idx]) for idx in split_indices(len(targets), seed)]


def digits_datasets(seed: int = 0):
    """(train, validation, test) TensorDatasets of the bundled 8x8 digits, split with ``seed``
    (60 % / 20 % / 20 %: 1079 / 359 / 359 images)."""
    return tuple(TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
                 for x, y in digits_arrays(seed))


def mnist_datasets(root: str = "data", validation_size: int = 10000, seed: int = 0):
    """(train, validation, test) MNIST datasets from files already under ``root``, or None.

    None when torchvision is not installed or the files are not on disk: this function
    never downloads (download=False), so it is safe offline.  Images arrive as (1, 28, 28)
    tensors in [0, 1]; the validation set is a seeded random split of the 60000 training
    images.
    """
    if importlib.util.find_spec("torchvision") is None:
        return None
    if not os.path.isdir(os.path.join(root, "MNIST")):
        return None
    try:
        import torchvision
        from torchvision.transforms import ToTensor
        full = torchvision.datasets.MNIST(root=root, train=True, download=False,
                                          transform=ToTensor())
        test = torchvision.datasets.MNIST(root=root, train=False, download=False,
                                          transform=ToTensor())
    except (RuntimeError, OSError, ImportError):
        return None
    generator = torch.Generator().manual_seed(seed)
    train, valid = torch.utils.data.random_split(
        full, [len(full) - validation_size, validation_size], generator=generator)
    return train, valid, test


# ----------------------------------------------------------------------------- plots

def _numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


def plot_features(features, labels, ax=None, title=None):
    """Scatter plot of the two features, 0s as dots and 1s as crosses (labels -1 / +1, or
    any numbers: the sign decides)."""
    import matplotlib.pyplot as plt

    features, labels = _numpy(features), _numpy(labels).reshape(-1)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    ax.scatter(*features[labels <= 0].T, marker=".", label="digit 0 (label -1)")
    ax.scatter(*features[labels > 0].T, marker="+", label="digit 1 (label +1)")
    ax.set_xlabel("feature 1: ink pixels (standardised)")
    ax.set_ylabel("feature 2: x-variance (standardised)")
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def _model_outputs(model, points: np.ndarray) -> np.ndarray:
    """model(points) as a flat numpy array, in eval mode and without gradients; every
    module's mode is restored afterwards."""
    parameter = next(iter(model.parameters()), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.as_tensor(points, dtype=torch.float32, device=device))
    finally:
        for module, mode in modes:
            module.training = mode
    return _numpy(out).reshape(-1)


def plot_decision(model, features, labels):
    """Two panels: the true labels, and the model's predicted labels sign(model(x)) over the
    shaded region where the model predicts +1."""
    import matplotlib.pyplot as plt

    features, labels = _numpy(features), _numpy(labels).reshape(-1)
    predicted = np.sign(_model_outputs(model, features))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True, sharey=True)
    lo, hi = features.min(axis=0) - 0.5, features.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    region = _model_outputs(model, grid).reshape(gx.shape) > 0
    for ax in axes:
        ax.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5], colors=["#dde8f5", "#f7e3d4"])
    plot_features(features, labels, axes[0], "true labels")
    wrong = int((predicted != labels).sum())
    plot_features(features, predicted, axes[1],
                  f"predicted labels ({wrong} of {len(labels)} wrong)")
    fig.tight_layout()
    return fig


def plot_loss_history(history, title="full-batch gradient descent"):
    """The loss after each gradient step (entry 0: before the first step), log scale."""
    import matplotlib.pyplot as plt

    values = [float(v) for v in history]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(len(values)), values, marker=".")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_history(history):
    """Learning curves from train()'s dict: loss and accuracy per epoch, train vs validation."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    epochs = range(1, len(history["train_loss"]) + 1)
    for split in ("train", "validation"):
        left.plot(epochs, [float(v) for v in history[f"{split}_loss"]], marker=".", label=split)
        right.plot(epochs, [float(v) for v in history[f"{split}_accuracy"]], marker=".",
                   label=split)
    left.set_ylabel("mean cross-entropy")
    right.set_ylabel("accuracy")
    for ax in (left, right):
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    return fig


def show_predictions(model, dataset, device="cpu", count=10):
    """The first ``count`` images of ``dataset`` with the model's predicted digit above each."""
    import matplotlib.pyplot as plt

    images = torch.stack([dataset[i][0] for i in range(count)])
    truth = [int(dataset[i][1]) for i in range(count)]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            predicted = model(images.to(device)).argmax(dim=-1).cpu().tolist()
    finally:
        for module, mode in modes:
            module.training = mode
    fig, axes = plt.subplots(1, count, figsize=(1.2 * count, 1.6))
    for ax, image, p, t in zip(np.atleast_1d(axes), images, predicted, truth):
        ax.imshow(image[0].numpy(), cmap="gray_r")
        ax.set_title(f"{p}" + ("" if p == t else f" (is {t})"),
                     color="black" if p == t else "red", fontsize="small")
        ax.axis("off")
    fig.tight_layout()
    return fig
