"""Checks of Part 4: model1, network and make_layer.

The notebook's definitions:

* ``model1(x)`` for one input vector x of shape (5,), with the given globals w (5,) and
  b (0-dim):  y_hat = sigmoid(x . w + b), a 0-dim tensor.
* ``network(x, params)`` for x of shape (N, D) and params = [(w_1, b_1, h_1), ...,
  (w_L, b_L, h_L)] with w_l of shape (d_{l-1}, d_l), b_l of shape (d_l,) and h_l a function:
  z_0 = x, z_l = h_l(z_{l-1} @ w_l + b_l); the result is z_L with its last dimension
  (d_L = 1) removed: shape (N,), also when N = 1.
* ``make_layer(d0, d1, activation)`` returns (w, b, activation) with w of shape (d0, d1),
  every entry iid N(0, 2/d0) (He initialisation: variance 2 / fan-in), b = zeros(d1), both
  float32 leaf tensors, and the activation function it was given.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..checking import Check, CheckFailure, StudentCodeError, call_student, student_raised
from .common import error_text, fmt, shape_text, to_array
from .data import model1_parameters
from ..probe_data import ProbeData
from ..stats import FALSE_REJECT, dkw_epsilon, inside, ks_normal, mean_bound, variance_interval


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS_NP = {"relu": lambda z: np.maximum(z, 0.0), "sigmoid": _sigmoid,
                  "tanh": np.tanh, "identity": lambda z: z}


def _identity(z):
    return z


ACTIVATIONS_TORCH = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                     "identity": _identity}


# ----------------------------------------------------------------------------- model1

def model1_params(seed: int, device: str) -> dict:
    """Seed 0 and others: three input vectors of length 5 (scale 1, 0.5 and 2) drawn from
    the seed.  model1 reads the notebook's CPU tensors w and b, so its inputs live on the
    CPU whatever ``device`` says."""
    return {"seed": seed, "device": device, "scales": [1.0, 0.5, 2.0]}


def model1_inputs(params: dict):
    rng = np.random.default_rng([params["seed"], 61])
    return [(s * rng.standard_normal(5)).astype(np.float32).astype(float)
            for s in params["scales"]]


def probe_model1(params: dict, model1) -> dict:
    data = {"callable": callable(model1), "argument_type": type(model1).__name__}
    if not data["callable"]:
        return data
    for i, x in enumerate(model1_inputs(params)):
        xt = torch.tensor(x, dtype=torch.float32)
        try:
            out = call_student(f"model1(x) with x = {fmt(x, 3)}", model1, xt)
        except StudentCodeError as error:
            data[f"x{i}_error"] = error_text(error)
            continue
        data[f"x{i}_error"] = None
        data[f"x{i}_is_tensor"] = isinstance(out, torch.Tensor)
        data[f"x{i}_type"] = type(out).__name__
        if isinstance(out, torch.Tensor):
            data[f"x{i}_shape"] = list(out.shape)
            data[f"x{i}_value"] = to_array(out)
    return data


def verdict_model1(params: dict, data: dict) -> str:
    """model1(x) = sigmoid(x . w + b) with the notebook's given w and b (rebuilt here from
    their seed), for three vectors x of length 5 the notebook never uses; a 0-dim tensor,
    within 1e-6 of the float64 value.  Nothing random."""
    check = MODEL1_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your model1 function",
                           observed=pd.text("argument_type"),
                           hint="pass the function itself: test_model1(model1)")
    w, b = (to_array(t) for t in model1_parameters())
    b = float(b)
    for i, x in enumerate(model1_inputs(params)):
        call = f"model1(x) with x = {fmt(x, 4)}"
        error = pd.text(f"x{i}_error", optional=True)
        if error is not None:
            raise student_raised(check, error,
                                 hint="use the given tensors w and b and torch operations")
        if not pd.flag(f"x{i}_is_tensor"):
            raise CheckFailure(check, "returns a tensor", expected="a 0-dim tensor",
                               observed=f"{pd.text(f'x{i}_type')} ({call})",
                               hint="compute with torch operations on x, w and b")
        shape = pd.shape(f"x{i}_shape")
        if shape != ():
            raise CheckFailure(check, "output shape", expected="() (one number per input vector)",
                               observed=f"{shape_text(shape)} ({call})",
                               hint="x . w is an inner product: x @ w sums the products "
                                    "(x * w does not)")
        value = float(pd.array(f"x{i}_value", shape=()))
        z = float(x @ w + b)
        reference = float(_sigmoid(z))
        if not abs(value - reference) <= 1e-6:
            hint = "y_hat = sigmoid(x . w + b)"
            for candidate, text in ((z, "you return x . w + b: apply the sigmoid"),
                                    (float(_sigmoid(x @ w)), "the bias b is missing"),
                                    (max(z, 0.0), "use the sigmoid, not relu")):
                if abs(value - candidate) <= 1e-5:
                    hint = text
            raise CheckFailure(check, "values", expected=f"{reference:.7g} ({call})",
                               observed=f"{value:.7g}", hint=hint)
    return "sigmoid(x . w + b) with the given w and b on three new inputs"


MODEL1_NAME = "test_model1"
MODEL1 = Check(MODEL1_NAME, probe_model1, verdict_model1, model1_params,
               doc="test_model1(model1): model1(x) = sigmoid(x . w + b) with the given w and b, "
                   "a 0-dim tensor, on inputs the notebook does not use.")


# ----------------------------------------------------------------------------- network

def network_params(seed: int, device: str) -> dict:
    """Seed 0: N = 6 samples, D = 5, hidden sizes 7 and 3; other seeds: N in 3..12,
    D in 2..9, hidden sizes 2..9 and 2..6, with N != D != first hidden size."""
    if seed == 0:
        n, d, h1, h2 = 6, 5, 7, 3
    else:
        rng = np.random.default_rng([seed, 71])
        while True:
            n, d = int(rng.integers(3, 13)), int(rng.integers(2, 10))
            h1, h2 = int(rng.integers(2, 10)), int(rng.integers(2, 7))
            if len({n, d, h1}) == 3:
                break
    return {"seed": seed, "device": device, "n": n, "d": d,
            "cases": {
                "two_layers": {"n": n, "layers": [[d, h1, "relu"], [h1, 1, "sigmoid"]]},
                "three_layers": {"n": n, "layers": [[d, h1, "tanh"], [h1, h2, "identity"],
                                                    [h2, 1, "sigmoid"]]},
                "one_sample": {"n": 1, "layers": [[d, h1, "relu"], [h1, 1, "sigmoid"]]},
                "linear": {"n": n, "layers": [[d, 1, "identity"]]},
            }}


def network_inputs(params: dict, case: str):
    """x (n, D) and [(w, b, activation name), ...] for one case, float32-exact values.

    Weights ~ N(0, 1/fan-in), biases ~ N(0, 0.5^2) (non-zero, so a missing bias shows).
    """
    spec = params["cases"][case]
    rng = np.random.default_rng([params["seed"], 72, sorted(params["cases"]).index(case)])

    def f32(a):
        return np.asarray(a, dtype=np.float32).astype(float)

    x = f32(rng.standard_normal((spec["n"], spec["layers"][0][0])))
    layers = [(f32(rng.standard_normal((d0, d1)) / math.sqrt(d0)),
               f32(0.5 * rng.standard_normal(d1)), act) for d0, d1, act in spec["layers"]]
    return x, layers


def forward_np(x, layers, variant="pinned"):
    """z_l = h_l(z_{l-1} @ w_l + b_l), squeezed; variants are the usual mistakes (hints)."""
    z = x
    for i, (w, b, act) in enumerate(layers):
        h = ACTIVATIONS_NP[act]
        last = i == len(layers) - 1
        if variant == "no_bias":
            z = h(z @ w)
        elif variant == "activation_first":
            z = h(z) @ w + b
        elif variant == "no_last_activation" and last:
            z = z @ w + b
        else:
            z = h(z @ w + b)
    return z[:, 0]


def probe_network(params: dict, network) -> dict:
    data = {"callable": callable(network), "argument_type": type(network).__name__}
    if not data["callable"]:
        return data
    device = torch.device(params["device"])
    for case in params["cases"]:
        x, layers = network_inputs(params, case)
        xt = torch.tensor(x, dtype=torch.float32, device=device)
        tensors = [(torch.tensor(w, dtype=torch.float32, device=device, requires_grad=True),
                    torch.tensor(b, dtype=torch.float32, device=device, requires_grad=True),
                    ACTIVATIONS_TORCH[act]) for w, b, act in layers]
        what = (f"network(x, params) with x of shape {tuple(x.shape)} and layers "
                + " -> ".join(f"{w.shape[0]}x{w.shape[1]} {act}" for w, _, act in layers))
        try:
            out = call_student(what, network, xt, tensors)
        except StudentCodeError as error:
            data[f"{case}_error"] = error_text(error)
            continue
        data[f"{case}_error"] = None
        is_tensor = isinstance(out, torch.Tensor)
        data[f"{case}_is_tensor"] = is_tensor
        data[f"{case}_type"] = type(out).__name__
        if not is_tensor:
            continue
        data[f"{case}_shape"] = list(out.shape)
        data[f"{case}_device"] = out.device.type
        data[f"{case}_values"] = to_array(out)
        data[f"{case}_first_weight_grad"] = False
        if out.requires_grad:
            try:
                call_student("network(x, params).sum().backward()", out.sum().backward)
            except StudentCodeError:
                pass
            data[f"{case}_first_weight_grad"] = tensors[0][0].grad is not None
    return data


def verdict_network(params: dict, data: dict) -> str:
    """network(x, params): z_l = h_l(z_{l-1} @ w_l + b_l), output squeezed to shape (N,).

    Four cases, all with the check's own activations (torch.relu, torch.tanh, an identity,
    torch.sigmoid) and non-square float32 weights and non-zero biases: two layers, three
    layers (tanh, identity, sigmoid), two layers on a single sample (the output must have
    shape (1,), so .squeeze() without a dimension fails), and one linear layer.  Values
    within 1e-5 (relative and absolute) of the float64 forward pass; the gradient must reach
    the first layer's weights.  Nothing random.
    """
    check = NETWORK_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your network function",
                           observed=pd.text("argument_type"),
                           hint="pass the function itself: test_network(network)")
    device = torch.device(params["device"]).type
    for case in params["cases"]:
        x, layers = network_inputs(params, case)
        n = x.shape[0]
        call = (f"x of shape {shape_text(x.shape)}, layers "
                + " -> ".join(f"({w.shape[0]}, {w.shape[1]}) {act}" for w, _, act in layers))
        error = pd.text(f"{case}_error", optional=True)
        if error is not None:
            raise student_raised(
                check, error,
                hint="z has one row per sample: z @ w with w of shape (d_in, d_out); each layer "
                     "uses the previous layer's output, not x")
        if not pd.flag(f"{case}_is_tensor"):
            raise CheckFailure(check, "returns a tensor", expected="a tensor of shape (N,)",
                               observed=f"{pd.text(f'{case}_type')} ({call})",
                               hint="compute with torch operations")
        shape = pd.shape(f"{case}_shape")
        if shape != (n,):
            prop = "output shape with one sample" if n == 1 else "output shape"
            hint = ("squeeze only the last dimension, z.squeeze(-1): .squeeze() also removes "
                    "the batch dimension when N = 1" if n == 1 else
                    "the last layer gives shape (N, 1); remove the last dimension to get (N,)")
            raise CheckFailure(check, prop, expected=shape_text((n,)),
                               observed=f"{shape_text(shape)} ({call})", hint=hint)
        if pd.text(f"{case}_device") != device:
            raise CheckFailure(check, "device", expected=f"a tensor on {device}",
                               observed=pd.text(f"{case}_device"),
                               hint="compute from x and the parameters only")
        out = pd.array(f"{case}_values", shape=(n,))
        reference = forward_np(x, layers)
        if not np.allclose(out, reference, rtol=1e-5, atol=1e-5):
            hint = ("for each layer in order: z = h(z @ w + b), starting from z = x, with the "
                    "activation h the layer comes with")
            for variant, text in (
                    ("no_bias", "the bias is not added"),
                    ("activation_first", "the activation is applied before the linear map; "
                                         "it comes after: h(z @ w + b)"),
                    ("no_last_activation", "the last layer's activation is not applied")):
                if np.allclose(out, forward_np(x, layers, variant), rtol=1e-5, atol=1e-5):
                    hint = text
            raise CheckFailure(check, "values", expected=f"{fmt(reference)} ({call})",
                               observed=fmt(out), hint=hint)
        if not pd.flag(f"{case}_first_weight_grad"):
            raise CheckFailure(check, "gradient reaches the weights",
                               expected="the first layer's w.grad set by output.sum().backward()",
                               observed=f"no gradient ({call})",
                               hint="use torch operations on the given tensors; .detach(), "
                                    ".data, numpy or new tensors cut the gradient")
    return ("z = h(z @ w + b) layer by layer, output of shape (N,) (also for N = 1), 1 to 3 "
            "layers with the given activations, gradient reaches the weights")


NETWORK_NAME = "test_network"
NETWORK = Check(NETWORK_NAME, probe_network, verdict_network, network_params,
                doc="test_network(network): network(x, params) on networks of 1 to 3 layers "
                    "with the check's own parameters and activations; output shape (N,).")


# ----------------------------------------------------------------------------- make_layer

SAMPLES_PER_SHAPE = 12_000


def make_layer_params(seed: int, device: str) -> dict:
    """Two wide-apart shapes with about 12 000 weights each, and a (k, 1) output layer.

    Seed 0: (300, 40), (24, 500), (7, 1).  Other seeds: d0 in 200..400 with d1 = 12000 // d0
    (fan-in 3.3..13 times the fan-out), then d0 in 16..40 with d1 = 12000 // d0 (fan-out 7.5..
    47 times the fan-in), and (k, 1) with k in 3..12.  The first shape is drawn twice.
    """
    if seed == 0:
        shapes = [[300, 40], [24, 500], [7, 1]]
    else:
        rng = np.random.default_rng([seed, 81])
        a, c = int(rng.integers(200, 401)), int(rng.integers(16, 41))
        shapes = [[a, SAMPLES_PER_SHAPE // a], [c, SAMPLES_PER_SHAPE // c],
                  [int(rng.integers(3, 13)), 1]]
    return {"seed": seed, "device": device, "shapes": shapes, "repeat": 0}


def _calls(params):
    """(label, d0, d1): the shapes in order, then the first shape again."""
    calls = [(f"s{i}", d0, d1) for i, (d0, d1) in enumerate(params["shapes"])]
    d0, d1 = params["shapes"][params["repeat"]]
    return calls + [("again", d0, d1)]


def probe_make_layer(params: dict, make_layer) -> dict:
    data = {"callable": callable(make_layer), "argument_type": type(make_layer).__name__}
    if not data["callable"]:
        return data
    torch.manual_seed(int(np.random.default_rng([params["seed"], 82]).integers(2 ** 31 - 1)))
    for label, d0, d1 in _calls(params):
        def activation(z):  # a function no student code can know in advance
            return z
        try:
            result = call_student(f"make_layer({d0}, {d1}, activation)", make_layer, d0, d1,
                                  activation)
        except StudentCodeError as error:
            data[f"{label}_error"] = error_text(error)
            continue
        data[f"{label}_error"] = None
        ok = isinstance(result, (tuple, list)) and len(result) == 3
        data[f"{label}_structure"] = ok
        data[f"{label}_type"] = (f"{type(result).__name__} of {len(result)} items"
                                 if isinstance(result, (tuple, list)) else type(result).__name__)
        if not ok:
            continue
        w, b, h = result
        data[f"{label}_activation_kept"] = h is activation
        for key, t in (("w", w), ("b", b)):
            is_tensor = isinstance(t, torch.Tensor)
            data[f"{label}_{key}_is_tensor"] = is_tensor
            data[f"{label}_{key}_type"] = type(t).__name__
            if is_tensor:
                data[f"{label}_{key}_shape"] = list(t.shape)
                data[f"{label}_{key}_dtype"] = str(t.dtype)
                data[f"{label}_{key}_leaf"] = bool(t.is_leaf)
                data[f"{label}_{key}_values"] = to_array(t)
    return data


def _std_hint(d0: int, d1: int, ratio: float) -> str:
    """The usual mistake whose standard deviation matches the observed one (ratio = observed
    variance / (2 / d0))."""
    target = math.sqrt(2.0 / d0)
    observed = target * math.sqrt(max(ratio, 0.0))
    for std, text in (
            (math.sqrt(2.0 / d1), "sqrt(2 / d1): the fan-out instead of the fan-in d0"),
            (2.0 / d0, "2 / d0: the variance used as the standard deviation"),
            (2.0 / d1, "2 / d1: the variance of the fan-out used as the standard deviation"),
            (1.0 / math.sqrt(d0), "1 / sqrt(d0): He's factor 2 is missing"),
            (math.sqrt(2.0 / (d0 + d1)), "sqrt(2 / (d0 + d1)): Glorot's rule, not He's"),
            (1.0, "1: the weights are not scaled")):
        if abs(observed / std - 1.0) < 0.05:
            return (f"your weights have standard deviation {text}; He initialisation draws "
                    f"w with variance 2 / d0, standard deviation sqrt(2 / d0)")
    return "He initialisation: variance 2 / d0 (the number of inputs), standard deviation sqrt(2 / d0)"


def verdict_make_layer(params: dict, data: dict) -> str:
    """make_layer(d0, d1, activation) -> (w, b, activation), w ~ N(0, 2/d0) iid of shape (d0, d1),
    b = zeros(d1), both float32 leaf tensors, the activation returned as given.

    Statistics on the weights standardised by the He standard deviation sqrt(2 / d0), pooled
    over the calls (seed 0: 12 000 + 12 000 + 7 + 12 000 = 36 007 values; other seeds at
    least 35 264), three tests each at alpha = 1e-9 / 3 (Bonferroni, so a correct make_layer
    is rejected with probability < 1e-9 in all):
      * mean: exactly N(0, 1/n), rejected beyond z = 6.28 standard errors, |mean| > 0.034;
      * mean of squares: chi2(n)/n, accepted inside its Chernoff interval [0.951, 1.051]
        (std within -2.5 % .. +2.5 %).  The wrong scales it meets are far outside:
        1/sqrt(d0) gives a pooled variance ratio of 0.5; the fan-out sqrt(2/d1) is >= 1.8
        times too large on the first shape (fan-in >= 3.3 times the fan-out) and >= 2.7 times
        too small on the second; Glorot's sqrt(2/(d0+d1)) is >= 65 % too small on the second
        shape (pooled ratio <= 0.7); 2/d0 as the std is >= 10 times too small;
      * distribution: the empirical CDF within the DKW bound (0.018) of the normal CDF, on
        a grid of 61 points; a uniform with the right variance is 0.057 away.
    The repeated first shape must give different weights (a seed reset inside make_layer
    fails); a correct one repeats with probability 0 in float32.
    """
    check = MAKE_LAYER_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your make_layer function",
                           observed=pd.text("argument_type"),
                           hint="pass the function itself: test_make_layer(make_layer)")
    pooled, arrays = [], {}
    for label, d0, d1 in _calls(params):
        call = f"make_layer({d0}, {d1}, activation)"
        error = pd.text(f"{label}_error", optional=True)
        if error is not None:
            raise student_raised(check, error,
                                 hint="call make_layer yourself with these sizes")
        if not pd.flag(f"{label}_structure"):
            raise CheckFailure(check, "returns (w, b, activation)",
                               expected="a tuple (w, b, activation)",
                               observed=f"{pd.text(f'{label}_type')} ({call})",
                               hint="return the weights, the biases and the activation function "
                                    "as a tuple, in that order")
        if not pd.flag(f"{label}_activation_kept"):
            raise CheckFailure(check, "activation returned",
                               expected="the activation function make_layer was given",
                               observed=f"another object ({call})",
                               hint="the third element is the activation argument itself "
                                    "(network(x, params) calls it)")
        for key, shape, name in (("w", (d0, d1), "weights"), ("b", (d1,), "bias")):
            if not pd.flag(f"{label}_{key}_is_tensor"):
                raise CheckFailure(check, f"{name} shape", expected=f"a tensor of shape "
                                                                    f"{shape_text(shape)}",
                                   observed=f"{pd.text(f'{label}_{key}_type')} ({call})",
                                   hint="create the parameters with torch functions")
            observed = pd.shape(f"{label}_{key}_shape")
            if observed != shape:
                hint = ("w has one row per input and one column per output: shape (d0, d1), "
                        "so that z @ w works" if key == "w"
                        else "one bias per output unit: shape (d1,)")
                raise CheckFailure(check, f"{name} shape", expected=shape_text(shape),
                                   observed=f"{shape_text(observed)} ({call})", hint=hint)
            dtype = pd.text(f"{label}_{key}_dtype")
            if dtype != "torch.float32":
                raise CheckFailure(check, "dtype", expected=f"{name} of dtype torch.float32",
                                   observed=f"{dtype} ({call})",
                                   hint="the digits data are float32: keep torch's default "
                                        "dtype (no .double(), no numpy arrays)")
            if not pd.flag(f"{label}_{key}_leaf"):
                raise CheckFailure(
                    check, "weights are leaf tensors",
                    expected=f"{name}: a leaf tensor (created directly, then scaled in place "
                             f"or without requires_grad)", observed=f"a computed tensor ({call})",
                    hint="torch.randn(..., requires_grad=True) * scale is the result of a "
                         "multiplication, whose .grad stays None; scale first and leave "
                         "requires_grad to enable_gradients (or call .requires_grad_() at the end)")
        b = pd.array(f"{label}_b_values", shape=(d1,))
        if not np.all(b == 0):
            raise CheckFailure(check, "bias zero", expected="b = zeros(d1)",
                               observed=f"{fmt(b)} ({call})",
                               hint="the biases start at 0; only the weights are random")
        w = pd.array(f"{label}_w_values", shape=(d0, d1))
        arrays[label] = w
        if w.size >= 50 and np.unique(w).size < 0.5 * w.size:
            raise CheckFailure(check, "weights random",
                               expected="independent random entries (almost all different)",
                               observed=f"{np.unique(w).size} different values among {w.size} "
                                        f"({call})",
                               hint="draw the whole (d0, d1) matrix at random, e.g. torch.randn")
        pooled.append(w.ravel() / math.sqrt(2.0 / d0))
    if np.array_equal(arrays["again"], arrays[f"s{params['repeat']}"]):
        raise CheckFailure(check, "layers identical",
                           expected="two calls with the same sizes give different weights",
                           observed="identical weights",
                           hint="do not reset the random seed (torch.manual_seed) inside "
                                "make_layer")
    z = np.concatenate(pooled)
    n = z.size
    alpha = FALSE_REJECT / 3
    bound = mean_bound(n, 1.0, alpha)
    mean = float(z.mean())
    if not abs(mean) <= bound:
        raise CheckFailure(check, "weight mean",
                           expected=f"mean 0 (|mean / sqrt(2/d0)| <= {bound:.3g}, {n} weights)",
                           observed=f"mean / sqrt(2/d0) = {mean:.4g}",
                           hint="draw from a normal distribution centred on 0")
    lo, hi = variance_interval(n, alpha)
    ratio = float(np.mean(z ** 2))
    if not inside(ratio, (lo, hi)):
        d0, d1 = params["shapes"][0]
        first = float(np.mean(pooled[0] ** 2))
        c0, c1 = params["shapes"][1]
        second = float(np.mean(pooled[1] ** 2))
        hint = _std_hint(d0, d1, first)
        if hint.startswith("He"):
            hint = _std_hint(c0, c1, second)
        raise CheckFailure(
            check, "weight std",
            expected=f"variance 2 / d0: std {math.sqrt(2 / d0):.4g} for d0 = {d0} and "
                     f"{math.sqrt(2 / c0):.4g} for d0 = {c0} (pooled ratio to it "
                     f"{math.sqrt(lo):.3f} .. {math.sqrt(hi):.3f})",
            observed=f"std {math.sqrt(2 / d0 * first):.4g} for make_layer({d0}, {d1}, .), "
                     f"{math.sqrt(2 / c0 * second):.4g} for make_layer({c0}, {c1}, .)",
            hint=hint)
    distance, epsilon = ks_normal(z, 1.0), dkw_epsilon(n, alpha)
    if not distance <= epsilon:
        raise CheckFailure(check, "weight distribution",
                           expected=f"normal: CDF within {epsilon:.3g} of the normal CDF",
                           observed=f"largest CDF difference {distance:.3g}",
                           hint="draw from a normal distribution (torch.randn), not a uniform "
                                "one with the same variance")
    shapes = ", ".join(shape_text(s) for s in params["shapes"])
    return (f"shapes {shapes}, zero float32 biases, {n} weights ~ N(0, 2/d0), activation "
            f"returned")


MAKE_LAYER_NAME = "test_make_layer"
MAKE_LAYER = Check(MAKE_LAYER_NAME, probe_make_layer, verdict_make_layer, make_layer_params,
                   doc="test_make_layer(make_layer): shapes (d0, d1) and (d1,), float32 leaf "
                       "tensors, zero biases, He-initialised weights N(0, 2/d0) (statistical "
                       "test, false-reject < 1e-9), the activation returned.")
