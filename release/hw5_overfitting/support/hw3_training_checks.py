"""Check of the closing exercise: the student's model and optimizer must beat the benchmark.

The student chooses, in a solution cell, ``make_model()`` (a fresh model for 64-pixel inputs
whose output is log-probabilities over the 10 classes, e.g. an :class:`MLP`),
``make_optimizer(model)`` (a ``torch.optim`` optimizer over the model's parameters), and
two integers ``BATCH_SIZE`` and ``NUM_STEPS``.  The check trains that choice itself (the
grader skips the notebook's demo cells): the model is built right after
``torch.manual_seed(1000 + seed)``, moved to the check's device, and trained with
:func:`support.hw3_helpers.train_model` (NUM_STEPS minibatches of BATCH_SIZE training images,
reshuffled every epoch with a generator seeded 1000 + ``seed``, NLL loss) on the 1097 training
images.  It then predicts the 400 held-out test images; the verdict computes the accuracy
from those predictions with its own copy of the test classes, and requires it to be
strictly above the benchmark, :func:`support.hw3_helpers.linear_benchmark` (0.9475: the
linear model after 100 full-batch gradient-descent steps).

Budget (keeps one check at a few seconds on a CPU): at most 50,000 trainable parameters,
BATCH_SIZE <= 512, NUM_STEPS <= 2000 and NUM_STEPS * BATCH_SIZE <= 64,000 examples.

What is random: the student's result depends on the seed (initial weights, batch order),
so the verdict is deterministic for a given seed but a choice that only just beats the
benchmark at seed 0 may not at another seed, which the hidden tests use.  The notebook says
so and asks for a margin.  The reference choice (an MLP with one hidden layer of 128 units,
Adam with lr 3e-3, batches of 64, 600 steps) was run at seeds 0..199: test accuracy 0.955
to 0.9775 (mean 0.968), above the benchmark at every seed; the test suite reruns it at
seeds 0, 1 and 2.  ("seed" means the seed the check is called with; the training seed is
1000 + seed.)
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
from torch import nn

from .checking import Check, CheckFailure, call_student
from .hw3_helpers import digits_part, linear_benchmark, single_thread, train_model
from .probe_data import ProbeData

BEAT_BENCHMARK_NAME = "test_beat_benchmark"
MAX_PARAMETERS = 50_000
MAX_BATCH = 512
MAX_STEPS = 2_000
MAX_EXAMPLES = 64_000
NUM_CLASSES = 10
PROBE_ROWS = 7
LOGSUMEXP_TOL = 1e-3


def make_params(seed: int, device: str) -> dict:
    """The seed fixes the initial weights and the batch order; the data split never changes."""
    return {"seed": seed, "device": device, "train_seed": 1_000 + seed}


def _integer(value):
    """value as an int if it is an integer (Python or numpy, not bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return None


@contextlib.contextmanager
def _own_random_state(device: str):
    """Seeding inside the check must not change the notebook's random numbers afterwards;
    one CPU thread while it trains (a small MLP runs fastest so, and several threads slow
    to a crawl on a busy machine), the caller's thread count restored afterwards."""
    devices = [torch.cuda.current_device()] if torch.device(device).type == "cuda" else []
    with single_thread(), torch.random.fork_rng(devices=devices):
        yield


def probe(params: dict, make_model, make_optimizer, batch_size, num_steps, **_ignored) -> dict:
    """Build, train (if within the budget) and evaluate the student's choice."""
    data = {"batch_size": _integer(batch_size), "num_steps": _integer(num_steps),
            "settings_types": [type(batch_size).__name__, type(num_steps).__name__],
            "trained": False}
    b, s = data["batch_size"], data["num_steps"]
    if b is None or s is None or b < 1 or s < 1 or b > MAX_BATCH or s > MAX_STEPS \
            or b * s > MAX_EXAMPLES:
        return data
    device = params["device"]
    with _own_random_state(device):
        torch.manual_seed(params["train_seed"])
        model = call_student("make_model()", make_model)
        data["model_type"] = type(model).__name__
        data["is_module"] = isinstance(model, nn.Module)
        if not data["is_module"]:
            return data
        trainable = [p for p in model.parameters() if p.requires_grad]
        data["n_parameters"] = int(sum(p.numel() for p in trainable))
        if not 0 < data["n_parameters"] <= MAX_PARAMETERS:
            return data
        model = model.to(device)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = call_student("make_optimizer(model)", make_optimizer, model)
        data["optimizer_type"] = type(optimizer).__name__
        data["is_optimizer"] = isinstance(optimizer, torch.optim.Optimizer)
        if not data["is_optimizer"]:
            return data
        handled = {id(p) for group in optimizer.param_groups for p in group["params"]}
        data["parameters_in_optimizer"] = sum(id(p) in handled for p in trainable)
        data["parameters_in_model"] = len(trainable)
        if data["parameters_in_optimizer"] < len(trainable):
            return data
        x_train, y_train = (torch.from_numpy(a) for a in digits_part("train", np.float32))
        x_test, _ = digits_part("test", np.float32)
        with torch.no_grad():
            out = call_student(f"model(inputs of shape ({PROBE_ROWS}, 64))", model,
                               x_train[:PROBE_ROWS].to(device))
        data["probe_output"] = out.detach().cpu().double().numpy() \
            if isinstance(out, torch.Tensor) else None
        if data["probe_output"] is None or data["probe_output"].shape != (PROBE_ROWS, NUM_CLASSES):
            return data
        started = time.perf_counter()
        history = call_student("training your model (forward, backward, optimizer.step())",
                               train_model, model, optimizer, x_train, y_train, b, s,
                               seed=params["train_seed"])
        data["train_seconds"] = time.perf_counter() - started
        data["train_loss"] = np.asarray(history["train_loss"], dtype=np.float64)
        model.eval()
        with torch.no_grad():
            out = call_student("model(test images)", model, torch.from_numpy(x_test).to(device))
        data["test_output"] = out.detach().cpu().double().numpy()
        data["trained"] = True
    return data


def verdict(params: dict, data, **_ignored) -> str:
    """Trains the student's choice (see the module); test accuracy must beat the benchmark."""
    check = BEAT_BENCHMARK_NAME
    pd = ProbeData(check, data)
    batch = pd.number("batch_size", optional=True)
    steps = pd.number("num_steps", optional=True)
    if not (batch is not None and steps is not None and batch == int(batch)
            and steps == int(steps) and batch >= 1 and steps >= 1):
        raise CheckFailure(check, "training settings",
                           expected="BATCH_SIZE and NUM_STEPS positive integers",
                           observed=f"types {pd.texts('settings_types', length=2)}, "
                                    f"values {batch!r}, {steps!r}",
                           hint="set BATCH_SIZE and NUM_STEPS to whole numbers, e.g. 64 and 600")
    batch, steps = int(batch), int(steps)
    if batch > MAX_BATCH or steps > MAX_STEPS or batch * steps > MAX_EXAMPLES:
        raise CheckFailure(check, "training budget",
                           expected=f"BATCH_SIZE <= {MAX_BATCH}, NUM_STEPS <= {MAX_STEPS} and "
                                    f"BATCH_SIZE * NUM_STEPS <= {MAX_EXAMPLES:,}",
                           observed=f"BATCH_SIZE = {batch}, NUM_STEPS = {steps} "
                                    f"({batch * steps:,} examples)",
                           hint="the budget keeps grading fast; a good optimizer needs far less")
    if not pd.flag("is_module"):
        raise CheckFailure(check, "make_model returns a model",
                           expected="a torch.nn.Module (e.g. MLP(64, 10, [...]))",
                           observed=f"a {pd.text('model_type')}",
                           hint="make_model() must build and return a new model")
    n_parameters = pd.integer("n_parameters")
    if not 0 < n_parameters <= MAX_PARAMETERS:
        raise CheckFailure(check, "model size",
                           expected=f"between 1 and {MAX_PARAMETERS:,} trainable parameters",
                           observed=f"{n_parameters:,}",
                           hint="a hidden layer of about a hundred units is plenty for 8x8 "
                                "digits")
    if not pd.flag("is_optimizer"):
        raise CheckFailure(check, "make_optimizer returns a torch optimizer",
                           expected="a torch.optim.Optimizer, e.g. torch.optim.Adam(...)",
                           observed=f"a {pd.text('optimizer_type')}",
                           hint="make_optimizer(model) must return e.g. "
                                "torch.optim.SGD(model.parameters(), lr=...)")
    covered, total = pd.integer("parameters_in_optimizer"), pd.integer("parameters_in_model")
    if covered < total:
        raise CheckFailure(check, "optimizer updates the model's parameters",
                           expected=f"all {total} parameter tensors of the model given to "
                                    "the optimizer",
                           observed=f"{covered} of them",
                           hint="build the optimizer from the model it receives: "
                                "optimizer(model.parameters(), ...), not from another model")
    out = pd.array("probe_output", optional=True)
    if out is None or out.shape != (PROBE_ROWS, NUM_CLASSES) \
            or not np.all(np.abs(_logsumexp(out)) <= LOGSUMEXP_TOL):
        observed = "not a tensor" if out is None else (
            f"shape {out.shape}" if out.shape != (PROBE_ROWS, NUM_CLASSES) else
            f"log of the summed probabilities per row: {np.round(_logsumexp(out)[:3], 3)} ...")
        raise CheckFailure(check, "model outputs log-probabilities",
                           expected=f"shape ({PROBE_ROWS}, {NUM_CLASSES}) for {PROBE_ROWS} images, "
                                    "rows whose exp sums to 1 (a log-softmax)",
                           observed=observed,
                           hint="the training loss is F.nll_loss, which needs log-probabilities: "
                                "end the model with a log-softmax (MLP does)")
    if not pd.flag("trained"):
        raise CheckFailure(check, "probe data", expected="a trained model", observed="none")
    losses = pd.array("train_loss")
    if losses.shape != (steps,) or not np.all(np.isfinite(losses)):
        first = int(np.argmax(~np.isfinite(losses))) + 1 if losses.size else 0
        raise CheckFailure(check, "training loss stays finite",
                           expected=f"{steps} finite minibatch losses",
                           observed=f"the loss became nan/inf at step {first}",
                           hint="the learning rate is too large for this optimizer (divide it "
                                "by 10 and try again), or the model computes log(softmax(...)) "
                                "in two steps, which gives log(0) = -inf: use F.log_softmax")
    _, y_test = digits_part("test")
    scores = pd.array("test_output")
    if scores.shape != (len(y_test), NUM_CLASSES):
        raise CheckFailure(check, "model outputs log-probabilities",
                           expected=f"shape ({len(y_test)}, {NUM_CLASSES}) on the test images",
                           observed=f"shape {scores.shape}")
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y_test))
    benchmark = linear_benchmark()
    summary = (f"test accuracy {accuracy:.4f} > benchmark {benchmark:.4f} after {steps} steps "
               f"of {batch} (final minibatch loss {np.mean(losses[-20:]):.3f})")
    if not accuracy > benchmark:
        raise CheckFailure(check, "test accuracy beats the benchmark",
                           expected=f"test accuracy above {benchmark:.4f}",
                           observed=f"{accuracy:.4f} after {steps} steps of {batch} "
                                    f"(mean loss of the last 20 minibatches "
                                    f"{np.mean(losses[-20:]):.3f})",
                           hint="a falling but still high loss needs a larger learning rate or "
                                "more steps; a loss that jumps around needs a smaller rate. "
                                "Try Adam or SGD with momentum, and tune on the validation set")
    return summary


def _logsumexp(out: np.ndarray) -> np.ndarray:
    top = np.max(out, axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        return (top + np.log(np.sum(np.exp(out - top), axis=1, keepdims=True)))[:, 0]


BEAT_BENCHMARK = Check(BEAT_BENCHMARK_NAME, probe, verdict, make_params,
                       doc="test_beat_benchmark(make_model, make_optimizer, BATCH_SIZE, "
                           "NUM_STEPS): trains your choice and compares its test accuracy "
                           "with the benchmark.")
