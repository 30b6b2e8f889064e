"""Data for hw1_gradient_descent, all offline: the one-layer model's given parameters and
scikit-learn's bundled 8x8 digits as a binary problem.

``load_binary_digits()`` gives the split the notebook trains on: the 1797 digits of
``sklearn.datasets.load_digits`` (bundled with scikit-learn, nothing is downloaded), as
64 pixel features per image, label 1.0 for the digits 0-4 and 0.0 for 5-9, split at random
(a fixed generator) into 898 training and 899 validation images, and standardised with the
training set's pixel mean and standard deviation (one number each, over all pixels).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..numeric import bundled_digits  # noqa: F401 - also read by the tests

SPLIT_SEED = 2024
MODEL1_SEED = 12345


def model1_parameters():
    """The one-layer model's given weights w (shape (5,)) and bias b (0-dim), float32,
    drawn from N(0, 1) with a generator seeded 12345 (the same values every time)."""
    generator = torch.Generator().manual_seed(MODEL1_SEED)
    w = torch.randn(5, generator=generator)
    b = torch.randn((), generator=generator)
    return w, b


@lru_cache(maxsize=1)
def _digits_arrays():
    """(standardised features, labels, permutation, number of training images) as numpy."""
    pixels, classes = bundled_digits()
    x = np.asarray(pixels, dtype=np.float64)
    y = (classes < 5).astype(np.float64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    n_train = len(x) // 2
    train = x[order[:n_train]]
    x = (x - train.mean()) / train.std()
    return x, y, order, n_train


def load_binary_digits():
    """(split_x, split_y): dicts with 'train' (898 images) and 'val' (899) float32 tensors.

    split_x[...] has shape (N, 64), standardised pixels; split_y[...] shape (N,), 1.0 for
    the digits 0-4 and 0.0 for 5-9.  Fresh tensors on every call (safe to modify).
    """
    x, y, order, n_train = _digits_arrays()
    parts = {"train": order[:n_train], "val": order[n_train:]}
    split_x = {k: torch.tensor(x[idx], dtype=torch.float32) for k, idx in parts.items()}
    split_y = {k: torch.tensor(y[idx], dtype=torch.float32) for k, idx in parts.items()}
    return split_x, split_y


def digit_images(n: int = 10):
    """The first ``n`` raw 8x8 images and their digit classes, for plotting."""
    pixels, classes = bundled_digits()
    return pixels[:n].reshape(-1, 8, 8), classes[:n]
