"""Plots for the regression exercises: the data, a model's prediction curve, learning curves.

Only matplotlib (and torch/numpy for converting inputs).  Everything the notebook passes in
may be a tensor (on any device, with or without ``requires_grad``), a numpy array, or a list
of Python floats / 0-dim tensors / numpy scalars.  matplotlib is imported when a plot is
drawn: the grader imports these checkers' modules and never plots.
"""

from __future__ import annotations

import numpy as np
import torch

GRID_POINTS = 500
FEW_POINTS = 20


def _as_array(values) -> np.ndarray:
    """A flat float64 numpy array from a tensor, an array, or a list of numbers/0-dim tensors."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy().reshape(-1)
    if isinstance(values, np.ndarray):
        return values.astype(np.float64).reshape(-1)
    return np.array([_as_float(v) for v in values], dtype=np.float64)


def _as_float(value) -> float:
    """float() of a number, a 0-dim (or one-element) tensor or array, on any device."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            raise ValueError(f"each entry of a loss history should be one number; got one "
                             f"with shape {tuple(value.shape)}")
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
        return float(value.reshape(-1)[0])
    return float(value)


def _finite(values: np.ndarray) -> np.ndarray:
    """The values with inf replaced by nan, so matplotlib leaves a gap instead of failing."""
    values = values.copy()
    values[~np.isfinite(values)] = np.nan
    return values


def _predict(model, grid: np.ndarray) -> np.ndarray:
    """The model's predictions on the grid (shape (G, 1)), without gradients, in eval mode.

    Every submodule's train/eval flag is restored afterwards, so plotting in the middle of
    training changes nothing.  The grid is sent to the device and dtype of the model's
    parameters (CPU float32 when it has none).
    """
    parameter = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() \
        else torch.float32
    inputs = torch.as_tensor(grid, dtype=dtype, device=device).reshape(-1, 1)
    modes = [(m, m.training) for m in model.modules()] if isinstance(model, torch.nn.Module) else []
    try:
        if modes:
            model.eval()
        with torch.no_grad():
            outputs = model(inputs)
    finally:
        for module, mode in modes:
            module.training = mode
    return _as_array(outputs)


def _plot_data_and_model(ax, x, y, xvalid, yvalid, model):
    ax.scatter(x, y, s=12, alpha=0.7, color="tab:blue", label="training data")
    ax.scatter(xvalid, yvalid, s=12, alpha=0.7, color="tab:orange", label="validation data")
    if model is not None:
        inputs = np.concatenate([x, xvalid])
        low, high = np.nanmin(inputs), np.nanmax(inputs)
        grid = np.linspace(low, high, GRID_POINTS)
        prediction = _predict(model, grid)
        if prediction.shape != grid.shape:
            raise ValueError(f"the model should return one prediction per input: for "
                             f"{GRID_POINTS} inputs of shape ({GRID_POINTS}, 1) it returned "
                             f"{prediction.size} values")
        ax.plot(grid, _finite(prediction), color="black", linewidth=2, label="model prediction")
        if not np.all(np.isfinite(prediction)):
            ax.set_title("model output is not finite (nan/inf): training diverged?")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()


def _plot_losses(ax, loss_history, valid_loss_history):
    plotted, notes, length = [], [], 1
    for history, label, color in ((loss_history, "training loss", "tab:blue"),
                                  (valid_loss_history, "validation loss", "tab:orange")):
        if history is None:
            continue
        values = _finite(_as_array(history))
        finite = np.isfinite(values)
        # a diverged run may leave only a handful of finite points: draw them as dots
        marker = "o" if finite.sum() <= FEW_POINTS else None
        ax.plot(np.arange(len(values)), values, color=color, label=label, marker=marker,
                markersize=4)
        plotted.append(values)
        length = max(length, len(values))
        if not finite.all():
            notes.append(f"{label} not finite from iteration {int(np.argmin(finite))}")
    log_scale = any(np.any(np.isfinite(v) & (v > 0)) for v in plotted)
    if log_scale:
        ax.set_yscale("log")
    else:
        notes.append("no finite positive loss to show")
    if notes:
        ax.set_xlim(-0.03 * length - 0.5, 1.03 * length - 0.5)
        ax.set_title("; ".join(notes), fontsize=10)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (log scale)" if log_scale else "loss")
    ax.legend()


def plotRegression(x, y, xvalid, yvalid, loss_history=None, valid_loss_history=None,
                   model=None):
    """Plot the training and validation data, and optionally a model and its learning curves.

    Left panel: the training points and validation points, and (when ``model`` is given) the
    model's prediction on a dense grid of inputs spanning both sets.  The model is evaluated
    under ``torch.no_grad()`` in eval mode (dropout off), on the device of its parameters;
    its train/eval mode is restored afterwards.

    Right panel (only when ``loss_history`` or ``valid_loss_history`` is given): the loss
    against the iteration number, on a log scale.  The histories may be lists of floats,
    lists of 0-dim tensors, tensors or numpy arrays.  Non-finite values (a diverged run) are
    left out of the curve.
    """
    import matplotlib.pyplot as plt

    x, y, xvalid, yvalid = (_as_array(v) for v in (x, y, xvalid, yvalid))
    with_losses = loss_history is not None or valid_loss_history is not None
    if with_losses:
        fig, (data_ax, loss_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    else:
        fig, data_ax = plt.subplots(1, 1, figsize=(6.5, 4.5))
    _plot_data_and_model(data_ax, x, y, xvalid, yvalid, model)
    if with_losses:
        _plot_losses(loss_ax, loss_history, valid_loss_history)
    fig.tight_layout()
    plt.show()
