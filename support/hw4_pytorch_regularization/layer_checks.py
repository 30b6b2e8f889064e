"""Checks of the linear layers the notebook builds: LinearZeros, LinearNormal, LinearKaiming.

The notebook's layer with ``in_dimensions = d`` and ``out_dimensions = e``:

* ``self.weights``, an ``nn.Parameter`` W of shape (d, e), and ``self.bias``, an
  ``nn.Parameter`` b of shape (e,): these two and no other parameters;
* ``forward(x) = x @ W + b`` for a batch x of shape (N, d), giving shape (N, e);
* initialisation: zeros (LinearZeros); every entry of W and b iid N(0, 1) (LinearNormal);
  W iid N(0, 1/d), i.e. standard deviation 1/sqrt(d), and b = 0 (LinearKaiming: the name the
  reference homework gives it, though variance 1/d is LeCun's rule; He's, 2/d, is hw1's).

Every check builds layers of non-square shapes drawn from its parameters (a transposed W
fails), tests the forward pass with parameter values it writes into the layer itself (so a
zero-initialised layer still shows whether it adds its bias), and the random initialisations
on many instances pooled together.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math

import numpy as np
import torch
from torch import nn

from ..checking import Check, CheckFailure, StudentCodeError, call_student, student_raised
from ..numeric import to_array as _to_array
from ..probe_data import ProbeData
from ..stats import (FALSE_REJECT, dkw_epsilon, inside, ks_normal, mean_bound,
                     variance_interval)

PARAMS = ("weights", "bias")
FORWARD_STREAM = 1  # numpy random stream of the forward inputs (x, W, b)
FORWARD_TOLERANCE = 2e-3  # relative to the largest output entry (float32, TF32 on GPUs)


# ----------------------------------------------------------------------------- parameters

def _draw_shape(seed: int, low_in: int, high_in: int, low_out: int, high_out: int):
    rng = np.random.default_rng([seed, 0])
    while True:
        d, e = int(rng.integers(low_in, high_in + 1)), int(rng.integers(low_out, high_out + 1))
        if d != e:
            return rng, d, e


def _batch(rng, *avoid) -> int:
    while True:
        n = int(rng.integers(3, 41))
        if n not in avoid:
            return n


def zeros_params(seed: int, device: str) -> dict:
    """Seed 0: a (37, 23) layer on a batch of 11; other seeds: d != e in 2..64."""
    if seed == 0:
        return {"seed": 0, "device": device, "in": 37, "out": 23, "batch": 11}
    rng, d, e = _draw_shape(seed, 2, 64, 2, 64)
    return {"seed": seed, "device": device, "in": d, "out": e, "batch": _batch(rng, d, e)}


NORMAL_BIAS_SAMPLES = 30_000
KAIMING_WEIGHT_SAMPLES = 100_000


def normal_params(seed: int, device: str) -> dict:
    """Seed 0: (13, 61) layers; other seeds: d in 4..16, e in 50..120 (wide, for many biases).

    ``instances`` layers are pooled so that at least 30 000 biases (and far more weights)
    are tested: see :func:`verdict_normal` for why.
    """
    if seed == 0:
        d, e, n = 13, 61, 29
    else:
        rng, d, e = _draw_shape(seed, 4, 16, 50, 120)
        n = _batch(rng, d, e)
    return {"seed": seed, "device": device, "in": d, "out": e, "batch": n,
            "instances": math.ceil(NORMAL_BIAS_SAMPLES / e)}


def kaiming_params(seed: int, device: str) -> dict:
    """Seed 0: (64, 16) layers; other seeds: fan-in and fan-out differ by a factor 3..5.

    A factor of at least 3 makes 1/sqrt(out) (fan-out) at least 42 % off and keeps
    sqrt(2/out) (torch's kaiming_normal_ defaults on an (in, out) tensor) away from the
    answer (they agree when out = 2 in); d >= 8 makes 1/d (variance used as standard
    deviation) at least 2.8 times too small.
    ``instances`` layers are pooled for at least 100 000 weights.
    """
    if seed == 0:
        d, e, n = 64, 16, 29
    else:
        rng = np.random.default_rng([seed, 0])
        a, k = int(rng.integers(8, 41)), int(rng.integers(3, 6))
        d, e = (a, a * k) if rng.random() < 0.5 else (a * k, a)
        n = _batch(rng, d, e)
    return {"seed": seed, "device": device, "in": d, "out": e, "batch": n,
            "instances": math.ceil(KAIMING_WEIGHT_SAMPLES / (d * e))}


def forward_inputs(params: dict, weights_shape=None, bias_shape=None):
    """The forward test's x (N, d) and the values W, b written into the layer (float32-exact).

    The probe passes the shapes the student's tensors have; the verdict the shapes they must
    have (it only gets here when those agree).
    """
    rng = np.random.default_rng([params["seed"], FORWARD_STREAM])
    d, e = params["in"], params["out"]
    x = rng.standard_normal((params["batch"], d))
    w = rng.standard_normal(tuple(weights_shape or (d, e)))
    b = rng.standard_normal(tuple(bias_shape or (e,)))
    return tuple(a.astype(np.float32).astype(np.float64) for a in (x, w, b))


# ----------------------------------------------------------------------------- probe

# A tensor's values as a numpy array, float32 kept (the verdicts reason about float32 rounding).
to_array = functools.partial(_to_array, dtype=None)

def describe_layer(layer) -> dict:
    """What a layer instance holds: its `weights` and `bias`, as registered parameters or not."""
    registered = list(layer.parameters()) if isinstance(layer, nn.Module) else []
    data = {"parameter_count": len(registered),
            "parameter_shapes": [list(p.shape) for p in registered],
            "default_dtype": str(torch.get_default_dtype())}
    for attr in PARAMS:
        value = getattr(layer, attr, None)
        is_tensor = isinstance(value, torch.Tensor)
        data[f"{attr}_type"] = "missing" if value is None else type(value).__name__
        data[f"{attr}_is_tensor"] = is_tensor
        data[f"{attr}_is_parameter"] = isinstance(value, nn.Parameter)
        data[f"{attr}_registered"] = any(p is value for p in registered)
        data[f"{attr}_shape"] = list(value.shape) if is_tensor else None
        data[f"{attr}_dtype"] = str(value.dtype) if is_tensor else None
        data[f"{attr}_init"] = to_array(value) if is_tensor else None
    return data


def _probe_forward(params: dict, layer, name: str) -> dict:
    """Write known values into W and b, run forward on a batch, report the output."""
    data = {"forward_error": None, "output_type": None, "output_shape": None,
            "output_requires_grad": None, "output": None}
    device = torch.device(params["device"])
    weights, bias = layer.weights, layer.bias
    x, w, b = forward_inputs(params, weights.shape, bias.shape)
    try:
        call_student(f"{name}(...).to(device)", layer.to, device)
        weights, bias = layer.weights, layer.bias
        with torch.no_grad():
            weights.copy_(torch.as_tensor(w, dtype=weights.dtype, device=weights.device))
            bias.copy_(torch.as_tensor(b, dtype=bias.dtype, device=bias.device))
        xt = torch.as_tensor(x, dtype=torch.get_default_dtype(), device=device)
        out = call_student(f"{name}(...)(x) with x of shape {tuple(xt.shape)}", layer, xt)
    except StudentCodeError as error:
        data["forward_error"] = f"{error}" + (f" (at {error.detail})" if error.detail else "")
        return data
    data["output_type"] = type(out).__name__
    if isinstance(out, torch.Tensor):
        data["output_shape"] = list(out.shape)
        data["output_requires_grad"] = bool(out.requires_grad)
        data["output"] = to_array(out)
    return data


def _probe_layer(params: dict, layer_class, name: str, pool: bool) -> dict:
    """Build the student's layer; describe it, run its forward, and pool more instances."""
    is_class = isinstance(layer_class, type)
    data = {"is_module_class": is_class and issubclass(layer_class, nn.Module),
            "argument_type": type(layer_class).__name__}
    if not data["is_module_class"]:
        return data
    d, e = params["in"], params["out"]
    layer = call_student(f"{name}({d}, {e})", layer_class, d, e)
    data.update(describe_layer(layer))
    usable = data["weights_is_tensor"] and data["bias_is_tensor"]
    if pool and usable:
        weights, biases = [data["weights_init"]], [data["bias_init"]]
        with contextlib.redirect_stdout(io.StringIO()):  # a debugging print, hundreds of times
            for _ in range(params["instances"] - 1):
                other = call_student(f"{name}({d}, {e})", layer_class, d, e)
                weights.append(to_array(other.weights))
                biases.append(to_array(other.bias))
        data["pool_weights"] = np.stack(weights)
        data["pool_bias"] = np.stack(biases)
    if usable:
        data.update(_probe_forward(params, layer, name))
    return data


# ----------------------------------------------------------------------------- verdicts

def _shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def verdict_structure(check: str, params: dict, pd: ProbeData, name: str) -> None:
    """Attributes, registration, shapes and dtype of `weights` and `bias`."""
    if not pd.flag("is_module_class"):
        raise CheckFailure(check, "argument", expected="your layer class (a subclass of nn.Module)",
                           observed=pd.text("argument_type"),
                           hint=f"pass the class itself, {name}, not an instance of it")
    d, e = params["in"], params["out"]
    for attr, shape in zip(PARAMS, ((d, e), (e,))):
        if not pd.flag(f"{attr}_is_tensor"):
            raise CheckFailure(
                check, f"{attr} attribute",
                expected=f"self.{attr}: a tensor of shape {_shape_text(shape)}",
                observed=f"self.{attr} is {pd.text(f'{attr}_type')}",
                hint=f"store the parameter in __init__ under the exact name self.{attr}")
    for attr in PARAMS:
        if not (pd.flag(f"{attr}_is_parameter") and pd.flag(f"{attr}_registered")):
            raise CheckFailure(
                check, f"{attr} registered as parameters",
                expected=f"self.{attr} is an nn.Parameter listed by layer.parameters()",
                observed=f"self.{attr} is a {pd.text(f'{attr}_type')} that "
                         f"layer.parameters() does not list",
                hint="wrap the tensor in nn.Parameter(...) and assign it to self after "
                     "super().__init__(); otherwise the optimiser never sees it")
    count = pd.integer("parameter_count")
    if count != 2:
        raise CheckFailure(
            check, "extra parameters",
            expected="exactly 2 parameters: weights and bias",
            observed=f"{count} parameters of shapes {repr(pd.data.get('parameter_shapes'))[:120]}",
            hint="the layer owns exactly one weight matrix and one bias vector; do not "
                 "keep other parameters or sub-modules (an nn.Linear inside, say)")
    weights_shape, bias_shape = pd.shape("weights_shape"), pd.shape("bias_shape")
    if weights_shape != (d, e):
        hint = ("W has shape (in_dimensions, out_dimensions) so that x @ W maps a batch of "
                "rows of length in to rows of length out")
        if weights_shape == (e, d):
            hint += "; (out, in) is torch.nn.Linear's layout, not this notebook's"
        raise CheckFailure(check, "weights shape", expected=_shape_text((d, e)),
                           observed=_shape_text(weights_shape) + f" for {name}({d}, {e})",
                           hint=hint)
    if bias_shape != (e,):
        raise CheckFailure(check, "bias shape", expected=_shape_text((e,)),
                           observed=_shape_text(bias_shape) + f" for {name}({d}, {e})",
                           hint="the bias is a vector with one entry per output dimension")
    default = pd.text("default_dtype")
    for attr in PARAMS:
        dtype = pd.text(f"{attr}_dtype")
        if dtype != default:
            raise CheckFailure(
                check, "parameter dtype", expected=f"{attr} of dtype {default}",
                observed=dtype,
                hint="create the parameters with torch functions (default dtype); a numpy "
                     "array converted to a tensor is float64 and clashes with float32 data")


def verdict_forward(check: str, params: dict, pd: ProbeData, name: str) -> None:
    """forward(x) = x @ W + b on the probe's x and the values the probe wrote into W, b."""
    error = pd.text("forward_error", optional=True)
    if error is not None:
        raise student_raised(check, error,
                             hint="run your layer on a small batch and read the traceback")
    out_type = pd.text("output_type")
    if out_type not in ("Tensor", "Parameter"):
        raise CheckFailure(check, "output type", expected="a torch tensor", observed=out_type,
                           hint="forward must return a tensor computed with torch operations")
    x, w, b = forward_inputs(params)
    expected_shape = (params["batch"], params["out"])
    shape = pd.shape("output_shape")
    if shape != expected_shape:
        raise CheckFailure(check, "output shape", expected=_shape_text(expected_shape),
                           observed=_shape_text(shape) + f" for x of shape {_shape_text(x.shape)}",
                           hint="x holds one example per row: (N, in) @ (in, out) gives (N, out)")
    out = pd.array("output", shape=expected_shape)
    reference = x @ w + b
    # float32 products; 2e-3 of the output's scale also admits TF32 matmuls on a GPU, while a
    # missing or mis-scaled bias (entries ~N(0, 1)) is off by about 1.
    tolerance = FORWARD_TOLERANCE * max(1.0, float(np.max(np.abs(reference))))
    if not np.allclose(out, reference, rtol=0.0, atol=tolerance):
        hint = "forward computes x @ weights + bias, the bias added to every row"
        if np.allclose(out, x @ w, rtol=0.0, atol=tolerance):
            hint = "the output equals x @ weights: the bias is not added"
        raise CheckFailure(
            check, "forward values",
            expected=f"x @ W + b (first row {np.round(reference[0, :3], 4).tolist()}...)",
            observed=f"first row {np.round(out[0, :3], 4).tolist()}..., largest error "
                     f"{float(np.max(np.abs(out - reference))):.3g}",
            hint=hint + " (tested with non-zero W and b written into your layer)")
    if not pd.flag("output_requires_grad"):
        raise CheckFailure(check, "output differentiable",
                           expected="an output that requires grad (it depends on W and b)",
                           observed="requires_grad=False",
                           hint="compute the output with torch operations on self.weights and "
                                "self.bias; .detach(), .data or numpy cut the gradient")


def verdict_linear_zeros(params: dict, data: dict) -> str:
    """LinearZeros: registered (in, out) weights and (out,) bias, zero-initialised, and
    forward(x) = x @ weights + bias (tested with non-zero values written into the layer)."""
    check = LINEAR_ZEROS.name
    pd = ProbeData(check, data)
    verdict_structure(check, params, pd, "LinearZeros")
    d, e = params["in"], params["out"]
    for attr, shape in zip(PARAMS, ((d, e), (e,))):
        values = pd.array(f"{attr}_init", shape=shape)
        if not np.all(values == 0):
            raise CheckFailure(check, f"{attr} zero", expected=f"every entry of {attr} 0",
                               observed=f"{int(np.sum(values != 0))} non-zero entries, largest "
                                        f"|{attr}| = {float(np.max(np.abs(values))):.3g}",
                               hint="this layer starts from all-zero parameters")
    verdict_forward(check, params, pd, "LinearZeros")
    return (f"weights {_shape_text((d, e))} and bias {_shape_text((e,))} registered and zero; "
            f"forward = x @ W + b")


def _distinct_instances(pool: np.ndarray) -> int:
    return len({instance.tobytes() for instance in pool})


def verdict_pool_independence(check: str, pools: dict) -> None:
    """Instances differ from each other; entries within an instance are not repeated.

    ``pools`` maps "weights" (and "bias") to the (instances, ...) arrays of the pooled layers.
    """
    for what, pool in pools.items():
        k = len(pool)
        distinct = _distinct_instances(pool)
        if distinct < k:
            raise CheckFailure(
                check, "instances identical",
                expected=f"{k} layers with different random {what}",
                observed=f"only {distinct} different among {k} instances",
                hint="every new layer must draw fresh random numbers; do not reset the random "
                     "seed (torch.manual_seed) inside __init__")
    for what, pool in pools.items():
        # float32 normal draws repeat a value about once in 10^7 pairs: a correct layer has
        # (almost) all entries different; one row, column or number copied has at most half.
        first = pool[:8].reshape(-1)
        fraction = np.unique(first).size / first.size
        if not fraction > 0.5:
            raise CheckFailure(
                check, f"{what} independent",
                expected=f"every entry of the {what} drawn independently (almost all values "
                         f"different)",
                observed=f"only {fraction:.0%} of the entries are different values",
                hint="draw every entry at random; a row, a column or one number copied across "
                     "the tensor makes units identical")


def verdict_normal_sample(check: str, what: str, values: np.ndarray, std: float, alpha: float,
                          std_hint) -> str:
    """Spread, mean and shape of iid N(0, std^2) draws, each tested at level alpha.

    The spread comes first: a wrong scale is the usual mistake, and it would also inflate the
    mean's z-score (which assumes the right std).  The spread statistic is the mean of
    squares (the mean is known to be 0), so a shifted distribution fails one of the two.
    """
    n = values.size
    mean = float(values.mean())
    ratio = float(np.mean(values ** 2)) / std ** 2
    lo, hi = variance_interval(n, alpha)
    if not inside(ratio, (lo, hi)):
        observed = float(np.std(values))
        raise CheckFailure(
            check, f"{what} std",
            expected=f"standard deviation {std:.4g} (accepted {std * math.sqrt(lo):.4g} .. "
                     f"{std * math.sqrt(hi):.4g}, {n} values)",
            observed=f"standard deviation {observed:.4g}, mean {mean:.3g}",
            hint=std_hint(observed))
    bound = mean_bound(n, std, alpha)
    if not abs(mean) <= bound:
        raise CheckFailure(check, f"{what} mean", expected=f"mean 0 +- {bound:.3g} ({n} values)",
                           observed=f"mean {mean:.4g}",
                           hint=f"the {what} entries are drawn from a normal distribution "
                                f"centred on 0")
    distance = ks_normal(values, std)
    epsilon = dkw_epsilon(n, alpha)
    if not distance <= epsilon:
        raise CheckFailure(
            check, f"{what} distribution",
            expected=f"a normal distribution: CDF within {epsilon:.3g} of the normal CDF",
            observed=f"largest CDF difference {distance:.3g} (right mean and spread, wrong shape)",
            hint="draw from a normal (Gaussian) distribution; a uniform one with the same "
                 "variance, say, has the right spread but the wrong shape")
    plural = {"weight": "weights", "bias": "biases"}.get(what, what)
    return f"{n} {plural} ~ N(0, {std:.3g}^2)"


def verdict_normal(params: dict, data: dict) -> str:
    """LinearNormal: the LinearZeros structure and forward, with every entry of the weights
    and of the bias iid N(0, 1), and a fresh draw for every new layer.

    Statistics (six tests, each at alpha = 1e-9 / 6, so z = 6.39; seed 0 numbers): K = 492
    layers of shape (13, 61) are pooled, n_b = 492 * 61 = 30 012 biases and
    n_w = 492 * 793 = 390 156 weights.  The sample mean of n N(0, 1) values is N(0, 1/n):
    rejected beyond 6.39 / sqrt(n) (0.037 for the biases).  The mean of squares is chi2(n)/n:
    its Chernoff interval is [0.945, 1.057] for n_b, i.e. a standard deviation within
    [0.972, 1.028]; one 5 % off (variance 1.1025 or 0.9025, standard error 0.009) lies more
    than 5 standard errors outside, so it is caught with probability > 0.9999995, and for
    the weights (interval +-0.8 % in std) always.  The empirical CDF is compared with the
    normal CDF (DKW bound, epsilon = 0.020 for n_b): a uniform with variance 1 is 0.057 away.
    Every layer must differ (a seed reset in __init__ fails); a correct layer repeats an
    instance with probability 0 in float32.
    """
    check = NORMAL.name
    pd = ProbeData(check, data)
    verdict_structure(check, params, pd, "LinearNormal")
    k, d, e = params["instances"], params["in"], params["out"]
    weights = pd.array("pool_weights", shape=(k, d, e))
    bias = pd.array("pool_bias", shape=(k, e))
    if np.unique(bias).size <= 1:
        raise CheckFailure(check, "bias random", expected="bias entries drawn from N(0, 1)",
                           observed=f"every bias entry is {bias.flat[0]:.3g}",
                           hint="LinearNormal draws the bias at random too, like the weights")
    verdict_pool_independence(check, {"weights": weights, "bias": bias})
    alpha = FALSE_REJECT / 6

    def std_hint(observed):
        return "every weight and bias entry has standard deviation 1 (variance 1)"

    summary = verdict_normal_sample(check, "weight", weights, 1.0, alpha, std_hint)
    summary += ", " + verdict_normal_sample(check, "bias", bias, 1.0, alpha, std_hint)
    verdict_forward(check, params, pd, "LinearNormal")
    return f"{summary} over {k} layers; forward = x @ W + b"


def kaiming_std_hint(d: int, e: int):
    """A hint naming the usual mistake whose standard deviation matches the observed one."""
    mistakes = [
        (math.sqrt(2.0 / d), "sqrt(2 / in_dimensions), He's rule (variance 2 / in_dimensions); "
                             "LinearKaiming uses LeCun's variance 1 / in_dimensions"),
        (1.0 / math.sqrt(e), "1 / sqrt(out_dimensions): the fan-out instead of the fan-in"),
        (math.sqrt(2.0 / e), "sqrt(2 / out_dimensions): the fan-out and He's gain"),
        (1.0 / d, "1 / in_dimensions: the variance used as the standard deviation"),
        (1.0, "1: the weights are not scaled at all"),
    ]

    def hint(observed):
        for std, text in mistakes:
            if abs(observed / std - 1.0) < 0.02:
                return f"your standard deviation matches {text}"
        return ("scale a standard normal draw so that its standard deviation is "
                "1 / sqrt(in_dimensions), i.e. variance 1 / in_dimensions")
    return hint


def verdict_kaiming(params: dict, data: dict) -> str:
    """LinearKaiming: the LinearZeros structure and forward, with weights iid N(0, 1/in)
    (standard deviation 1/sqrt(in_dimensions)) and a zero bias.

    Statistics (three tests, each at alpha = 1e-9 / 3, so z = 6.28; seed 0 numbers): K = 98
    layers of shape (64, 16), n = 100 352 weights, each divided by 1/sqrt(64) so that they
    are N(0, 1) under the hypothesis.  Mean: rejected beyond 6.28 / sqrt(n) = 0.020 standard
    deviations.  Variance: the mean of squares is chi2(n)/n; Chernoff interval [0.970, 1.030],
    i.e. a standard deviation within [0.985, 1.015] of 1/sqrt(in).  A standard deviation 3 %
    off (variance ratio 1.061 or 0.941, standard error 0.0047) is more than 6 standard
    errors outside: always caught; He's sqrt(2/in) (41 % off), the fan-out 1/sqrt(out)
    (100 % off at seed 0; at least 42 % at any seed) and 1/in (8 times too small) are far
    outside.  Shape: DKW epsilon 0.011 against the uniform's 0.057.
    """
    check = KAIMING.name
    pd = ProbeData(check, data)
    verdict_structure(check, params, pd, "LinearKaiming")
    k, d, e = params["instances"], params["in"], params["out"]
    weights = pd.array("pool_weights", shape=(k, d, e))
    bias = pd.array("pool_bias", shape=(k, e))
    verdict_pool_independence(check, {"weights": weights})
    if not np.all(bias == 0):
        raise CheckFailure(check, "bias zero", expected="every bias entry 0",
                           observed=f"{int(np.sum(bias != 0))} non-zero entries among "
                                    f"{bias.size}, largest |b| = {float(np.max(np.abs(bias))):.3g}",
                           hint="LinearKaiming starts with a zero bias; only W is random")
    std = 1.0 / math.sqrt(d)
    summary = verdict_normal_sample(check, "weight", weights, std, FALSE_REJECT / 3,
                                    kaiming_std_hint(d, e))
    verdict_forward(check, params, pd, "LinearKaiming")
    return (f"{summary} (1/sqrt({d})) over {k} layers of shape ({d}, {e}), bias 0; "
            f"forward = x @ W + b")


# ----------------------------------------------------------------------------- checks

def probe_linear_zeros(params: dict, LinearZeros) -> dict:
    return _probe_layer(params, LinearZeros, "LinearZeros", pool=False)


def probe_normal(params: dict, LinearNormal) -> dict:
    return _probe_layer(params, LinearNormal, "LinearNormal", pool=True)


def probe_kaiming(params: dict, LinearKaiming) -> dict:
    return _probe_layer(params, LinearKaiming, "LinearKaiming", pool=True)


LINEAR_ZEROS = Check(
    "test_linear_zeros", probe_linear_zeros, verdict_linear_zeros, zeros_params,
    doc="test_linear_zeros(LinearZeros): checks that LinearZeros(d, e) registers weights of "
        "shape (d, e) and a bias of shape (e,) as parameters, both zero, and that "
        "forward(x) = x @ weights + bias.")

NORMAL = Check(
    "test_normal", probe_normal, verdict_normal, normal_params,
    doc="test_normal(LinearNormal): checks the layer's structure and forward pass, and that "
        "the weights and the bias of many new layers are independent N(0, 1) draws.")

KAIMING = Check(
    "test_kaiming", probe_kaiming, verdict_kaiming, kaiming_params,
    doc="test_kaiming(LinearKaiming): checks the layer's structure and forward pass, that "
        "the weights of many new layers are independent N(0, 1/in_dimensions) draws "
        "(standard deviation 1/sqrt(in_dimensions)) and that the bias is zero.")
