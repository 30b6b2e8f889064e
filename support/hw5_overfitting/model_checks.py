"""The check of build_model in hw5_overfitting.

``build_model(input_size, hidden_size, dropout=0.0)`` returns ``nn.Sequential(Linear(input,
hidden), ReLU, [Dropout], Linear(hidden, hidden), ReLU, [Dropout], Linear(hidden, 1),
Sigmoid)``, with the Dropout modules only when ``dropout > 0``.  A Dropout placed right before
its ReLU instead of after it computes the same function (ReLU and dropout commute) and is
accepted, and so is ``Dropout(0)`` when there is no dropout.  The forward pass is checked
against the composition of the layers computed in numpy from the model's own weights.
"""

from __future__ import annotations

import numpy as np

from ..checking import Check, CheckFailure, call_student, preserved_random_state
from .common import close, rng, show, to_array
from ..probe_data import ProbeData

# ---------------------------------------------------------------------------------------
# build_model
# ---------------------------------------------------------------------------------------


def _build_params(seed: int, device: str) -> dict:
    r = rng(seed, 10)
    input_size = 7 + int(r.random() * 14)
    hidden = 3 + int(r.random() * 7)
    batch = 4 + int(r.random() * 3)
    x = [[float(r.random() < 0.4) for _ in range(input_size)] for _ in range(batch)]
    return {"seed": seed, "device": device, "input_size": input_size, "hidden": hidden,
            "dropout": (0.2, 0.25, 0.3, 0.4, 0.6, 0.7)[int(r.random() * 6)], "x": x}


def _describe(model, x) -> dict:
    """Layer kinds, sizes, weights, dropout rates and the eval-mode output on x."""
    import torch
    from torch import nn
    if not isinstance(model, nn.Sequential):
        return {"sequential": False, "type": type(model).__name__}
    layers, kinds, linears, rates = list(model.children()), [], [], []
    for layer in layers:
        if isinstance(layer, nn.Linear):
            kinds.append("Linear")
            linears.append({"in": layer.in_features, "out": layer.out_features,
                            "weight": layer.weight.detach().cpu().double().tolist(),
                            "bias": None if layer.bias is None
                            else layer.bias.detach().cpu().double().tolist()})
        elif isinstance(layer, nn.Dropout):
            kinds.append("Dropout")
            rates.append(float(layer.p))
        else:
            kinds.append(next((k for k in ("ReLU", "Sigmoid") if isinstance(layer, getattr(nn, k))),
                              f"other:{type(layer).__name__}"))
    model.eval()
    with torch.no_grad():
        output = model(torch.tensor(x, dtype=torch.float32, device=_model_device(model)))
    return {"sequential": True, "kinds": kinds, "linears": linears, "rates": rates,
            "distinct_linears": len({id(m) for m in layers if isinstance(m, nn.Linear)}),
            "output": output.detach().cpu().double().numpy()}


def _model_device(model):
    """The device of the model's first parameter (cpu when it has none)."""
    import torch
    parameter = next(iter(model.parameters()), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def probe_build_model(params: dict, build_model) -> dict:
    out = {}
    for key, kwargs in (("plain", {}), ("dropout", {"dropout": params["dropout"]})):
        args = f"{params['input_size']}, {params['hidden']}" + \
            (f", dropout={params['dropout']}" if kwargs else "")
        with preserved_random_state():
            model = call_student(f"build_model({args})", build_model, params["input_size"],
                                 params["hidden"], **kwargs)
        if hasattr(model, "to"):
            model = model.to(params["device"])
        facts = call_student(f"the model of build_model({args}) on a batch", _describe,
                             model, params["x"])
        output = facts.pop("output", None)
        out[key] = facts
        out[f"{key}_output"] = output
    return out


def _expected_kinds(dropout: bool) -> list[str]:
    hidden = ["ReLU", "Dropout"] if dropout else ["ReLU"]
    return ["Linear", *hidden, "Linear", *hidden, "Linear", "Sigmoid"]


def _normalised_kinds(kinds, rates, dropout: bool):
    """Kinds with Dropout(p=0) removed, and Dropout right before a ReLU moved after it."""
    kinds = list(kinds)
    if not dropout and len(rates) == kinds.count("Dropout") and all(p == 0 for p in rates):
        kinds = [k for k in kinds if k != "Dropout"]
    for i in range(len(kinds) - 1):
        if kinds[i] == "Dropout" and kinds[i + 1] == "ReLU":   # ReLU and dropout commute
            kinds[i], kinds[i + 1] = "ReLU", "Dropout"
    return kinds


def verdict_build_model(params: dict, data: dict) -> str:
    """Layer order and sizes, dropout rate, and the forward pass; deterministic."""
    name, d = "test_build_model", ProbeData("test_build_model", data, (
        "plain", "plain_output", "dropout", "dropout_output"))
    size, hidden = params["input_size"], params["hidden"]
    for key in ("plain", "dropout"):
        call = f"build_model({size}, {hidden}" + \
            (f", dropout={params['dropout']})" if key == "dropout" else ")")
        facts = d.get(key)
        if not isinstance(facts, dict) or not facts.get("sequential"):
            raise CheckFailure(name, "returns an nn.Sequential", expected="nn.Sequential",
                               observed=(facts or {}).get("type") if isinstance(facts, dict)
                               else None, hint=f"{call} returns nn.Sequential(...) of the layers")
        _check_layers(name, call, params, facts, key == "dropout")
        _check_forward(name, call, params, facts, d.array(f"{key}_output"))
    return (f"layers, sizes ({size} -> {hidden} -> {hidden} -> 1), dropout "
            f"{params['dropout']} and forward pass")


def _valid_facts(name, facts) -> bool:
    """The nested description of a model has the types the verdict computes with."""
    linears = facts.get("linears")
    return (isinstance(facts.get("kinds"), list)
            and all(isinstance(k, str) for k in facts["kinds"])
            and isinstance(facts.get("rates"), list)
            and all(isinstance(p, (int, float)) and not isinstance(p, bool)
                    for p in facts["rates"])
            and isinstance(linears, list)
            and all(isinstance(layer, dict) and to_array(layer.get("weight")) is not None
                    and to_array(layer.get("weight")).ndim == 2
                    and (layer.get("bias") is None or to_array(layer.get("bias")) is not None)
                    for layer in linears))


def _check_layers(name, call, params, facts, dropout):
    size, hidden = params["input_size"], params["hidden"]
    if not _valid_facts(name, facts):
        raise CheckFailure(name, "probe data", expected="a description of the model's layers")
    kinds, rates = facts["kinds"], facts["rates"]
    expected = _expected_kinds(dropout)
    if _normalised_kinds(kinds, rates, dropout) != expected:
        raise CheckFailure(name, "layer order", expected=expected, observed=kinds,
                           hint=f"for {call}: three Linear layers, a ReLU after each of the "
                                "first two (followed by Dropout when dropout > 0), a Sigmoid "
                                "at the end")
    if dropout and any(abs(p - params["dropout"]) > 1e-12 for p in rates):
        raise CheckFailure(name, "dropout rate", expected=params["dropout"], observed=rates,
                           hint="nn.Dropout(p) takes the probability of dropping a unit")
    sizes = [[layer.get("in"), layer.get("out")] for layer in facts.get("linears") or []]
    if sizes != [[size, hidden], [hidden, hidden], [hidden, 1]]:
        raise CheckFailure(name, "layer sizes", expected=[[size, hidden], [hidden, hidden],
                                                          [hidden, 1]],
                           observed=sizes, hint=f"for {call}: [in_features, out_features] "
                                                "of the three Linear layers")
    for layer in facts["linears"]:
        weight, bias = to_array(layer["weight"]), layer.get("bias")
        if weight.shape != (layer["out"], layer["in"]) or (
                bias is not None and to_array(bias).shape != (layer["out"],)):
            raise CheckFailure(name, "probe data", expected="weights matching the layer sizes")
    if facts.get("distinct_linears") != 3:
        raise CheckFailure(name, "distinct layers", expected=3,
                           observed=facts.get("distinct_linears"),
                           hint="create a new nn.Linear for every layer; reusing one object "
                                "shares its weights")


def _check_forward(name, call, params, facts, output):
    x = np.asarray(params["x"], dtype=np.float64)
    if output.shape != (x.shape[0], 1):
        raise CheckFailure(name, "output shape", expected=(x.shape[0], 1),
                           observed=tuple(output.shape),
                           hint="one probability per review, shape (batch, 1)")
    h = x
    for i, layer in enumerate(facts["linears"]):
        weight = np.asarray(layer["weight"], dtype=np.float64)
        bias = np.zeros(weight.shape[0]) if layer.get("bias") is None \
            else np.asarray(layer["bias"], dtype=np.float64)
        h = h @ weight.T + bias
        h = np.maximum(h, 0.0) if i < 2 else 1.0 / (1.0 + np.exp(-h))
    if not close(output, h, rtol=0.0, atol=1e-5):
        raise CheckFailure(name, "forward pass", expected=show(h.ravel()),
                           observed=show(output.ravel()),
                           hint=f"{call} in eval mode should compute the layers in order")


BUILD_MODEL = Check("test_build_model", probe_build_model, verdict_build_model, _build_params,
                    doc="test_build_model(build_model): layer order and sizes, dropout rate "
                        "and placement, forward pass; deterministic.")
