"""Checks for the training part of hw5_overfitting: train, early stopping, evaluate.

The conventions, as the notebook states them:

* ``train(model, loss, optimizer, train_dataset, val_dataset, batch_size, epochs,
  early_stopping=False, patience=2)``, per epoch: ``model.train()``, one pass over a
  *shuffled* DataLoader of the training set (forward, loss, zero the gradients, backward,
  step); then ``model.eval()`` and, without gradients, one pass over the validation set.
  It records ``train_loss`` (mean over the training examples of the loss computed during the
  pass, i.e. batch losses weighted by batch size), ``train_acc`` (fraction of those
  predictions that were right, threshold 0.5), ``val_loss`` and ``val_acc`` (mean loss and
  accuracy over the validation examples after the epoch's updates).
  Early stopping: an epoch *improves* when its val_loss is strictly lower than the lowest
  val_loss of all earlier epochs (the first epoch always improves).  With
  ``early_stopping=True`` training stops after the epoch that brings the count of
  consecutive non-improving epochs to ``patience``; that epoch's metrics are recorded; at the
  end (stopped early or not) the model gets back the weights of its best epoch.  With
  ``early_stopping=False`` all epochs run and the weights are the last ones.
* ``evaluate(model, test_dataset, batch_size=512)`` returns ``{"test_loss": ..., "test_acc":
  ...}``: binary cross-entropy and accuracy averaged over all test examples, in eval mode,
  without gradients, without changing the weights.

How the checks see inside: the probe trains its own logistic-regression model (a linear
layer and a sigmoid, on tiny binary data whose rows are all different) with its own SGD
optimizer.  The model writes down every forward call (which rows, train/eval mode, whether
gradients were on, how many optimizer steps had been taken) and the optimizer every
gradient it was asked to apply.  The verdict replays the same updates from the closed-form
gradient of the binary cross-entropy of a logistic model, ``X^T (p - y) / B``, in float64, on
the batches the student's loop actually drew, and compares losses, accuracies and weights.
For early stopping the model's output on validation rows follows a scripted curve (output
``exp(-s)`` on rows labelled 1 has loss exactly ``s``), so the epoch where training must
stop is known by construction.
"""

from __future__ import annotations

import math

import numpy as np

from ..checking import (Check, CheckFailure, call_student, preserved_random_state,
                        student_output_dropped)
from .common import close, rng, show, to_array, to_float
from ..probe_data import ProbeData

METRIC_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
LOSS_ATOL = 1e-4        # float32 forward passes vs a float64 replay: errors are ~1e-6
WEIGHT_ATOL = 1e-4
AMBIGUOUS = 1e-5        # a prediction this close to 0.5 may round either way in float32
ACC_ATOL = 1e-6         # an accuracy computed as a float32 mean (steps of 1/N >= 1/30)

# ---------------------------------------------------------------------------------------
# The probe's instrumented logistic model, optimizer and data
# ---------------------------------------------------------------------------------------


def _distinct_rows(r, count: int, width: int) -> list[list[int]]:
    """``count`` different non-zero binary rows of length ``width``."""
    codes = list(range(1, 2 ** width))
    for i in range(len(codes) - 1, 0, -1):
        j = int(r.random() * (i + 1))
        codes[i], codes[j] = codes[j], codes[i]
    return [[(code >> bit) & 1 for bit in range(width)] for code in codes[:count]]


def _setup(r, batch: int, full: int, rest: int, n_val: int, epochs: int) -> dict:
    """A training problem: N = batch * full + rest training rows, n_val validation rows."""
    width = 5 + int(r.random() * 3)
    n_train = batch * full + rest
    rows = _distinct_rows(r, n_train + n_val, width)
    return {"batch_size": batch, "epochs": epochs, "lr": round(0.2 + 0.6 * r.random(), 3),
            "x_train": rows[:n_train], "x_val": rows[n_train:],
            "y_train": [int(r.random() < 0.5) for _ in range(n_train)],
            "y_val": [int(r.random() < 0.5) for _ in range(n_val)],
            "w0": [round(2 * r.random() - 1, 3) for _ in range(width)],
            "b0": round(r.random() - 0.5, 3)}


class _Recorder:
    """What happened during training: forward calls and optimizer steps, in order."""

    def __init__(self, setup: dict):
        rows = setup["x_train"] + setup["x_val"]
        self.index = {tuple(row): i for i, row in enumerate(rows)}
        self.n_train = len(setup["x_train"])
        self.steps, self.forwards, self.grads = 0, [], []

    def forward(self, x, training: bool) -> int:
        """Record one forward call; returns 0 (training rows), 1 (validation rows) or 2."""
        import torch
        values = x.detach().cpu().reshape(-1, x.shape[-1]).tolist() if x.dim() else []
        rows = [self.index.get(tuple(int(round(v)) for v in row), -1) for row in values]
        if rows and all(0 <= i < self.n_train for i in rows):
            kind = 0
        elif rows and all(i >= self.n_train for i in rows):
            kind = 1
        else:
            kind = 2
        self.forwards.append([self.steps, kind, bool(training), torch.is_grad_enabled(), rows])
        return kind

    def step(self, grads: list[float]):
        self.grads.append(grads)
        self.steps += 1


def _make_run(setup: dict, device: str, script=None):
    """The probe's model, loss, optimizer and datasets for one call of train()."""
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset

    recorder = _Recorder(setup)
    steps_per_epoch = math.ceil(len(setup["x_train"]) / setup["batch_size"])

    class ProbeLogistic(nn.Module):
        """sigmoid(x @ weight.T + bias) of shape (B, 1); validation rows may follow a script."""

        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.tensor([setup["w0"]], dtype=torch.float32))
            self.bias = nn.Parameter(torch.tensor([setup["b0"]], dtype=torch.float32))

        def forward(self, x):
            kind = recorder.forward(x, self.training)
            p = torch.sigmoid(x @ self.weight.T + self.bias)
            if script is not None and kind == 1:
                finished = recorder.steps // steps_per_epoch
                s = script[finished - 1] if 1 <= finished <= len(script) else math.log(2.0)
                p = torch.full_like(p, math.exp(-s)).detach()
            return p

    class CountingSGD(torch.optim.SGD):
        """Plain SGD that writes down the gradient of every step."""

        def step(self, closure=None):
            grads = []
            for group in self.param_groups:
                for p in group["params"]:
                    grads += [math.nan] * p.numel() if p.grad is None \
                        else p.grad.detach().cpu().double().reshape(-1).tolist()
            recorder.step(grads)
            return super().step(closure)

    model = ProbeLogistic().to(device)
    optimizer = CountingSGD(model.parameters(), lr=setup["lr"])
    y_val = [1] * len(setup["x_val"]) if script is not None else setup["y_val"]

    def dataset(x, y):
        return TensorDataset(torch.tensor(x, dtype=torch.float32, device=device),
                             torch.tensor(y, dtype=torch.float32, device=device))

    return (recorder, model, optimizer, dataset(setup["x_train"], setup["y_train"]),
            dataset(setup["x_val"], y_val))


def _metrics_data(result) -> dict:
    """The returned metrics as plain lists of floats (or what was wrong with them)."""
    if not isinstance(result, dict):
        return {"type": type(result).__name__}
    out = {"type": "dict", "keys": sorted(str(k) for k in result)}
    for key in METRIC_KEYS:
        values = result.get(key)
        if isinstance(values, (list, tuple)):
            out[key] = [to_float(v) for v in values]
    return out


def _run_train(params: dict, setup: dict, train, script=None, **options) -> dict:
    """Call the student's train() once on the probe's problem; returns what happened."""
    import torch
    from torch import nn
    recorder, model, optimizer, train_set, val_set = _make_run(setup, params["device"], script)
    shown = ", ".join(f"{k}={v}" for k, v in options.items())
    with student_output_dropped(), preserved_random_state():
        result = call_student(f"train(model, loss, optimizer, train_dataset, val_dataset, "
                              f"batch_size={setup['batch_size']}, epochs={setup['epochs']}"
                              f"{', ' + shown if shown else ''})",
                              train, model, nn.BCELoss(), optimizer, train_set, val_set,
                              batch_size=setup["batch_size"], epochs=setup["epochs"], **options)
    final = torch.cat([model.weight.reshape(-1), model.bias]).detach().cpu().double().tolist()
    return {"metrics": _metrics_data(result), "forwards": recorder.forwards,
            "grads": recorder.grads, "final": final}


# ---------------------------------------------------------------------------------------
# Reading a run back and replaying it (verdict side)
# ---------------------------------------------------------------------------------------


def _valid_forwards(name: str, forwards) -> list:
    """Forward records [steps, kind, training, grad_enabled, rows], checked for shape."""
    forwards = forwards if isinstance(forwards, list) else []
    for f in forwards:
        if not (isinstance(f, list) and len(f) == 5 and isinstance(f[0], int)
                and isinstance(f[1], int) and isinstance(f[4], list)
                and all(isinstance(i, int) for i in f[4])):
            raise CheckFailure(name, "probe data", expected="forward records",
                               observed=str(f)[:80])
    return forwards


def _run_record(name: str, record) -> dict:
    """Validate one run's untrusted record: forwards, grads, final weights, metrics."""
    d = ProbeData(name, record if isinstance(record, dict) else None,
             ("metrics", "forwards", "grads", "final"))
    forwards = _valid_forwards(name, d.items("forwards"))
    grads = [to_array(g) for g in (d.items("grads") or [])]
    if any(g is None or g.ndim != 1 for g in grads):
        raise CheckFailure(name, "probe data", expected="gradient records")
    metrics = d.get("metrics")
    return {"forwards": forwards, "grads": grads, "final": d.array("final", ndim=1),
            "metrics": metrics if isinstance(metrics, dict) else {}}


def _metric_lists(name: str, metrics: dict, expected_epochs: int, hint: str) -> dict:
    """The four metric lists, each of length expected_epochs, or a CheckFailure."""
    if metrics.get("type") != "dict":
        raise CheckFailure(name, "returns a dict of metrics",
                           expected=f"a dict with keys {list(METRIC_KEYS)}",
                           observed=metrics.get("type"), hint="return the metrics dict")
    missing = [k for k in METRIC_KEYS if not isinstance(metrics.get(k), list)]
    if missing:
        raise CheckFailure(name, "metric keys", expected=list(METRIC_KEYS),
                           observed=metrics.get("keys"),
                           hint=f"each of {missing} maps to a list with one number per epoch")
    lengths = {k: len(metrics[k]) for k in METRIC_KEYS}
    if set(lengths.values()) != {expected_epochs}:
        raise CheckFailure(name, "epochs run", expected=f"{expected_epochs} values per metric",
                           observed=lengths, hint=hint)
    try:
        return {k: np.asarray(metrics[k], dtype=float) for k in METRIC_KEYS}
    except (TypeError, ValueError):
        raise CheckFailure(name, "probe data", expected="numbers in the metric lists",
                           observed=str(metrics)[:80]) from None


def _bce(p, y):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _predict(x, w):
    return 1.0 / (1.0 + np.exp(-(x @ w[:-1] + w[-1])))


def _accuracy_range(p, y):
    """Lowest and highest number of right predictions, counting near-0.5 ones either way."""
    right = ((p > 0.5) == (y == 1))
    ambiguous = np.abs(p - 0.5) < AMBIGUOUS
    return int(np.sum(right & ~ambiguous)), int(np.sum(right | ambiguous))


class _Replay:
    """The run replayed in float64 from the closed-form gradient, epoch by epoch."""

    def __init__(self, name: str, setup: dict, run: dict, script=None):
        self.name, self.setup, self.run, self.script = name, setup, run, script
        self.x = np.asarray(setup["x_train"], dtype=float)
        self.y = np.asarray(setup["y_train"], dtype=float)
        self.n = len(self.y)
        self.batch = setup["batch_size"]
        self.per_epoch = math.ceil(self.n / self.batch)
        self.w = np.asarray(setup["w0"] + [setup["b0"]], dtype=float)
        self.weights, self.train_loss, self.train_right = [], [], []
        self.orders = []

    def fail(self, prop, expected=None, observed=None, hint=""):
        raise CheckFailure(self.name, prop, expected=expected, observed=observed, hint=hint)

    def batch_rows(self, step: int) -> list[int]:
        """Rows of the last training forward (gradients on) before optimizer step ``step``."""
        found = [f for f in self.run["forwards"] if f[0] == step and f[1] == 0 and f[3]]
        if not found:
            self.fail("a forward pass on a training batch before each step",
                      expected=f"a forward call on training data before step {step + 1}",
                      observed="none", hint="for each batch: forward, loss, zero_grad, "
                                            "backward, step")
        forward = found[-1]
        if not all(0 <= i < self.n for i in forward[4]):
            self.fail("probe data", expected="training rows", observed=forward[4])
        if not forward[2]:
            self.fail("model.train() while training", expected="training mode",
                      observed="eval mode", hint="call model.train() at the start of every "
                                                 "epoch (validation switched it to eval)")
        return forward[4]

    def play(self, epochs: int, shuffle_check: bool = False):
        steps = len(self.run["grads"])
        if steps != epochs * self.per_epoch:
            self.fail("one optimizer step per batch", expected=epochs * self.per_epoch,
                      observed=steps, hint=f"{epochs} epochs of {self.per_epoch} batches "
                                           f"(batch_size={self.batch}, {self.n} examples)")
        for epoch in range(epochs):
            self.play_epoch(epoch)
        if shuffle_check:
            self.check_shuffled()

    def play_epoch(self, epoch: int):
        loss_sum, right, seen = 0.0, [0, 0], []
        for step in range(epoch * self.per_epoch, (epoch + 1) * self.per_epoch):
            rows = self.batch_rows(step)
            seen += rows
            x, y = self.x[rows], self.y[rows]
            p = _predict(x, self.w)
            grad = np.append(x.T @ (p - y), np.sum(p - y)) / len(rows)
            self.check_grad(step, grad)
            loss_sum += float(np.sum(_bce(p, y)))
            low, high = _accuracy_range(p, y)
            right = [right[0] + low, right[1] + high]
            self.w = self.w - self.setup["lr"] * grad
        sizes = [len(self.batch_rows(s)) for s in range(epoch * self.per_epoch,
                                                         (epoch + 1) * self.per_epoch)]
        if sorted(seen) != list(range(self.n)):
            self.fail("every training example once per epoch",
                      expected=f"the {self.n} training examples", observed=f"rows {seen}",
                      hint="iterate once over a DataLoader of the training set per epoch")
        if sizes[:-1] != [self.batch] * (len(sizes) - 1):
            self.fail("batch size", expected=self.batch, observed=sizes,
                      hint="DataLoader(train_dataset, batch_size=batch_size, shuffle=True)")
        self.orders.append(seen)
        self.weights.append(self.w.copy())
        self.train_loss.append(loss_sum / self.n)
        self.train_right.append(right)

    def check_grad(self, step: int, grad):
        observed = self.run["grads"][step]
        if close(observed, grad, rtol=1e-4, atol=1e-5):
            return
        previous = self.run["grads"][step - 1] if step > 0 else None
        if previous is not None and observed.shape == grad.shape and \
                close(observed - previous, grad, rtol=1e-3, atol=1e-4):
            self.fail("gradients zeroed every step", expected=show(grad), observed=show(observed),
                      hint="call optimizer.zero_grad() for every batch, otherwise backward() "
                           "adds this batch's gradient to the previous ones")
        self.fail("gradient of the batch loss", expected=show(grad), observed=show(observed),
                  hint="backpropagate loss(prediction, labels) of the current batch, then "
                       "call optimizer.step()")

    def check_shuffled(self):
        if len(self.orders) >= 3 and all(o == list(range(self.n)) for o in self.orders):
            self.fail("training data shuffled", expected="a new random order every epoch",
                      observed="the examples in dataset order in every epoch",
                      hint="DataLoader(..., shuffle=True) for the training set")

    def check_validation(self, epochs: int, val_rows: int):
        """A validation pass after each epoch: eval mode, no gradients, every row."""
        total = len(self.setup["x_train"])
        for epoch in range(epochs):
            at = (epoch + 1) * self.per_epoch
            passes = [f for f in self.run["forwards"] if f[1] == 1 and f[0] == at]
            seen = sorted({i - total for f in passes for i in f[4]})
            if seen != list(range(val_rows)):
                self.fail("validation after every epoch",
                          expected=f"the {val_rows} validation examples after epoch "
                                   f"{epoch + 1}'s updates", observed=f"rows {seen}",
                          hint="after the training pass of each epoch, run the model over "
                               "the whole validation set")
            if any(f[2] for f in passes):
                self.fail("model.eval() for validation", expected="eval mode",
                          observed="training mode", hint="call model.eval() before the "
                                                         "validation pass (dropout off)")
            if any(f[3] for f in passes):
                self.fail("validation without gradients", expected="torch.no_grad()",
                          observed="gradients were being recorded",
                          hint="wrap the validation pass in `with torch.no_grad():`")


# ---------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------


def _train_params(seed: int, device: str) -> dict:
    r = rng(seed, 11)
    batch = 3 + int(r.random() * 3)
    setup = _setup(r, batch, full=2 + int(r.random() * 2),
                   rest=2 + int(r.random() * (batch - 2)),
                   n_val=batch + 2 + int(r.random() * (batch - 2)),
                   epochs=3 + int(r.random() * 2))
    return {"seed": seed, "device": device, "setup": setup}


def probe_train(params: dict, train) -> dict:
    return _run_train(params, params["setup"], train)


def verdict_train(params: dict, data: dict) -> str:
    """One call of train() replayed step by step (deterministic up to float32 rounding).

    The replay uses the batches the student's DataLoader drew, so shuffling needs no seed.
    Losses and weights are compared at atol 1e-4 (float32 vs float64 differ by ~1e-6 here);
    accuracies exactly, counting a prediction within 1e-5 of 0.5 as either right or wrong.
    The only random property is shuffling: with N >= 8 training examples and >= 3 epochs,
    a shuffling loop shows every epoch in dataset order with probability (1/8!)^3 < 1e-13.
    """
    name = "test_train"
    setup = params["setup"]
    run = _run_record(name, data)
    epochs = setup["epochs"]
    metrics = _metric_lists(name, run["metrics"], epochs,
                            hint="one entry per epoch in each list (early_stopping is off)")
    replay = _Replay(name, setup, run)
    replay.play(epochs, shuffle_check=True)
    replay.check_validation(epochs, len(setup["x_val"]))
    _compare_train_metrics(name, replay, metrics)
    _compare_val_metrics(name, setup, replay, metrics)
    if not close(run["final"], replay.weights[-1], rtol=0.0, atol=WEIGHT_ATOL):
        raise CheckFailure(name, "final weights", expected=show(replay.weights[-1]),
                           observed=show(run["final"]),
                           hint="without early stopping the model keeps its last weights")
    return (f"{epochs} epochs, {len(run['grads'])} SGD steps replayed: losses, accuracies, "
            "modes, shuffling and final weights")


def _compare_train_metrics(name, replay: _Replay, metrics):
    expected = np.asarray(replay.train_loss)
    if not close(metrics["train_loss"], expected, rtol=0.0, atol=LOSS_ATOL):
        hint = "the mean loss over the epoch's training examples, computed on each batch " \
               "before its update (weight each batch's loss by its size: the last batch is " \
               "smaller)"
        raise CheckFailure(name, "train_loss", expected=show(expected),
                           observed=show(metrics["train_loss"]), hint=hint)
    _compare_accuracy(name, "train_acc", metrics["train_acc"], replay.train_right, replay.n,
                      hint="the fraction of the epoch's training predictions (made before "
                           "each update) that are right, with threshold 0.5")


def _compare_val_metrics(name, setup, replay: _Replay, metrics):
    x = np.asarray(setup["x_val"], dtype=float)
    y = np.asarray(setup["y_val"], dtype=float)
    losses, rights = [], []
    for w in replay.weights:
        p = _predict(x, w)
        losses.append(float(np.mean(_bce(p, y))))
        rights.append(_accuracy_range(p, y))
    if not close(metrics["val_loss"], losses, rtol=0.0, atol=LOSS_ATOL):
        raise CheckFailure(name, "val_loss", expected=show(losses),
                           observed=show(metrics["val_loss"]),
                           hint="the mean loss over all validation examples, after the "
                                "epoch's updates (weight batch losses by batch size)")
    _compare_accuracy(name, "val_acc", metrics["val_acc"], rights, len(y),
                      hint="the fraction of right validation predictions after the epoch")


def _compare_accuracy(name, key, observed, rights, n, hint):
    for epoch, (value, (low, high)) in enumerate(zip(observed, rights)):
        if not (low / n - ACC_ATOL <= value <= high / n + ACC_ATOL):
            expected = [f"{lo / n:.4f}" if lo == hi else f"{lo / n:.4f}..{hi / n:.4f}"
                        for lo, hi in rights]
            raise CheckFailure(name, key, expected=expected, observed=show(observed),
                               hint=f"{hint} (epoch {epoch + 1} differs)")


TRAIN = Check("test_train", probe_train, verdict_train, _train_params,
              doc="test_train(train): a small logistic model trained by your loop, replayed "
                  "step by step: losses, accuracies, train/eval modes, no_grad, shuffling.")

# ---------------------------------------------------------------------------------------
# early stopping
# ---------------------------------------------------------------------------------------


def _curve(r, flags: list[bool], tail_start: int, tail=()) -> list[float]:
    """Validation losses following improvement flags (True = strictly below the best so far).

    Values start near 1.6 and improve by 0.03 to 0.12, so they stay positive.  A
    non-improving value is a tie with the best so far or lies above it.  ``tail`` fixes the
    kind of the non-improving epochs from index ``tail_start`` on: "above" the best,
    "between" the best and the previous value (no improvement, yet lower than the epoch
    before), or a "tie" with the best.
    """
    values, best = [], 1.5 + 0.2 * r.random()
    for epoch, improves in enumerate(flags):
        at = epoch - tail_start
        kind = tail[at] if 0 <= at < len(tail) else None
        if improves:
            best = round(best - 0.03 - 0.09 * r.random(), 4)
            values.append(best)
        elif kind == "between" and values[-1] > best + 0.02:
            values.append(round(best + (values[-1] - best) * 0.5, 4))
        elif kind == "above" or (kind is None and r.random() < 0.6):
            values.append(round(best + 0.04 + 0.2 * r.random(), 4))
        else:
            values.append(best)                          # a tie is no improvement
    return values


def _stop_flags(r, patience: int, best: int) -> list[bool]:
    """Flags for epochs 1..best+patience: no earlier run of `patience` non-improvements."""
    flags = [True]
    while len(flags) < best - 1:
        run = 0 if patience == 1 else int(r.random() * patience)
        flags += [False] * run + [True]
    flags = flags[:best - 1] + [True]
    return flags + [False] * patience


def _scenario(r, patience, early, epochs, tail, stops=True, pass_patience=True) -> dict:
    """One call of train() with a scripted validation curve and its expected outcome.

    ``stops``: the best epoch is followed by ``patience`` non-improving epochs (of the kinds
    in ``tail``) before the last epoch, then by mostly improving ones.  Otherwise no run of
    ``patience`` non-improvements occurs and the last epoch does not improve, so the best
    epoch is ``epochs - 1``.
    """
    if stops:
        best = 2 + int(r.random() * (epochs - patience - 2))      # stop before the end
        flags = _stop_flags(r, patience, best)
        flags += [r.random() < 0.7 for _ in range(epochs - len(flags))]
    else:
        best = epochs - 1
        flags = _stop_flags(r, patience, best)[:best] + [False]
    curve = _curve(r, flags, best, tail)
    ran = best + patience if (early and stops) else epochs
    return {"patience": patience if pass_patience else None, "early_stopping": early,
            "curve": curve, "epochs_run": ran, "best_epoch": best if early else ran}


def _early_params(seed: int, device: str) -> dict:
    r = rng(seed, 12)
    setup = _setup(r, 3, full=1, rest=0, n_val=2, epochs=8)
    p = 2 + int(r.random() * 2)
    a_tail = ["above", "between", "tie"][:p]
    scenarios = [
        _scenario(r, p, True, 8, a_tail),                        # stops; "between" trap
        _scenario(r, 2, True, 8, ["tie", "above"], pass_patience=False),   # default, tie
        _scenario(r, 1, True, 7, [("above", "tie")[int(r.random() * 2)]]),
        _scenario(r, p, True, 6, ["tie"], stops=False),          # never stops, best != last
        _scenario(r, p, False, 6, a_tail),                       # early stopping off
    ]
    return {"seed": seed, "device": device, "setup": setup, "scenarios": scenarios}


def probe_early_stopping(params: dict, train) -> dict:
    runs = []
    for scenario in params["scenarios"]:
        setup = dict(params["setup"], epochs=len(scenario["curve"]))
        options = {"early_stopping": scenario["early_stopping"]}
        if scenario["patience"] is not None:
            options["patience"] = scenario["patience"]
        runs.append(_run_train(params, setup, train, script=scenario["curve"], **options))
    return {"runs": runs}


def verdict_early_stopping(params: dict, data: dict) -> str:
    """Scripted validation curves: epochs run, recorded val_loss and restored weights.

    Deterministic (the curve is scripted; training is replayed as in test_train).  Curves
    contain ties with the best value (no improvement), a value below the previous epoch but
    not below the best (no improvement), and better values after the stopping point.

    Partial credit (the share of the check's points each property gives; each must hold on
    every curve, and a curve where training ran the wrong number of epochs (or could not be
    replayed) fails all three, since what it recorded and kept cannot be judged there):
    - stopping epoch (0.5): as many epochs as the rule (or the curve, without early
      stopping) allows, each a replayable training epoch
    - recorded val_loss (0.2): the validation loss of every epoch run is in the metrics
    - best weights restored (0.3): the model ends with the weights of the best epoch
    """
    name = "test_early_stopping"
    runs = ProbeData(name, data, ("runs",)).items("runs")
    if runs is None or len(runs) != len(params["scenarios"]):
        raise CheckFailure(name, "probe data", expected=len(params["scenarios"]),
                           observed=None if runs is None else len(runs))
    judged = EARLY_STOPPING.judge()
    for scenario, record in zip(params["scenarios"], runs):
        _check_scenario(name, params, scenario, _run_record(name, record), judged)
    return judged.verdict("stopping epoch, recorded metrics and restored weights on "
                          f"{len(runs)} scripted validation curves (patience 1, 2, 3, "
                          "default, off)")


def _describe_call(scenario) -> str:
    options = [f"early_stopping={scenario['early_stopping']}"]
    if scenario["patience"] is not None:
        options.append(f"patience={scenario['patience']}")
    curve = ", ".join(f"{v:.4f}" for v in scenario["curve"])
    return f"train(..., epochs={len(scenario['curve'])}, {', '.join(options)}) with " \
           f"validation losses [{curve}]"


def _check_scenario(name, params, scenario, run, judged):
    call = _describe_call(scenario)
    ran, best = scenario["epochs_run"], scenario["best_epoch"]
    patience = scenario["patience"] or 2
    hint = f"{call}: an epoch improves when its val_loss is strictly below the best so far; " \
           f"stop after {patience} epochs in a row without improvement" \
        if scenario["early_stopping"] else f"{call}: without early stopping every epoch runs"
    try:
        metrics = _metric_lists(name, run["metrics"], ran, hint=hint)
        setup = dict(params["setup"], epochs=ran)
        replay = _Replay(name, setup, run, script=scenario["curve"])
        replay.play(ran)
        stopped = None
    except CheckFailure as failure:
        if failure.prop == "probe data":
            raise
        stopped = failure  # the epochs run: nothing else can be judged on this curve
    for prop in ("stopping epoch", "recorded val_loss", "best weights restored"):
        with judged(prop):
            if stopped is not None:
                raise stopped
            if prop == "recorded val_loss":
                _check_val_loss(name, scenario, metrics, ran, call)
            elif prop == "best weights restored":
                _check_restored(name, scenario, run, replay, best, call)


def _check_val_loss(name, scenario, metrics, ran, call) -> None:
    if not close(metrics["val_loss"], scenario["curve"][:ran], rtol=0.0, atol=1e-5):
        raise CheckFailure(name, "val_loss", expected=scenario["curve"][:ran],
                           observed=show(metrics["val_loss"]),
                           hint=f"{call}: record the validation loss of every epoch run")


def _check_restored(name, scenario, run, replay, best, call) -> None:
    wanted = replay.weights[best - 1]
    if not close(run["final"], wanted, rtol=0.0, atol=WEIGHT_ATOL):
        last = close(run["final"], replay.weights[-1], rtol=0.0, atol=WEIGHT_ATOL)
        prop = "best weights restored" if scenario["early_stopping"] else "final weights"
        hint = (f"{call}: at the end, load the weights saved at the best epoch ({best}); "
                "save them with copy.deepcopy(model.state_dict()) — state_dict() alone "
                "returns the live tensors, which keep changing") if scenario["early_stopping"] \
            else f"{call}: without early stopping the model keeps its last weights"
        raise CheckFailure(name, prop, expected=f"the weights after epoch {best}: "
                                                f"{show(wanted)}",
                           observed=f"{show(run['final'])}"
                                    f"{' (the last epoch' + chr(39) + 's)' if last else ''}",
                           hint=hint)


EARLY_STOPPING = Check("test_early_stopping", probe_early_stopping, verdict_early_stopping,
                       _early_params,
                       doc="test_early_stopping(train): scripted validation curves; checks "
                           "when training stops, what is recorded and which weights are kept.")

# ---------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------


def _evaluate_params(seed: int, device: str) -> dict:
    r = rng(seed, 13)
    batch = 3 + int(r.random() * 3)
    setup = _setup(r, batch, full=1 + int(r.random() * 2),
                   rest=2 + int(r.random() * (batch - 2)), n_val=0, epochs=1)
    return {"seed": seed, "device": device, "setup": setup}


def probe_evaluate(params: dict, evaluate) -> dict:
    import torch
    setup = params["setup"]
    recorder, model, _, test_set, _ = _make_run(setup, params["device"])
    before = [p.detach().clone() for p in model.parameters()]
    results = []
    for kwargs in ({"batch_size": setup["batch_size"]}, {}):
        model.train()
        with student_output_dropped(), preserved_random_state():
            shown = f", batch_size={kwargs['batch_size']}" if kwargs else ""
            result = call_student(f"evaluate(model, test_dataset{shown})", evaluate, model,
                                  test_set, **kwargs)
        results.append({"type": type(result).__name__,
                        "keys": sorted(str(k) for k in result) if isinstance(result, dict)
                        else None,
                        "test_loss": to_float(result.get("test_loss"))
                        if isinstance(result, dict) else math.nan,
                        "test_acc": to_float(result.get("test_acc"))
                        if isinstance(result, dict) else math.nan})
        results[-1]["forwards"] = recorder.forwards
        recorder.forwards = []
    unchanged = all(torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))
    return {"results": results, "unchanged": unchanged}


def verdict_evaluate(params: dict, data: dict) -> str:
    """Loss and accuracy over all test examples, eval mode, no gradients; deterministic.

    Loss at atol 1e-4 (float32 vs float64); accuracy exact, a prediction within 1e-5 of 0.5
    counted either way.  The test set size is not a multiple of the batch size, so the
    mean of the batch losses (without weighting) differs from the mean over examples.
    """
    name, d = "test_evaluate", ProbeData("test_evaluate", data, ("results", "unchanged"))
    setup = params["setup"]
    x, y = np.asarray(setup["x_train"], dtype=float), np.asarray(setup["y_train"], dtype=float)
    w = np.asarray(setup["w0"] + [setup["b0"]], dtype=float)
    p = _predict(x, w)
    losses = _bce(p, y)
    results = d.items("results") or []
    if len(results) != 2:
        raise CheckFailure(name, "probe data", expected=2, observed=len(results))
    for result, batch in zip(results, (setup["batch_size"], 512)):
        _check_evaluation(name, result, batch, losses, _accuracy_range(p, y), len(y))
    if not d.flag("unchanged"):
        raise CheckFailure(name, "weights unchanged", expected="the same weights",
                           observed="evaluate() changed the model's weights",
                           hint="evaluate() only runs the model: no backward(), no step()")
    return f"{len(y)} test examples in batches of {setup['batch_size']} and of 512"


def _check_evaluation(name, result, batch, losses, right, n):
    call = f"evaluate(model, test_dataset, batch_size={batch})"
    if not isinstance(result, dict) or result.get("keys") is None:
        raise CheckFailure(name, "returns a dict", expected="{'test_loss': ..., 'test_acc': ...}",
                           observed=(result or {}).get("type") if isinstance(result, dict)
                           else None, hint=f"{call} returns a dict")
    if not {"test_loss", "test_acc"} <= set(result["keys"]):
        raise CheckFailure(name, "keys test_loss and test_acc",
                           expected=["test_acc", "test_loss"], observed=result["keys"])
    forwards = _valid_forwards(name, result.get("forwards"))
    rows = sorted(i for f in forwards for i in f[4])
    if rows != list(range(n)):
        raise CheckFailure(name, "every test example once", expected=f"rows 0..{n - 1}",
                           observed=f"rows {rows}", hint=f"{call}: one pass over a DataLoader "
                                                         "of the test set")
    if any(f[2] for f in forwards):
        raise CheckFailure(name, "model.eval() in evaluate", expected="eval mode",
                           observed="training mode", hint="call model.eval() first")
    if any(f[3] for f in forwards):
        raise CheckFailure(name, "no gradients in evaluate", expected="torch.no_grad()",
                           observed="gradients were being recorded",
                           hint="wrap the loop in `with torch.no_grad():`")
    expected = float(np.mean(losses))
    observed = result.get("test_loss")
    if not isinstance(observed, float) or not abs(observed - expected) <= LOSS_ATOL:
        hint = f"{call}: the mean binary cross-entropy over all {n} examples"
        batches = [f[4] for f in forwards if f[4]]
        unweighted = float(np.mean([np.mean(losses[b]) for b in batches])) if batches else None
        if len(batches) > 1 and isinstance(observed, float) and \
                abs(observed - unweighted) <= LOSS_ATOL:
            hint += ("; you averaged the batch losses, but the last batch is smaller: weight "
                     "each batch's loss by its number of examples")
        raise CheckFailure(name, "test_loss", expected=round(expected, 6), observed=observed,
                           hint=hint)
    low, high = right
    value = result.get("test_acc")
    if not isinstance(value, float) or not (low / n - ACC_ATOL <= value <= high / n + ACC_ATOL):
        raise CheckFailure(name, "test_acc", expected=round(low / n, 6), observed=value,
                           hint=f"{call}: fraction of right predictions, threshold 0.5")


EVALUATE = Check("test_evaluate", probe_evaluate, verdict_evaluate, _evaluate_params,
                 doc="test_evaluate(evaluate): loss and accuracy over all test examples, "
                     "eval mode, no gradients, weights unchanged.")
