"""Checks of the hand-written training loops: Q2/Q11 ``gradient_descent`` (and ``_l1``), Q14.

The loop the notebook pins, for iteration t = 0 .. steps-1, with theta_t the parameters
before step t and J = L (+ l1_weight * sum over parameter tensors p of mean|p| for Q11):

    L_t  = loss on the training data at theta_t          -> losses[t]
    theta_{t+1} = theta_t - lr * grad J(theta_t)          (one optim.SGD step)
    V_t  = loss on the validation data at theta_{t+1}     -> valid_losses[t]

The probe runs the student's loop on the check's OWN tiny linear model
f(x) = x @ w + b (w: (d, 1), b: (1,)) and its own data (never the notebook's x, y), with its
own mean-squared-error loss, a non-default ``lr``, ``steps`` (and ``l1_weight``).  The model
and the loss record what they are called on; the probe returns the histories and the final
parameters as plain arrays.  The verdict recomputes the path above in float64 from the
closed-form gradients

    dL/dw = 2/N X^T (Xw + b - y),   dL/db = 2/N sum(Xw + b - y),   d mean|p| / dp = sign(p)/numel(p)

and compares.  When something differs it replays the classic mistakes (no zero_grad, lr
ignored, a stale gradient, an L2 penalty, ...) and names the one the data matches.

Tolerance (every comparison): |observed - reference| <= RTOL |reference| + ATOL with
RTOL = 1e-4, ATOL = 1e-5 (parameters and losses are of order 1).  The student's loop runs
in float32 (unit roundoff u = 6e-8): one step's rounding perturbs the update by at most
u (|theta| + 29 lr |grad|) (a gradient is a sum of at most 29 terms).  ``make_params``
draws data with lr * (largest Hessian eigenvalue) < 1.5 < 2, so SGD contracts errors and
the perturbations of T steps add up at most to their sum; the L1 sign(p) is constant along
the path (kept 0.02 away from 0), so it adds none.  Even if every rounding of the at most
80 steps went the same way this stays near 1e-4; rounding errors have random signs, so
their sum grows like sqrt(T): about 1e-5 at most.  Measured on 300 random problems of up
to 120 steps: the largest error was 0.3% of the tolerance for the parameters and 1.4% for
the histories (a test keeps it under 10%).  Every mistake the check names moves the final
parameters by more than 20 tolerances (a test checks this on 120 seeds), and
``make_params`` keeps only data where every SGD step moves some parameter by at least 4
tolerances, so the final parameters also tell how many steps were taken.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..checking import (ALL_OR_NOTHING, CallError, Check, CheckFailure, StudentCodeError,
                        call_student, student_raised)
from ..numeric import close, fmt as _fmt
from ..probe_data import ProbeData

GD_NAME = "test_gradient_descent"
TRAIN_EVAL_NAME = "test_train_eval"
DEFAULT_LR, DEFAULT_STEPS, DEFAULT_L1_WEIGHT = 0.1, 5000, 1.0
RTOL, ATOL = 1e-4, 1e-5
TOL = dict(rtol=RTOL, atol=ATOL)  # for numeric.close
# hw4's messages: at most five values, then how many there were.
fmt = functools.partial(_fmt, limit=5, scalar=False, count="more")
MIN_ABS_PARAM = 0.02  # L1 paths stay this far from 0, so sign(p) is the same in float32


# ----------------------------------------------------------------------------- the problem

@dataclass
class Problem:
    """The check's data and initial parameters (float32 values held in float64)."""

    X: np.ndarray   # (N, d) training inputs
    y: np.ndarray   # (N,)
    Xv: np.ndarray  # (Nv, d) validation inputs
    yv: np.ndarray  # (Nv,)
    w0: np.ndarray  # (d,) initial weights
    b0: float       # initial bias


def _f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def problem(params) -> Problem:
    """The data a run uses, a pure function of ``params`` (same on the probe's and verdict's side).

    Inputs are uniform on [-1, 1]^d, labels a noisy linear function whose weights are far from
    the initial ones (so every step moves the parameters by a clear amount), initial weights
    of the target's signs (so an L1 path does not cross 0, where sign(p) would be ambiguous).
    """
    rng = np.random.default_rng([int(params["data_seed"]), 77])
    d, n, nv = int(params["in_features"]), int(params["n_train"]), int(params["n_valid"])
    sign = rng.choice([-1.0, 1.0], size=d + 1)
    w_true, b_true = sign[:d] * rng.uniform(1.0, 2.0, d), sign[d] * rng.uniform(1.0, 2.0)
    w0, b0 = sign[:d] * rng.uniform(0.2, 0.6, d), sign[d] * rng.uniform(0.2, 0.6)
    X, Xv = rng.uniform(-1, 1, (n, d)), rng.uniform(-1, 1, (nv, d))
    y = X @ w_true + b_true + 0.3 * rng.standard_normal(n)
    yv = Xv @ w_true + b_true + 0.3 * rng.standard_normal(nv)
    return Problem(_f32(X), _f32(y), _f32(Xv), _f32(yv), _f32(w0), float(_f32(b0)))


def largest_curvature(prob: Problem) -> float:
    """Largest eigenvalue of the MSE's Hessian 2/N [X 1]^T [X 1] (SGD is stable for lr * it < 2)."""
    A = np.hstack([prob.X, np.ones((len(prob.y), 1))])
    return float(np.linalg.eigvalsh(2.0 / len(prob.y) * A.T @ A).max())


# ----------------------------------------------------------------------------- the maths

def mse(X, y, w, b) -> float:
    """L = 1/N sum (x_i w + b - y_i)^2."""
    return float(np.mean((X @ w + b - y) ** 2))


def mse_grad(X, y, w, b):
    """(dL/dw, dL/db) = (2/N X^T r, 2/N sum r) with r = Xw + b - y."""
    r = X @ w + b - y
    return 2.0 / len(y) * X.T @ r, 2.0 * float(np.mean(r))


@dataclass(frozen=True)
class Penalty:
    """A regulariser: ``kind`` of penalty on ``scope`` ('all' parameters or 'weights' only).

    kinds: 'l1' = weight * sum_p mean|p| (the notebook's); and the mistakes the verdict
    recognises: 'l1sum' = weight * sum_p sum|p|, 'l2' = weight * sum_p mean p^2,
    'l2sum' = weight * sum_p sum p^2, 'decay' = SGD's weight_decay (adds weight * p to grad).
    """

    kind: str
    scope: str
    weight: float

    def value(self, w, b) -> float:
        parts = [w] + ([np.array([b])] if self.scope == "all" else [])
        if self.kind == "l1":
            return self.weight * sum(float(np.mean(np.abs(p))) for p in parts)
        if self.kind == "l1sum":
            return self.weight * sum(float(np.sum(np.abs(p))) for p in parts)
        if self.kind == "l2":
            return self.weight * sum(float(np.mean(p ** 2)) for p in parts)
        if self.kind == "l2sum":
            return self.weight * sum(float(np.sum(p ** 2)) for p in parts)
        return 0.0  # weight decay is not part of the loss

    def grad(self, w, b):
        keep_b = 1.0 if self.scope == "all" else 0.0
        lam = self.weight
        if self.kind == "l1":     # d/dp mean|p| = sign(p) / numel(p); the bias has numel 1
            return lam * np.sign(w) / w.size, keep_b * lam * float(np.sign(b))
        if self.kind == "l1sum":
            return lam * np.sign(w), keep_b * lam * float(np.sign(b))
        if self.kind == "l2":
            return lam * 2.0 * w / w.size, keep_b * lam * 2.0 * b
        if self.kind == "l2sum":
            return lam * 2.0 * w, keep_b * lam * 2.0 * b
        return lam * w, keep_b * lam * b  # 'decay'


@dataclass
class Path:
    """A reference run: parameters theta_0..theta_T and what the loop records."""

    w: list        # w[t] = weights before step t (t = 0..T)
    b: list
    losses: np.ndarray        # L_t = training loss at theta_t
    valid: np.ndarray         # V_t = validation loss at theta_{t+1}
    valid_before: np.ndarray  # validation loss at theta_t (recorded before the step)
    losses_after: np.ndarray  # training loss at theta_{t+1}
    penalty: np.ndarray       # penalty at theta_t
    penalty_after: np.ndarray  # penalty at theta_{t+1}
    label: str = ""

    @property
    def final(self) -> np.ndarray:
        return np.append(self.w[-1], self.b[-1])

    def theta(self, t) -> np.ndarray:
        return np.append(self.w[t], self.b[t])


def descend(prob: Problem, lr: float, steps: int, penalty: Penalty | None = None,
            mode: str = "sgd", label: str = "") -> Path:
    """theta_{t+1} = theta_t - lr * g_t in float64, g_t the gradient of L (+ penalty).

    ``mode`` replays a loop: 'sgd' (the notebook's); mistakes: 'accumulate' (gradients never
    zeroed: g_t = sum of all gradients so far), 'stale' (step before backward: step t uses
    the gradient of t-1), 'validation' (trained on the validation data), 'both' (training
    plus validation loss backpropagated).
    """
    w, b = prob.w0.copy(), prob.b0
    ws, bs, acc, prev = [w.copy()], [b], None, None
    for _ in range(steps):
        if mode == "validation":
            gw, gb = mse_grad(prob.Xv, prob.yv, w, b)
        else:
            gw, gb = mse_grad(prob.X, prob.y, w, b)
            if mode == "both":
                vw, vb = mse_grad(prob.Xv, prob.yv, w, b)
                gw, gb = gw + vw, gb + vb
        if penalty is not None:
            pw, pb = penalty.grad(w, b)
            gw, gb = gw + pw, gb + pb
        if mode == "accumulate":
            acc = (gw, gb) if acc is None else (acc[0] + gw, acc[1] + gb)
            gw, gb = acc
        elif mode == "stale":
            (gw, gb), prev = (prev if prev is not None else (0.0 * gw, 0.0)), (gw, gb)
        w, b = w - lr * gw, b - lr * gb
        ws.append(w.copy())
        bs.append(b)
    W, B = np.array(ws), np.array(bs)  # (T+1, d), (T+1,)
    train = np.mean((prob.X @ W.T + B - prob.y[:, None]) ** 2, axis=0)
    valid = np.mean((prob.Xv @ W.T + B - prob.yv[:, None]) ** 2, axis=0)
    pen = (np.array([penalty.value(ws[t], bs[t]) for t in range(steps + 1)])
           if penalty is not None else np.zeros(steps + 1))
    return Path(ws, bs, losses=train[:-1], valid=valid[1:], valid_before=valid[:-1],
                losses_after=train[1:], penalty=pen[:-1], penalty_after=pen[1:], label=label)


def first_difference(observed, reference) -> int:
    bad = ~(np.abs(np.asarray(observed) - reference) <= RTOL * np.abs(reference) + ATOL)
    return int(np.argmax(bad))


# ----------------------------------------------------------------------------- the probe

def _same(a, b) -> bool:
    """``a`` holds the tensor ``b``'s values: the object itself or a copy (reshaped, detached,
    on another device or of another float type: what a loop may legitimately do to its data)."""
    if a is b:
        return True
    try:
        return (isinstance(a, torch.Tensor) and a.numel() == b.numel() and bool(torch.equal(
            a.detach().reshape(-1).to(device=b.device, dtype=b.dtype), b.reshape(-1))))
    except Exception:  # noqa: BLE001 - anything odd is simply "not the same tensor"
        return False


class Watch:
    """What the student's loop does with the check's model and loss (plain counters).

    Forward passes are recorded as 0 (training inputs), 1 (validation inputs) or 2 (anything
    else: e.g. the notebook's globals) with the model's ``training`` flag; the loss records
    which labels it compared with and whether a validation loss was backpropagated.  With a
    ``script``, the validation loss returns script[t] instead of its real value (keeping the
    real gradient), t + 1 being the number of times the parameters have changed so far: the
    value after step t, however the loop is arranged.
    """

    def __init__(self, x, y, xv, yv, script=None):
        self.x, self.y, self.xv, self.yv = x, y, xv, yv
        self.kinds, self.modes = [], []
        self.foreign = ""
        self.valid_backprops = 0
        self.script = script
        self.params, self._last, self.changes = [], None, 0

    def _count_changes(self):
        """Count the parameter updates seen so far (compared at each loss call)."""
        if not self.params:
            return
        now = torch.cat([p.detach().reshape(-1) for p in self.params])
        if self._last is None:
            self._last = now
        elif not torch.equal(now, self._last):
            self.changes += 1
            self._last = now

    def _note_foreign(self, what, t):
        if not self.foreign:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            self.foreign = f"{what} of shape {shape}"

    def saw(self, x, training):
        """Record one forward pass on input ``x``."""
        kind = 0 if _same(x, self.x) else 1 if _same(x, self.xv) else 2
        if kind == 2:
            self._note_foreign("the model was called on an input", x)
        self.kinds.append(kind)
        self.modes.append(bool(training))

    def _backprop_seen(self, grad):
        self.valid_backprops += 1

    def loss(self, prediction, labels):
        """The check's MSE, 1/N sum (a_i - y_i)^2 over the flattened tensors."""
        if any(_same(t, self.y) for t in (labels, prediction)):
            kind = 0
        elif any(_same(t, self.yv) for t in (labels, prediction)):
            kind = 1
        else:
            kind = 2
            self._note_foreign("loss_func was called with labels", labels)
        a, b = prediction.reshape(-1), labels.reshape(-1)
        if a.numel() != b.numel():
            raise ValueError(f"loss_func got {a.numel()} predictions for {b.numel()} labels")
        value = ((a - b) ** 2).mean()
        if self.script is not None:
            self._count_changes()
        if kind == 1:
            if self.script is not None:
                t = min(max(self.changes - 1, 0), len(self.script) - 1)
                scripted = torch.tensor(self.script[t], dtype=value.dtype, device=value.device)
                value = value - value.detach() + scripted  # the scripted value, the real gradient
            if value.requires_grad:
                value.register_hook(self._backprop_seen)
        return value


class ProbeLinear(nn.Module):
    """The check's model: f(x) = x @ weights + bias, weights (d, 1), bias (1,), watching its inputs.

    The product is written elementwise (no matmul), so TF32 matmuls on a GPU cannot change it.
    """

    def __init__(self, w0, b0, watch: Watch):
        super().__init__()
        self.weights = nn.Parameter(w0.reshape(-1, 1).clone())
        self.bias = nn.Parameter(b0.reshape(1).clone())
        self.watch = watch

    def forward(self, x):
        self.watch.saw(x, self.training)
        if x.dim() != 2 or x.shape[1] != self.weights.shape[0]:
            raise ValueError(f"the model takes inputs of shape (N, {self.weights.shape[0]}), "
                             f"got {tuple(x.shape)}")
        return (x * self.weights.reshape(1, -1)).sum(dim=1, keepdim=True) + self.bias


def tensors(prob: Problem, device: str):
    """The problem as float32 tensors on ``device``: x (N, d), y (N, 1), xv, yv, w0, b0."""
    def t(a):
        return torch.tensor(np.asarray(a, dtype=np.float32), device=device)
    return (t(prob.X), t(prob.y).reshape(-1, 1), t(prob.Xv), t(prob.yv).reshape(-1, 1),
            t(prob.w0), t([prob.b0]))


def _number(value) -> float:
    """One history entry as a float: a Python number, or a one-element tensor or array."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"an entry holds {value.numel()} values")
        return float(value.detach().reshape(()).item())
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise ValueError(f"an entry is {type(value).__name__} {str(value)[:40]!r}")
    return float(array.reshape(()).item())


def histories(result):
    """(losses, valid_losses) as float64 arrays, or (None, why) if the return value is not that."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None, (f"a {type(result).__name__}" + (f" of length {len(result)}"
                      if isinstance(result, (tuple, list)) else ""))
    out = []
    for name, seq in zip(("losses", "valid_losses"), result):
        try:
            out.append(np.array([_number(v) for v in seq], dtype=float))
        except Exception as error:  # noqa: BLE001 - anything that is not a list of numbers
            return None, f"{name} is not a sequence of numbers ({type(error).__name__}: {error})"
    return out, None


def run_loop(fn, what, prob, device, kwargs, script=None, wrap=None, prefix=""):
    """Run the student's loop once on a fresh probe model; the plain data of that run.

    If the student's code raises after calling the model or the loss on something that is not
    the check's data (the notebook's globals), the error is reported as data so that the
    verdict can say so; any other exception propagates (the check reports the traceback).
    """
    x, y, xv, yv, w0, b0 = tensors(prob, device)
    watch = Watch(x, y, xv, yv, script=script)
    linear = ProbeLinear(w0, b0, watch)
    watch.params = [linear.weights, linear.bias]
    model = wrap(linear) if wrap is not None else linear
    data = {}
    try:
        result = call_student(what, fn, model, watch.loss, x, y, xv, yv, **kwargs)
    except StudentCodeError as error:
        if not watch.foreign:
            raise
        data[prefix + "raised"] = str(error)
        result = ([], [])
    hist, why = histories(result)
    data[prefix + "return_error"] = why or ""
    data[prefix + "losses"] = hist[0] if hist else np.zeros(0)
    data[prefix + "valid_losses"] = hist[1] if hist else np.zeros(0)
    data[prefix + "weights"] = linear.weights.detach().double().cpu().numpy().reshape(-1)
    data[prefix + "bias"] = linear.bias.detach().double().cpu().numpy().reshape(-1)
    data[prefix + "forward_kinds"] = np.array(watch.kinds, dtype=np.int64)
    data[prefix + "forward_modes"] = np.array(watch.modes, dtype=np.int64)
    data[prefix + "foreign"] = watch.foreign
    data[prefix + "valid_backprops"] = watch.valid_backprops
    return data


# ----------------------------------------------------------------------------- the verdict

@dataclass
class Run:
    """One run's probe data, validated."""

    losses: np.ndarray
    valid: np.ndarray
    final: np.ndarray   # weights then bias
    kinds: np.ndarray
    modes: np.ndarray
    foreign: str
    raised: str
    return_error: str
    valid_backprops: int


def read_run(check: str, data, d: int, prefix: str = "") -> Run:
    """The data of one run, every field checked (missing or malformed -> "probe data")."""
    pd = ProbeData(check, data)
    losses = pd.array(prefix + "losses")
    valid = pd.array(prefix + "valid_losses")
    w = pd.array(prefix + "weights", shape=(d,))
    b = pd.array(prefix + "bias", shape=(1,))
    kinds = pd.array(prefix + "forward_kinds")
    modes = pd.array(prefix + "forward_modes")
    for key, arr in ((prefix + "losses", losses), (prefix + "valid_losses", valid),
                     (prefix + "forward_kinds", kinds), (prefix + "forward_modes", modes)):
        if arr.ndim != 1:
            pd.fail(f"{key!r} as a 1-D array", f"shape {arr.shape}")
    if kinds.shape != modes.shape:
        pd.fail("one mode per forward pass", f"{len(kinds)} passes, {len(modes)} modes")
    raised = pd.text(prefix + "raised") if pd.has(prefix + "raised") else ""
    return Run(losses, valid, np.append(w, b), kinds, modes, pd.text(prefix + "foreign"),
               raised, pd.text(prefix + "return_error"), pd.integer(prefix + "valid_backprops"))


def check_arguments(check: str, run: Run) -> None:
    """The loop works on its arguments, and returns (losses, valid_losses)."""
    if run.foreign:
        raise CheckFailure(
            check, "uses its arguments",
            expected="the model and loss_func used only on the x, y, xvalid, yvalid passed in",
            observed=run.foreign + (f"; then your code raised: {run.raised}" if run.raised
                                    else ""),
            hint="the check passes its own small data set; inside the function use the "
                 "parameters x, y, xvalid, yvalid, never the notebook's global variables")
    if run.raised:  # cannot happen with an honest probe: errors without foreign inputs propagate
        raise student_raised(check, run.raised)
    if run.return_error:
        raise CheckFailure(check, "return value", expected="(losses, valid_losses): two lists "
                           "of numbers", observed=run.return_error,
                           hint="return losses, valid_losses at the end; each entry a float "
                                "(loss.item()) or a 0-dim tensor")


def check_lengths(check: str, run: Run, steps: int) -> None:
    """One entry per iteration in each history."""
    n, nv = len(run.losses), len(run.valid)
    if n == steps and nv == steps:
        return
    if n != nv:
        hint = "append exactly one training and one validation loss per iteration"
    elif n == DEFAULT_STEPS:
        hint = f"steps was ignored: loop `steps` times (the check passed steps={steps})"
    elif abs(n - steps) == 1:
        hint = ("off by one: iterations t = 0 .. steps-1, with no loss recorded before the "
                "loop or after it")
    else:
        hint = f"run exactly `steps` iterations (the check passed steps={steps})"
    raise CheckFailure(check, "history length",
                       expected=f"len(losses) == len(valid_losses) == {steps}",
                       observed=f"len(losses) = {n}, len(valid_losses) = {nv}", hint=hint)


def check_no_valid_backprop(check: str, run: Run, prob: Problem, lr: float, steps: int,
                            penalty: Penalty | None = None) -> None:
    """The validation loss is measured, never backpropagated (nor trained on)."""
    if run.valid_backprops == 0:
        return
    on_valid = descend(prob, lr, steps, penalty, "validation")
    trained_on_valid = close(run.final, on_valid.final, **TOL)
    hint = ("your SGD steps follow the gradient of the validation loss: train on x, y; "
            "xvalid, yvalid are only measured" if trained_on_valid else
            "the validation loss reached .backward() (directly or added to the training "
            "loss): compute it without backpropagating it, e.g. under torch.no_grad()")
    raise CheckFailure(check, "validation loss not backpropagated",
                       expected="no gradient flowing through the validation loss",
                       observed=f"backward passed through it {run.valid_backprops} time(s)",
                       hint=hint)


def _mistakes(prob, lr, steps, penalties, l1_weight):
    """(prop, hint, path) for the classic mistakes, in the order they are reported."""
    pen = penalties[0]
    yield ("parameters updated", "the parameters did not move: did you call optimizer.step() "
           "after loss.backward()? (zero_grad between the two erases the gradient)",
           descend(prob, lr, 0, pen))
    yield ("descends the gradient", "the parameters moved uphill: step against the gradient "
           "(minimise the loss; do not negate it or use maximize=True)",
           descend(prob, -lr, steps, pen))
    for p in penalties:
        yield ("learning rate used", f"the path matches lr={DEFAULT_LR}, not the lr={lr} the "
               "check passed: give the optimizer lr=lr", descend(prob, DEFAULT_LR, steps, p))
        yield ("gradients zeroed each iteration", "gradients accumulate: zero them every "
               "iteration (optimizer.zero_grad() before backward or after step)",
               descend(prob, lr, steps, p, "accumulate"))
        yield ("backward before step", "each step used the previous iteration's gradient: "
               "call loss.backward() before optimizer.step()",
               descend(prob, lr, steps, p, "stale"))
    if l1_weight is None:
        return
    yield ("L1 penalty in the gradient", "the path is plain gradient descent: the L1 penalty "
           "has no gradient (computed from p.data, .item() or .detach()?) or was not added to "
           "the loss you backpropagate", descend(prob, lr, steps, None))
    for scope in ("all", "weights"):
        yield ("L1 uses the mean |p|", "the penalty uses the sum of |p|: the notebook's L1 term "
               "is the mean of |p| over each parameter tensor",
               descend(prob, lr, steps, Penalty("l1sum", scope, l1_weight)))
        for kind in ("l2", "l2sum"):
            yield ("L1 not L2", "the penalty is on p squared (L2): use the absolute value |p|",
                   descend(prob, lr, steps, Penalty(kind, scope, l1_weight)))
        yield ("L1 not L2", "the path matches SGD's weight_decay, which is an L2 penalty: add "
               "l1_weight * (sum of mean |p|) to the loss instead",
               descend(prob, lr, steps, Penalty("decay", scope, l1_weight)))
        yield ("l1_weight used", f"the path matches l1_weight={DEFAULT_L1_WEIGHT}, not the "
               f"l1_weight={l1_weight} the check passed",
               descend(prob, lr, steps, Penalty("l1", scope, DEFAULT_L1_WEIGHT)))


def check_parameters(check: str, run: Run, prob: Problem, lr: float, steps: int,
                     l1_weight: float | None = None) -> Path:
    """The final parameters are theta_steps; returns the reference path they match."""
    if l1_weight is None:
        refs = [descend(prob, lr, steps, None, label="")]
    else:
        refs = [descend(prob, lr, steps, Penalty("l1", scope, l1_weight), label=scope)
                for scope in ("all", "weights")]
    for ref in refs:
        if close(run.final, ref.final, **TOL):
            return ref
    penalties = [None] if l1_weight is None else [Penalty("l1", s, l1_weight)
                                                  for s in ("all", "weights")]
    expected = f"{fmt(refs[0].final)} (weights then bias)"
    for prop, hint, path in _mistakes(prob, lr, steps, penalties, l1_weight):
        if close(run.final, path.final, **TOL):
            raise CheckFailure(check, prop, expected=expected, observed=fmt(run.final),
                               hint=hint)
    raise CheckFailure(check, "SGD trajectory", expected=expected, observed=fmt(run.final),
                       hint=f"one optim.SGD(model.parameters(), lr=lr) step per iteration on "
                            "the training loss (no momentum, no Adam); the check's model is "
                            f"x @ weights + bias, run for steps={steps} at lr={lr}")


def _swapped(check: str, run: Run, ref: Path) -> None:
    """The two histories returned in the wrong order."""
    if close(run.losses, ref.valid, **TOL) and close(run.valid, ref.losses, **TOL):
        raise CheckFailure(check, "histories not swapped",
                           expected=f"losses {fmt(ref.losses, limit=3)}, valid_losses "
                                    f"{fmt(ref.valid, limit=3)}",
                           observed=f"losses {fmt(run.losses, limit=3)}, valid_losses "
                                    f"{fmt(run.valid, limit=3)}",
                           hint="losses and valid_losses look swapped: return "
                                "(losses, valid_losses) in that order")


def check_losses(check: str, run: Run, ref: Path, l1_weight: float | None = None) -> None:
    """losses[t] = L_t: the training loss before step t, data loss only."""
    if close(run.losses, ref.losses, **TOL):
        return
    _swapped(check, run, ref)
    t = first_difference(run.losses, ref.losses)
    if l1_weight is not None and close(run.losses, ref.losses + ref.penalty, **TOL):
        prop, hint = "losses exclude the L1 penalty", (
            "losses include the L1 term: record the data loss loss_func(...) before "
            "adding the penalty")
    elif close(run.losses, ref.losses_after, **TOL):
        prop, hint = "training losses", (
            "losses[t] matches the training loss AFTER step t; the notebook records the "
            "loss you backpropagate, computed before the step")
    else:
        prop, hint = "training losses", (
            "losses[t] is the training loss at the parameters before step t, the one you "
            "call backward() on")
    raise CheckFailure(check, prop, expected=f"losses[{t}] = {ref.losses[t]:.6g}",
                       observed=f"losses[{t}] = {run.losses[t]:.6g}", hint=hint)


def check_valid(check: str, run: Run, ref: Path, l1_weight: float | None = None) -> None:
    """valid_losses[t] = V_t: the validation loss after step t, unregularised."""
    if close(run.valid, ref.valid, **TOL):
        return
    _swapped(check, run, ref)
    t = first_difference(run.valid, ref.valid)
    if close(run.valid, ref.valid_before, **TOL):
        prop, hint = "validation loss after the step", (
            "valid_losses[0] matches the validation loss BEFORE the first step; the notebook "
            "records it after the step: take the SGD step, then measure the validation loss")
    elif l1_weight is not None and close(run.valid, ref.valid + ref.penalty_after, **TOL):
        prop, hint = "validation loss unregularised", (
            "valid_losses include the L1 term: the validation loss is loss_func on the "
            "validation data alone")
    else:
        prop, hint = "validation losses", (
            "valid_losses[t] is loss_func(model(xvalid), yvalid) computed right after step t")
    raise CheckFailure(check, prop, expected=f"valid_losses[{t}] = {ref.valid[t]:.6g}",
                       observed=f"valid_losses[{t}] = {run.valid[t]:.6g}", hint=hint)


def check_run(check, run, prob, lr, steps, l1_weight=None, judged=ALL_OR_NOTHING) -> Path:
    """Everything about one plain (non-stopping) run, in the order the failures are
    reported; with ``judged`` (:meth:`~support.checking.Check.judge`), each part under its
    property: ``updates`` (the final parameters), ``recording`` (the training-loss history)
    and ``validation`` (the validation history, never backpropagated)."""
    check_arguments(check, run)
    with judged("recording"):
        if len(run.losses) != steps:
            check_lengths(check, run, steps)
    with judged("validation"):
        if len(run.valid) != steps:
            check_lengths(check, run, steps)
    penalty = None if l1_weight is None else Penalty("l1", "all", l1_weight)
    with judged("validation"):
        check_no_valid_backprop(check, run, prob, lr, steps, penalty)
    ref = descend(prob, lr, steps, penalty, label="" if penalty is None else "all")
    with judged("updates"):
        ref = check_parameters(check, run, prob, lr, steps, l1_weight)
    if judged.holds("recording"):
        with judged("recording"):
            check_losses(check, run, ref, l1_weight)
    if judged.holds("validation"):
        with judged("validation"):
            check_valid(check, run, ref, l1_weight)
    return ref


# ----------------------------------------------------------------------------- parameters

def _draw_lr(rng) -> float:
    """A learning rate at least 0.03 away from the default 0.1 (so 'lr ignored' is visible)."""
    low = rng.random() < 0.5
    return round(float(rng.uniform(0.03, 0.07) if low else rng.uniform(0.13, 0.2)), 3)


def l1_margin(prob: Problem, lr: float, steps: int, l1_weight: float) -> float:
    """Smallest |parameter| along both accepted L1 paths (sign(p) must be unambiguous)."""
    low = np.inf
    for scope in ("all", "weights"):
        path = descend(prob, lr, steps, Penalty("l1", scope, l1_weight))
        low = min(low, min(float(np.min(np.abs(path.theta(t)))) for t in range(steps + 1)))
    return low


def smallest_move(prob: Problem, lr: float, steps: int) -> float:
    """min over t of max_i |theta_{t+1,i} - theta_{t,i}| / (RTOL |theta_{t,i}| + ATOL).

    Above 1 every step is visible through the tolerance: the parameters tell how many steps
    were taken (the path has not converged within ``steps``).
    """
    path = descend(prob, lr, steps)
    thetas = np.array([path.theta(t) for t in range(steps + 1)])
    moves = np.abs(np.diff(thetas, axis=0)) / (RTOL * np.abs(thetas[:-1]) + ATOL)
    return float(moves.max(axis=1).min())


def draw_problem(rng, params: dict, lr: float, steps: int, l1_weight=None) -> dict:
    """Add a ``data_seed`` to ``params`` whose data keep SGD stable (lr * curvature < 1.5),
    every step visible (each moves a parameter by 4 tolerances or more, so the final
    parameters tell how many steps were taken) and L1 paths off 0."""
    for _ in range(200):
        params["data_seed"] = int(rng.integers(2 ** 31))
        prob = problem(params)
        if lr * largest_curvature(prob) >= 1.5 or smallest_move(prob, lr, steps) < 4:
            continue
        if l1_weight is not None and l1_margin(prob, lr, steps, l1_weight) < MIN_ABS_PARAM:
            continue
        return params
    raise RuntimeError("no suitable data drawn")  # never happens for the ranges used


def make_params(seed: int, device: str) -> dict:
    """Seed 0: d=3 inputs, 17 training / 11 validation points, lr=0.05, 12 steps, l1_weight 0.3.

    Other seeds: d in 2..5, 13..29 training and 7..19 validation points, lr 0.03..0.07 or
    0.13..0.2 (never near the default 0.1), 7..40 steps, l1_weight 0.1..0.6.
    """
    rng = np.random.default_rng([seed, 2024])
    if seed == 0:
        d, n, nv, lr, steps, l1_weight = 3, 17, 11, 0.05, 12, 0.3
    else:
        d, n = int(rng.integers(2, 6)), int(rng.integers(13, 30))
        nv = int(rng.choice([v for v in range(7, 20) if v != n]))
        lr, steps = _draw_lr(rng), int(rng.integers(7, 41))
        l1_weight = round(float(rng.uniform(0.1, 0.6)), 3)
    params = {"seed": seed, "device": device, "in_features": d, "n_train": n, "n_valid": nv,
              "lr": lr, "steps": steps, "l1_weight": l1_weight}
    return draw_problem(rng, params, lr, steps, l1_weight)


def make_train_eval_params(seed: int, device: str) -> dict:
    """As :func:`make_params` with 3..8 steps (seed 0: 4), enough to see a mode left switched."""
    params = make_params(seed, device)
    params["steps"] = 4 if seed == 0 else 3 + seed % 6
    rng = np.random.default_rng([seed, 2025])
    return draw_problem(rng, params, params["lr"], params["steps"])


# ----------------------------------------------------------------------------- Q2 / Q11

def check_notebook_data(gradient_descent, loss_func, x, y, xvalid, yvalid) -> None:
    """The call's objects make sense, or CallError: a function, a loss function, and two
    data sets of tensors whose inputs and labels pair up (as many rows each; training and
    validation inputs with the same features).  Their values are NOT used: the check trains
    its own model on its own data with its own MSE loss (code that reads the notebook's
    globals then fails), but a call with the arguments missing, swapped or of the wrong kind
    is a mistake worth stopping at."""
    usage = GRADIENT_DESCENT.usage
    hint = ("pass your function, your loss function and the notebook's training and "
            "validation tensors in this order, as the test cell does")
    for name, value in (("gradient_descent", gradient_descent), ("mse_loss", loss_func)):
        if not callable(value):
            raise CallError(GD_NAME, usage, f"{name} is a {type(value).__name__}, not a "
                                            "function", hint=hint)
    tensors = {"x": x, "y": y, "xvalid": xvalid, "yvalid": yvalid}
    for name, value in tensors.items():
        if not isinstance(value, torch.Tensor) or value.dim() == 0:
            raise CallError(GD_NAME, usage, f"{name} is a {type(value).__name__}"
                            + (" with no dimensions" if isinstance(value, torch.Tensor) else "")
                            + ", not a tensor of samples", hint=hint)
    for inputs, labels in (("x", "y"), ("xvalid", "yvalid")):
        if len(tensors[inputs]) != len(tensors[labels]):
            raise CallError(GD_NAME, usage, f"{inputs} has {len(tensors[inputs])} rows but "
                                            f"{labels} has {len(tensors[labels])}", hint=hint)
    if x.shape[1:] != xvalid.shape[1:] or y.shape[1:] != yvalid.shape[1:]:
        raise CallError(GD_NAME, usage, f"training shapes {tuple(x.shape)}, {tuple(y.shape)} "
                                        f"but validation shapes {tuple(xvalid.shape)}, "
                                        f"{tuple(yvalid.shape)}", hint=hint)


def probe_gradient_descent(params, gradient_descent, mse_loss, x, y, xvalid, yvalid, *,
                           l1: bool = False):
    """Run gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr=, steps= [, l1_weight=])
    on the check's model and data; of the call's mse_loss, x, y, xvalid, yvalid only their
    kinds and shapes are checked (:func:`check_notebook_data`)."""
    check_notebook_data(gradient_descent, mse_loss, x, y, xvalid, yvalid)
    kwargs = {"lr": params["lr"], "steps": params["steps"]}
    if l1:
        kwargs["l1_weight"] = params["l1_weight"]
    name = "gradient_descent_l1" if l1 else "gradient_descent"
    what = f"{name}(model, loss_func, x, y, xvalid, yvalid, " + ", ".join(
        f"{k}={v}" for k, v in kwargs.items()) + ")"
    return run_loop(gradient_descent, what, problem(params), params["device"], kwargs)


def verdict_gradient_descent(params, data, l1: bool = False) -> str:
    """gradient_descent (l1=True: gradient_descent_l1) runs `steps` full-batch SGD steps at `lr`.

    Checked on the check's own linear model f(x) = x @ w + b and data: both histories have
    length `steps`; losses[t] is the training loss before step t (data loss only: no L1 term),
    valid_losses[t] the validation loss after step t; the final parameters equal the
    float64 reference theta_steps of gradient descent on L (+ l1_weight * sum_p mean|p|, over
    all parameters or over the weights only).  Tolerance: see the module docstring.  The
    call's mse_loss, x, y, xvalid, yvalid must be a function and four tensors that pair up
    (rows of inputs and labels, features of training and validation), but their values are
    not used; l1 must be True or False.

    Partial credit (the share of the check's points each property gives):
    - updates (0.5): the final parameters are those of `steps` SGD steps at `lr` on the
      training loss (with the L1 term for l1=True)
    - recording (0.25): losses has `steps` entries, losses[t] the training loss before step
      t (data loss only)
    - validation (0.25): valid_losses has `steps` entries, valid_losses[t] the validation
      loss after step t, never backpropagated
    """
    l1_weight = float(params["l1_weight"]) if l1 else None
    prob = problem(params)
    run = read_run(GD_NAME, data, len(prob.w0))
    lr, steps = float(params["lr"]), int(params["steps"])
    judged = GRADIENT_DESCENT.judge()
    ref = check_run(GD_NAME, run, prob, lr, steps, l1_weight, judged)
    what = (f"l1_weight={l1_weight} ({'all parameters' if ref.label == 'all' else 'weights only'})"
            if l1_weight is not None else "no penalty")
    return judged.verdict(f"{steps} SGD steps at lr={lr} on a {len(prob.w0)}-input linear "
                          f"model ({len(prob.y)} training / {len(prob.yv)} validation "
                          f"points, {what}): histories and final parameters match")


GRADIENT_DESCENT = Check(GD_NAME, probe_gradient_descent, verdict_gradient_descent,
                         make_params, doc=verdict_gradient_descent.__doc__)


# ----------------------------------------------------------------------------- Q14

def probe_train_eval(params, gradient_descent):
    """Run gradient_descent on nn.Sequential(the check's linear model), recording the mode of
    every forward pass and whether it saw the training or the validation inputs."""
    kwargs = {"lr": params["lr"], "steps": params["steps"]}
    what = (f"gradient_descent(model, loss_func, x, y, xvalid, yvalid, lr={kwargs['lr']}, "
            f"steps={kwargs['steps']})")
    return run_loop(gradient_descent, what, problem(params), params["device"], kwargs,
                    wrap=lambda linear: nn.Sequential(linear))


def check_modes(check: str, run: Run) -> None:
    """Every training forward in train mode, every validation forward in eval mode."""
    iteration = {0: -1, 1: -1}
    first_train_mode = None
    for kind, mode in zip(run.kinds.astype(int), run.modes.astype(bool)):
        if kind not in (0, 1):
            continue
        iteration[kind] += 1
        t = iteration[kind]
        if kind == 0:
            first_train_mode = mode if first_train_mode is None else first_train_mode
            if not mode:
                hint = ("call model.train() before the training forward pass"
                        if t == 0 or not first_train_mode else
                        "model.eval() stays in effect until model.train() is called again: "
                        "call model.train() at the start of every iteration")
                raise CheckFailure(check, "training forward in train mode",
                                   expected=f"model.training == True for the forward pass on "
                                            f"x in iteration {t}",
                                   observed="eval mode (training == False)", hint=hint)
        elif mode:
            raise CheckFailure(check, "validation forward in eval mode",
                               expected=f"model.training == False for the forward pass on "
                                        f"xvalid in iteration {t}",
                               observed="train mode (training == True)",
                               hint="call model.eval() before computing the validation loss "
                                    "(it switches every submodule, e.g. Dropout, to eval "
                                    "mode), and model.train() again before the next step")


def verdict_train_eval(params, data) -> str:
    """gradient_descent switches modes: model.train() for the training forward pass and
    model.eval() for the validation forward pass, in every iteration (the model holds a
    module recording its `training` flag at each call), and still runs the Q2 loop exactly
    (histories and final parameters as in test_gradient_descent)."""
    prob = problem(params)
    run = read_run(TRAIN_EVAL_NAME, data, len(prob.w0))
    lr, steps = float(params["lr"]), int(params["steps"])
    check_arguments(TRAIN_EVAL_NAME, run)
    check_modes(TRAIN_EVAL_NAME, run)
    check_run(TRAIN_EVAL_NAME, run, prob, lr, steps)
    n_train, n_valid = int(np.sum(run.kinds == 0)), int(np.sum(run.kinds == 1))
    return (f"{steps} iterations: {n_train} training forward pass(es) in train mode, "
            f"{n_valid} validation pass(es) in eval mode; histories and parameters match")


TRAIN_EVAL = Check(TRAIN_EVAL_NAME, probe_train_eval, verdict_train_eval,
                   make_train_eval_params, doc=verdict_train_eval.__doc__)
