"""Helpers for hw5_overfitting: accuracy, and the plots of the notebook.

Every function accepts tensors (on any device, with or without gradients), numpy arrays or
lists of numbers.  Plots draw on the current matplotlib figure and call ``plt.show()``.
"""

from __future__ import annotations

import numpy as np


def _numbers(values) -> np.ndarray:
    """A float64 numpy array from a tensor, an array or a list of numbers / 0-dim tensors."""
    if hasattr(values, "detach"):
        return values.detach().cpu().double().numpy()
    return np.array([float(v.detach().cpu()) if hasattr(v, "detach") else float(v)
                     for v in values], dtype=float) if isinstance(values, (list, tuple)) \
        else np.asarray(values, dtype=float)


def get_accuracy(prediction, target) -> float:
    """Fraction of right predictions: a probability above 0.5 means "positive" (label 1).

    ``prediction`` holds probabilities and ``target`` labels 0/1, both of shape (N,).
    """
    prediction, target = _numbers(prediction).reshape(-1), _numbers(target).reshape(-1)
    if prediction.shape != target.shape:
        raise ValueError(f"prediction has {prediction.size} entries but target "
                         f"{target.size}: squeeze the model's (N, 1) output to (N,)")
    return float(np.mean((prediction > 0.5) == (target == 1))) if target.size else 0.0


def _epochs(values):
    return np.arange(1, len(values) + 1)


def get_training_progress_plot(train_losses, train_accs, val_losses, val_accs,
                               title: str | None = None) -> None:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, (train, val), what in ((ax_loss, (train_losses, val_losses), "loss"),
                                   (ax_acc, (train_accs, val_accs), "accuracy")):
        ax.plot(_epochs(train), _numbers(train), "o-", ms=3, label=f"training {what}")
        ax.plot(_epochs(val), _numbers(val), "o-", ms=3, label=f"validation {what}")
        ax.set_xlabel("epoch")
        ax.set_title(what)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()


def plot_metrics(metrics: dict, title: str | None = None) -> None:
    """:func:`get_training_progress_plot` of a metrics dict returned by ``train``."""
    get_training_progress_plot(metrics["train_loss"], metrics["train_acc"],
                               metrics["val_loss"], metrics["val_acc"], title=title)


def compare_losses_plot(first_losses, second_losses, first_loss_label: str,
                        second_loss_label: str, ylabel: str = "validation loss",
                        title: str | None = None) -> None:
    """Two loss curves per epoch on one plot."""
    compare_curves({first_loss_label: first_losses, second_loss_label: second_losses},
                   ylabel=ylabel, title=title)


def compare_curves(curves: dict, ylabel: str = "validation loss",
                   title: str | None = None) -> None:
    """Any number of per-epoch curves, ``{label: values}``, on one plot."""
    import matplotlib.pyplot as plt

    plt.figure(figsize=(6, 3.5))
    for label, values in curves.items():
        plt.plot(_epochs(values), _numbers(values), "o-", ms=3, label=label)
    plt.xlabel("epoch")
    plt.ylabel(ylabel)
    if title:
        plt.title(title)
    plt.legend()
    plt.show()


def plot_contours(func_obj, limit: float = 5.0, points: int = 60, ax=None):
    """Contour lines of ``func_obj`` (called on a (points**2, 2) tensor) on [-limit, limit]^2."""
    import matplotlib.pyplot as plt

    import torch
    ax = ax or plt.gca()
    grid = torch.linspace(-limit, limit, points)
    gx, gy = torch.meshgrid(grid, grid, indexing="xy")
    values = func_obj(torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1))
    values = _numbers(values).reshape(gx.shape)
    ax.contour(gx.numpy(), gy.numpy(), values, levels=15, cmap="viridis", linewidths=0.8)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def plot_histories(histories, labels, func_obj=None, limit: float = 5.0,
                   title: str | None = None) -> None:
    """Paths of shape (T, 2) drawn over the contours of ``func_obj`` (when given)."""
    import matplotlib.pyplot as plt

    plt.figure(figsize=(5, 5))
    ax = plt.gca()
    if func_obj is not None:
        plot_contours(func_obj, limit=limit, ax=ax)
    for history, label in zip(histories, labels):
        path = _numbers(history).reshape(-1, 2)
        ax.plot(path[:, 0], path[:, 1], "o-", ms=3, label=label)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    if title:
        ax.set_title(title)
    ax.legend()
    plt.show()


def plot_distances(histories, labels, title: str | None = None) -> None:
    """Distance of each path's points to the minimum at the origin, per step (log scale)."""
    import matplotlib.pyplot as plt

    plt.figure(figsize=(6, 3.5))
    for history, label in zip(histories, labels):
        path = _numbers(history).reshape(-1, 2)
        plt.semilogy(np.arange(len(path)), np.linalg.norm(path, axis=1) + 1e-16, "o-", ms=3,
                     label=label)
    plt.xlabel("step")
    plt.ylabel("distance to the minimum")
    if title:
        plt.title(title)
    plt.legend()
    plt.show()
