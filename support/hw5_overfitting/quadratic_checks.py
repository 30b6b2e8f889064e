"""Checks for the quadratic error surfaces of hw5_overfitting.

The maths, as the notebook writes it, for E(x) = 1/2 x^T H x:

* ``Function(lambda_1, lambda_2)``: H = diag(lambda_1, lambda_2); on a batch of points
  ``x`` of shape (N, 2), ``f(x)`` has shape (N,) with entries
  1/2 (lambda_1 x_1^2 + lambda_2 x_2^2), and ``f.grad(x)`` has shape (N, 2) with rows
  (lambda_1 x_1, lambda_2 x_2).  The attributes ``lambda_1`` and ``lambda_2`` keep the values.
* ``do_gradient_descent(x, func_obj, max_steps, lr)``: x_{t+1} = x_t - lr * grad E(x_t),
  starting from the (1, 2) point x_0 = x; returns the path x_0, ..., x_{max_steps} as a
  tensor of shape (max_steps + 1, 2), and leaves the caller's ``x`` unchanged.
* ``do_momentum_gd(x, func_obj, max_steps, lr, momentum)``: v_0 = 0,
  v_{t+1} = momentum * v_t - lr * grad E(x_t), x_{t+1} = x_t + v_{t+1}; same path and shape.
* ``largest_stable_lr(func_obj)``: 2 / lambda_max, the learning rate at which gradient
  descent stops converging along the steepest axis.

References are these closed forms: the path of gradient descent is x_t = x_0 (I - lr H)^t,
and momentum is the linear recurrence above on the pair (x_t, v_t), iterated in float64.
The descent checks hand the student's code their own quadratic with a *rotated* H (not
diagonal), so code that calls ``func_obj.grad`` works and code that re-derives the gradient
from the notebook's ``Function`` does not.
"""

from __future__ import annotations

import math

import numpy as np

from ..checking import Check, CheckFailure, StudentCodeError, call_student
from .common import close, rng, same_number, show, to_array, to_float
from ..probe_data import ProbeData

PATH_ATOL, PATH_RTOL = 1e-4, 1e-4    # float32 steps vs float64 closed forms, |x| <= ~10


def _quadratic_class():
    """A probe quadratic E(x) = 1/2 x^T H x with any symmetric H (torch, on any device)."""
    import torch

    class ProbeQuadratic:
        def __init__(self, h, device):
            self.h = torch.tensor(h, dtype=torch.float32, device=device)

        def __call__(self, x):
            return 0.5 * ((x @ self.h) * x).sum(dim=1)

        def grad(self, x):
            return x @ self.h

    return ProbeQuadratic


def _rotated(lam_a: float, lam_b: float, angle: float) -> list[list[float]]:
    c, s = math.cos(angle), math.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    return (rotation @ np.diag([lam_a, lam_b]) @ rotation.T).tolist()


# ---------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------


def _function_params(seed: int, device: str) -> dict:
    r = rng(seed, 20)
    if seed == 0:
        lam1, lam2 = 2.5, 0.75
    else:
        lam1, lam2 = round(0.5 + 2.5 * r.random(), 3), round(4 + 16 * r.random(), 3)
        if r.random() < 0.5:
            lam1, lam2 = lam2, lam1
    n = 3 + int(r.random() * 5)
    points = [[round(10 * r.random() - 5, 3) for _ in range(2)] for _ in range(n)]
    return {"seed": seed, "device": device, "lambda_1": lam1, "lambda_2": lam2,
            "points": points}


def probe_function(params: dict, Function) -> dict:
    import torch
    x = torch.tensor(params["points"], dtype=torch.float32, device=params["device"])
    saved = x.clone()
    lam1, lam2 = params["lambda_1"], params["lambda_2"]
    f = call_student(f"Function({lam1}, {lam2})", Function, lam1, lam2)
    values = call_student("func_obj(x)", f, x)
    grads = call_student("func_obj.grad(x)", f.grad, x)
    single = call_student("func_obj(x[:1])", f, x[:1].clone())
    return {"values": to_array(values), "grads": to_array(grads),
            "single_shape": list(getattr(single, "shape", [])),
            "lambda_1": to_float(getattr(f, "lambda_1", None)),
            "lambda_2": to_float(getattr(f, "lambda_2", None)),
            "x_unchanged": bool(torch.equal(x, saved))}


def verdict_function(params: dict, data: dict) -> str:
    """Values and gradients of 1/2 (l1 x1^2 + l2 x2^2) on a batch; deterministic (atol 1e-4)."""
    name, d = "test_function", ProbeData("test_function", data, (
        "values", "grads", "single_shape", "lambda_1", "lambda_2", "x_unchanged"))
    x = np.asarray(params["points"], dtype=float)
    lam = np.array([params["lambda_1"], params["lambda_2"]])
    n = len(x)
    values = _array_or_fail(name, d, "values", "func_obj(x)")
    expected = 0.5 * (x ** 2) @ lam
    if values.shape != (n,):
        raise CheckFailure(name, "value shape", expected=(n,), observed=values.shape,
                           hint=f"one value per point: x has shape ({n}, 2), so f(x) has "
                                f"shape ({n},)")
    if not close(values, expected, rtol=1e-5, atol=1e-4):
        raise CheckFailure(name, "values", expected=show(expected), observed=show(values),
                           hint=_value_hint(values, expected, x, lam))
    if d.items("single_shape") != [1]:
        raise CheckFailure(name, "value shape", expected=[1], observed=d.get("single_shape"),
                           hint="for one point of shape (1, 2) the value has shape (1,)")
    grads = _array_or_fail(name, d, "grads", "func_obj.grad(x)")
    expected = x * lam
    if grads.shape != (n, 2):
        hint = "stack the two partial derivatives as columns (dim=1), not as rows" \
            if grads.shape == (2, n) else f"one gradient row per point: shape ({n}, 2)"
        raise CheckFailure(name, "gradient shape", expected=(n, 2), observed=grads.shape,
                           hint=hint)
    if not close(grads, expected, rtol=1e-5, atol=1e-4):
        raise CheckFailure(name, "gradient", expected=show(expected), observed=show(grads),
                           hint="dE/dx_1 = lambda_1 x_1 and dE/dx_2 = lambda_2 x_2, per point")
    if not (same_number(d.get("lambda_1"), lam[0]) and same_number(d.get("lambda_2"), lam[1])):
        raise CheckFailure(name, "attributes lambda_1 and lambda_2",
                           expected=lam.tolist(), observed=[d.get("lambda_1"), d.get("lambda_2")],
                           hint="store the arguments as self.lambda_1 and self.lambda_2 (the "
                                "notebook reads them)")
    if not d.flag("x_unchanged"):
        raise CheckFailure(name, "input unchanged", expected="x as it was",
                           observed="your code changed x", hint="compute new tensors")
    return f"lambda = {lam.tolist()}, {n} points: values, shapes and gradients"


def _value_hint(values, expected, x, lam):
    if values.shape == expected.shape and close(values, 2 * expected, rtol=1e-5, atol=1e-4):
        return "E has a factor 1/2 in front of each term"
    if close(values, 0.5 * (x ** 2) @ lam[::-1], rtol=1e-5, atol=1e-4):
        return "lambda_1 multiplies x_1 = x[:, 0] and lambda_2 multiplies x_2 = x[:, 1]"
    return "E(x) = lambda_1 x_1^2 / 2 + lambda_2 x_2^2 / 2 for each row of x"


def _array_or_fail(name, d: ProbeData, key, call):
    value = d.get(key)
    array = to_array(value) if value is not None else None
    if array is None:
        raise CheckFailure(name, f"{call} returns a tensor", expected="a tensor",
                           observed=type(value).__name__, hint="return a torch tensor")
    return array


FUNCTION = Check("test_function", probe_function, verdict_function, _function_params,
                 doc="test_function(Function): values and gradients on a batch of points, "
                     "shapes, attributes; deterministic.")

# ---------------------------------------------------------------------------------------
# gradient descent and momentum
# ---------------------------------------------------------------------------------------


def _descent_params(seed: int, device: str, salt: int) -> dict:
    r = rng(seed, salt)
    lam_small, lam_big = round(0.5 + 1.5 * r.random(), 3), round(3 + 9 * r.random(), 3)
    h = _rotated(lam_small, lam_big, angle=0.2 + 1.2 * r.random())
    x0 = [[round(1 + 3 * r.random(), 3) * (1 if r.random() < 0.5 else -1),
           round(1 + 3 * r.random(), 3) * (1 if r.random() < 0.5 else -1)]]
    return {"seed": seed, "device": device, "h": h, "x0": x0,
            "lr": round((0.3 + 0.55 * r.random()) * 2 / lam_big, 4),
            "max_steps": 4 + int(r.random() * 9),
            "momentum": round(0.3 + 0.6 * r.random(), 3)}


def _descent_probe(params: dict, fn, with_momentum: bool) -> dict:
    import torch
    f = _quadratic_class()(params["h"], params["device"])
    x = torch.tensor(params["x0"], dtype=torch.float32, device=params["device"])
    saved = x.clone()
    extra = (params["momentum"],) if with_momentum else ()
    label = "do_momentum_gd" if with_momentum else "do_gradient_descent"
    shown = f"{label}(x, func_obj, max_steps={params['max_steps']}, lr={params['lr']}" + \
        (f", momentum={params['momentum']})" if with_momentum else ")")
    path = call_student(shown, fn, x, f, params["max_steps"], params["lr"], *extra)
    unchanged = bool(torch.equal(x, saved))
    try:
        empty = to_array(call_student(f"{label}(x, func_obj, max_steps=0, lr={params['lr']}"
                                      f"{', ...' if with_momentum else ''})", fn, x.clone(), f,
                                      0, params["lr"], *extra))
    except StudentCodeError as error:
        empty = str(error)
    return {"path": to_array(path), "path_type": type(path).__name__,
            "empty": empty, "x_unchanged": unchanged}


def _gd_path(h, x0, lr, steps, sign=1.0):
    """x_t = x_0 (I - lr H)^t for t = 0..steps (sign=-1 gives the uphill walk)."""
    step = np.eye(2) - sign * lr * np.asarray(h)
    path = [np.asarray(x0, dtype=float).reshape(2)]
    for _ in range(steps):
        path.append(path[-1] @ step)
    return np.array(path)


def _momentum_path(h, x0, lr, steps, momentum, sign=1.0):
    """v_0 = 0, v_{t+1} = momentum v_t - sign lr x_t H, x_{t+1} = x_t + v_{t+1}."""
    h = np.asarray(h)
    x, v = np.asarray(x0, dtype=float).reshape(2), np.zeros(2)
    path = [x]
    for _ in range(steps):
        v = momentum * v - sign * lr * (x @ h)
        x = x + v
        path.append(x)
    return np.array(path)


def _stale_momentum_path(h, x0, lr, steps, momentum):
    """A common slip: x moves by the old velocity before the velocity is updated."""
    h = np.asarray(h)
    x, v = np.asarray(x0, dtype=float).reshape(2), np.zeros(2)
    path = [x]
    for _ in range(steps):
        x, v = x + v, momentum * v - lr * (x @ h)
        path.append(x)
    return np.array(path)


def _descent_verdict(name, params, data, reference, alternatives) -> str:
    d = ProbeData(name, data, ("path", "path_type", "empty", "x_unchanged"))
    steps, x0 = params["max_steps"], np.asarray(params["x0"], dtype=float).reshape(2)
    expected = reference(steps)
    value = d.get("path")
    path = to_array(value) if value is not None else None
    if path is None:
        raise CheckFailure(name, "returns the path as a tensor", expected="a tensor",
                           observed=d.get("path_type"),
                           hint="collect the points in a list and torch.cat them")
    if path.shape != expected.shape:
        hint = ("the path has max_steps + 1 points: the start and one per step"
                if path.ndim == 2 and path.shape[0] in (steps, steps + 2) else
                "each point has shape (1, 2); torch.cat the points along dim 0")
        raise CheckFailure(name, "path shape", expected=expected.shape, observed=path.shape,
                           hint=f"for max_steps={steps}: {hint}")
    if not close(path, expected, rtol=PATH_RTOL, atol=PATH_ATOL):
        _explain_path(name, path, expected, alternatives, x0)
    if not d.flag("x_unchanged"):
        raise CheckFailure(name, "start point not modified", expected=f"x = {x0.tolist()}",
                           observed="your function changed the caller's x in place",
                           hint="start from a copy (x = x.clone()) and update the copy; "
                                "`x -= ...` and `x += ...` write into the caller's tensor")
    empty = d.get("empty")
    shown = empty if isinstance(empty, str) else None
    empty = to_array(empty) if empty is not None and shown is None else None
    if empty is None or empty.shape != (1, 2) or not close(empty[0], x0, rtol=0.0, atol=1e-6):
        raise CheckFailure(name, "max_steps = 0", expected=f"shape (1, 2): [{x0.tolist()}]",
                           observed=shown or (None if empty is None else empty.tolist()),
                           hint="with no steps the path is just the start point")
    return f"{steps} steps from {x0.tolist()} on a rotated quadratic, lr={params['lr']}"


def _explain_path(name, path, expected, alternatives, x0):
    shown = dict(expected=show(expected), observed=show(path))
    if close(path, np.repeat(path[-1:], len(path), axis=0), rtol=0.0, atol=1e-7) and \
            not close(expected, np.repeat(expected[-1:], len(expected), axis=0),
                      rtol=0.0, atol=1e-3):
        raise CheckFailure(name, "path rows are copies", **shown,
                           hint="every row is the same tensor: append x.clone() (or build a "
                                "new tensor each step) instead of the tensor you keep updating")
    if not close(path[0], x0, rtol=0.0, atol=1e-6):
        raise CheckFailure(name, "path starts at x", expected=x0.tolist(),
                           observed=path[0].tolist(), hint="the first row is the start point")
    for prop, other, hint in alternatives:
        if close(path, other, rtol=PATH_RTOL, atol=PATH_ATOL):
            raise CheckFailure(name, prop, **shown, hint=hint)
    raise CheckFailure(name, "path values", **shown,
                       hint="compare your first step with the formula in the notebook")


def _gd_params(seed: int, device: str) -> dict:
    return _descent_params(seed, device, 21)


def probe_do_gradient_descent(params: dict, do_gradient_descent) -> dict:
    return _descent_probe(params, do_gradient_descent, with_momentum=False)


def verdict_do_gradient_descent(params: dict, data: dict) -> str:
    """The path x_t = x_0 (I - lr H)^t, t = 0..max_steps; deterministic (atol/rtol 1e-4)."""
    h, x0, lr = params["h"], params["x0"], params["lr"]

    def reference(steps):
        return _gd_path(h, x0, lr, steps)

    alternatives = [("steps go downhill", _gd_path(h, x0, lr, params["max_steps"], sign=-1.0),
                     "subtract lr * gradient: the gradient points uphill")]
    return _descent_verdict("test_do_gradient_descent", params, data, reference, alternatives)


def _momentum_params(seed: int, device: str) -> dict:
    return _descent_params(seed, device, 22)


def probe_do_momentum_gd(params: dict, do_momentum_gd) -> dict:
    return _descent_probe(params, do_momentum_gd, with_momentum=True)


def verdict_do_momentum_gd(params: dict, data: dict) -> str:
    """v_{t+1} = m v_t - lr grad(x_t), x_{t+1} = x_t + v_{t+1}, v_0 = 0; deterministic."""
    h, x0, lr, m = params["h"], params["x0"], params["lr"], params["momentum"]
    steps = params["max_steps"]

    def reference(n):
        return _momentum_path(h, x0, lr, n, m)

    alternatives = [
        ("steps go downhill", _momentum_path(h, x0, lr, steps, m, sign=-1.0),
         "the velocity gets - lr * gradient: the gradient points uphill"),
        ("momentum used", _gd_path(h, x0, lr, steps),
         "this is plain gradient descent: keep a velocity, v = momentum * v - lr * grad, "
         "and move by it"),
        ("move by the new velocity", _stale_momentum_path(h, x0, lr, steps, m),
         "first update the velocity, then move x by the *new* velocity"),
    ]
    return _descent_verdict("test_do_momentum_gd", params, data, reference, alternatives)


GRADIENT_DESCENT = Check("test_do_gradient_descent", probe_do_gradient_descent,
                         verdict_do_gradient_descent, _gd_params,
                         doc="test_do_gradient_descent(do_gradient_descent): the path on a "
                             "rotated quadratic, its shape, and the caller's x unchanged.")
MOMENTUM = Check("test_do_momentum_gd", probe_do_momentum_gd, verdict_do_momentum_gd,
                 _momentum_params,
                 doc="test_do_momentum_gd(do_momentum_gd): the momentum path on a rotated "
                     "quadratic, its shape, and the caller's x unchanged.")

# ---------------------------------------------------------------------------------------
# largest stable learning rate
# ---------------------------------------------------------------------------------------


def _lr_params(seed: int, device: str) -> dict:
    r = rng(seed, 23)
    small, big = round(0.2 + 2 * r.random(), 3), round(3 + 40 * r.random(), 3)
    same = round(0.5 + 5 * r.random(), 3)
    return {"seed": seed, "device": device,
            "cases": [[small, big], [big, small], [same, same]]}


def probe_largest_stable_lr(params: dict, largest_stable_lr) -> dict:
    quadratic = _quadratic_class()
    rates = []
    for lam1, lam2 in params["cases"]:
        f = quadratic(np.diag([lam1, lam2]).tolist(), params["device"])
        f.lambda_1, f.lambda_2 = lam1, lam2
        rates.append(to_float(call_student(f"largest_stable_lr(Function({lam1}, {lam2}))",
                                           largest_stable_lr, f)))
    return {"rates": rates}


def verdict_largest_stable_lr(params: dict, data: dict) -> str:
    """2 / max(lambda_1, lambda_2) for lambda_1 < lambda_2, > and =; deterministic."""
    name, d = "test_largest_stable_lr", ProbeData("test_largest_stable_lr", data, ("rates",))
    rates = d.items("rates")
    if rates is None or len(rates) != len(params["cases"]):
        raise CheckFailure(name, "probe data", expected=len(params["cases"]), observed=rates)
    for (lam1, lam2), rate in zip(params["cases"], rates):
        expected = 2.0 / max(lam1, lam2)
        if isinstance(rate, float) and math.isclose(rate, expected, rel_tol=1e-6):
            continue
        call = f"largest_stable_lr(Function({lam1}, {lam2}))"
        if isinstance(rate, float) and math.isclose(rate, 2.0 / min(lam1, lam2), rel_tol=1e-6):
            raise CheckFailure(name, "uses the largest eigenvalue", expected=expected,
                               observed=rate, hint=f"{call}: the steepest direction (largest "
                                                   "lambda) is the first to diverge")
        raise CheckFailure(name, "bound is 2 / lambda_max", expected=expected, observed=rate,
                           hint=f"{call}: every direction needs |1 - lr * lambda_i| < 1")
    return "2 / lambda_max for lambda_1 < lambda_2, lambda_1 > lambda_2 and equal lambdas"


LARGEST_STABLE_LR = Check("test_largest_stable_lr", probe_largest_stable_lr,
                          verdict_largest_stable_lr, _lr_params,
                          doc="test_largest_stable_lr(largest_stable_lr): 2 / lambda_max; "
                              "deterministic.")
