"""Checks of the minibatch loops: ``loss_and_accuracy(model, loss, dataloader, device)`` and
``train(model, loss, optimizer, train_dataloader, validation_dataloader, epochs, device)``.

What the notebook pins:

* loss_and_accuracy puts the model in eval mode, runs every batch once without gradient
  tracking (inputs and labels moved to ``device``), and returns the pair
      (mean loss over EXAMPLES, accuracy) = (sum_b n_b L_b / N,  #{argmax z_i = y_i} / N)
  where L_b is ``loss`` on batch b (a mean over its n_b examples) and N = sum_b n_b.  With a
  last partial batch the mean of the batch means is a different (wrong) number.
* train runs ``epochs`` epochs; in each it calls model.train(), then for every training
  batch: zero the gradients, forward, loss, backward, optimizer.step().  After each epoch it
  records loss_and_accuracy on the training data and on the validation data, and finally
  returns the dict
      {"train_loss": [...], "train_accuracy": [...],
       "validation_loss": [...], "validation_accuracy": [...]}      (one entry per epoch).

Both checks use the check's own tiny classifier z = W x + b (an nn.Linear(D, C) behind a
layer that records the mode, autograd state and device of every forward call), its own
unshuffled DataLoaders with a last partial batch, and a cross-entropy with label smoothing
eps (the loss the check passes, so code that ignores the ``loss`` argument shows):
    l_i = - sum_j q_ij log softmax(z_i)_j,   q_ij = (1 - eps) [j = y_i] + eps / C.
The verdicts recompute everything in float64 from these closed forms; train's reference
replays the optimizer's update (torch.optim.SGD with momentum mu, dampening 0):
    g = dL/dtheta on the batch,  buf <- g (first step) or mu buf + g,
    theta <- theta - lr (g + mu buf if nesterov else buf).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..checking import Check, CheckFailure, call_student
from .common import (Recorder, batches, close, cross_entropy_logit_grad,
                     cross_entropy_per_example, f32, float_list, fmt, in_one_thread,
                     linear_layer, to_numpy, top_two_gap)
from ..probe_data import ProbeData

LA_NAME = "test_loss_and_accuracy"
TRAIN_NAME = "test_train"
RTOL, ATOL = 1e-4, 1e-6
TRAIN_RTOL, TRAIN_ATOL = 1e-3, 1e-5
TRAIN_TOL = dict(rtol=TRAIN_RTOL, atol=TRAIN_ATOL)  # for numeric.close
KEYS = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy")
GAP = 1e-3  # every reference prediction's top two logits are this far apart


def _tiny_classifier(W, b, device):
    """nn.Sequential(Recorder(), nn.Linear(D, C)) holding W (C, D) and b (C,)."""
    return nn.Sequential(Recorder(), linear_layer(W, b, device))


def _recorder(model) -> Recorder:
    return model[0]


def _check_calls(check, pd, device, expect_eval_only):
    """Shared checks of the recorded forward calls: the device, and (for evaluation) eval
    mode without gradient tracking."""
    training, grad, devices = pd.flags("calls_training"), pd.flags("calls_grad"), \
        pd.texts("calls_device")
    expected_device = torch.device(device).type
    if any(d != expected_device for d in devices):
        raise CheckFailure(check, "data on the device",
                           expected=f"every batch on {expected_device!r}",
                           observed=f"batches on {sorted(set(devices))}",
                           hint="move the inputs and labels of every batch with .to(device)")
    if expect_eval_only:
        if any(training):
            raise CheckFailure(check, "eval mode", expected="model.training == False in every "
                               "forward call", observed=f"{sum(training)} of {len(training)} "
                               "calls in training mode",
                               hint="call model.eval() before evaluating (dropout and batch "
                                    "norm behave differently in training mode)")
        if any(grad):
            raise CheckFailure(check, "no gradient tracking",
                               expected="forward calls under torch.no_grad()",
                               observed=f"{sum(grad)} of {len(grad)} calls recorded the graph",
                               hint="evaluate inside a `with torch.no_grad():` block: no graph "
                                    "is built, which saves memory and time")


# ============================================================================= loss_and_accuracy

def la_params(seed: int, device: str) -> dict:
    """Seed 0: N = 23 examples in batches of 5 (the last one holds 3), D = 4 inputs, C = 3
    classes, label smoothing 0.1.  Other seeds: N in 13..40, batch size 3..8 with a last
    batch of 1 or 2 examples, D in 2..6, C in 3..6 (D != C), smoothing 0.05, 0.1 or 0.2."""
    if seed == 0:
        spec = {"n": 23, "batch": 5, "d": 4, "classes": 3, "smoothing": 0.1}
    else:
        rng = np.random.default_rng([seed, 51])
        batch = int(rng.integers(3, 9))
        n = batch * int(rng.integers(3, 6)) + int(rng.integers(1, 3))
        classes = int(rng.integers(3, 7))
        d = int(rng.choice([v for v in range(2, 7) if v != classes]))
        spec = {"n": n, "batch": batch, "d": d, "classes": classes,
                "smoothing": float(rng.choice([0.05, 0.1, 0.2]))}
    for attempt in range(100):
        params = {"seed": seed, "device": device, **spec, "attempt": attempt}
        if _la_acceptable(params):
            return params
    raise RuntimeError(f"no acceptable loss_and_accuracy case for seed {seed}")  # pragma: no cover


def la_problem(params):
    """(X (N, D), y (N,), W (C, D), b (C,)), float32 values in float64."""
    rng = np.random.default_rng([params["seed"], 52, params["attempt"]])
    n, d, c = params["n"], params["d"], params["classes"]
    X = f32(1.5 * rng.standard_normal((n, d)))
    y = rng.integers(0, c, size=n)
    W, b = f32(rng.standard_normal((c, d))), f32(0.5 * rng.standard_normal(c))
    return X, y, W, b


def la_reference(params):
    """The right pair and the usual wrong numbers, in float64."""
    X, y, W, b = la_problem(params)
    logits = X @ W.T + b
    losses = cross_entropy_per_example(logits, y, params["smoothing"])
    plain = cross_entropy_per_example(logits, y, 0.0)
    correct = (logits.argmax(axis=1) == y).astype(float)
    spans = batches(params["n"], params["batch"])
    batch_means = [losses[a:b].mean() for a, b in spans]
    return {
        "loss": float(losses.mean()), "accuracy": float(correct.mean()),
        "batch_mean": float(np.mean(batch_means)), "sum_of_means": float(np.sum(batch_means)),
        "total": float(losses.sum()), "plain": float(plain.mean()),
        "plain_batch_mean": float(np.mean([plain[a:b].mean() for a, b in spans])),
        "count": float(correct.sum()),
        "batch_accuracy": float(np.mean([correct[a:b].mean() for a, b in spans])),
        "gap": top_two_gap(logits),
    }


def _la_acceptable(params) -> bool:
    ref = la_reference(params)
    far = lambda a, b: abs(a - b) > 0.005 * abs(b)  # noqa: E731 - a one-line predicate
    return (ref["gap"] > GAP and 0 < ref["accuracy"] < 1 and far(ref["batch_mean"], ref["loss"])
            and far(ref["plain"], ref["loss"]) and far(ref["batch_accuracy"], ref["accuracy"])
            and far(ref["accuracy"], ref["loss"]))


@in_one_thread
def probe_loss_and_accuracy(params, loss_and_accuracy) -> dict:
    data = {"callable": callable(loss_and_accuracy)}
    if not data["callable"]:
        return data
    X, y, W, b = la_problem(params)
    model = _tiny_classifier(W, b, params["device"])
    model.train()
    loader = DataLoader(TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y)),
                        batch_size=params["batch"], shuffle=False)
    loss = nn.CrossEntropyLoss(label_smoothing=params["smoothing"])
    result = call_student(
        f"loss_and_accuracy(model, nn.CrossEntropyLoss(label_smoothing="
        f"{params['smoothing']}), dataloader, {params['device']!r})",
        loss_and_accuracy, model, loss, loader, params["device"])
    pair, problem = (float_list(result) if isinstance(result, (tuple, list))
                     else (None, f"a {type(result).__name__}"))
    if pair is not None and len(pair) != 2:
        pair, problem = None, f"{len(pair)} values"
    data["result"] = pair
    data["result_problem"] = problem or ""
    data["grads"] = any(p.grad is not None for p in model.parameters())
    data.update(_recorder(model).as_data())
    return data


def verdict_loss_and_accuracy(params, data) -> str:
    """loss_and_accuracy on the check's tiny classifier: eval mode and no gradient tracking
    in every forward call, every batch moved to the device, and the pair (mean loss over the
    N examples, fraction of correct argmax predictions).

    Deterministic, computed in float64: loss tolerance 1e-4 relative + 1e-6 (float32 logits
    of 6 terms and a sum of <= 40 losses are exact to ~1e-6), accuracy within 1e-6 (every
    prediction's top two logits differ by > 1e-3, so float32 argmax agrees).  make_params
    redraws the data until the mean of batch means, plain cross-entropy (the loss argument
    ignored) and the mean of batch accuracies are each > 0.5 % (50 tolerances) away from
    the right values, so these mistakes are caught and named.

    Partial credit (the share of the check's points each property gives):
    - evaluation mode (0.2): every forward call in eval mode, without gradient tracking, on
      batches moved to the device
    - accuracy (0.3): the second value is the fraction of correct argmax predictions over
      all N examples (every batch once)
    - loss (0.5): the first value is the mean loss over the N examples, with the loss
      function given (every batch once)
    """
    check = LA_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your loss_and_accuracy function",
                           observed="not callable",
                           hint="pass the function: test_loss_and_accuracy(loss_and_accuracy)")
    ref = la_reference(params)
    call = (f"N = {params['n']} examples in batches of {params['batch']} (the last one "
            f"{params['n'] % params['batch']}), loss nn.CrossEntropyLoss(label_smoothing="
            f"{params['smoothing']})")
    pair = pd.numbers("result", optional=True)
    if pair is None or len(pair) != 2:
        raise CheckFailure(check, "returns (loss, accuracy)",
                           expected="a tuple (mean loss, accuracy) of two numbers",
                           observed=pd.text("result_problem") or "something else",
                           hint="return mean_loss, accuracy (Python floats, e.g. from .item())")
    judged = LOSS_AND_ACCURACY.judge()
    with judged("evaluation mode"):
        _check_calls(check, pd, params["device"], expect_eval_only=True)
    sizes = pd.integers("calls_batch")
    loss_value, accuracy = pair
    with judged("accuracy"):
        _la_batches(check, params, sizes)
        _la_order(check, ref, loss_value, accuracy)
        _la_accuracy(check, ref, accuracy, call)
    with judged("loss"):
        _la_batches(check, params, sizes)
        _la_order(check, ref, loss_value, accuracy)
        _la_loss(check, ref, loss_value, call)
    return judged.verdict(f"mean loss over {params['n']} examples and accuracy, in eval mode "
                          f"without gradients (batches of {params['batch']}, last one "
                          f"{params['n'] % params['batch']})")


def _la_batches(check, params, sizes) -> None:
    expected_sizes = [b - a for a, b in batches(params["n"], params["batch"])]
    if sizes != expected_sizes:
        raise CheckFailure(check, "every batch once", expected=f"batch sizes {expected_sizes}",
                           observed=f"{sizes}",
                           hint="loop once over the dataloader and call the model on each batch")


def _la_order(check, ref, loss_value, accuracy) -> None:
    if (np.isclose(loss_value, ref["accuracy"], rtol=RTOL, atol=ATOL)
            and np.isclose(accuracy, ref["loss"], rtol=RTOL, atol=ATOL)):
        raise CheckFailure(check, "returns (loss, accuracy)",
                           expected=f"({ref['loss']:.6g}, {ref['accuracy']:.6g})",
                           observed=f"({loss_value:.6g}, {accuracy:.6g})",
                           hint="the loss comes first, then the accuracy")


def _la_accuracy(check, ref, accuracy, call) -> None:
    if abs(accuracy - ref["accuracy"]) < 1e-6:
        return
    prop, hint = "accuracy", ("the fraction of all N examples whose largest score "
                              "(argmax over the classes) is the label")
    if np.isclose(accuracy, ref["count"]):
        prop, hint = "accuracy is a fraction", "divide the number of correct predictions by N"
    elif np.isclose(accuracy, ref["batch_accuracy"], rtol=RTOL):
        prop, hint = "mean over examples", ("average over the EXAMPLES, not over the "
                                            "batches: the last batch is smaller")
    raise CheckFailure(check, prop, expected=f"accuracy {ref['accuracy']:.6g} ({call})",
                       observed=f"{accuracy:.6g}", hint=hint)


def _la_loss(check, ref, loss_value, call) -> None:
    if np.isclose(loss_value, ref["loss"], rtol=RTOL, atol=ATOL):
        return
    prop, hint = "loss value", ("add n_b * (batch loss) over the batches and divide by N; "
                                "use the loss function you are given")
    mistakes = (("batch_mean", "mean over examples",
                 "your value is the mean of the BATCH losses; the last batch is smaller, so "
                 "weight each batch loss by its number of examples and divide by N"),
                ("sum_of_means", "mean over examples",
                 "your value is the sum of the batch losses: weight each by its number of "
                 "examples and divide by N"),
                ("total", "mean over examples",
                 "your value is the total loss: divide it by the number of examples N"),
                ("plain", "uses the given loss",
                 "your value is plain cross-entropy: compute the loss with the `loss` "
                 "argument (here it has label smoothing), not a loss of your own"),
                ("plain_batch_mean", "uses the given loss",
                 "your value is plain cross-entropy averaged over batches: use the `loss` "
                 "argument, and weight each batch by its size"))
    for key, wrong_prop, wrong_hint in mistakes:
        if np.isclose(loss_value, ref[key], rtol=RTOL, atol=ATOL):
            prop, hint = wrong_prop, wrong_hint
            break
    raise CheckFailure(check, prop, expected=f"mean loss {ref['loss']:.6g} ({call})",
                       observed=f"{loss_value:.6g}", hint=hint)


LOSS_AND_ACCURACY = Check(
    LA_NAME, probe_loss_and_accuracy, verdict_loss_and_accuracy, la_params,
    doc="test_loss_and_accuracy(loss_and_accuracy): checks (mean loss over the examples, "
        "accuracy) on a dataloader whose last batch is partial, in eval mode and without "
        "gradients, with the loss function it is given.")


# ============================================================================= train

def train_params(seed: int, device: str) -> dict:
    """Seed 0: 14 training examples in batches of 4 (last batch 2), 9 validation examples,
    D = 5 inputs, C = 3 classes, 3 epochs of SGD(lr=0.2, momentum=0.9), label smoothing 0.1.
    Other seeds: 10..24 training examples, batch size 3..6 with a partial last batch,
    5..12 validation examples, D in 2..6, C in 3..5 (D != C), 2..4 epochs, lr in 0.05..0.5,
    momentum in 0.5..0.95, Nesterov or not, smoothing 0.05, 0.1 or 0.2 (never 0, so that a
    loop that ignores its ``loss`` argument shows)."""
    if seed == 0:
        spec = {"n_train": 14, "n_valid": 9, "batch": 4, "d": 5, "classes": 3, "epochs": 3,
                "lr": 0.2, "momentum": 0.9, "nesterov": False, "smoothing": 0.1}
    else:
        rng = np.random.default_rng([seed, 61])
        batch = int(rng.integers(3, 7))
        n_train = batch * int(rng.integers(2, 5)) + int(rng.integers(1, batch))
        classes = int(rng.integers(3, 6))
        spec = {"n_train": n_train, "n_valid": int(rng.integers(5, 13)), "batch": batch,
                "d": int(rng.choice([v for v in range(2, 7) if v != classes])),
                "classes": classes, "epochs": int(rng.integers(2, 5)),
                "lr": round(float(rng.uniform(0.05, 0.5)), 3),
                "momentum": round(float(rng.uniform(0.5, 0.95)), 3),
                "nesterov": bool(rng.integers(0, 2)),
                "smoothing": float(rng.choice([0.05, 0.1, 0.2]))}
    for attempt in range(100):
        params = {"seed": seed, "device": device, **spec, "attempt": attempt}
        if _train_acceptable(params):
            return params
    raise RuntimeError(f"no acceptable train case for seed {seed}")  # pragma: no cover


def train_problem(params):
    """(X, y, Xv, yv, W0, b0), float32 values in float64; labels depend on the inputs (so
    training improves the accuracy) with some noise."""
    rng = np.random.default_rng([params["seed"], 62, params["attempt"]])
    d, c = params["d"], params["classes"]
    teacher = rng.standard_normal((c, d))
    X = f32(rng.standard_normal((params["n_train"], d)))
    Xv = f32(rng.standard_normal((params["n_valid"], d)))
    y = (X @ teacher.T + 0.7 * rng.standard_normal((len(X), c))).argmax(1)
    yv = (Xv @ teacher.T + 0.7 * rng.standard_normal((len(Xv), c))).argmax(1)
    W0, b0 = f32(0.5 * rng.standard_normal((c, d))), f32(0.2 * rng.standard_normal(c))
    return X, y, Xv, yv, W0, b0


def _evaluate(W, b, X, y, smoothing):
    logits = X @ W.T + b
    return (float(cross_entropy_per_example(logits, y, smoothing).mean()),
            float((logits.argmax(1) == y).mean()), top_two_gap(logits))


def replay(params, variant="correct"):
    """The training run in float64.  Variants (mistakes): 'accumulate' (gradients never
    zeroed), 'running' (the train entries are the running mean of the batch losses and
    accuracies during the epoch, before each step).  Returns (history, W, b, smallest gap)."""
    X, y, Xv, yv, W, b = train_problem(params)
    W, b = W.copy(), b.copy()
    eps, lr, mu = params["smoothing"], params["lr"], params["momentum"]
    buf_W = buf_b = None
    acc_W, acc_b = np.zeros_like(W), np.zeros_like(b)
    history = {key: [] for key in KEYS}
    gap = np.inf
    for _ in range(params["epochs"]):
        seen_loss = seen_correct = 0.0
        for start, stop in batches(params["n_train"], params["batch"]):
            xb, yb = X[start:stop], y[start:stop]
            logits = xb @ W.T + b
            seen_loss += cross_entropy_per_example(logits, yb, eps).sum()
            seen_correct += (logits.argmax(1) == yb).sum()
            G = cross_entropy_logit_grad(logits, yb, eps)
            gW, gb = G.T @ xb, G.sum(axis=0)
            if variant == "accumulate":
                acc_W, acc_b = acc_W + gW, acc_b + gb
                gW, gb = acc_W.copy(), acc_b.copy()
            buf_W = gW.copy() if buf_W is None else mu * buf_W + gW
            buf_b = gb.copy() if buf_b is None else mu * buf_b + gb
            step_W = gW + mu * buf_W if params["nesterov"] else buf_W
            step_b = gb + mu * buf_b if params["nesterov"] else buf_b
            W, b = W - lr * step_W, b - lr * step_b
        train_loss, train_acc, g1 = _evaluate(W, b, X, y, eps)
        valid_loss, valid_acc, g2 = _evaluate(W, b, Xv, yv, eps)
        if variant == "running":
            train_loss, train_acc = seen_loss / len(y), seen_correct / len(y)
        gap = min(gap, g1, g2)
        for key, value in zip(KEYS, (train_loss, train_acc, valid_loss, valid_acc)):
            history[key].append(float(value))
    return history, W, b, gap


def _far(a, b) -> bool:
    return bool(np.any(np.abs(np.asarray(a) - np.asarray(b)) > 1e-2 * np.abs(np.asarray(b)) + 1e-3))


def _train_acceptable(params) -> bool:
    history, W, b, gap = replay(params)
    if gap <= GAP:
        return False
    acc_history, acc_W, _, _ = replay(params, "accumulate")
    run_history, _, _, _ = replay(params, "running")
    return (_far(acc_W, W) and _far(run_history["train_loss"], history["train_loss"])
            and _far(history["train_loss"], history["validation_loss"]))


@in_one_thread
def probe_train(params, train) -> dict:
    data = {"callable": callable(train)}
    if not data["callable"]:
        return data
    device = params["device"]
    X, y, Xv, yv, W0, b0 = train_problem(params)
    model = _tiny_classifier(W0, b0, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=params["lr"],
                                momentum=params["momentum"], nesterov=params["nesterov"])
    loss = nn.CrossEntropyLoss(label_smoothing=params["smoothing"])
    loader = lambda A, B: DataLoader(  # noqa: E731
        TensorDataset(torch.tensor(A, dtype=torch.float32), torch.tensor(B)),
        batch_size=params["batch"], shuffle=False)
    result = call_student(
        f"train(model, nn.CrossEntropyLoss(label_smoothing={params['smoothing']}), "
        f"SGD(lr={params['lr']}, momentum={params['momentum']}, nesterov={params['nesterov']}), "
        f"train_dataloader, validation_dataloader, {params['epochs']}, {device!r})",
        train, model, loss, optimizer, loader(X, y), loader(Xv, yv), params["epochs"], device)
    data["result_type"] = type(result).__name__
    data["is_dict"] = isinstance(result, dict)
    data["keys"] = sorted(str(k) for k in result) if isinstance(result, dict) else []
    for key in KEYS:
        values, problem = (float_list(result[key]) if isinstance(result, dict) and key in result
                           else (None, "missing"))
        data[f"history_{key}"] = values
        data[f"history_problem_{key}"] = problem or ""
    linear = model[1]
    data["weight"] = to_numpy(linear.weight)
    data["bias"] = to_numpy(linear.bias)
    data.update(_recorder(model).as_data())
    return data


def verdict_train(params, data) -> str:
    """train on the check's tiny classifier for a few epochs: model.train() for the training
    passes (with gradients), the final parameters equal to a float64 replay of the
    optimizer's steps (SGD with momentum / Nesterov, closed-form cross-entropy gradients),
    and the dict of per-epoch histories equal to the replay's evaluations after each epoch.

    Deterministic: tolerance 1e-3 relative + 1e-5 on parameters and losses (float32 vs
    float64 over <= 32 steps: measured over seeds 0..200, at most 1.3 % of the tolerance),
    the same tolerance on accuracies, whose steps are 1/N >= 1/24 (make_params keeps every
    evaluated prediction's top two logits > 1e-3 apart, so float32 argmax agrees).  The data are redrawn until the no-zero_grad run, the running-average
    train loss and the validation loss each differ from the right values by > 1 %, so these
    mistakes (and swapping train and validation) are caught and named.
    """
    check = TRAIN_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your train function",
                           observed="not callable", hint="pass the function: test_train(train)")
    epochs = params["epochs"]
    nb = len(batches(params["n_train"], params["batch"]))
    setup = (f"{epochs} epochs, {params['n_train']} training examples in batches of "
             f"{params['batch']}, SGD(lr={params['lr']}, momentum={params['momentum']}, "
             f"nesterov={params['nesterov']})")
    if not pd.flag("is_dict"):
        raise CheckFailure(check, "returns the history dict",
                           expected=f"a dict with keys {list(KEYS)}",
                           observed=pd.text("result_type"),
                           hint="return a dict of four lists, one entry per epoch")
    observed = {}
    for key in KEYS:
        values = pd.numbers(f"history_{key}", optional=True)
        if values is None or len(values) != epochs:
            raise CheckFailure(check, "returns the history dict",
                               expected=f"history[{key!r}]: a list of {epochs} numbers",
                               observed=(pd.text(f"history_problem_{key}") or "None")
                               if values is None else f"{len(values)} numbers",
                               hint="append one loss and one accuracy per epoch for the "
                                    "training and the validation data")
        observed[key] = values
    _check_calls(check, pd, params["device"], expect_eval_only=False)
    training, grad = pd.flags("calls_training"), pd.flags("calls_grad")
    if len(training) != len(grad):
        pd.fail("calls_training and calls_grad of the same length", "different lengths")
    with_grad = [t for t, g in zip(training, grad) if g]
    if with_grad.count(False):
        raise CheckFailure(check, "train mode while training",
                           expected="model.training == True in every training forward pass",
                           observed=f"{with_grad.count(False)} of {len(with_grad)} in eval mode",
                           hint="loss_and_accuracy leaves the model in eval mode: call "
                                "model.train() at the start of every epoch")
    if len(with_grad) != epochs * nb:
        raise CheckFailure(check, "training forward passes",
                           expected=f"{epochs} epochs x {nb} batches = {epochs * nb} forward "
                                    f"passes with gradients",
                           observed=f"{len(with_grad)}",
                           hint="one forward, backward and optimizer step per training batch; "
                                "evaluate without gradients (through loss_and_accuracy)")
    if any(t and not g for t, g in zip(training, grad)):
        raise CheckFailure(check, "eval mode", expected="evaluation in eval mode",
                           observed="a no-grad forward pass in training mode",
                           hint="evaluate through your loss_and_accuracy, which calls "
                                "model.eval()")
    history, W, b, _ = replay(params)
    W_obs = pd.array("weight", shape=W.shape)
    b_obs = pd.array("bias", shape=b.shape)
    if not (close(W_obs, W, **TRAIN_TOL) and close(b_obs, b, **TRAIN_TOL)):
        _, W_acc, b_acc, _ = replay(params, "accumulate")
        prop, hint = "final parameters", (
            "for every batch: optimizer.zero_grad(), forward, loss, backward(), "
            "optimizer.step(), with the optimizer and the loss you are given")
        if close(W_obs, W_acc, **TRAIN_TOL):
            prop, hint = "gradients zeroed every batch", (
                "backward() ADDS to .grad: call optimizer.zero_grad() for every batch")
        elif close(W_obs, train_problem(params)[4], **TRAIN_TOL):
            prop, hint = "parameters updated", (
                "the parameters did not change: call optimizer.step() after backward()")
        raise CheckFailure(check, prop, expected=f"final weights, first row {fmt(W[0])} ({setup})",
                           observed=f"first row {fmt(W_obs[0])}", hint=hint)
    running, _, _, _ = replay(params, "running")
    for key in KEYS:
        if close(observed[key], history[key], **TRAIN_TOL):
            continue
        other = key.replace("train", "validation") if key.startswith("train") \
            else key.replace("validation", "train")
        prop, hint = "history values", (
            f"after each epoch record loss_and_accuracy(model, loss, <{key.split('_')[0]} "
            f"dataloader>, device); if test_loss_and_accuracy fails, fix it first")
        if close(observed[key], history[other], **TRAIN_TOL):
            prop, hint = "which history is which", f"history[{key!r}] holds the {other} values"
        elif key.startswith("train") and close(observed[key], running[key], **TRAIN_TOL):
            prop, hint = "train loss after the epoch", (
                "the notebook records the training loss and accuracy of the model AFTER the "
                "epoch (loss_and_accuracy on the training data), not a running average of the "
                "batches during the epoch")
        raise CheckFailure(check, prop, expected=f"history[{key!r}] = {fmt(history[key])}",
                           observed=fmt(observed[key]), hint=hint)
    return (f"parameters after {epochs * nb} optimizer steps and the four per-epoch histories "
            f"({setup})")


TRAIN = Check(
    TRAIN_NAME, probe_train, verdict_train, train_params,
    doc="test_train(train): trains a tiny classifier with your train function and compares "
        "the final parameters and the per-epoch history dict with a replay of the same "
        "optimizer steps.")
