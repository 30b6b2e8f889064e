"""Check of the notebook's ``Dropout(rate=0.01)`` module.

Training mode (``self.training`` True): out = D * x elementwise, with every d_ij an
independent Bernoulli(1 - rate) draw, a fresh mask at every call and no rescaling, so each
output entry is either 0 or exactly x_ij.  Evaluation mode: out = (1 - rate) x, so that the
expected training output equals the evaluation output.  The input is not modified.

The check runs Dropout(r) for two rates drawn from its parameters (one below and one above
1/2, never 1/2 itself, where keeping and dropping could not be told apart) and Dropout()
for the default rate 0.01, on inputs with no zero entry, so the mask can be read off the
output.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..checking import Check, CheckFailure, StudentCodeError, call_student
from .layer_checks import to_array
from ..probe_data import ProbeData
from ..stats import FALSE_REJECT, binomial_interval, inside

DEFAULT_RATE = 0.01
INSTANCES = ("low", "high", "default")
TESTS_PER_INSTANCE = 4  # keep fraction, rows, columns, calls


def make_params(seed: int, device: str) -> dict:
    """Seed 0: rates 0.3 and 0.75 and the default, on a 250 x 120 input; other seeds: a
    rate in 0.05..0.4, one in 0.6..0.9, the default; 200..300 x 100..150 (even sizes)."""
    if seed == 0:
        return {"seed": 0, "device": device, "rates": [0.3, 0.75], "shape": [250, 120],
                "small_shape": [9, 1], "eval_shape": [20, 30]}
    rng = np.random.default_rng([seed, 0])
    return {"seed": seed, "device": device,
            "rates": [round(float(rng.uniform(0.05, 0.4)), 2),
                      round(float(rng.uniform(0.6, 0.9)), 2)],
            "shape": [2 * int(rng.integers(100, 151)), 2 * int(rng.integers(50, 76))],
            "small_shape": [int(rng.integers(3, 16)), 1],
            "eval_shape": [int(rng.integers(10, 31)), int(rng.integers(10, 31))]}


def dropout_inputs(params: dict):
    """x (the main input), x_small and x_eval: float32-exact, |entries| in [0.5, 2], no zeros."""
    rng = np.random.default_rng([params["seed"], 1])

    def draw(shape):
        values = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        return values.astype(np.float32).astype(float)
    return draw(params["shape"]), draw(params["small_shape"]), draw(params["eval_shape"])


def _rates(params: dict):
    return [*params["rates"], DEFAULT_RATE]


def _call_text(key: str, rate: float) -> str:
    return "Dropout()" if key == "default" else f"Dropout({rate})"


# ----------------------------------------------------------------------------- probe

def _record(data: dict, prefix: str, out, with_values=True) -> None:
    is_tensor = isinstance(out, torch.Tensor)
    data[f"{prefix}_type"] = type(out).__name__
    data[f"{prefix}_shape"] = list(out.shape) if is_tensor else None
    data[f"{prefix}_dtype"] = str(out.dtype) if is_tensor else None
    if with_values:
        data[f"{prefix}_out"] = to_array(out) if is_tensor else None


def probe_dropout(params: dict, Dropout) -> dict:
    data = {"is_module_class": isinstance(Dropout, type) and issubclass(Dropout, nn.Module),
            "argument_type": type(Dropout).__name__,
            "input_dtype": str(torch.get_default_dtype())}
    if not data["is_module_class"]:
        return data
    device, dtype = torch.device(params["device"]), torch.get_default_dtype()
    x, x_small, x_eval = (torch.tensor(a, dtype=dtype, device=device)
                          for a in dropout_inputs(params))
    for key, rate in zip(INSTANCES, _rates(params)):
        text = _call_text(key, rate)
        module = call_student(text, Dropout) if key == "default" else call_student(
            text, Dropout, rate)
        module.train()
        for call in (1, 2):
            given = x.clone()
            out = call_student(f"{text}(x) in training mode", module, given)
            _record(data, f"{key}_train{call}", out)
            if call == 1:
                data[f"{key}_input_after"] = to_array(given)
        out = call_student(f"{text}(x) in training mode, x of shape {tuple(x_small.shape)}",
                           module, x_small.clone())
        _record(data, f"{key}_small", out, with_values=False)
        module.eval()
        out = call_student(f"{text}(x) in eval mode", module, x_eval.clone())
        _record(data, f"{key}_eval", out)
        module.train()
        leaf = x_eval.clone().requires_grad_(True)
        data[f"{key}_grad_error"] = data[f"{key}_grad"] = data[f"{key}_grad_out"] = None
        data[f"{key}_grad_requires_grad"] = False
        try:
            out = call_student(f"{text}(x) in training mode, x requiring grad", module, leaf)
            if isinstance(out, torch.Tensor) and out.requires_grad:
                data[f"{key}_grad_requires_grad"] = True
                call_student("out.sum().backward()", out.sum().backward)
                data[f"{key}_grad_out"] = to_array(out)
                data[f"{key}_grad"] = None if leaf.grad is None else to_array(leaf.grad)
        except StudentCodeError as error:
            data[f"{key}_grad_error"] = str(error)
    return data


# ----------------------------------------------------------------------------- verdict

def _mask(check, out: np.ndarray, x: np.ndarray, rate: float, call: str):
    """The kept entries (out == x); fails unless every entry is 0 or x."""
    kept = np.isclose(out, x, rtol=1e-5, atol=0.0)
    dropped = out == 0
    if np.all(kept | dropped):
        return kept
    survivors = ~dropped
    ratio = out[survivors] / x[survivors]
    scale = float(np.median(ratio)) if ratio.size else float("nan")
    if ratio.size and np.allclose(ratio, scale, rtol=1e-4):
        hint = "keep the kept entries unchanged: multiply by the mask only"
        if np.isclose(scale, 1.0 / (1.0 - rate), rtol=1e-4):
            hint = ("your kept entries are divided by (1 - rate) (inverted dropout, what "
                    "torch's own dropout does); this notebook scales in eval mode instead, so "
                    "training mode keeps entries unchanged")
        raise CheckFailure(check, "training scaling",
                           expected=f"kept entries equal to x ({call})",
                           observed=f"kept entries equal to {scale:.6g} * x", hint=hint)
    bad = int(np.sum(~(kept | dropped)))
    raise CheckFailure(check, "training values",
                       expected=f"every output entry 0 or exactly the input entry ({call})",
                       observed=f"{bad} of {out.size} entries are neither",
                       hint="training mode multiplies x elementwise by a mask of zeros and ones")


def _frequency_test(check, prop, count, n, p, alpha, expected, hint):
    lo, hi = binomial_interval(n, p, alpha)
    q = count / n
    if not inside(q, (lo, hi)):
        raise CheckFailure(check, prop, expected=f"{expected}: {p:.4g} (accepted {lo:.4g} .. "
                                                 f"{hi:.4g}, {n} entries)",
                           observed=f"{q:.4g}", hint=hint)


ROWS_HINT = ("draw one mask entry per entry of x: one mask row shared by the whole batch "
             "drops the same features for every example")
COLUMNS_HINT = "draw one mask entry per entry of x, not one per row"
CALLS_HINT = "draw a new mask at every forward call; do not store one and reuse it"


def _shared_masks(check, masks, call) -> None:
    """A mask shared outright by all rows, all columns or both calls.

    These are exact tests (a correct mask repeats across all 100+ rows with probability
    below 1e-100), run before the keep fraction, which a shared mask also upsets.
    """
    m = masks[0]
    if np.all(m == m[:1]):
        raise CheckFailure(check, "independence across rows",
                           expected=f"each row of the batch with its own mask ({call})",
                           observed="every row has the same mask", hint=ROWS_HINT)
    if np.all(m == m[:, :1]):
        raise CheckFailure(check, "independence across columns",
                           expected=f"each entry with its own mask value ({call})",
                           observed="each row is kept or dropped as a whole", hint=COLUMNS_HINT)
    if np.array_equal(masks[0], masks[1]):
        raise CheckFailure(check, "fresh mask each call",
                           expected=f"a new mask at every call ({call})",
                           observed="two calls on the same x dropped the same entries",
                           hint=CALLS_HINT)


def _verdict_training(check, params, pd, key, rate, x, x_small, alpha) -> str:
    call = _call_text(key, rate)
    masks = []
    for c in (1, 2):
        prefix = f"{key}_train{c}"
        out_type = pd.text(f"{prefix}_type")
        if out_type not in ("Tensor", "Parameter"):
            raise CheckFailure(check, "return type", expected=f"a tensor ({call}(x))",
                               observed=out_type,
                               hint="forward returns the dropped-out tensor only (no mask, "
                                    "no tuple)")
        shape = pd.shape(f"{prefix}_shape")
        if shape != x.shape:
            raise CheckFailure(check, "output shape", expected=f"{x.shape}, the shape of x",
                               observed=f"{shape} ({call})",
                               hint="the mask has one entry per entry of x")
        if pd.text(f"{prefix}_dtype") != pd.text("input_dtype"):
            raise CheckFailure(check, "output dtype", expected=pd.text("input_dtype"),
                               observed=f"{pd.text(f'{prefix}_dtype')} ({call})",
                               hint="build the mask with torch on x's dtype and device; a "
                                    "numpy mask is float64")
        if c == 1:
            after = pd.array(f"{key}_input_after", shape=x.shape)
            if not np.array_equal(after, x):
                raise CheckFailure(check, "input modified in place",
                                   expected="x unchanged after the call",
                                   observed=f"{int(np.sum(after != x))} entries of x changed "
                                            f"({call})",
                                   hint="return a new tensor; in-place operations (mul_, "
                                        "x[mask] = 0) change the caller's tensor")
        out = pd.array(f"{prefix}_out", shape=x.shape)
        masks.append(_mask(check, out, x, rate, f"{call}, training mode"))
    shape = pd.shape(f"{key}_small_shape", optional=True)
    if shape != x_small.shape:
        raise CheckFailure(check, "output shape", expected=f"{x_small.shape}, the shape of x",
                           observed=f"{shape} ({call}, x of shape {x_small.shape})",
                           hint="the mask is drawn for the shape of each new input")
    _shared_masks(check, masks, call)
    keep = 1.0 - rate
    both = np.concatenate([m.ravel() for m in masks])
    kept = int(both.sum())
    q = kept / both.size
    if abs(q - rate) < abs(q - keep):
        hint = "you keep entries with probability rate; rate is the probability of dropping"
    elif key != "default" and abs(q - (1 - DEFAULT_RATE)) < 0.005:
        hint = "the rate given to __init__ is not used (0.01 seems fixed)"
    else:
        hint = "each entry is kept with probability 1 - rate, independently"
    _frequency_test(check, "default rate" if key == "default" else "keep fraction", kept,
                    both.size, keep, alpha, f"fraction of entries kept by {call}",
                    hint if key != "default" else "Dropout() must use rate = 0.01: " + hint)
    agree = 1.0 - 2.0 * keep * rate  # P(two independent mask entries are equal)
    m = masks[0]
    rows = m[0::2] == m[1::2]
    _frequency_test(check, "independence across rows", int(rows.sum()), rows.size, agree, alpha,
                    f"fraction of equal mask entries in rows 2i and 2i+1 ({call})", ROWS_HINT)
    columns = m[:, 0::2] == m[:, 1::2]
    _frequency_test(check, "independence across columns", int(columns.sum()), columns.size,
                    agree, alpha, f"fraction of equal mask entries in columns 2j and 2j+1 ({call})",
                    COLUMNS_HINT)
    calls = masks[0] == masks[1]
    _frequency_test(check, "fresh mask each call", int(calls.sum()), calls.size, agree, alpha,
                    f"fraction of equal mask entries in two calls on the same x ({call})",
                    CALLS_HINT)
    return f"{call}: kept {q:.3f}"


def _verdict_eval(check, pd, key, rate, x_eval) -> None:
    call = _call_text(key, rate)
    prefix = f"{key}_eval"
    out_type = pd.text(f"{prefix}_type")
    if out_type not in ("Tensor", "Parameter"):
        raise CheckFailure(check, "return type", expected=f"a tensor ({call}(x), eval mode)",
                           observed=out_type, hint="forward returns a tensor in both modes")
    shape = pd.shape(f"{prefix}_shape")
    if shape != x_eval.shape:
        raise CheckFailure(check, "output shape", expected=f"{x_eval.shape}",
                           observed=f"{shape} ({call}, eval mode)", hint="")
    out = pd.array(f"{prefix}_out", shape=x_eval.shape)
    reference = (1.0 - rate) * x_eval
    if np.allclose(out, reference, rtol=1e-5, atol=0.0):
        return
    if np.allclose(out, x_eval, rtol=1e-5, atol=0.0):
        hint = "eval mode returns x unscaled; it must multiply x by (1 - rate)"
    elif np.any(out == 0):
        hint = ("entries are dropped in eval mode; test self.training and drop only while "
                "training")
    else:
        hint = "in eval mode, nothing is dropped and every entry is multiplied by (1 - rate)"
    ratio = out.ravel()[:3] / x_eval.ravel()[:3]
    raise CheckFailure(check, "eval output",
                       expected=f"(1 - rate) * x = {1 - rate:.4g} * x ({call}, eval mode)",
                       observed=f"output / x = {np.round(ratio, 4).tolist()} (first entries)",
                       hint=hint)


def _verdict_gradient(check, pd, key, rate, x_eval) -> None:
    call = _call_text(key, rate)
    error = pd.text(f"{key}_grad_error", optional=True)
    if error is not None or not pd.flag(f"{key}_grad_requires_grad"):
        raise CheckFailure(check, "output differentiable",
                           expected=f"an output that requires grad when x does ({call})",
                           observed=error or "requires_grad=False",
                           hint="build the output from x with torch operations (no .detach(), "
                                ".data or numpy) so that gradients flow to earlier layers")
    out = pd.array(f"{key}_grad_out", shape=x_eval.shape)
    grad = pd.array(f"{key}_grad", shape=x_eval.shape, optional=True)
    expected = (out != 0).astype(float)
    if grad is None or not np.allclose(grad, expected, atol=1e-6):
        raise CheckFailure(check, "gradient",
                           expected="d out / d x = the mask (1 where kept, 0 where dropped)",
                           observed="no gradient reached x" if grad is None else
                           f"gradient {np.round(grad.ravel()[:4], 4).tolist()} where the mask "
                           f"is {expected.ravel()[:4].tolist()}",
                           hint="multiply x by the mask; the mask itself needs no gradient")


def verdict_dropout(params: dict, data: dict) -> str:
    """Dropout(rate): in training mode out = D * x with D_ij iid Bernoulli(1 - rate), a fresh
    mask every call, kept entries unchanged; in eval mode out = (1 - rate) * x; the input is
    not modified; the default rate is 0.01.

    Statistics: three modules (two drawn rates and Dropout()), four frequency tests each, so
    12 tests at alpha = 1e-9 / 12 each; every interval is the Chernoff bound for a binomial
    frequency, P(|q - p| beyond the interval) <= alpha, valid for any n and p.  Seed 0 (a
    250 x 120 input, rates 0.3, 0.75, 0.01):
    * kept fraction over two calls, n = 60 000: rate 0.3 accepts 0.687 .. 0.713, so a swapped
      mask (0.3 kept), a fixed rate of 0.01 (0.99 kept) or rate 0.35 fail; the default
      accepts 0.9871 .. 0.9927, rejecting rate 0 and rate 0.02;
    * equal mask entries in rows 2i and 2i+1 (n = 15 000; P(equal) = 1 - 2 r (1 - r), 0.58
      for r = 0.3), in columns 2j and 2j+1 (n = 15 000) and between two calls (n = 30 000):
      a mask shared by the rows, by the columns or by the calls makes that fraction 1, far
      above the bound (0.61 at r = 0.3; 0.988 for the default, where 1 - 2 r (1 - r) = 0.9802);
      a mask shared outright by all rows, all columns or both calls is caught before, exactly.
    Values are exact (relative 1e-5): kept entries rescaled by 1/(1 - rate) fail.

    Partial credit (the share of the check's points each property gives):
    - training mode (0.5): output type, shape and dtype, input left unchanged, every entry 0
      or x, the keep fraction, independent masks per entry and per call, the default rate
    - evaluation mode (0.3): out = (1 - rate) * x, nothing dropped
    - autograd (0.2): the training output requires grad and d out / d x is the mask
    """
    check = DROPOUT.name
    pd = ProbeData(check, data)
    if not pd.flag("is_module_class"):
        raise CheckFailure(check, "argument", expected="your Dropout class (an nn.Module)",
                           observed=pd.text("argument_type"),
                           hint="pass the class itself: test_dropout(Dropout)")
    x, x_small, x_eval = dropout_inputs(params)
    alpha = FALSE_REJECT / (TESTS_PER_INSTANCE * len(INSTANCES))
    summaries, judged = [], DROPOUT.judge()
    with judged("training mode"):
        for key, rate in zip(INSTANCES, _rates(params)):
            summaries.append(_verdict_training(check, params, pd, key, rate, x, x_small, alpha))
    with judged("evaluation mode"):
        for key, rate in zip(INSTANCES, _rates(params)):
            _verdict_eval(check, pd, key, rate, x_eval)
    with judged("autograd"):
        for key, rate in zip(INSTANCES, _rates(params)):
            _verdict_gradient(check, pd, key, rate, x_eval)
    return judged.verdict("; ".join(summaries) + "; independent masks per entry and per "
                          "call, no rescaling; eval output (1 - rate) x")


DROPOUT = Check(
    "test_dropout", probe_dropout, verdict_dropout, make_params,
    doc="test_dropout(Dropout): checks Dropout(rate) in training mode (each entry kept with "
        "probability 1 - rate, independently and afresh at every call, kept entries "
        "unchanged) and in eval mode ((1 - rate) * x), for several rates and the default "
        "Dropout() (rate 0.01).")
