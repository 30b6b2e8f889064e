"""Check of ``sample_minibatch(input_data, target_data, num_points=100)``.

The notebook pins: a minibatch is ``num_points`` IID draws from the data set, i.e. indices
i_1, ..., i_m drawn independently and uniformly from {0, ..., N-1} WITH replacement (so a
row may appear twice, and num_points may exceed N), and the function returns
``(input_data[idx], target_data[idx])``: tensors of shapes (m, *input_data.shape[1:]) and
(m,), of the inputs' dtypes, on their device, rows kept with their own targets.  A fresh
batch at every call; ``input_data`` and ``target_data`` are not modified.

The probe's data are not the notebook's: N rows (23..47) of shape (a, b), a != b, with
random float32 values (the first entry of each row tells the rows apart), and int64 class
labels 0..9.  It calls
``sample_minibatch(inputs, targets, m)`` K times with m < N (K m >= 60 N), once with
``num_points=2N+3`` and once with the default.  The verdict identifies every returned row
by exact match with its own copy of the data, then tests:

* deterministic properties (no false rejects): two tensors, shapes, dtypes, device, data
  unchanged, every row a row of ``input_data``, every target that row's target, 2N+3 rows
  from the large call, 100 from the default call;
* a new batch each call: two consecutive batches are identical with probability N^-m
  <= 23^-12 < 5e-17 under IID sampling, so (K-1) such chances stay below 1e-14;
* with replacement: under IID draws a batch of m has no repeated index with probability
  prod_{i<m} (1 - i/N) <= exp(-m(m-1)/(2N)) <= e^-5.5 (m >= N/2 >= 12), so ALL K batches
  are repeat-free with probability below e^-500: any repeat-free run is rejected.  This
  catches sampling without replacement (randperm / choice(replace=False) / contiguous
  windows), which the large call also exposes;
* every row equally likely: the count of row j over the K batches is Binomial(K m, 1/N)
  (expected >= 60); each count must lie in its Chernoff-Hoeffding interval
  (:func:`support.stats.binomial_interval`) at alpha = 4e-10 / N, so all N together reject
  correct code with probability below 4e-10.  A row never drawn (an off-by-one upper bound)
  is rejected: its interval starts above 0 because K m KL(0 || 1/N) >= K m / N >= 60 exceeds
  log(2N / 4e-10) <= 26.  The total
  count of the first floor(N/2) rows is Binomial(K m, floor(N/2)/N), tested the same way at
  alpha = 1e-10: with K m >= 1380 draws its interval is about +-0.09 in frequency, so a
  sampler favouring the first rows by 2:1 (a share of 2/3 instead of 1/2) is caught.

Total false-reject probability: below 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..checking import Check, CheckFailure, StudentCodeError, call_student
from .common import single_thread
from ..probe_data import ProbeData
from ..stats import binomial_interval

SAMPLE_MINIBATCH_NAME = "test_sample_minibatch"
ROWS_PER_CELL = 60
NUM_CLASSES = 10
DEFAULT_POINTS = 100
ROW_ALPHA = 4e-10
HALF_ALPHA = 1e-10


def make_params(seed: int, device: str) -> dict:
    """Seed 0: 29 rows of shape (3, 4), batches of 17; other seeds draw other sizes."""
    if seed == 0:
        n, shape, m = 29, [3, 4], 17
    else:
        rng = np.random.default_rng([seed, 304])
        n = int(rng.integers(23, 48))
        a, b = int(rng.integers(2, 5)), int(rng.integers(3, 7))
        shape = [a, b + 1 if a == b else b]
        m = int(rng.integers(math.ceil(n / 2), n - 2))
    calls = math.ceil(ROWS_PER_CELL * n / m)
    return {"seed": seed, "device": device, "N": n, "shape": shape, "m": m, "calls": calls,
            "big": 2 * n + 3, "data_seed": 3_040_000 + seed}


def minibatch_data(params: dict):
    """(inputs float32 (N, a, b), targets int64 (N,)) on the CPU.

    Entries are N(0, 1) draws, except the first entry of each row: k + U(0, 0.5) for a
    distinct integer k, so that every row is told apart by its first entry.
    """
    g = torch.Generator().manual_seed(params["data_seed"])
    n = params["N"]
    inputs = torch.randn(n, *params["shape"], generator=g)
    keys = torch.randperm(n, generator=g).float() + 0.5 * torch.rand(n, generator=g)
    inputs.reshape(n, -1)[:, 0] = keys - n / 2
    targets = torch.randint(0, NUM_CLASSES, (n,), generator=g)
    return inputs, targets


def _record(data: dict, key: str, out) -> None:
    """What one call returned, as plain data."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        size = f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""
        data[f"{key}_kind"] = f"a {type(out).__name__}{size}"
        return
    kinds = [type(o).__name__ for o in out]
    both = all(isinstance(o, torch.Tensor) for o in out)
    data[f"{key}_kind"] = "pair" if both else f"({', '.join(kinds)})"
    if not both:
        return
    for name, tensor in zip(("x", "y"), out):
        data[f"{key}_{name}"] = tensor.detach().cpu().numpy().copy()
        data[f"{key}_{name}_dtype"] = str(tensor.dtype)
        data[f"{key}_{name}_device"] = tensor.device.type


def probe_sample_minibatch(params: dict, sample_minibatch) -> dict:
    """K calls with m < N points, one with 2N+3 points, one with the default."""
    data = {"callable": callable(sample_minibatch)}
    if not data["callable"]:
        data["argument_type"] = type(sample_minibatch).__name__
        return data
    with single_thread():
        return _calls(params, sample_minibatch, data)


def _calls(params: dict, sample_minibatch, data: dict) -> dict:
    inputs, targets = minibatch_data(params)
    inputs, targets = inputs.to(params["device"]), targets.to(params["device"])
    m = params["m"]
    for k in range(params["calls"]):
        out = call_student(f"sample_minibatch(inputs, targets, {m})", sample_minibatch,
                           inputs, targets, m)
        _record(data, f"c{k}", out)
    for key, kwargs, text in (("big", {"num_points": params["big"]},
                               f"num_points={params['big']}"),
                              ("default", {}, "no num_points")):
        try:
            out = call_student(f"sample_minibatch(inputs, targets, {text})", sample_minibatch,
                               inputs, targets, **kwargs)
        except StudentCodeError as error:
            data[f"{key}_error"] = str(error)
            continue
        data[f"{key}_error"] = None
        _record(data, key, out)
    data["inputs_after"] = inputs.detach().cpu().numpy().copy()
    data["targets_after"] = targets.detach().cpu().numpy().copy()
    return data


# ----------------------------------------------------------------------------- verdict

class _Batches:
    """The returned batches, checked call by call and mapped to row indices."""

    def __init__(self, pd: ProbeData, params: dict):
        self.pd, self.params, self.check = pd, params, pd.check
        inputs, targets = minibatch_data(params)
        self.inputs = inputs.numpy().astype(np.float64)
        self.flat = self.inputs.reshape(len(self.inputs), -1)
        self.targets = targets.numpy()
        self.order = np.argsort(self.flat[:, 0])
        self.first = self.flat[self.order, 0]

    def arrays(self, key: str, m: int, call: str):
        """(inputs, targets) returned by call ``key``, their kind, shape, dtype, device checked."""
        pd, check, shape = self.pd, self.check, tuple(self.params["shape"])
        kind = pd.text(f"{key}_kind")
        if kind != "pair":
            raise CheckFailure(check, "returns two tensors",
                               expected="a tuple (batch_inputs, batch_targets) of two tensors",
                               observed=f"{call} returned {kind}",
                               hint="index the data tensors with the sampled indices and "
                                    "return both results: return input_data[idx], "
                                    "target_data[idx]")
        x, y = pd.array(f"{key}_x"), pd.array(f"{key}_y")
        if x.shape != (m, *shape) or y.shape != (m,):
            swapped = y.shape == (m, *shape) and x.shape == (m,)
            raise CheckFailure(
                check, "batch shape",
                expected=f"inputs {(m, *shape)} and targets {(m,)}",
                observed=f"{call}: inputs {x.shape} and targets {y.shape}",
                hint="return the inputs first, then the targets" if swapped else
                "num_points rows, each row keeping the shape of one input (N, a, b) -> "
                "(num_points, a, b); do not flatten or squeeze")
        dtypes = (pd.text(f"{key}_x_dtype"), pd.text(f"{key}_y_dtype"))
        devices = (pd.text(f"{key}_x_device"), pd.text(f"{key}_y_device"))
        want_device = torch.device(self.params["device"]).type
        if dtypes != ("torch.float32", "torch.int64") or set(devices) != {want_device}:
            raise CheckFailure(check, "dtype and device kept",
                               expected=f"dtypes (torch.float32, torch.int64) on {want_device}",
                               observed=f"dtypes {dtypes} on {devices}",
                               hint="index the given tensors; do not convert them (to numpy, "
                                    "to another dtype) or move them to another device")
        return x.reshape(m, -1), y

    def rows(self, x: np.ndarray, y: np.ndarray, call: str) -> np.ndarray:
        """The row index of every returned row (M, F); rows and pairing checked."""
        check = self.check
        position = np.clip(np.searchsorted(self.first, x[:, 0]), 0, len(self.first) - 1)
        index = self.order[position]
        found = np.all(x == self.flat[index], axis=1)
        if not np.all(found):
            raise CheckFailure(check, "rows come from input_data",
                               expected="every returned input row equal to a row of input_data",
                               observed=f"{call}: {int(np.sum(~found))} of {len(x)} rows are "
                                        "not rows of input_data",
                               hint="select whole rows with input_data[idx]; do not modify "
                                    "or mix them")
        if not np.array_equal(y, self.targets[index]):
            bad = int(np.sum(y != self.targets[index]))
            raise CheckFailure(check, "inputs and targets stay paired",
                               expected="batch_targets[k] == target of the row batch_inputs[k]",
                               observed=f"{call}: {bad} of {len(x)} targets belong to other rows",
                               hint="use ONE index tensor for both: input_data[idx] and "
                                    "target_data[idx]")
        return index

    def indices(self, key: str, m: int, call: str) -> np.ndarray:
        return self.rows(*self.arrays(key, m, call), call)


def verdict_sample_minibatch(params: dict, data) -> str:
    """IID minibatches with replacement, pairs aligned (false reject < 1e-9: see the module)."""
    check = SAMPLE_MINIBATCH_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "a function", expected="the function sample_minibatch",
                           observed=pd.text("argument_type", optional=True),
                           hint="pass the function itself: test_sample_minibatch(sample_minibatch)")
    batches = _Batches(pd, params)
    n, m, calls, big = params["N"], params["m"], params["calls"], params["big"]
    after = pd.array("inputs_after"), pd.array("targets_after")
    if not (np.array_equal(after[0], batches.inputs) and np.array_equal(after[1], batches.targets)):
        raise CheckFailure(check, "input data unchanged",
                           expected="input_data and target_data as they were before the calls",
                           observed="your function modified them in place",
                           hint="draw indices and index the tensors; never shuffle or write "
                                "into the data you are given")
    text = f"sample_minibatch(inputs, targets, {m})"
    returned = [batches.arrays(f"c{k}", m, text) for k in range(calls)]
    index = batches.rows(np.concatenate([x for x, _ in returned]),
                         np.concatenate([y for _, y in returned]), text).reshape(calls, m)
    if all(np.array_equal(row, index[0]) for row in index):
        raise CheckFailure(check, "a new batch each call",
                           expected="a different random batch at every call",
                           observed=f"all {calls} calls returned the same rows in the same order",
                           hint="draw fresh random indices at every call; do not reset a "
                                "random seed inside the function or take fixed rows")
    repeats = sum(len(set(row.tolist())) < m for row in index)
    big_text = f"sample_minibatch(inputs, targets, num_points={big}) with {n} rows of data"
    if repeats == 0:
        raise CheckFailure(check, "sampling with replacement",
                           expected=f"repeated rows in some of {calls} batches of {m} drawn "
                                    f"from {n} rows (IID draws repeat a row in most batches)",
                           observed="no batch ever repeated a row",
                           hint="IID means every index is drawn independently, WITH "
                                "replacement (torch.randint or np.random.choice with its "
                                "default replace=True), not a permutation or a slice")
    for k in range(1, calls):
        if np.array_equal(index[k], index[k - 1]):
            raise CheckFailure(check, "a new batch each call",
                               expected="a different random batch at every call",
                               observed=f"calls {k} and {k + 1} returned the same rows in the "
                                        "same order",
                               hint="draw fresh, independent random indices at every call")
    big_error = pd.text("big_error", optional=True)
    if big_error is not None:
        raise CheckFailure(check, "sampling with replacement",
                           expected=f"{big_text}: {big} rows", observed=big_error,
                           hint="with replacement, num_points may exceed the number of rows")
    if pd.text("big_kind") == "pair":
        shape = pd.array("big_x").shape
        if shape[:1] != (big,):
            raise CheckFailure(check, "sampling with replacement",
                               expected=f"{big_text}: {big} rows", observed=f"shape {shape}",
                               hint="with replacement, num_points may exceed the number of rows")
    batches.indices("big", big, big_text)
    counts = np.bincount(index.reshape(-1), minlength=n)
    lo, hi = binomial_interval(calls * m, 1.0 / n, ROW_ALPHA / n)
    freq = counts / (calls * m)
    outside = np.flatnonzero((freq < lo) | (freq > hi))
    if outside.size:
        j = int(outside[np.argmax(np.abs(freq[outside] - 1.0 / n))])
        raise CheckFailure(check, "every row equally likely",
                           expected=f"each of the {n} rows drawn about {calls * m / n:.0f} times "
                                    f"in {calls * m} draws (between {math.ceil(lo * calls * m)} "
                                    f"and {math.floor(hi * calls * m)})",
                           observed=f"row {j} drawn {counts[j]} times; "
                                    f"{outside.size} rows outside that range",
                           hint="draw indices uniformly from 0 to N-1 INCLUSIVE, where N = "
                                "len(input_data) (torch.randint's upper bound is exclusive), "
                                "not from range(num_points)")
    half = n // 2
    lo, hi = binomial_interval(calls * m, half / n, HALF_ALPHA)
    share = counts[:half].sum() / (calls * m)
    if not lo <= share <= hi:
        raise CheckFailure(check, "every row equally likely",
                           expected=f"the first {half} of {n} rows drawn in a share "
                                    f"{half / n:.3f} of the draws (between {lo:.3f} and {hi:.3f})",
                           observed=f"a share of {share:.3f}",
                           hint="every row must have the same chance 1/N at every draw")
    default_error = pd.text("default_error", optional=True)
    if default_error is not None:
        raise CheckFailure(check, "default num_points",
                           expected=f"sample_minibatch(inputs, targets) to return "
                                    f"{DEFAULT_POINTS} rows", observed=default_error,
                           hint="keep the signature sample_minibatch(input_data, target_data, "
                                "num_points=100)")
    if pd.text("default_kind") != "pair" or pd.array("default_x").shape[:1] != (DEFAULT_POINTS,):
        observed = pd.text("default_kind")
        if observed == "pair":
            observed = f"{pd.array('default_x').shape[0]} rows"
        raise CheckFailure(check, "default num_points",
                           expected=f"{DEFAULT_POINTS} rows when num_points is not given",
                           observed=observed,
                           hint="keep the signature sample_minibatch(input_data, target_data, "
                                "num_points=100)")
    batches.indices("default", DEFAULT_POINTS, "sample_minibatch(inputs, targets)")
    return (f"{calls} batches of {m} from {n} rows of shape {tuple(params['shape'])}: paired, "
            f"uniform, with replacement; {big} and {DEFAULT_POINTS} (default) rows also fine")


SAMPLE_MINIBATCH = Check(SAMPLE_MINIBATCH_NAME, probe_sample_minibatch,
                         verdict_sample_minibatch, make_params,
                         doc="test_sample_minibatch(sample_minibatch): IID rows drawn with "
                             "replacement, inputs and targets kept paired.")
