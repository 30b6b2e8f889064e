"""Checks of ``make_mlp(sizes)`` and ``perceptron_loss(predicted_labels, true_labels)``.

make_mlp([d0, d1, ..., dk]) is the multi-layer perceptron
    nn.Sequential(Linear(d0, d1), ReLU(), Linear(d1, d2), ReLU(), ..., Linear(d_{k-1}, dk)):
a ReLU between two linear layers and none after the last one.

perceptron_loss: for scores yhat_i (the model's output, shape (N, 1)) and labels y_i in
{-1, +1} (shape (N,)),
    L = (1/N) sum_i max(0, -y_i yhat_i),      dL/dyhat_i = -y_i / N if y_i yhat_i < 0 else 0.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..checking import Check, CheckFailure, call_student
from .common import close, f32, fmt, in_one_thread, to_numpy
from ..probe_data import ProbeData

MLP_NAME = "test_make_mlp"
LOSS_NAME = "test_perceptron_loss"
RTOL, ATOL = 1e-4, 1e-6


# ============================================================================= make_mlp

def mlp_params(seed: int, device: str) -> dict:
    """Seed 0: sizes [3, 7, 2], [5, 4] and [6, 9, 8, 3] on a batch of 5.  Other seeds: one
    network each of 1, 2 and 3 linear layers, sizes 2..11 with no two neighbours equal (so a
    transposed layer has the wrong shape), a batch of 4..12 inputs."""
    if seed == 0:
        return {"seed": 0, "device": device, "batch": 5,
                "cases": [[3, 7, 2], [5, 4], [6, 9, 8, 3]]}
    rng = np.random.default_rng([seed, 21])
    cases = []
    for layers in (2, 1, 3):
        sizes = [int(rng.integers(2, 12))]
        while len(sizes) <= layers:
            nxt = int(rng.integers(2, 12))
            if nxt != sizes[-1]:
                sizes.append(nxt)
        cases.append(sizes)
    return {"seed": seed, "device": device, "batch": int(rng.integers(4, 13)), "cases": cases}


def _mlp_inputs(params, case: int) -> np.ndarray:
    rng = np.random.default_rng([params["seed"], 22, case])
    return f32(rng.standard_normal((params["batch"], params["cases"][case][0])))


def _kind(module) -> str:
    if isinstance(module, nn.Linear):
        return "Linear"
    if isinstance(module, nn.ReLU):
        return "ReLU"
    return type(module).__name__


@in_one_thread
def probe_make_mlp(params, make_mlp) -> dict:
    data = {"callable": callable(make_mlp)}
    if not data["callable"]:
        return data
    device = params["device"]
    for i, sizes in enumerate(params["cases"]):
        model = call_student(f"make_mlp({sizes})", make_mlp, list(sizes))
        is_module = isinstance(model, nn.Module)
        data[f"type_{i}"] = type(model).__name__
        data[f"sequential_{i}"] = isinstance(model, nn.Sequential)
        if not data[f"sequential_{i}"]:
            continue
        children = list(model.children())
        linears = [m for m in children if isinstance(m, nn.Linear)]
        data[f"kinds_{i}"] = [_kind(m) for m in children]
        data[f"shapes_{i}"] = [[int(m.in_features), int(m.out_features),
                                int(m.weight.shape[0]), int(m.weight.shape[1])] for m in linears]
        data[f"biases_{i}"] = [m.bias is not None for m in linears]
        data[f"distinct_{i}"] = len({id(m) for m in linears})
        data[f"parameters_{i}"] = len(list(model.parameters())) if is_module else 0
        chain = [[m.in_features, m.out_features] for m in linears]
        if data[f"kinds_{i}"] and all(k in ("Linear", "ReLU") for k in data[f"kinds_{i}"]) \
                and all(data[f"biases_{i}"]) and chain == [list(p) for p in zip(sizes, sizes[1:])]:
            model = model.to(device)
            x = torch.tensor(_mlp_inputs(params, i), dtype=torch.float32, device=device)
            with torch.no_grad():
                out = call_student(f"make_mlp({sizes})(x)", model, x)
            data[f"output_{i}"] = to_numpy(out) if isinstance(out, torch.Tensor) else None
            for j, m in enumerate(linears):
                data[f"weight_{i}_{j}"] = to_numpy(m.weight)
                data[f"bias_{i}_{j}"] = to_numpy(m.bias)
    return data


def _pattern_hint(kinds, expected) -> str:
    if kinds and kinds[-1] != "Linear":
        return ("the network must end with its last linear layer: no activation after it "
                "(the output is a raw score; losses such as cross-entropy expect that)")
    if any(k not in ("Linear", "ReLU") for k in kinds):
        return "use torch.nn.Linear layers and torch.nn.ReLU() activations only"
    if kinds.count("ReLU") < expected.count("ReLU"):
        return "put a ReLU between every two consecutive linear layers"
    return "one Linear per pair of consecutive sizes, a ReLU between two Linears"


def verdict_make_mlp(params, data) -> str:
    """make_mlp(sizes) for three size lists of different depths: an nn.Sequential whose
    children are Linear, ReLU, Linear, ..., Linear with Linear(sizes[i], sizes[i+1]) (no
    activation at the end), each linear its own layer with weight and bias registered as
    parameters, and a forward pass equal to the composition computed in float64 from the
    layers' own weights (tolerance 1e-4 relative + 1e-6: float32 sums of at most 11 terms
    are exact to about 1e-6 relative, while a wrong layer changes outputs by O(1))."""
    check = MLP_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your make_mlp function",
                           observed="not callable",
                           hint="pass the function: test_make_mlp(make_mlp)")
    for i, sizes in enumerate(params["cases"]):
        call = f"make_mlp({sizes})"
        if not pd.flag(f"sequential_{i}"):
            raise CheckFailure(check, "returns an nn.Sequential",
                               expected=f"{call} -> nn.Sequential",
                               observed=pd.text(f"type_{i}"),
                               hint="build a list of layers and return nn.Sequential(*layers)")
        layers = len(sizes) - 1
        expected = ["Linear", "ReLU"] * (layers - 1) + ["Linear"]
        kinds = pd.texts(f"kinds_{i}")
        if kinds != expected:
            raise CheckFailure(check, "layer pattern", expected=f"{call}: {expected}",
                               observed=kinds, hint=_pattern_hint(kinds, expected))
        shapes = pd.get(f"shapes_{i}")
        if not isinstance(shapes, list) or not all(
                isinstance(s, list) and len(s) == 4
                and all(isinstance(v, int) and not isinstance(v, bool) for v in s) for s in shapes):
            pd.fail(f"'shapes_{i}' as a list of [in, out, rows, columns]", repr(shapes)[:60])
        want = [[sizes[j], sizes[j + 1], sizes[j + 1], sizes[j]] for j in range(layers)]
        if shapes != want:
            observed = [f"Linear({s[0]}, {s[1]})" for s in shapes]
            raise CheckFailure(
                check, "layer sizes",
                expected=f"{call}: " + ", ".join(f"Linear({a}, {b})" for a, b, _, _ in want),
                observed=observed,
                hint="layer j maps sizes[j] inputs to sizes[j+1] outputs: nn.Linear(in, out), "
                     "one layer per pair of neighbours in the list, for any length of the list")
        if pd.flags(f"biases_{i}") != [True] * layers:
            raise CheckFailure(check, "parameters", expected="every Linear with a bias",
                               observed=pd.flags(f"biases_{i}"),
                               hint="keep nn.Linear's default bias=True")
        if pd.integer(f"distinct_{i}") != layers:
            raise CheckFailure(check, "distinct layers",
                               expected=f"{layers} different Linear objects",
                               observed=f"{pd.integer(f'distinct_{i}')}",
                               hint="create a new nn.Linear for every layer; a list repeated "
                                    "with * holds the same layer several times")
        if pd.integer(f"parameters_{i}") != 2 * layers:
            raise CheckFailure(check, "parameters",
                               expected=f"{2 * layers} parameter tensors (a weight and a bias "
                                        f"per Linear)",
                               observed=pd.integer(f"parameters_{i}"),
                               hint="put the layers inside the nn.Sequential so that "
                                    "model.parameters() finds them")
        h = _mlp_inputs(params, i)
        for j in range(layers):
            w = pd.array(f"weight_{i}_{j}", shape=(sizes[j + 1], sizes[j]))
            b = pd.array(f"bias_{i}_{j}", shape=(sizes[j + 1],))
            h = h @ w.T + b
            if j < layers - 1:
                h = np.maximum(h, 0.0)
        out = pd.array(f"output_{i}", optional=True)
        if out is None or not close(out, h, rtol=RTOL, atol=ATOL):
            observed = "not a tensor" if out is None else (
                f"shape {out.shape}" if out.shape != h.shape else f"first row {fmt(out[0])}")
            raise CheckFailure(check, "forward pass",
                               expected=f"{call}(x) of shape {h.shape}, first row {fmt(h[0])}",
                               observed=observed,
                               hint="the Sequential should apply its layers in order and "
                                    "return the last layer's output unchanged")
    return "Linear/ReLU pattern, sizes, parameters and forward pass for " + ", ".join(
        str(s) for s in params["cases"])


MAKE_MLP = Check(MLP_NAME, probe_make_mlp, verdict_make_mlp, mlp_params,
                 doc="test_make_mlp(make_mlp): checks make_mlp(sizes) builds nn.Sequential("
                     "Linear(sizes[0], sizes[1]), ReLU(), ..., Linear(sizes[-2], sizes[-1])) for "
                     "lists of several lengths.")


# ============================================================================= perceptron_loss

def loss_params(seed: int, device: str) -> dict:
    """Seed 0: N = 7 and 12 (mixed right and wrong signs), then N = 5 all on the right side;
    scores of scale 1.  Other seeds: N in 5..40 (distinct), scale in 0.5..3."""
    if seed == 0:
        return {"seed": 0, "device": device, "sizes": [7, 12, 5], "scale": 1.0}
    rng = np.random.default_rng([seed, 31])
    sizes = [int(v) for v in rng.choice(np.arange(5, 41), size=3, replace=False)]
    return {"seed": seed, "device": device, "sizes": sizes,
            "scale": round(float(rng.uniform(0.5, 3.0)), 3)}


def loss_inputs(params, case: int):
    """Scores (N, 1) and labels (N,) for one case, float32 values held in float64.

    Every score is at least 0.05 * scale away from 0 (so max(0, .) has a clear side in
    float32); the first two cases hold at least two examples on each side and both labels;
    the last case has every example on the right side (loss 0).
    """
    n, scale = params["sizes"][case], params["scale"]
    rng = np.random.default_rng([params["seed"], 32, case])
    while True:
        y = rng.choice([-1.0, 1.0], size=n)
        s = rng.standard_normal(n)
        s = np.sign(s) * (np.abs(s) + 0.05) * scale
        if case == len(params["sizes"]) - 1:
            s = y * np.abs(s)
        wrong = (y * s < 0).sum()
        if case == len(params["sizes"]) - 1 or (
                2 <= wrong <= n - 2 and 2 <= (y > 0).sum() <= n - 2):
            return f32(s.reshape(n, 1)), f32(y)


@in_one_thread
def probe_perceptron_loss(params, perceptron_loss) -> dict:
    data = {"callable": callable(perceptron_loss)}
    if not data["callable"]:
        return data
    device = params["device"]
    for i, n in enumerate(params["sizes"]):
        s, y = loss_inputs(params, i)
        scores = torch.tensor(s, dtype=torch.float32, device=device, requires_grad=True)
        labels = torch.tensor(y, dtype=torch.float32, device=device)
        scores_copy, labels_copy = scores.detach().clone(), labels.clone()
        result = call_student(f"perceptron_loss(scores of shape ({n}, 1), labels of shape ({n},))",
                              perceptron_loss, scores, labels)
        is_tensor = isinstance(result, torch.Tensor)
        data[f"type_{i}"] = type(result).__name__
        data[f"is_tensor_{i}"] = is_tensor
        data[f"shape_{i}"] = list(result.shape) if is_tensor else None
        data[f"value_{i}"] = (to_numpy(result) if is_tensor and result.numel() <= n * n
                              and result.is_floating_point() else None)
        data[f"requires_grad_{i}"] = bool(is_tensor and result.requires_grad)
        data[f"grad_{i}"] = None
        if is_tensor and result.requires_grad and result.numel() == 1:
            call_student("loss.backward() on perceptron_loss's result", result.reshape(()).backward)
            if scores.grad is not None:
                data[f"grad_{i}"] = to_numpy(scores.grad)
        data[f"unchanged_{i}"] = bool(torch.equal(scores.detach(), scores_copy)
                                      and torch.equal(labels, labels_copy))
    return data


def _loss_mistakes(s, y):
    """(value, prop, hint) of the usual wrong formulas on these inputs."""
    n, margin = len(y), -y * s[:, 0]
    return [
        (n * np.mean(np.maximum(0, margin)), "mean over examples",
         "your value is the SUM over the examples: the loss is the mean, divide by N"),
        (np.mean(margin), "clamp at zero",
         "your value is the mean of -y * yhat without max(0, .): an example on the right side "
         "must contribute 0, not a negative number"),
        (np.mean(np.maximum(0, -margin)), "sign",
         "your value penalises the CORRECT side: an example is wrong when y * yhat < 0, so "
         "its loss is max(0, -y * yhat)"),
        (np.mean(np.maximum(0, -y[None, :] * s)), "shape broadcasting",
         "your value averages an N x N matrix: scores (N, 1) times labels (N,) broadcast to "
         "(N, N); reshape one of them so both have the same shape before multiplying"),
    ]


def verdict_perceptron_loss(params, data) -> str:
    """perceptron_loss(scores, labels) = mean_i max(0, -y_i yhat_i) for scores of shape (N, 1)
    and labels of shape (N,), as a differentiable 0-dim tensor; three cases (two with examples
    on both sides, one all on the right side, whose loss is 0).

    Deterministic check, computed in float64 from the same float32 inputs: tolerance 1e-4
    relative + 1e-6 (a float32 mean of at most 40 terms is exact to ~3e-6 relative).  Every
    score is >= 0.05 * scale from 0 and each mixed case has >= 2 examples on each side, so the
    sum (N times the mean), the missing clamp (lower by at least 0.1 * scale / N), the wrong
    sign and the N x N broadcast all land far outside the tolerance, and each is named.
    The gradient must be -y_i / N on the wrong side and 0 on the right side.
    """
    check = LOSS_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your perceptron_loss function",
                           observed="not callable",
                           hint="pass the function: test_perceptron_loss(perceptron_loss)")
    for i, n in enumerate(params["sizes"]):
        s, y = loss_inputs(params, i)
        call = f"perceptron_loss(scores of shape ({n}, 1), labels of shape ({n},))"
        reference = float(np.mean(np.maximum(0.0, -y * s[:, 0])))
        if not pd.flag(f"is_tensor_{i}"):
            raise CheckFailure(check, "returns a tensor", expected=f"{call} -> a torch tensor",
                               observed=pd.text(f"type_{i}"),
                               hint="keep the computation in torch: .item(), float() or numpy "
                                    "give a number that backward() cannot differentiate")
        shape = pd.shape(f"shape_{i}")
        if shape != ():
            hint = ("average over the examples so that the loss is one number (a 0-dim tensor)")
            if shape == (n, n):
                hint = ("an (N, N) result: scores (N, 1) and labels (N,) broadcast against each "
                        "other; give them the same shape first, then average")
            raise CheckFailure(check, "scalar output", expected=f"shape () for {call}",
                               observed=f"shape {shape}", hint=hint)
        value = float(pd.array(f"value_{i}", shape=()))
        if not np.isclose(value, reference, rtol=RTOL, atol=ATOL):
            prop, hint = "loss value", ("the loss is the average over the N examples of "
                                        "max(0, -y_i * yhat_i)")
            for wrong, wrong_prop, wrong_hint in _loss_mistakes(s, y):
                if np.isclose(value, wrong, rtol=RTOL, atol=ATOL):
                    prop, hint = wrong_prop, wrong_hint
                    break
            raise CheckFailure(check, prop, expected=f"{reference:.6g} ({call})",
                               observed=f"{value:.6g}", hint=hint)
        if not pd.flag(f"requires_grad_{i}"):
            raise CheckFailure(check, "differentiable",
                               expected="a loss that requires grad (the scores do)",
                               observed="requires_grad=False",
                               hint="compute the loss from the scores with torch operations; "
                                    ".detach(), .data, .item() or numpy cut the gradient")
        grad = pd.array(f"grad_{i}", optional=True)
        grad_ref = np.where(y * s[:, 0] < 0, -y / n, 0.0).reshape(n, 1)
        if grad is None or not close(grad, grad_ref, rtol=RTOL, atol=ATOL):
            raise CheckFailure(
                check, "gradient",
                expected=f"d loss / d yhat_i = -y_i / N on the wrong side, 0 on the right side: "
                         f"{fmt(grad_ref)}",
                observed="scores.grad is None" if grad is None else fmt(grad),
                hint="build the loss from the scores you are given with torch operations "
                     "(clamp / maximum / relu, then mean), so backward() reaches them")
        if not pd.flag(f"unchanged_{i}"):
            raise CheckFailure(check, "inputs unchanged", expected="scores and labels unchanged",
                               observed="modified in place",
                               hint="do not write into the tensors you are given (no in-place "
                                    "operations such as mul_ or clamp_ on them)")
    return (f"mean of max(0, -y * yhat) and its gradient for N = "
            f"{', '.join(str(n) for n in params['sizes'])}")


PERCEPTRON_LOSS = Check(LOSS_NAME, probe_perceptron_loss, verdict_perceptron_loss, loss_params,
                        doc="test_perceptron_loss(perceptron_loss): checks the mean of "
                            "max(0, -y * yhat) for scores (N, 1) and labels (N,) in {-1, +1}, "
                            "as a differentiable 0-dim tensor.")
