"""Check of the student's chosen ``hyperparameters`` for the ten-class digits classifier.

``test_hyperparameters(hyperparameters, make_mlp, train)`` trains
    nn.Sequential(nn.Flatten(), make_mlp([64, *hidden_sizes, 10]))
with the student's ``train`` on the training split of the bundled 8x8 digits (a split drawn
from the check's seed: seed 0 is the notebook's split, hidden tests use others), a fresh
initialisation and shuffling order, and requires the test accuracy to reach TARGET.

``hyperparameters`` is a dict:
    hidden_sizes   list of hidden layer widths, e.g. [64]
    learning_rate  > 0
    batch_size     integer >= 1
    epochs         integer >= 1
    momentum       >= 0 (SGD only; default 0)
    nesterov       bool (SGD only; default False)
    optimizer      "sgd" (default) or "adam"
The run must fit the grader's time: at most MAX_STEPS optimizer steps and MAX_PARAMETERS
parameters (a few seconds on a laptop CPU).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..checking import Check, CheckFailure, call_student
from ..checking import preserved_random_state
from .common import ceil_div, in_one_thread, to_numpy
from ..probe_data import ProbeData
from .data import digits_arrays

NAME = "test_hyperparameters"
TARGET = 0.92
MAX_STEPS = 2500
MAX_PARAMETERS = 200_000
PIXELS, CLASSES = 64, 10


def make_params(seed: int, device: str) -> dict:
    """Seed 0: the notebook's split (split seed 0); seed s: split seed s.  The model's
    initialisation and the shuffling order are seeded with 1000 + s."""
    return {"seed": seed, "device": device, "split_seed": seed, "init_seed": 1000 + seed,
            "target": TARGET, "max_steps": MAX_STEPS, "max_parameters": MAX_PARAMETERS}


def _read(hp):
    """The hyper-parameters as plain values, or (None, what is wrong)."""
    if not isinstance(hp, dict):
        return None, f"a {type(hp).__name__}, not a dict"
    missing = [k for k in ("hidden_sizes", "learning_rate", "batch_size", "epochs") if k not in hp]
    if missing:
        return None, f"missing keys {missing}"
    unknown = sorted(set(hp) - {"hidden_sizes", "learning_rate", "batch_size", "epochs",
                                "momentum", "nesterov", "optimizer"})
    if unknown:
        return None, f"unknown keys {unknown}"
    sizes = hp["hidden_sizes"]
    if not isinstance(sizes, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in sizes):
        return None, "hidden_sizes must be a list of positive ints"
    out = {"hidden_sizes": [int(v) for v in sizes]}
    for key in ("batch_size", "epochs"):
        if not isinstance(hp[key], int) or isinstance(hp[key], bool) or hp[key] < 1:
            return None, f"{key} must be a positive int"
        out[key] = int(hp[key])
    for key, default in (("learning_rate", None), ("momentum", 0.0)):
        value = hp.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
                or not np.isfinite(value) or (key == "learning_rate" and value == 0):
            return None, f"{key} must be a positive number"
        out[key] = float(value)
    out["nesterov"] = hp.get("nesterov", False)
    if not isinstance(out["nesterov"], bool):
        return None, "nesterov must be True or False"
    out["optimizer"] = hp.get("optimizer", "sgd")
    if out["optimizer"] not in ("sgd", "adam"):
        return None, "optimizer must be 'sgd' or 'adam'"
    if out["nesterov"] and (out["optimizer"] != "sgd" or out["momentum"] == 0):
        return None, "nesterov needs optimizer 'sgd' and a momentum > 0"
    return out, None


def _cost(hp, n_train):
    """(optimizer steps, parameters) of a run with these hyper-parameters."""
    sizes = [PIXELS, *hp["hidden_sizes"], CLASSES]
    parameters = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return hp["epochs"] * ceil_div(n_train, hp["batch_size"]), parameters


@in_one_thread
def probe_hyperparameters(params, hyperparameters, make_mlp, train) -> dict:
    hp, problem = _read(hyperparameters)
    data = {"valid": hp is not None, "problem": problem or ""}
    if hp is None:
        return data
    data.update({f"hp_{k}": v for k, v in hp.items()})
    (xt, yt), (xv, yv), (xs, _) = digits_arrays(params["split_seed"])
    steps, parameters = _cost(hp, len(yt))
    data.update(steps=steps, parameters=parameters, trained=False)
    if steps > params["max_steps"] or parameters > params["max_parameters"]:
        return data
    device = params["device"]
    generator = torch.Generator().manual_seed(params["init_seed"])
    train_loader = DataLoader(TensorDataset(torch.from_numpy(xt), torch.from_numpy(yt)),
                              batch_size=hp["batch_size"], shuffle=True, generator=generator)
    valid_loader = DataLoader(TensorDataset(torch.from_numpy(xv), torch.from_numpy(yv)),
                              batch_size=256)
    sizes = [PIXELS, *hp["hidden_sizes"], CLASSES]
    with preserved_random_state(seed=params["init_seed"]):
        network = call_student(f"make_mlp({sizes})", make_mlp, sizes)
        model = nn.Sequential(nn.Flatten(), network).to(device)
        if hp["optimizer"] == "adam":
            optimizer = torch.optim.Adam(model.parameters(), lr=hp["learning_rate"])
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=hp["learning_rate"],
                                        momentum=hp["momentum"], nesterov=hp["nesterov"])
        call_student(f"train(model, nn.CrossEntropyLoss(), optimizer, train_dataloader, "
                     f"validation_dataloader, {hp['epochs']}, {device!r})",
                     train, model, nn.CrossEntropyLoss(), optimizer, train_loader, valid_loader,
                     hp["epochs"], device)
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(xs).to(device))
    data["trained"] = True
    data["test_logits"] = to_numpy(logits) if isinstance(logits, torch.Tensor) else None
    return data


def verdict_hyperparameters(params, data) -> str:
    """The test accuracy of a model trained with the student's hyper-parameters reaches
    TARGET = 0.92 on the check's split of the digits (359 test images).

    This is a requirement on the student's choice, not a statistical test of a formula: the
    accuracy varies with the split, the initialisation and the shuffling, and a setting that
    passes only by luck is not a good setting.  Measured for the notebook's reference
    setting (one hidden layer of 64 units, SGD lr 0.05, momentum 0.9, batch 32, 25 epochs)
    over seeds 0..199 of this check: mean test accuracy 0.966, standard deviation 0.009,
    lowest 0.9415.  0.92 is 5.2 standard deviations below the mean and 0.02 (7 test images)
    below the worst of the 200 runs, while untuned settings (the notebook's starting dict:
    3 epochs of plain SGD at lr 0.01) stay far below it.  Deterministic for a given seed on
    a CPU; on a GPU the run differs by float rounding only.
    """
    check = NAME
    pd = ProbeData(check, data)
    problem = pd.text("problem")
    if not pd.flag("valid"):
        raise CheckFailure(check, "hyperparameters dict",
                           expected="{'hidden_sizes': [...], 'learning_rate': ..., "
                                    "'batch_size': ..., 'epochs': ...} (optional: 'momentum', "
                                    "'nesterov', 'optimizer')",
                           observed=problem,
                           hint="set the values in the hyperparameters dict of the solution cell")
    setting = (f"hidden_sizes {list(pd.integers('hp_hidden_sizes'))}, "
               f"{pd.text('hp_optimizer')} lr {pd.number('hp_learning_rate'):g}, "
               f"momentum {pd.number('hp_momentum'):g}, nesterov {pd.flag('hp_nesterov')}, "
               f"batch {pd.integer('hp_batch_size')}, epochs {pd.integer('hp_epochs')}")
    steps, parameters = pd.integer("steps"), pd.integer("parameters")
    if steps > params["max_steps"] or parameters > params["max_parameters"]:
        raise CheckFailure(check, "training budget",
                           expected=f"at most {params['max_steps']} optimizer steps and "
                                    f"{params['max_parameters']} parameters",
                           observed=f"{steps} steps (epochs x batches per epoch), "
                                    f"{parameters} parameters",
                           hint="the grader retrains your model several times: fewer epochs, "
                                "larger batches or a smaller network")
    if not pd.flag("trained"):
        pd.fail("a trained model", "no training run")
    _, _, (_, labels) = digits_arrays(params["split_seed"])
    logits = pd.array("test_logits", optional=True)
    if logits is None or logits.shape != (len(labels), CLASSES) or not np.isfinite(logits).all():
        raise CheckFailure(check, "model output",
                           expected=f"finite scores of shape ({len(labels)}, {CLASSES})",
                           observed="no tensor" if logits is None else
                           f"shape {logits.shape}" + ("" if np.isfinite(logits).all()
                                                      else " with inf/nan (diverged?)"),
                           hint="make_mlp([64, ..., 10]) must end with 10 outputs; a nan "
                                "means training diverged: lower the learning rate")
    accuracy = float((logits.argmax(axis=1) == labels).mean())
    if not accuracy >= params["target"]:
        raise CheckFailure(check, "test accuracy",
                           expected=f">= {params['target']} (split {params['split_seed']}; "
                                    f"{setting})",
                           observed=f"{accuracy:.4f}",
                           hint="look at the learning curves: still improving -> more epochs "
                                "or a larger rate; jumping or diverging -> a smaller rate; "
                                "check that test_train passes first")
    return (f"test accuracy {accuracy:.4f} >= {params['target']} on split "
            f"{params['split_seed']} ({setting})")


HYPERPARAMETERS = Check(
    NAME, probe_hyperparameters, verdict_hyperparameters, make_params,
    doc="test_hyperparameters(hyperparameters, make_mlp, train): trains "
        "nn.Sequential(nn.Flatten(), make_mlp([64, *hidden_sizes, 10])) with your train "
        "function and hyper-parameters on a split of the digits and requires a test accuracy "
        f">= {TARGET}.")
