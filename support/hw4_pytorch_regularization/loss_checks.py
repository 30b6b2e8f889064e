"""Check of ``mse_loss(prediction, labels)``: the mean squared error as a differentiable tensor.

For predictions a (shape (N, 1), what a linear layer returns) and labels y (shape (N,) or
(N, 1)), the loss is L = (1/N) sum_i (a_i - y_i)^2: a 0-dim tensor that backpropagates,
with dL/da_i = 2 (a_i - y_i) / N.  The classic bug: (N, 1) minus (N,) broadcasts to an
N x N matrix, whose mean is a number, just the wrong one.
"""

from __future__ import annotations

import numpy as np
import torch

from ..checking import Check, CheckFailure, call_student
from .layer_checks import to_array
from ..probe_data import ProbeData

CASES = (("flat", "(N,)"), ("column", "(N, 1)"))


def make_params(seed: int, device: str) -> dict:
    """Seed 0: N = 29 examples with a mean squared error of 4.5; other seeds: N in 8..60,
    MSE in 2..9 (at least 2, so that the RMSE, the MAE and the MSE are far apart)."""
    if seed == 0:
        return {"seed": 0, "device": device, "n": 29, "mse": 4.5}
    rng = np.random.default_rng([seed, 0])
    return {"seed": seed, "device": device, "n": int(rng.integers(8, 61)),
            "mse": round(float(rng.uniform(2.0, 9.0)), 2)}


def loss_inputs(params: dict):
    """Predictions a (N, 1) and labels y (N,), float32-exact, with mean((a - y)^2) = params["mse"].

    The labels are spread (standard deviation 3) so that the N x N broadcast is far off.
    """
    rng = np.random.default_rng([params["seed"], 1])
    n = params["n"]
    y = 3.0 * rng.standard_normal(n)
    r = rng.standard_normal(n)
    r *= np.sqrt(params["mse"] / np.mean(r ** 2))
    a = (y + r).reshape(n, 1)
    return a.astype(np.float32).astype(float), y.astype(np.float32).astype(float)


def probe_mse_loss(params: dict, mse_loss) -> dict:
    a, y = loss_inputs(params)
    n = params["n"]
    device, dtype = torch.device(params["device"]), torch.get_default_dtype()
    data = {"callable": callable(mse_loss), "argument_type": type(mse_loss).__name__}
    if not data["callable"]:
        return data
    for key, text in CASES:
        prediction = torch.tensor(a, dtype=dtype, device=device, requires_grad=True)
        labels = torch.tensor(y if key == "flat" else y.reshape(n, 1), dtype=dtype, device=device)
        result = call_student(f"mse_loss(prediction of shape (N, 1), labels of shape {text})",
                              mse_loss, prediction, labels)
        is_tensor = isinstance(result, torch.Tensor)
        data[f"{key}_type"] = type(result).__name__
        data[f"{key}_is_tensor"] = is_tensor
        data[f"{key}_shape"] = list(np.shape(result)) if is_tensor or isinstance(
            result, (np.ndarray, np.generic, float, int)) else None
        data[f"{key}_requires_grad"] = bool(is_tensor and result.requires_grad)
        value = None
        if is_tensor:
            value = to_array(result)
        elif isinstance(result, (np.ndarray, np.generic, float, int)) and not isinstance(
                result, bool):
            value = np.asarray(result, dtype=float)
        data[f"{key}_value"] = value
        data[f"{key}_grad"] = None
        if is_tensor and result.requires_grad and result.numel() == 1:
            call_student("loss.backward() on the result of mse_loss", result.backward)
            if prediction.grad is not None:
                data[f"{key}_grad"] = to_array(prediction.grad)
    return data


def _diagnose(value: float, a: np.ndarray, y: np.ndarray) -> str:
    """Which usual mistake a wrong loss value matches, as a hint."""
    r = a[:, 0] - y
    mistakes = [
        (np.mean((a - y[None, :]) ** 2),
         "the mean of an N x N matrix: prediction (N, 1) minus labels (N,) broadcasts to N x N; "
         "make both the same shape before subtracting"),
        (np.sum(r ** 2), "the sum of the squared errors: divide by the number of examples"),
        (np.sqrt(np.mean(r ** 2)),
         "the root of the mean squared error: do not take the square root"),
        (np.mean(np.abs(r)), "the mean absolute error: square the differences"),
        (np.mean(r ** 2) / 2, "half the mean squared error"),
        (np.mean(r), "the mean error: square the differences before averaging"),
    ]
    for reference, text in mistakes:
        if np.isclose(value, reference, rtol=1e-4, atol=1e-6):
            return f"your value is {text}"
    return "the loss is the average over the N examples of (prediction - label)^2"


def verdict_mse_loss(params: dict, data: dict) -> str:
    """mse_loss(prediction, labels) = mean over the N examples of (a_i - y_i)^2, a 0-dim tensor
    that backpropagates, for labels of shape (N,) and (N, 1) with predictions of shape (N, 1).

    The reference is computed in numpy (float64) from the same inputs; the gradient the
    probe read from prediction.grad after loss.backward() must be 2 (a - y) / N.  The inputs
    have a mean squared error of at least 2 with spread labels, so the usual mistakes (sum,
    root, absolute error, the N x N broadcast) are all far from the answer.
    """
    check = MSE_LOSS.name
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your mse_loss function",
                           observed=pd.text("argument_type"),
                           hint="pass the function itself: test_mse_loss(mse_loss)")
    a, y = loss_inputs(params)
    n = params["n"]
    reference = float(np.mean((a[:, 0] - y) ** 2))
    grad_reference = 2.0 * (a - y.reshape(n, 1)) / n
    for key, text in CASES:
        call = f"mse_loss(prediction (N, 1), labels {text}) with N = {n}"
        if not pd.flag(f"{key}_is_tensor"):
            raise CheckFailure(
                check, "return type", expected="a torch tensor", observed=pd.text(f"{key}_type"),
                hint="keep the loss a tensor: .item(), float() or numpy give a number that "
                     "backward() cannot differentiate")
        shape = pd.shape(f"{key}_shape")
        if shape != ():
            if shape == (n, n):
                hint = ("an N x N result: prediction (N, 1) and labels (N,) broadcast against "
                        "each other; give them the same shape first")
            else:
                hint = "average over all the examples so that the loss is one number"
            raise CheckFailure(check, "result shape", expected=f"a 0-dim tensor, shape () ({call})",
                               observed=f"shape {shape}", hint=hint)
        if not pd.flag(f"{key}_requires_grad"):
            raise CheckFailure(
                check, "differentiable", expected="a loss that requires grad (prediction does)",
                observed="requires_grad=False",
                hint="compute the loss with torch operations on prediction; .detach(), .data, "
                     "numpy or torch.tensor(...) of a value cut the gradient")
        value = float(pd.array(f"{key}_value", shape=()))
        if not np.isclose(value, reference, rtol=1e-4, atol=1e-6):
            raise CheckFailure(check, "loss value", expected=f"{reference:.6g} ({call})",
                               observed=f"{value:.6g}", hint=_diagnose(value, a, y))
        grad = pd.array(f"{key}_grad", optional=True)
        if grad is None or grad.shape != (n, 1) or not np.allclose(
                grad, grad_reference, rtol=1e-4, atol=1e-6):
            observed = ("prediction.grad is None after loss.backward()" if grad is None
                        else f"shape {grad.shape}, first entries "
                             f"{np.round(grad.ravel()[:3], 5).tolist()}")
            raise CheckFailure(
                check, "gradient",
                expected=f"d loss / d prediction = 2 (prediction - labels) / N, first entries "
                         f"{np.round(grad_reference[:3, 0], 5).tolist()} ({call})",
                observed=observed,
                hint="the loss must be computed from the prediction tensor you were given, with "
                     "torch operations, so that backward() reaches it")
    return f"mean squared error and its gradient, labels of shape (N,) and (N, 1), N = {n}"


MSE_LOSS = Check(
    "test_mse_loss", probe_mse_loss, verdict_mse_loss, make_params,
    doc="test_mse_loss(mse_loss): checks that mse_loss(prediction, labels) returns the mean "
        "of (prediction - label)^2 as a 0-dim tensor that backpropagates, for predictions of "
        "shape (N, 1) and labels of shape (N,) or (N, 1).")
