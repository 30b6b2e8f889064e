"""Checks of Part 3, the network's components: sigmoid, relu, bce_loss, stable_bce_loss.

The notebook's definitions, elementwise on tensors of any shape:

    sigmoid(x) = 1 / (1 + exp(-x))                 d sigmoid / dx = sigmoid(x) (1 - sigmoid(x))
    relu(x)    = max(0, x)                         d relu / dx = 1 for x > 0, 0 for x < 0

and for labels y in {0, 1} and predictions y_hat in [0, 1], both of shape (N,),

    bce_loss(y, y_hat) = -(1/N) sum_i [ y_i log(y_hat_i) + (1 - y_i) log(1 - y_hat_i) ]

a 0-dim tensor, with dL/dy_hat_i = (y_hat_i - y_i) / (N y_hat_i (1 - y_hat_i)).
``stable_bce_loss`` is the same loss, but finite (value and gradient) when some y_hat_i are
exactly 0 or 1: a perfect prediction costs (about) 0, a confidently wrong one a large but
finite amount.

Every check feeds non-square float32 tensors and float64 vectors on the parameters' device,
compares with numpy references, and reads the gradient autograd gives.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..checking import Check, CheckFailure, StudentCodeError, call_student, student_raised
from .common import error_text, fmt, shape_text, to_array
from ..probe_data import ProbeData

EXTREMES = [-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0]
DTYPES = {"f32": torch.float32, "f64": torch.float64}


# ----------------------------------------------------------------------------- activations

def activation_params(seed: int, device: str) -> dict:
    """Seed 0: a (3, 7) float32 input of scale 4 and 11 float64 values; other seeds: rows
    2..6, columns 7..12 (never square), 5..20 float64 values, scale 2..6."""
    if seed == 0:
        return {"seed": 0, "device": device, "rows": 3, "cols": 7, "n": 11, "scale": 4.0}
    rng = np.random.default_rng([seed, 41])
    return {"seed": seed, "device": device, "rows": int(rng.integers(2, 7)),
            "cols": int(rng.integers(7, 13)), "n": int(rng.integers(5, 21)),
            "scale": round(float(rng.uniform(2.0, 6.0)), 2)}


def activation_inputs(params: dict) -> dict:
    """name -> numpy input: 'f32' (rows, cols), 'f64' (n,), 'extreme' (7,) and 'grad' (n,).

    Values are kept at least 1e-3 away from 0, where relu's derivative is not defined.
    """
    rng = np.random.default_rng([params["seed"], 42])

    def draw(shape):
        x = params["scale"] * rng.standard_normal(shape)
        return np.where(np.abs(x) < 1e-3, 0.5, x)

    return {"f32": draw((params["rows"], params["cols"])).astype(np.float32).astype(float),
            "f64": draw((params["n"],)), "extreme": np.array(EXTREMES),
            "grad": draw((params["n"],))}


def _case_dtype(case: str):
    return torch.float64 if case in ("f64", "grad") else torch.float32


def probe_activation(params: dict, fn, name: str) -> dict:
    """Run the activation on every input; report type, shape, dtype, device, values, gradient."""
    data = {"callable": callable(fn), "argument_type": type(fn).__name__}
    if not data["callable"]:
        return data
    device = torch.device(params["device"])
    for case, values in activation_inputs(params).items():
        x = torch.tensor(values, dtype=_case_dtype(case), device=device,
                         requires_grad=(case == "grad"))
        before = x.detach().clone()
        what = f"{name}(x) with x a {str(x.dtype)[6:]} tensor of shape {tuple(x.shape)}"
        try:
            out = call_student(what, fn, x)
            if case == "grad" and isinstance(out, torch.Tensor) and out.requires_grad:
                call_student(f"{name}(x).sum().backward()", out.sum().backward)
        except StudentCodeError as error:
            data[f"{case}_error"] = error_text(error)
            continue
        data[f"{case}_error"] = None
        is_tensor = isinstance(out, torch.Tensor)
        data[f"{case}_type"] = type(out).__name__
        data[f"{case}_is_tensor"] = is_tensor
        data[f"{case}_input_changed"] = not torch.equal(x.detach(), before)
        if is_tensor:
            data[f"{case}_shape"] = list(out.shape)
            data[f"{case}_dtype"] = str(out.dtype)
            data[f"{case}_device"] = out.device.type
            data[f"{case}_values"] = to_array(out)
            data[f"{case}_requires_grad"] = bool(out.requires_grad)
        if case == "grad":
            data["input_grad"] = None if x.grad is None else to_array(x.grad)
    return data


def _sigmoid_ref(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))),
                        np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def _relu_ref(x):
    return np.maximum(x, 0.0)


SPECS = {
    "sigmoid": {"ref": _sigmoid_ref, "grad": lambda x: _sigmoid_ref(x) * (1 - _sigmoid_ref(x)),
                "formula": "1 / (1 + exp(-x))"},
    "relu": {"ref": _relu_ref, "grad": lambda x: (x > 0).astype(float),
             "formula": "max(0, x)"},
}


def _activation_value_hint(name: str, x, out) -> str:
    if name == "sigmoid":
        if np.allclose(out, _sigmoid_ref(-x), atol=1e-5):
            return "your values are sigmoid(-x): the exponent is exp(-x), with a minus sign"
        return "sigmoid(x) = 1 / (1 + exp(-x)), elementwise"
    if np.allclose(out, np.abs(x), atol=1e-5):
        return "your values are |x|: relu keeps positive values and sets negative ones to 0"
    if np.allclose(out, np.clip(x, 0, 1), atol=1e-5):
        return "relu has no upper limit: only negative values are set to 0"
    return "relu(x) = max(0, x) for every entry, the positive values unchanged"


def verdict_activation(check: str, name: str, params: dict, data: dict) -> str:
    """Shared verdict of the two activations (see :func:`verdict_sigmoid`)."""
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected=f"your {name} function",
                           observed=pd.text("argument_type"),
                           hint=f"pass the function itself: {check}({name})")
    spec = SPECS[name]
    inputs = activation_inputs(params)
    device = torch.device(params["device"]).type
    for case, x in inputs.items():
        dtype = str(_case_dtype(case))
        call = f"{name}(x), x a {dtype[6:]} tensor of shape {shape_text(x.shape)}"
        error = pd.text(f"{case}_error", optional=True)
        if error is not None:
            prop = "works with autograd" if case == "grad" else "your code raised an exception"
            hint = ("use torch operations only: numpy or math functions cannot handle a tensor "
                    "that requires grad" if case == "grad"
                    else "call your function on a small tensor and read the traceback")
            raise CheckFailure(check, prop, observed=error, hint=hint)
        if not pd.flag(f"{case}_is_tensor"):
            raise CheckFailure(check, "returns a tensor", expected="a torch tensor",
                               observed=f"{pd.text(f'{case}_type')} ({call})",
                               hint="compute with torch operations so that the result is a "
                                    "tensor (numpy or math give other types)")
        shape = pd.shape(f"{case}_shape")
        if shape != x.shape:
            raise CheckFailure(check, "output shape", expected=shape_text(x.shape),
                               observed=f"{shape_text(shape)} ({call})",
                               hint=f"{name} works elementwise: one output per input entry "
                                    f"(no reduction over the tensor)")
        if pd.text(f"{case}_dtype") != dtype:
            raise CheckFailure(check, "dtype", expected=dtype,
                               observed=f"{pd.text(f'{case}_dtype')} ({call})",
                               hint="keep the input's dtype: build the result from x with "
                                    "torch operations (no torch.tensor(...) of new numbers)")
        if pd.text(f"{case}_device") != device:
            raise CheckFailure(check, "device", expected=f"a tensor on {device}",
                               observed=f"{pd.text(f'{case}_device')} ({call})",
                               hint="compute from x so the result stays on x's device")
        if pd.flag(f"{case}_input_changed"):
            raise CheckFailure(check, "input unchanged", expected="x left as it was",
                               observed=f"{name}(x) changed x in place ({call})",
                               hint="in-place operations (x[x < 0] = 0, x.exp_(), ...) "
                                    "overwrite the caller's tensor; return a new tensor")
        out = pd.array(f"{case}_values", shape=x.shape)
        reference = spec["ref"](x)
        if case == "extreme" and not np.all(np.isfinite(out)):
            raise CheckFailure(
                check, "finite for large inputs",
                expected=f"{name}({fmt(x, 4, 8)}) = {fmt(reference, 3, 8)}",
                observed=fmt(out, 3, 8),
                hint="exp(x) overflows to inf in float32 for x > 88, and inf / inf is nan: "
                     "write the formula so that only exp(-x) appears, 1 / (1 + exp(-x))")
        atol = 1e-10 if dtype == "torch.float64" else 2e-6
        if not np.allclose(out, reference, rtol=1e-5, atol=atol):
            bad = int(np.argmax(np.abs(out - reference).ravel()))
            raise CheckFailure(
                check, "values",
                expected=f"{name}({fmt(x.ravel()[bad])}) = {fmt(reference.ravel()[bad], 7)}",
                observed=f"{fmt(out.ravel()[bad], 7)} ({call})",
                hint=_activation_value_hint(name, x, out))
    x = inputs["grad"]
    if not pd.flag("grad_requires_grad"):
        raise CheckFailure(check, "works with autograd",
                           expected=f"{name}(x) requires grad when x does",
                           observed="requires_grad=False",
                           hint="compute with torch operations on x; .detach(), .data, numpy "
                                "or torch.tensor(...) cut the gradient")
    grad = pd.array("input_grad", optional=True)
    reference = spec["grad"](x)
    if grad is None or grad.shape != x.shape or not np.allclose(grad, reference, rtol=1e-6,
                                                               atol=1e-10):
        raise CheckFailure(check, "gradient",
                           expected=f"x.grad = {fmt(reference)} after {name}(x).sum().backward()",
                           observed="None" if grad is None else fmt(grad),
                           hint=f"compute {spec['formula']} with differentiable torch operations")
    return (f"{spec['formula']} on float32 {shape_text(inputs['f32'].shape)} and float64 "
            f"inputs, large inputs, dtype/device kept, gradient")


def probe_sigmoid(params: dict, sigmoid) -> dict:
    return probe_activation(params, sigmoid, "sigmoid")


def verdict_sigmoid(params: dict, data: dict) -> str:
    """sigmoid(x) = 1 / (1 + exp(-x)) elementwise: on a non-square float32 tensor and a float64
    vector (tolerance 2e-6 and 1e-10 absolute, 1e-5 relative: float32's rounding is 6e-8),
    on -1000 ... 1000 (finite: 0 and 1 at the ends), keeping shape, dtype, device and the
    input, and with x.grad = s (1 - s) after sigmoid(x).sum().backward().  Nothing random."""
    return verdict_activation(SIGMOID_NAME, "sigmoid", params, data)


def probe_relu(params: dict, relu) -> dict:
    return probe_activation(params, relu, "relu")


def verdict_relu(params: dict, data: dict) -> str:
    """relu(x) = max(0, x) elementwise: values (exact up to 2e-6), shape, dtype, device, the
    input left unchanged, and x.grad = 1 where x > 0, 0 where x < 0 (inputs avoid 0).
    Nothing random."""
    return verdict_activation(RELU_NAME, "relu", params, data)


SIGMOID_NAME, RELU_NAME = "test_sigmoid", "test_relu"
SIGMOID = Check(SIGMOID_NAME, probe_sigmoid, verdict_sigmoid, activation_params,
                doc="test_sigmoid(sigmoid): values 1/(1+exp(-x)) on float32 and float64 tensors "
                    "of other shapes, finite for large |x|, dtype/device kept, gradient.")
RELU = Check(RELU_NAME, probe_relu, verdict_relu, activation_params,
             doc="test_relu(relu): values max(0, x) on float32 and float64 tensors of other "
                 "shapes, input unchanged, dtype/device kept, gradient.")


# ----------------------------------------------------------------------------- losses

def loss_params(seed: int, device: str) -> dict:
    """Seed 0: N = 9 predictions (3 perfect, 4 interior in the exact-0/1 test);
    other seeds: N in 5..40, 2..6 perfect and 3..8 interior ones."""
    if seed == 0:
        return {"seed": 0, "device": device, "n": 9, "n_perfect": 3, "n_inner": 4}
    rng = np.random.default_rng([seed, 51])
    return {"seed": seed, "device": device, "n": int(rng.integers(5, 41)),
            "n_perfect": int(rng.integers(2, 7)), "n_inner": int(rng.integers(3, 9))}


def _labels(rng, n):
    y = rng.integers(0, 2, n).astype(float)
    y[0], y[-1] = 1.0, 0.0  # both classes
    return y


def loss_inputs(params: dict, stable: bool) -> dict:
    """case -> (y, y_hat, dtype name): float32 and float64 predictions in [0.03, 0.97];
    for the stable loss also 'perfect' (some y_hat exactly equal to y, the others inside)
    and 'wrong' (y = 1, 0, 1 predicted 0, 1, 0 exactly)."""
    rng = np.random.default_rng([params["seed"], 52])
    n = params["n"]
    cases = {}
    for case in ("f32", "f64"):
        y = _labels(rng, n)
        y_hat = rng.uniform(0.03, 0.97, n)
        if case == "f32":
            y_hat = y_hat.astype(np.float32).astype(float)
        cases[case] = (y, y_hat, case)
    if stable:
        k, m = params["n_perfect"], params["n_inner"]
        perfect = np.array([float(i % 2 == 0) for i in range(k)])
        y = np.concatenate([perfect, _labels(rng, m)])
        y_hat = np.concatenate([perfect, rng.uniform(0.03, 0.97, m)])
        cases["perfect"] = (y, y_hat.astype(np.float32).astype(float), "f32")
        cases["wrong"] = (np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]), "f32")
    return cases


def bce_terms(y, y_hat):
    """-(y log y_hat + (1 - y) log(1 - y_hat)) per sample, with 0 log 0 = 0 (a perfect
    prediction costs 0; a confidently wrong one inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y > 0, y * np.log(np.where(y > 0, y_hat, 1.0)), 0.0)
        b = np.where(y < 1, (1 - y) * np.log(np.where(y < 1, 1 - y_hat, 1.0)), 0.0)
    return -(a + b)


def probe_loss(params: dict, fn, name: str, stable: bool) -> dict:
    data = {"callable": callable(fn), "argument_type": type(fn).__name__}
    if not data["callable"]:
        return data
    device = torch.device(params["device"])
    for case, (y, y_hat, dtype) in loss_inputs(params, stable).items():
        yt = torch.tensor(y, dtype=DTYPES[dtype], device=device)
        pt = torch.tensor(y_hat, dtype=DTYPES[dtype], device=device, requires_grad=True)
        what = f"{name}(y, y_hat) with {len(y)} {str(DTYPES[dtype])[6:]} labels and predictions"
        try:
            out = call_student(what, fn, yt, pt)
        except StudentCodeError as error:
            data[f"{case}_error"] = error_text(error)
            continue
        data[f"{case}_error"] = None
        is_tensor = isinstance(out, torch.Tensor)
        data[f"{case}_type"] = type(out).__name__
        data[f"{case}_is_tensor"] = is_tensor
        if not is_tensor:
            continue
        data[f"{case}_shape"] = list(out.shape)
        data[f"{case}_value"] = to_array(out)
        data[f"{case}_requires_grad"] = bool(out.requires_grad)
        data[f"{case}_grad"] = None
        data[f"{case}_grad_error"] = None
        if out.requires_grad and out.numel() == 1:
            try:
                call_student(f"{name}(y, y_hat).backward()", out.backward)
            except StudentCodeError as error:
                data[f"{case}_grad_error"] = error_text(error)
            if pt.grad is not None:
                data[f"{case}_grad"] = to_array(pt.grad)
    return data


def _loss_value_hint(value, y, y_hat) -> str:
    terms = bce_terms(y, y_hat)
    reference, n = float(np.mean(terms)), len(y)
    if not math.isfinite(value):
        return ("the loss is not finite on predictions strictly between 0 and 1: check the "
                "argument order, bce_loss(y, y_hat), labels first")
    for candidate, text in (
            (n * reference, "the sum over the samples: take the mean"),
            (-reference, "the negative of the loss: the formula starts with a minus sign"),
            (reference / math.log(10), "log base 10: use the natural logarithm, torch.log"),
            (reference / math.log(2), "log base 2: use the natural logarithm, torch.log"),
            (float(np.mean(-y * np.log(y_hat))), "only the y log(y_hat) term: add "
                                                   "(1 - y) log(1 - y_hat)")):
        if math.isclose(value, candidate, rel_tol=1e-4, abs_tol=1e-6):
            return f"your value is {text}"
    return ("mean over the samples of -(y log(y_hat) + (1 - y) log(1 - y_hat)), with labels "
            "first: bce_loss(y, y_hat)")


def _check_scalar(check, pd, case, call, name):
    error = pd.text(f"{case}_error", optional=True)
    if error is not None:
        raise student_raised(check, error,
                             hint="call your function on small tensors and read the traceback")
    if not pd.flag(f"{case}_is_tensor"):
        raise CheckFailure(check, "returns a tensor", expected="a 0-dim torch tensor",
                           observed=f"{pd.text(f'{case}_type')} ({call})",
                           hint="keep the loss a tensor (no .item(), float() or numpy), so that "
                                "loss.backward() can train the network")
    shape = pd.shape(f"{case}_shape")
    if shape != ():
        raise CheckFailure(check, "scalar output", expected="a 0-dim tensor, shape ()",
                           observed=f"shape {shape_text(shape)} ({call})",
                           hint="average the per-sample losses into one number (torch.mean)")
    if not pd.flag(f"{case}_requires_grad"):
        raise CheckFailure(check, "differentiable", expected="a loss that requires grad "
                                                             "(y_hat does)",
                           observed=f"requires_grad=False ({call})",
                           hint="compute with torch operations on y_hat; numpy, .detach() or "
                                "torch.tensor(...) cut the gradient")
    return float(pd.array(f"{case}_value", shape=()))


def _check_gradient(check, pd, case, call, reference, rtol, atol):
    error = pd.text(f"{case}_grad_error", optional=True)
    grad = pd.array(f"{case}_grad", optional=True)
    if error is not None or grad is None or grad.shape != reference.shape \
            or not np.allclose(grad, reference, rtol=rtol, atol=atol):
        observed = (f"backward() raised: {error}" if error is not None else
                    "y_hat.grad is None" if grad is None else fmt(grad))
        raise CheckFailure(check, "gradient",
                           expected=f"d loss / d y_hat = {fmt(reference)} ({call})",
                           observed=observed,
                           hint="compute the loss from y_hat with torch operations, so that "
                                "backward() reaches y_hat")


def verdict_loss(check: str, name: str, params: dict, data: dict, stable: bool) -> str:
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected=f"your {name} function",
                           observed=pd.text("argument_type"),
                           hint=f"pass the function itself: {check}({name})")
    cases = loss_inputs(params, stable)
    for case in ("f32", "f64"):
        y, y_hat, dtype = cases[case]
        n = len(y)
        call = f"{name}(y, y_hat) with N = {n} ({str(DTYPES[dtype])[6:]})"
        value = _check_scalar(check, pd, case, call, name)
        reference = float(np.mean(bce_terms(y, y_hat)))
        if stable:
            tol = 1e-3 * (1 + abs(reference))
        else:
            tol = (1e-5 if dtype == "f32" else 1e-9) * (1 + abs(reference))
        if not (math.isfinite(value) and abs(value - reference) <= tol):
            raise CheckFailure(check, "value", expected=f"{reference:.7g} ({call})",
                               observed=f"{value:.7g}", hint=_loss_value_hint(value, y, y_hat))
        grad_ref = (y_hat - y) / (n * y_hat * (1 - y_hat))
        rtol = 2e-2 if stable else (1e-4 if dtype == "f32" else 1e-8)
        _check_gradient(check, pd, case, call, grad_ref, rtol, 1e-3 * np.max(np.abs(grad_ref))
                        if stable else 1e-8)
    if not stable:
        return "mean binary cross-entropy (float32 and float64) and its gradient"
    y, y_hat, _ = cases["perfect"]
    k = params["n_perfect"]
    call = (f"{name}(y, y_hat) with y_hat exactly equal to y for {k} of the {len(y)} samples "
            f"(y = {fmt(y[:k], 2, 8)}, y_hat = {fmt(y_hat[:k], 2, 8)}, ...)")
    value = _check_scalar(check, pd, "perfect", call, name)
    reference = float(np.mean(bce_terms(y, y_hat)))
    if not math.isfinite(value):
        raise CheckFailure(
            check, "finite for predictions of exactly 0 or 1",
            expected=f"{reference:.6g}: a perfect prediction costs 0 ({call})",
            observed=f"{value}",
            hint="0 * log(0) is nan in floating point: keep log's argument away from 0, e.g. "
                 "clamp y_hat to [eps, 1 - eps] with a small eps such as 1e-6")
    if abs(value - reference) > 1e-3 * (1 + reference):
        raise CheckFailure(check, "value with predictions of exactly 0 or 1",
                           expected=f"{reference:.6g} ({call})", observed=f"{value:.6g}",
                           hint="a perfect prediction should cost (almost) nothing: use a "
                                "small eps (1e-7 .. 1e-5), not a large one")
    grad = pd.array("perfect_grad", optional=True)
    if grad is None or not np.all(np.isfinite(grad)):
        raise CheckFailure(
            check, "finite gradient",
            expected=f"a finite d loss / d y_hat ({call})",
            observed="y_hat.grad is None" if grad is None else f"y_hat.grad = {fmt(grad, 3, 8)}",
            hint="torch.where computes both branches, and the gradient of the unused log(0) "
                 "branch is 0 * inf = nan; clamp y_hat (or add eps inside the logs) instead")
    call = f"{name}(y, y_hat) with y = [1, 0, 1] and y_hat = [0, 1, 0] (confidently wrong)"
    value = _check_scalar(check, pd, "wrong", call, name)
    if not (math.isfinite(value) and 5.0 <= value <= 1000.0):
        raise CheckFailure(
            check, "confidently wrong predictions",
            expected=f"a large but finite loss, between 5 and 1000 ({call})",
            observed=f"{value:.6g}",
            hint="log(0) = -inf: keep both log arguments at least eps away from 0 (for "
                 "example clamp y_hat to [eps, 1 - eps]); the loss is then about -log(eps); "
                 "in float32, 1 - eps rounds to 1 when eps < 6e-8")
    grad = pd.array("wrong_grad", optional=True)
    if grad is None or not np.all(np.isfinite(grad)):
        raise CheckFailure(check, "finite gradient",
                           expected=f"a finite d loss / d y_hat ({call})",
                           observed="y_hat.grad is None" if grad is None else fmt(grad),
                           hint="keep the logs' arguments away from 0 (clamp or eps)")
    return ("mean binary cross-entropy and its gradient; finite loss and gradient for "
            "predictions of exactly 0 and 1")


def probe_bce_loss(params: dict, bce_loss) -> dict:
    return probe_loss(params, bce_loss, "bce_loss", stable=False)


def verdict_bce_loss(params: dict, data: dict) -> str:
    """bce_loss(y, y_hat): mean binary cross-entropy, a 0-dim tensor that backpropagates.

    Predictions in [0.03, 0.97] (float32 and float64, N from the parameters); the value must
    agree with the numpy reference within 1e-5 (float32; 1e-9 for float64) relative to 1 +
    the loss, and y_hat.grad after backward() with (y_hat - y) / (N y_hat (1 - y_hat)).
    Nothing random.  Wrong values are compared with the usual mistakes (sum, sign, log base,
    one term only, swapped arguments) for the hint.
    """
    return verdict_loss(BCE_NAME, "bce_loss", params, data, stable=False)


def probe_stable_bce_loss(params: dict, stable_bce_loss) -> dict:
    return probe_loss(params, stable_bce_loss, "stable_bce_loss", stable=True)


def verdict_stable_bce_loss(params: dict, data: dict) -> str:
    """stable_bce_loss(y, y_hat): the mean binary cross-entropy, finite at y_hat = 0 and 1.

    On predictions in [0.03, 0.97] it must equal the exact loss within 1e-3 (1 + loss),
    which admits the usual fixes (clamping to [eps, 1 - eps] or adding eps inside the logs,
    eps up to about 1e-5: the change is at most eps / 0.03 per sample), and its gradient
    within 2 %.  With some predictions exactly equal to their labels the loss must be finite,
    within 1e-3 of the exact value (perfect predictions cost 0), with a finite gradient.
    With confidently wrong predictions (y = 1, y_hat = 0) the loss must be finite and between
    5 and 1000 (-log(eps) for any eps between 1e-434 and 6.7e-3), with a finite gradient.
    Nothing random.
    """
    return verdict_loss(STABLE_BCE_NAME, "stable_bce_loss", params, data, stable=True)


BCE_NAME, STABLE_BCE_NAME = "test_bce_loss", "test_stable_bce_loss"
BCE_LOSS = Check(BCE_NAME, probe_bce_loss, verdict_bce_loss, loss_params,
                 doc="test_bce_loss(bce_loss): mean binary cross-entropy as a 0-dim tensor, "
                     "its value and its gradient, on float32 and float64 inputs.")
STABLE_BCE_LOSS = Check(STABLE_BCE_NAME, probe_stable_bce_loss, verdict_stable_bce_loss,
                        loss_params,
                        doc="test_stable_bce_loss(stable_bce_loss): the binary cross-entropy, "
                            "and a finite loss and gradient when predictions are exactly 0 "
                            "or 1.")
