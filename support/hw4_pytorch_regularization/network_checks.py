"""The check of the notebook's network, ``test_build(model, layertype, dropout_type, type)``.

The network is an ``nn.Sequential`` of five ``layertype`` layers of sizes
1 -> 20 -> 20 -> 20 -> 20 -> 1 (four hidden layers of 20 units), an ``nn.ReLU()`` after
each layer but the last and, when ``dropout_type`` is given, one ``dropout_type`` module
right before each layer (on the input and after each ReLU):

    [Dropout] L(1, 20) ReLU [Dropout] L(20, 20) ReLU ... ReLU [Dropout] L(20, 1)

The probe looks at the modules themselves (classes, identities, parameter shapes), never
at names, and runs the model on a batch twice: with its own parameters, and (on a copy)
with random values it writes into every layer, so that even an all-zero network shows
whether it computes the composition of its layers.  Models run in eval mode (dropout
deterministic); the student's model itself is never modified.
"""

from __future__ import annotations

import builtins
import copy
import math

import numpy as np
import torch
from torch import nn

from ..checking import Check, CheckFailure, StudentCodeError, call_student, student_raised
from .layer_checks import FORWARD_TOLERANCE, to_array
from ..numeric import close
from ..probe_data import ProbeData

WIDTHS = (1, 20, 20, 20, 20, 1)
LAYER_SHAPES = [(WIDTHS[k], WIDTHS[k + 1]) for k in range(len(WIDTHS) - 1)]
N_LAYERS = len(LAYER_SHAPES)
TYPES = ("zeros", "normal")


def make_params(seed: int, device: str) -> dict:
    """Seed 0: a batch of 13 inputs; other seeds: a batch of 5..40 (never 1 or 20)."""
    if seed == 0:
        return {"seed": 0, "device": device, "batch": 13}
    rng = np.random.default_rng([seed, 0])
    while True:
        n = int(rng.integers(5, 41))
        if n != 20:
            return {"seed": seed, "device": device, "batch": n}


def build_input(params: dict) -> np.ndarray:
    """The batch x (N, 1), float32-exact, in [-4, 4]."""
    rng = np.random.default_rng([params["seed"], 1])
    return rng.uniform(-4.0, 4.0, (params["batch"], 1)).astype(np.float32).astype(float)


def random_layer_values(params: dict, k: int, weights_shape, bias_shape):
    """The values written into layer k of the copy: W ~ N(0, 1/rows), b ~ N(0, 1/4)."""
    rng = np.random.default_rng([params["seed"], 100 + k])
    weights_shape, bias_shape = tuple(weights_shape), tuple(bias_shape)
    rows = weights_shape[0] if weights_shape else 1
    w = rng.standard_normal(weights_shape) / math.sqrt(max(rows, 1))
    b = 0.5 * rng.standard_normal(bias_shape)
    return w.astype(np.float32).astype(float), b.astype(np.float32).astype(float)


def expected_kinds(dropout: bool) -> list:
    """L = layer, R = ReLU, D = dropout, in the order the network must have them."""
    kinds = []
    for k in range(N_LAYERS):
        kinds += (["D"] if dropout else []) + ["L"] + (["R"] if k < N_LAYERS - 1 else [])
    return kinds


# ----------------------------------------------------------------------------- probe

def _is_module_class(value) -> bool:
    return isinstance(value, builtins.type) and issubclass(value, nn.Module)


def _name(value) -> str:
    return getattr(value, "__name__", builtins.type(value).__name__)


def _describe_modules(modules, layertype, dropout_type) -> dict:
    data = {"classes": [], "is_layer": [], "is_relu": [], "is_dropout": [],
            "is_torch_linear": [], "is_activation": [], "has_params": [], "first_index": []}
    for m in modules:
        cls = builtins.type(m)
        data["classes"].append(cls.__name__)
        data["is_layer"].append(isinstance(m, layertype))
        data["is_relu"].append(isinstance(m, nn.ReLU))
        data["is_dropout"].append(dropout_type is not None and isinstance(m, dropout_type))
        data["is_torch_linear"].append(isinstance(m, nn.Linear))
        data["is_activation"].append(cls.__module__ == "torch.nn.modules.activation")
        data["has_params"].append(isinstance(m, nn.Module) and any(True for _ in m.parameters()))
        data["first_index"].append(next(j for j, other in enumerate(modules) if other is m))
    return data


def _describe_layers(layers) -> dict:
    data = {"layer_weights_shape": [], "layer_bias_shape": [], "layer_shares_params": []}
    seen = []
    for k, layer in enumerate(layers):
        w, b = getattr(layer, "weights", None), getattr(layer, "bias", None)
        tensors = [t for t in (w, b) if isinstance(t, torch.Tensor)]
        data["layer_shares_params"].append(any(t is s for t in tensors for s in seen))
        seen += tensors
        for name, t in (("weights", w), ("bias", b)):
            ok = isinstance(t, torch.Tensor)
            data[f"layer_{name}_shape"].append(list(t.shape) if ok else None)
            data[f"layer{k}_{name}"] = to_array(t) if ok else None
    return data


def _output(value):
    return to_array(value) if isinstance(value, torch.Tensor) else None


def _probe_forward(params: dict, model, is_layer: list) -> dict:
    """Outputs of a copy of the model in eval mode: with its own and with random parameters."""
    data = {"forward_error": None, "output_init": None, "output_random": None}
    device = torch.device(params["device"])
    x = torch.as_tensor(build_input(params), dtype=torch.get_default_dtype(), device=device)
    try:
        twin = call_student("copy.deepcopy(model)", copy.deepcopy, model)
        call_student("model.to(device)", twin.to, device)
        call_student("model.eval()", twin.eval)
        modules = list(twin)
        with torch.no_grad():
            data["output_init"] = _output(call_student("model(x)", twin, x))
            layers = [m for m, flag in zip(modules, is_layer) if flag]
            for k, layer in enumerate(layers):
                w, b = random_layer_values(params, k, layer.weights.shape, layer.bias.shape)
                layer.weights.copy_(torch.as_tensor(w, dtype=layer.weights.dtype))
                layer.bias.copy_(torch.as_tensor(b, dtype=layer.bias.dtype))
            h = x
            for i, m in enumerate(modules):
                h = call_student(f"module {i} ({builtins.type(m).__name__}) of the model", m, h)
                data[f"chain{i}"] = _output(h)
                if not isinstance(h, torch.Tensor):
                    break
            data["output_random"] = _output(call_student("model(x)", twin, x))
    except StudentCodeError as error:
        data["forward_error"] = f"{error}" + (f" (at {error.detail})" if error.detail else "")
    return data


def probe_build(params: dict, model, layertype, *, dropout_type=None, type: str = "zeros") -> dict:
    data = {"option_dropout_given": dropout_type is not None,
            "option_type": type if isinstance(type, str) else repr(type),
            "layertype_ok": _is_module_class(layertype), "layertype_name": _name(layertype),
            "layertype_is_torch": _is_module_class(layertype)
            and layertype.__module__.startswith("torch."),
            "dropout_type_ok": dropout_type is None or _is_module_class(dropout_type),
            "dropout_type_name": _name(dropout_type),
            "is_sequential": isinstance(model, nn.Sequential),
            "model_class": builtins.type(model).__name__}
    if not (data["layertype_ok"] and data["dropout_type_ok"] and data["is_sequential"]):
        return data
    modules = list(model)
    data.update(_describe_modules(modules, layertype, dropout_type))
    layers = [m for m, is_layer in zip(modules, data["is_layer"]) if is_layer]
    data.update(_describe_layers(layers))
    usable = all(s is not None for s in data["layer_weights_shape"] + data["layer_bias_shape"])
    if usable:
        data.update(_probe_forward(params, model, data["is_layer"]))
    return data


# ----------------------------------------------------------------------------- verdict

def _fail(prop, expected, observed, hint):
    raise CheckFailure(BUILD.name, prop, expected=expected, observed=observed, hint=hint)


def _kinds(pd: ProbeData) -> list:
    n = len(pd.texts("classes"))
    flags = {key: pd.flags(key, n) for key in ("is_layer", "is_relu", "is_dropout",
                                               "is_torch_linear", "is_activation", "has_params")}
    kinds = []
    for i in range(n):
        if flags["is_layer"][i]:
            kinds.append("L")
        elif flags["is_relu"][i]:
            kinds.append("R")
        elif flags["is_dropout"][i]:
            kinds.append("D")
        elif flags["is_torch_linear"][i] or flags["has_params"][i]:
            kinds.append("P")
        elif flags["is_activation"][i]:
            kinds.append("A")
        else:
            kinds.append("X")
    return kinds


def _sequence_text(kinds, names) -> str:
    return " -> ".join(names[k] if k in names else k for k in kinds)


def _verdict_arguments(pd: ProbeData, options: dict) -> tuple:
    """The options the verdict was given agree with what the probe saw; returns them."""
    dropout = options.get("dropout_type") is not None
    init = options.get("type", "zeros")
    seen_dropout, seen_type = pd.flag("option_dropout_given"), pd.text("option_type")
    if seen_dropout != dropout or seen_type != init:
        _fail("checker options", expected="dropout_type= and type= given by keyword",
              observed=f"the probe saw dropout_type {'given' if seen_dropout else 'None'} "
                       f"and type={seen_type!r}",
              hint="call test_build(model, Layer, dropout_type=..., type='...') with keywords")
    if init not in TYPES:
        _fail("type option", expected="type='zeros' or type='normal'", observed=repr(init),
              hint="'zeros' for LinearZeros networks, 'normal' for random initialisations")
    if not pd.flag("layertype_ok"):
        _fail("layertype argument", expected="your layer class (an nn.Module subclass)",
              observed=pd.text("layertype_name"),
              hint="pass the class the network is built from, e.g. the layer class itself")
    if pd.flag("layertype_is_torch"):
        _fail("layertype argument", expected="your own layer class",
              observed=f"torch's {pd.text('layertype_name')}",
              hint="the network is built from the layer class you wrote in this notebook")
    if not pd.flag("dropout_type_ok"):
        _fail("dropout_type argument", expected="None or your Dropout class",
              observed=pd.text("dropout_type_name"), hint="pass the class itself")
    if not pd.flag("is_sequential"):
        _fail("model type", expected="an nn.Sequential of layers", observed=pd.text("model_class"),
              hint="build the model with nn.Sequential(module, module, ...)")
    return dropout, init


def _layer_shapes(pd: ProbeData, name: str) -> list:
    """The layers' `weights` or `bias` shapes; a layer without that tensor fails here."""
    shapes = pd.data.get(f"layer_{name}_shape")
    if not isinstance(shapes, list) or len(shapes) != N_LAYERS:
        _fail("probe data", expected=f"{N_LAYERS} {name} shapes", observed=repr(shapes)[:80],
              hint="")
    for k, shape in enumerate(shapes):
        if shape is None:
            _fail("layer parameters", expected=f"every layer has a tensor self.{name}",
                  observed=f"layer {k} has none",
                  hint="check your layer class with its own test first")
        if not isinstance(shape, list) or not all(isinstance(v, int) for v in shape):
            _fail("probe data", expected=f"{name} shapes as lists of ints",
                  observed=repr(shape)[:80], hint="")
    return [tuple(shape) for shape in shapes]


def _verdict_structure(pd: ProbeData, dropout: bool, layer_name: str) -> list:
    classes = pd.texts("classes")
    kinds = _kinds(pd)
    first_index = pd.integers("first_index", len(classes))
    dropout_name = pd.text("dropout_type_name")
    names = {"L": layer_name, "R": "ReLU", "D": dropout_name}
    wanted = _sequence_text(expected_kinds(dropout), names)
    observed = " -> ".join(classes)
    for i, kind in enumerate(kinds):
        if kind == "P":
            hint = (f"build every layer with {layer_name}, the class passed to test_build"
                    + (", not torch.nn.Linear" if pd.flags("is_torch_linear")[i] else ""))
            _fail("layer type", expected=f"layers that are {layer_name} instances",
                  observed=f"module {i} is a {classes[i]}", hint=hint)
    for i, kind in enumerate(kinds):
        if kind == "A":
            _fail("activation", expected="nn.ReLU() between the layers",
                  observed=f"module {i} is {classes[i]}",
                  hint="this network uses the ReLU activation, as an nn.ReLU() module")
    layer_index = [i for i, kind in enumerate(kinds) if kind == "L"]
    if len(layer_index) != N_LAYERS:
        _fail("number of layers",
              expected=f"{N_LAYERS} {layer_name} layers (4 hidden layers of 20 units, then the "
                       f"output layer)",
              observed=f"{len(layer_index)} {layer_name} layers: {observed}",
              hint="count the hidden layers: 4 of them, plus the output layer")
    shapes = _layer_shapes(pd, "weights")
    if shapes != LAYER_SHAPES:
        _fail("layer sizes", expected="weights shapes " + ", ".join(map(str, LAYER_SHAPES)),
              observed=", ".join(map(str, shapes)),
              hint="1 input feature -> 20 -> 20 -> 20 -> 20 -> 1 output; layer k maps the "
                   "previous layer's width to the next")
    bias_shapes = _layer_shapes(pd, "bias")
    if bias_shapes != [(e,) for _, e in LAYER_SHAPES]:
        _fail("layer sizes", expected="bias shapes (20,), (20,), (20,), (20,), (1,)",
              observed=", ".join(map(str, bias_shapes)),
              hint="each layer's bias has one entry per unit")
    shares = pd.flags("layer_shares_params", N_LAYERS)
    for k, i in enumerate(layer_index):
        if first_index[i] != i or shares[k]:
            _fail("distinct layers", expected=f"{N_LAYERS} different layer objects",
                  observed=f"layer {k} (module {i}) is the same object as module "
                           f"{first_index[i]}" if first_index[i] != i
                  else f"layer {k} shares its parameters with an earlier layer",
                  hint="create a new layer object for every position; the same object used "
                       "twice has one set of weights, trained for both places")
    if dropout:
        bad = [i for i in layer_index if i == 0 or kinds[i - 1] != "D"]
        if bad or kinds.count("D") != N_LAYERS:
            others = sorted({classes[i] for i, kind in enumerate(kinds) if kind == "X"})
            hint = ("dropout goes on the input of every layer: first module, and after "
                    "every ReLU")
            if others:
                hint = (f"the dropout modules are {dropout_name} objects (the class passed as "
                        f"dropout_type), not {', '.join(others)}; " + hint)
            _fail("dropout placement",
                  expected=f"one {dropout_name} right before each of the {N_LAYERS} layers: "
                           f"{wanted}",
                  observed=f"{kinds.count('D')} {dropout_name} modules: {observed}",
                  hint=hint)
    if any(kind == "R" for kind in kinds[layer_index[-1] + 1:]):
        _fail("activation after output", expected=f"the output layer last: {wanted}",
              observed=observed,
              hint="the output is a regression value: no ReLU after the last layer")
    for a, b in zip(layer_index, layer_index[1:]):
        if kinds[a + 1:b].count("R") == 0:
            _fail("missing activation", expected=f"an nn.ReLU() between layers: {wanted}",
                  observed=observed,
                  hint="without a nonlinearity between them, two linear layers are one "
                       "linear map")
    if kinds != expected_kinds(dropout):
        _fail("module order", expected=wanted, observed=observed,
              hint="the network holds exactly these modules, in this order")
    return kinds


def _step(kind, h, w, b, scale):
    """One module's map: a layer h @ W + b, a ReLU, or an eval-mode dropout (a fixed scale)."""
    if kind == "L":
        return h @ w + b
    if kind == "R":
        return np.maximum(h, 0.0)
    return scale * h


def _compose(x, kinds, weights, biases, scales):
    """The network's output from its parts: layers, ReLUs and eval-mode dropout scales."""
    h, k = x, 0
    for i, kind in enumerate(kinds):
        h = _step(kind, h, weights[min(k, N_LAYERS - 1)], biases[min(k, N_LAYERS - 1)],
                  scales.get(i))
        k += kind == "L"
    return h


def _close(a, b) -> bool:
    scale = max(1.0, float(np.max(np.abs(b))))
    return close(a, b, rtol=0.0, atol=FORWARD_TOLERANCE * scale)


def _verdict_forward(params: dict, pd: ProbeData, kinds: list, classes: list) -> None:
    error = pd.text("forward_error", optional=True)
    if error is not None:
        raise student_raised(BUILD.name, error,
                             hint="run model(x) on a small batch and read the traceback")
    x = build_input(params)
    n = params["batch"]
    weights, biases = zip(*(random_layer_values(params, k, (d, e), (e,))
                            for k, (d, e) in enumerate(LAYER_SHAPES)))
    scales, h, k = {}, x, 0
    for i, kind in enumerate(kinds):
        out = pd.array(f"chain{i}", optional=True)
        if out is None:
            _fail("forward pass", expected=f"module {i} ({classes[i]}) returns a tensor",
                  observed="something else", hint="each module maps a batch to a batch")
        if kind == "D":
            known = np.abs(h) > 1e-6
            ratio = out[known] / h[known] if out.shape == h.shape else np.array([np.nan])
            scales[i] = float(np.median(ratio)) if ratio.size else 1.0
            if not (0.0 < scales[i] <= 1.0 and np.allclose(ratio, scales[i], rtol=1e-4)):
                _fail("forward pass",
                      expected=f"module {i} ({classes[i]}) in eval mode: x times (1 - rate)",
                      observed="an output that is not a fixed fraction of the input",
                      hint="in eval mode dropout is deterministic: nothing is dropped")
        w, b = weights[min(k, N_LAYERS - 1)], biases[min(k, N_LAYERS - 1)]
        reference = _step(kind, h, w, b, scales.get(i))
        k += kind == "L"
        if not _close(out, reference):
            _fail("forward pass",
                  expected=f"module {i} ({classes[i]}) computes "
                           + {"L": "h @ weights + bias", "R": "max(h, 0)"}.get(kind, "its map")
                           + f", shape {reference.shape}",
                  observed=_difference(out, reference),
                  hint="tested with random values written into every layer of a copy")
        h = out
    reference = _compose(x, kinds, weights, biases, scales)
    out = pd.array("output_random", optional=True)
    if out is None or not _close(out, reference):
        _fail("forward pass", expected=f"model(x) = the composition of its modules, shape ({n}, 1)",
              observed=_difference(out, reference),
              hint="model(x) must apply the modules in order (nn.Sequential's own forward); "
                   "tested with random values written into every layer of a copy")
    init_w = [pd.array(f"layer{k}_weights", shape=s) for k, s in enumerate(LAYER_SHAPES)]
    init_b = [pd.array(f"layer{k}_bias", shape=(s[1],)) for k, s in enumerate(LAYER_SHAPES)]
    reference = _compose(x, kinds, init_w, init_b, scales)
    out = pd.array("output_init", optional=True)
    if out is None or not _close(out, reference):
        _fail("forward pass", expected="model(x) with its own parameters = the composition",
              observed=_difference(out, reference),
              hint="model(x) must apply the modules in order (nn.Sequential's own forward)")


def _difference(out, reference) -> str:
    if out is None:
        return "model(x) did not return a tensor"
    if out.shape != reference.shape:
        return f"shape {out.shape}"
    return f"largest error {float(np.max(np.abs(out - reference))):.3g}"


def _verdict_init(pd: ProbeData, init: str, layer_name: str) -> str:
    weights = [pd.array(f"layer{k}_weights", shape=s) for k, s in enumerate(LAYER_SHAPES)]
    biases = [pd.array(f"layer{k}_bias", shape=(s[1],)) for k, s in enumerate(LAYER_SHAPES)]
    if init == "zeros":
        for k, (w, b) in enumerate(zip(weights, biases)):
            if np.any(w != 0) or np.any(b != 0):
                _fail("zero initialisation", expected="every weight and bias 0",
                      observed=f"layer {k} has {int(np.sum(w != 0) + np.sum(b != 0))} non-zero "
                               f"parameters",
                      hint=f"type='zeros' is for a network of zero-initialised {layer_name} "
                           f"layers; use type='normal' for random ones")
        return "all parameters zero"
    for k, w in enumerate(weights):
        if np.all(w == 0) or (w.shape[1] == 1 and np.all(w == w.flat[0])):
            _fail("weights random", expected="random, non-zero weights in every layer",
                  observed=f"every weight of layer {k} is {w.flat[0]:.4g}",
                  hint=f"type='normal' is for randomly initialised layers; is {layer_name} "
                       f"drawing its weights at random?")
        # Two random columns of 20 entries never coincide; two single numbers (the first
        # layer's columns) do, once in ~10^7 pairs of float32 draws, so there only all-equal
        # columns fail.
        distinct = len({column.tobytes() for column in w.T})
        if w.shape[1] > 1 and (distinct == 1 or (w.shape[0] > 1 and distinct < w.shape[1])):
            _fail("units identical", expected="every unit (column of W) with its own weights",
                  observed=f"layer {k} has only {distinct} different columns among {w.shape[1]}",
                  hint="units with equal weights compute the same thing and stay equal in "
                       "training; draw every entry independently")
    for a in range(N_LAYERS):
        for b in range(a + 1, N_LAYERS):
            if weights[a].shape == weights[b].shape and np.array_equal(weights[a], weights[b]):
                _fail("layers identical", expected="different random weights in every layer",
                      observed=f"layers {a} and {b} have the same weights",
                      hint="each layer must draw fresh random numbers; do not reset the seed "
                           "in __init__")
    return "random weights, different across units and layers"


def verdict_build(params: dict, data: dict, **options) -> str:
    """test_build(model, layertype, dropout_type=None, type='zeros'): the model is an
    nn.Sequential of 5 layertype layers 1 -> 20 -> 20 -> 20 -> 20 -> 1, an nn.ReLU after
    each but the last, one dropout_type module right before each layer when dropout_type is
    given, distinct layer objects; model(x) equals the composition of its modules computed
    here from the parameter values (its own ones, and random ones written into a copy; eval
    mode); type='zeros': every parameter 0; type='normal': random weights, different across
    the units of a layer and across layers.  Outputs are compared up to 2e-3 of their
    largest entry (float32 rounding, TF32 matmuls on a GPU).  The only chance event is two random units being equal: whole columns
    of 20 float32 normals never are; the first layer's single-number columns only fail when
    all 20 are equal.
    """
    pd = ProbeData(BUILD.name, data)
    dropout, init = _verdict_arguments(pd, options)
    layer_name = pd.text("layertype_name")
    kinds = _verdict_structure(pd, dropout, layer_name)
    _verdict_forward(params, pd, kinds, pd.texts("classes"))
    summary = _verdict_init(pd, init, layer_name)
    return (f"{N_LAYERS} distinct {layer_name} layers 1-20-20-20-20-1 with ReLU between"
            + (f", {pd.text('dropout_type_name')} before each" if dropout else "")
            + f"; forward matches; {summary}")


BUILD = Check(
    "test_build", probe_build, verdict_build, make_params,
    doc="test_build(model, layertype, dropout_type=None, type='zeros'): checks that model is "
        "an nn.Sequential of 5 distinct layertype layers (1 -> 20 -> 20 -> 20 -> 20 -> 1) with "
        "an nn.ReLU() after every layer but the last, a dropout_type module before every layer "
        "when dropout_type is given, that model(x) is the composition of its modules, and the "
        "initialisation: type='zeros' (all parameters 0) or type='normal' (random weights).")
