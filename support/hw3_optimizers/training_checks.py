"""Check of the closing exercise: the student's model and optimizer must beat the benchmark.

The student chooses, in a solution cell, ``make_model()`` (a fresh model for 64-pixel inputs
whose output is log-probabilities over the 10 classes, e.g. an :class:`MLP`),
``make_optimizer(model)`` (a ``torch.optim`` optimizer over the model's parameters), and
two integers ``BATCH_SIZE`` and ``NUM_STEPS``.  The check trains that choice itself, twice
(the grader skips the notebook's demo cells): each time the model is built right after
``torch.manual_seed(s)``, moved to the check's device, and trained with
:func:`support.hw3_optimizers.common.train_model` (NUM_STEPS minibatches of BATCH_SIZE training images,
reshuffled every epoch with a generator seeded ``s``, NLL loss) on the 1097 training images,
for the two seeds ``s`` of :func:`make_params`.  Each trained model predicts the 400 test
images; the verdict counts the correct ones with its own copy of the test classes.

The benchmark (:func:`support.hw3_optimizers.common.benchmark_predictions`) is the seed document's
network, MLP(64, 10, [200, 100, 50]), trained by plain minibatch SGD (lr 0.1, 1000 batches
of 64, about 58 epochs) from a fixed start, in float64 numpy: the same on every machine.
It gets 384 of the 400 test images right: accuracy **0.9600** (the linear model that was the
benchmark before got 0.9475); the recipe's mean over 40 starts is 0.9554, so this start is a
typical one, if anything a strong one.  Computing it takes about half a second, once per process.

Pass rule: the mean test accuracy of the two trainings must be at least the benchmark's plus
a margin of 4 images, 0.01: **>= 0.9700**, i.e. at least 776 correct answers out of 2 x 400.

Why two trainings and this margin.  A single training's accuracy depends on luck: the
initial weights and the batch order (the test set is fixed).  Measured through this check on a
CPU (torch 2.13), counting correct test images out of 400:

* the benchmark's own recipe submitted as a student's choice, MLP(64, 10, [200, 100, 50]) with
  torch.optim.SGD(lr=0.1), batches of 64, 1000 steps (a choice no better than the benchmark by
  construction), 120 trainings: mean 382.2 (0.9555), standard deviation 2.35 images, best 389;
  the mean of the two trainings of one check: standard deviation 1.56, best 386 in 60 checks;
* the reference choice, MLP(64, 10, [512]) with Adam(lr=5e-3), batches of 128, 500 steps, 200
  trainings: mean 392.2 (0.9805), standard deviation 1.18, worst 389; two-training mean:
  standard deviation 0.87, worst 390 in 100 checks.

The bar, 388 on average, is (388 - 382.2) / 1.56 = 3.7 standard deviations of a two-training
mean above the benchmark recipe's: such a choice passes one seed with probability about 1e-4
(normal tail), and the grader needs seed 0 *and* two fresh seeds, independent trainings: about
1e-12 for the three.  A choice no better than the benchmark on average but twice as erratic
(3.1 images for a two-training mean) passes one seed with probability 3 %, all three below
1e-4.  So matching the benchmark, with luck in a training or two, is not enough: passing takes
a recipe that is better on average.  The reference is (392.2 - 388) / 0.87 = 4.8 standard
deviations above the bar: it fails one seed with probability about 1e-6, three below 3e-6
(the test suite reruns it at seeds 0, 1 and 2; the notebook asks for a clear margin).

What no check on this test set can rule out is luck of the test set itself: its 400 images are
one sample of handwritten digits.  Two trainings of the same recipe, models of the same
accuracy in general, disagree about which test images they get right on about 10 of them
(10.6 measured for the benchmark's recipe), so the difference of two such models on one sample
of 400 wanders by about sqrt(10) ~ 3 images.  The reference gets about 11 images right that the
benchmark misses and misses about 2 that it gets right; a sign test on those 13 puts the
chance of so lopsided a split between two equally good models near 1 %.  A margin that ruled
out test-set luck at the level of 1e-3 would be about 11 images, more than the best models
within the budget gain over the benchmark (8).  So "beats the benchmark" means "on this test
set"; the notebook's Question 11 asks what such a number does and does not show.

Budget (keeps one check, two trainings, at a second or two on a CPU): at most 50,000
trainable parameters, BATCH_SIZE <= 512, NUM_STEPS <= 1000 and NUM_STEPS * BATCH_SIZE <=
64,000 examples.  ("seed" means the seed the check is called with.)
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
from torch import nn

from ..checking import Check, CheckFailure, call_student
from .common import (benchmark_accuracy, benchmark_predictions, digits_part, single_thread,
                     train_model)
from ..probe_data import ProbeData

BEAT_BENCHMARK_NAME = "test_beat_benchmark"
MAX_PARAMETERS = 50_000
MAX_BATCH = 512
MAX_STEPS = 1_000
MAX_EXAMPLES = 64_000
RUNS = 2             # trainings per check, from different seeds; their mean accuracy counts
MARGIN_IMAGES = 4    # the mean must beat the benchmark by 4 of the 400 test images (0.01)
NUM_CLASSES = 10
PROBE_ROWS = 7
LOGSUMEXP_TOL = 1e-3


def make_params(seed: int, device: str) -> dict:
    """The seed fixes the initial weights and the batch orders of the two trainings
    (seeds 1000 + 2 seed and 1001 + 2 seed, never shared between two check seeds); the data
    split never changes."""
    return {"seed": seed, "device": device,
            "train_seeds": [1_000 + 2 * seed + run for run in range(RUNS)]}


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



def _train_once(params: dict, train_seed: int, make_model, make_optimizer, b: int, s: int,
                data: dict, prefix: str) -> bool:
    """One training of the student's choice; its facts under ``prefix``.  False when it
    stopped early (the verdict says why from the facts recorded so far)."""
    device = params["device"]
    torch.manual_seed(train_seed)
    model = call_student("make_model()", make_model)
    data[prefix + "model_type"] = type(model).__name__
    data[prefix + "is_module"] = isinstance(model, nn.Module)
    if not data[prefix + "is_module"]:
        return False
    trainable = [p for p in model.parameters() if p.requires_grad]
    data[prefix + "n_parameters"] = int(sum(p.numel() for p in trainable))
    if not 0 < data[prefix + "n_parameters"] <= MAX_PARAMETERS:
        return False
    model = model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = call_student("make_optimizer(model)", make_optimizer, model)
    data[prefix + "optimizer_type"] = type(optimizer).__name__
    data[prefix + "is_optimizer"] = isinstance(optimizer, torch.optim.Optimizer)
    if not data[prefix + "is_optimizer"]:
        return False
    handled = {id(p) for group in optimizer.param_groups for p in group["params"]}
    data[prefix + "parameters_in_optimizer"] = sum(id(p) in handled for p in trainable)
    data[prefix + "parameters_in_model"] = len(trainable)
    if data[prefix + "parameters_in_optimizer"] < len(trainable):
        return False
    x_train, y_train = (torch.from_numpy(a) for a in digits_part("train", np.float32))
    x_test, _ = digits_part("test", np.float32)
    with torch.no_grad():
        out = call_student(f"model(inputs of shape ({PROBE_ROWS}, 64))", model,
                           x_train[:PROBE_ROWS].to(device))
    data[prefix + "probe_output"] = out.detach().cpu().double().numpy() \
        if isinstance(out, torch.Tensor) else None
    if data[prefix + "probe_output"] is None \
            or data[prefix + "probe_output"].shape != (PROBE_ROWS, NUM_CLASSES):
        return False
    started = time.perf_counter()
    history = call_student("training your model (forward, backward, optimizer.step())",
                           train_model, model, optimizer, x_train, y_train, b, s,
                           seed=train_seed)
    data[prefix + "train_seconds"] = time.perf_counter() - started
    data[prefix + "train_loss"] = np.asarray(history["train_loss"], dtype=np.float64)
    model.eval()
    with torch.no_grad():
        out = call_student("model(test images)", model, torch.from_numpy(x_test).to(device))
    data[prefix + "test_output"] = out.detach().cpu().double().numpy() \
        if isinstance(out, torch.Tensor) else None
    data[prefix + "trained"] = True
    return True


def probe_beat_benchmark(params: dict, make_model, make_optimizer, BATCH_SIZE, NUM_STEPS) -> dict:
    """Build, train (if within the budget) and evaluate the student's choice, RUNS times."""
    data = {"batch_size": _integer(BATCH_SIZE), "num_steps": _integer(NUM_STEPS),
            "settings_types": [type(BATCH_SIZE).__name__, type(NUM_STEPS).__name__],
            "runs": 0}
    b, s = data["batch_size"], data["num_steps"]
    if b is None or s is None or b < 1 or s < 1 or b > MAX_BATCH or s > MAX_STEPS \
            or b * s > MAX_EXAMPLES:
        return data
    with _own_random_state(params["device"]):
        for run, train_seed in enumerate(params["train_seeds"]):
            data["runs"] = run + 1
            if not _train_once(params, int(train_seed), make_model, make_optimizer, b, s,
                               data, f"r{run}_"):
                break
    return data


# ----------------------------------------------------------------------------- verdict

def _fail(prop, expected=None, observed=None, hint=""):
    raise CheckFailure(BEAT_BENCHMARK_NAME, prop, expected=expected, observed=observed,
                       hint=hint)


def _verdict_settings(pd: ProbeData) -> tuple[int, int]:
    batch = pd.number("batch_size", optional=True)
    steps = pd.number("num_steps", optional=True)
    if not (batch is not None and steps is not None and batch == int(batch)
            and steps == int(steps) and batch >= 1 and steps >= 1):
        _fail("training settings", expected="BATCH_SIZE and NUM_STEPS positive integers",
              observed=f"types {pd.texts('settings_types', length=2)}, "
                       f"values {batch!r}, {steps!r}",
              hint="set BATCH_SIZE and NUM_STEPS to whole numbers, e.g. 64 and 600")
    batch, steps = int(batch), int(steps)
    if batch > MAX_BATCH or steps > MAX_STEPS or batch * steps > MAX_EXAMPLES:
        _fail("training budget",
              expected=f"BATCH_SIZE <= {MAX_BATCH}, NUM_STEPS <= {MAX_STEPS} and "
                       f"BATCH_SIZE * NUM_STEPS <= {MAX_EXAMPLES:,}",
              observed=f"BATCH_SIZE = {batch}, NUM_STEPS = {steps} "
                       f"({batch * steps:,} examples)",
              hint="the budget keeps grading fast; a good optimizer needs far less")
    return batch, steps


def _verdict_run(pd: ProbeData, prefix: str, steps: int, y_test: np.ndarray) -> tuple:
    """One training's facts, in the order the probe recorded them; returns (number of test
    images right, mean loss of the last 20 minibatches)."""
    if not pd.flag(prefix + "is_module"):
        _fail("make_model returns a model",
              expected="a torch.nn.Module (e.g. MLP(64, 10, [...]))",
              observed=f"a {pd.text(prefix + 'model_type')}",
              hint="make_model() must build and return a new model")
    n_parameters = pd.integer(prefix + "n_parameters")
    if not 0 < n_parameters <= MAX_PARAMETERS:
        _fail("model size", expected=f"between 1 and {MAX_PARAMETERS:,} trainable parameters",
              observed=f"{n_parameters:,}",
              hint="one hidden layer of a few hundred units fits the budget and suits 8x8 "
                   "digits")
    if not pd.flag(prefix + "is_optimizer"):
        _fail("make_optimizer returns a torch optimizer",
              expected="a torch.optim.Optimizer, e.g. torch.optim.Adam(...)",
              observed=f"a {pd.text(prefix + 'optimizer_type')}",
              hint="make_optimizer(model) must return e.g. "
                   "torch.optim.SGD(model.parameters(), lr=...)")
    covered = pd.integer(prefix + "parameters_in_optimizer")
    total = pd.integer(prefix + "parameters_in_model")
    if covered < total:
        _fail("optimizer updates the model's parameters",
              expected=f"all {total} parameter tensors of the model given to the optimizer",
              observed=f"{covered} of them",
              hint="build the optimizer from the model it receives: "
                   "optimizer(model.parameters(), ...), not from another model")
    out = pd.array(prefix + "probe_output", optional=True)
    if out is None or out.shape != (PROBE_ROWS, NUM_CLASSES) \
            or not np.all(np.abs(_logsumexp(out)) <= LOGSUMEXP_TOL):
        observed = "not a tensor" if out is None else (
            f"shape {out.shape}" if out.shape != (PROBE_ROWS, NUM_CLASSES) else
            f"log of the summed probabilities per row: {np.round(_logsumexp(out)[:3], 3)} ...")
        _fail("model outputs log-probabilities",
              expected=f"shape ({PROBE_ROWS}, {NUM_CLASSES}) for {PROBE_ROWS} images, "
                       "rows whose exp sums to 1 (a log-softmax)",
              observed=observed,
              hint="the training loss is F.nll_loss, which needs log-probabilities: "
                   "end the model with a log-softmax (MLP does)")
    if not pd.flag(prefix + "trained"):
        _fail("probe data", expected="a trained model", observed="none")
    losses = pd.array(prefix + "train_loss")
    if losses.shape != (steps,) or not np.all(np.isfinite(losses)):
        first = int(np.argmax(~np.isfinite(losses))) + 1 if losses.size else 0
        _fail("training loss stays finite", expected=f"{steps} finite minibatch losses",
              observed=f"the loss became nan/inf at step {first}",
              hint="the learning rate is too large for this optimizer (divide it by 10 and "
                   "try again), or the model computes log(softmax(...)) in two steps, which "
                   "gives log(0) = -inf: use F.log_softmax")
    scores = pd.array(prefix + "test_output")
    if scores.shape != (len(y_test), NUM_CLASSES):
        _fail("model outputs log-probabilities",
              expected=f"shape ({len(y_test)}, {NUM_CLASSES}) on the test images",
              observed=f"shape {scores.shape}")
    return int(np.sum(np.argmax(scores, axis=1) == y_test)), float(np.mean(losses[-20:]))


def verdict_beat_benchmark(params: dict, data) -> str:
    """Trains the student's choice twice (see the module); the mean test accuracy of the two
    trainings must beat the benchmark (0.9600) by 0.01, i.e. be at least 0.9700."""
    pd = ProbeData(BEAT_BENCHMARK_NAME, data)
    batch, steps = _verdict_settings(pd)
    _, y_test = digits_part("test")
    n = len(y_test)
    seeds = params["train_seeds"]
    if pd.integer("runs") != len(seeds):
        _verdict_run(pd, f"r{max(pd.integer('runs') - 1, 0)}_", steps, y_test)  # says why
        _fail("probe data", expected=f"{len(seeds)} trainings", observed=pd.integer("runs"))
    results = [_verdict_run(pd, f"r{run}_", steps, y_test) for run in range(len(seeds))]
    right = [r for r, _ in results]
    bench_right = int(np.sum(benchmark_predictions() == y_test))
    need = len(seeds) * (bench_right + MARGIN_IMAGES)
    mean = sum(right) / (len(seeds) * n)
    bar, benchmark = (bench_right + MARGIN_IMAGES) / n, benchmark_accuracy()
    runs_text = ", ".join(f"{r / n:.4f}" for r in right)
    if sum(right) < need:
        _fail("test accuracy beats the benchmark",
              expected=f"mean test accuracy over {len(seeds)} trainings >= {bar:.4f} "
                       f"(benchmark {benchmark:.4f} + margin {MARGIN_IMAGES / n:.4f})",
              observed=f"{mean:.4f} (trainings: {runs_text}) after {steps} steps of {batch}; "
                       f"mean loss of the last 20 minibatches "
                       f"{', '.join(f'{loss:.3f}' for _, loss in results)}",
              hint="a falling but still high loss needs a larger learning rate or more steps; "
                   "a loss that jumps around needs a smaller rate; a training loss near 0 "
                   "with a low accuracy needs a different model.  Tune on the validation set, "
                   "and aim clearly above the bar: every training starts from other weights")
    return (f"mean test accuracy {mean:.4f} over {len(seeds)} trainings ({runs_text}) >= "
            f"{bar:.4f} = benchmark {benchmark:.4f} + margin {MARGIN_IMAGES / n:.4f}, after "
            f"{steps} steps of {batch}")


def _logsumexp(out: np.ndarray) -> np.ndarray:
    top = np.max(out, axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        return (top + np.log(np.sum(np.exp(out - top), axis=1, keepdims=True)))[:, 0]


BEAT_BENCHMARK = Check(BEAT_BENCHMARK_NAME, probe_beat_benchmark, verdict_beat_benchmark,
                       make_params,
                       doc="test_beat_benchmark(make_model, make_optimizer, BATCH_SIZE, "
                           "NUM_STEPS): trains your choice twice and checks that its mean "
                           "test accuracy beats the benchmark's (0.9600) by 0.01.")
