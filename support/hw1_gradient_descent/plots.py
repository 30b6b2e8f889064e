"""Plots for hw1_gradient_descent: the function f and a descent path, the activations,
digits, and learning curves.  matplotlib is imported when a plot is drawn."""

from __future__ import annotations

import numpy as np


def _f(x, y):
    """f(x, y) = x^2 + y^2 + x (y + 2) + cos(3x), elementwise on arrays."""
    return x ** 2 + y ** 2 + x * (y + 2) + np.cos(3 * x)


def plot_f_contours(ax=None, limit: float = 5.0):
    """Filled contours of f on [-limit, limit]^2 (into ``ax``, or the current axes)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    xx, yy = np.meshgrid(np.linspace(-limit, limit, 121), np.linspace(-limit, limit, 121))
    zz = _f(xx, yy)
    filled = ax.contourf(xx, yy, zz, 40, cmap="viridis")
    ax.contour(xx, yy, zz, 40, colors="black", linewidths=0.3, alpha=0.3)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return filled


def plot_gradient_descent_results(x, y, val, x_hist, y_hist):
    """The path (x_hist, y_hist) on the contours of f, and f along the path.

    Takes exactly what optimize_f returns: ``plot_gradient_descent_results(*optimize_f(...))``.
    """
    import matplotlib.pyplot as plt

    xs, ys = np.asarray(x_hist, dtype=float), np.asarray(y_hist, dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    fig.colorbar(plot_f_contours(left), ax=left, label="f(x, y)")
    left.plot(xs, ys, ".-", color="tab:red")
    left.plot(xs[:1], ys[:1], "o", color="white", label="start")
    left.plot(xs[-1:], ys[-1:], "*", color="tab:red", markersize=14, label="end")
    left.set_xlim(-5, 5)
    left.set_ylim(-5, 5)
    left.legend(loc="upper left")
    left.set_title("path of gradient descent")
    right.plot(_f(xs, ys), ".-", color="tab:red")
    right.set_xlabel("step")
    right.set_ylabel("f(x, y)")
    right.set_title(f"final value f = {float(val):.4f}")
    plt.show()


def plot_activations(sigmoid, relu):
    """sigmoid and relu (the notebook's functions) on [-10, 10]."""
    import matplotlib.pyplot as plt
    import torch

    x = torch.linspace(-10, 10, 201)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
    for ax, fn, name in zip(axes, (sigmoid, relu), ("sigmoid", "relu")):
        ax.plot(x.numpy(), fn(x).detach().numpy(), label=name)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_xlabel("x")
        ax.legend(loc="upper left")
    plt.show()


def plot_digits(images, labels):
    """A row of 8x8 digit images with their classes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(images), figsize=(1.2 * len(images), 1.6))
    for ax, image, label in zip(np.atleast_1d(axes), images, labels):
        ax.imshow(np.asarray(image).reshape(8, 8), cmap="gray_r")
        ax.set_title(str(label))
        ax.axis("off")
    plt.show()


def plot_learning_curves(loss_hist, accuracy_hist, title=None):
    """Loss and accuracy per epoch, training and validation, as fit returns them."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
    for ax, hist, name in ((left, loss_hist, "BCE loss"), (right, accuracy_hist, "accuracy")):
        for phase in ("train", "val"):
            values = [float(v) for v in hist[phase]]
            ax.plot(range(1, len(values) + 1), values, label=phase)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    if title:
        fig.suptitle(title)
    plt.show()
