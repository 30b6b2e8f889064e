"""Checks of the three hand-written update rules: gradient descent, momentum and RMSprop.

The conventions the notebook pins, for ``update(loss, params, [state,] <hyper-parameters>)``:

* ``loss`` is a 0-dim tensor computed from ``params``; the function computes the gradient
  g = dJ/dw itself (``loss.backward()``, or ``torch.autograd.grad``) and makes sure that
  gradients of earlier calls do not add up (``p.grad`` zeroed or set to None).
* The tensors in ``params`` are the model's parameters: they get their new values in place
  (``p.data ...`` or an in-place operation under ``torch.no_grad()``) and stay trainable
  leaf tensors.  The function returns nothing (a returned value is ignored).
* ``grad_vel`` / ``grad_sq`` hold one tensor per parameter, of its shape; after the call
  ``grad_vel[i]`` holds v_t (updated in place), so that the next call starts from it.

The rules, element-wise, with g = grad J(w_t):

    gradient descent   w_{t+1} = w_t - lr g
    momentum           v_t = -lr g + beta v_{t-1},            w_{t+1} = w_t + v_t
    RMSprop            v_t = alpha v_{t-1} + (1 - alpha) g^2,
                       w_{t+1} = w_t - lr g / sqrt(v_t + eps)

(RMSprop: eps INSIDE the square root, as the notebook writes it; ``torch.optim.RMSprop``
divides by sqrt(v_t) + eps instead.)

The probe's problem is not the notebook's: softmax regression with a non-square weight W
(K x D, K != D) and a bias b (K,) on its own random data, J = mean NLL, in float64 on the
check's device, with a non-zero starting state (so a velocity that is not carried over, or
torch's other velocity convention, shows at the first step).  Run A takes 3-5 steps with
non-default hyper-parameters given as keywords; run B (momentum, RMSprop) takes 2 steps with
the defaults.  The verdict replays the rule with the closed-form gradient
dJ/dW = (P - Y)^T X / N, dJ/db = mean(P - Y) in float64 numpy.

Tolerance: |observed - reference| <= 1e-9 + 1e-6 |reference| per entry.  Both sides are
float64; per step the rounding is ~1e-16 relative, and over <= 5 steps the update maps
(Lipschitz constant <= 1 + lr ||Hessian|| + beta <= 4 for momentum, <= 1 + lr / sqrt(eps)
<= 2 for RMSprop with eps >= 1e-2, and v_{t-1} >= 0.004 bounding it with the default eps)
grow it to < 1e-12.  A student who writes the learning rate as a float32 tensor is off by
6e-8 relative, still inside.  Every mistake the verdict names moves the run by more than
1e-4 (100 times the tolerance; the test suite checks this over 60 seeds), so none can be
confused with the rule.  Deterministic: no false rejects.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..checking import Check, CheckFailure, StudentCodeError, call_student, student_raised
from .common import single_thread
from ..numeric import close
from ..probe_data import ProbeData

GRADIENT_UPDATE_NAME = "test_gradient_update"
MOMENTUM_UPDATE_NAME = "test_momentum_update"
RMSPROP_UPDATE_NAME = "test_rmsprop_update"
RTOL, ATOL = 1e-6, 1e-9
TOL = dict(rtol=RTOL, atol=ATOL)  # for numeric.close
DEFAULTS = {"momentum": {"lr": 1e-3, "beta": 0.8},
            "rmsprop": {"lr": 1e-3, "alpha": 0.8, "epsilon": 1e-8}}
NAMES = {"gd": "gradient_update", "momentum": "momentum_update", "rmsprop": "rmsprop_update"}
STATE_NAMES = {"momentum": "grad_vel", "rmsprop": "grad_sq"}
PARAM_NAMES = ("the weight W", "the bias b")


# ----------------------------------------------------------------------------- parameters

def _params(rule: str, seed: int, device: str) -> dict:
    """Shapes, step count and hyper-parameters; seed 0 is the case the notebook shows."""
    salt = {"gd": 301, "momentum": 302, "rmsprop": 303}[rule]
    if seed == 0:
        params = {"K": 3, "D": 5, "N": 12, "steps": 4,
                  "hyper": {"gd": {"lr": 0.2}, "momentum": {"lr": 0.15, "beta": 0.6},
                            "rmsprop": {"lr": 0.03, "alpha": 0.7, "epsilon": 0.02}}[rule]}
    else:
        rng = np.random.default_rng([seed, salt])
        k, d = int(rng.integers(2, 6)), int(rng.integers(3, 8))
        d = d + 1 if d == k else d
        hyper = {"lr": round(float(rng.uniform(0.05, 0.5)), 3)}
        if rule == "momentum":
            hyper = {"lr": round(float(rng.uniform(0.05, 0.3)), 3),
                     "beta": round(float(rng.choice([rng.uniform(0.5, 0.74),
                                                     rng.uniform(0.86, 0.95)])), 3)}
        elif rule == "rmsprop":
            hyper = {"lr": round(float(rng.uniform(0.005, 0.05)), 4),
                     "alpha": round(float(rng.choice([rng.uniform(0.6, 0.74),
                                                      rng.uniform(0.86, 0.95)])), 3),
                     "epsilon": round(float(rng.uniform(0.01, 0.05)), 4)}
        params = {"K": k, "D": d, "N": int(rng.integers(10, 25)),
                  "steps": int(rng.integers(3, 6)), "hyper": hyper}
    params.update(rule=rule, seed=seed, device=device, data_seed=10_000 * salt + seed,
                  default_steps=0 if rule == "gd" else 2)
    return params


def gradient_update_params(seed: int, device: str) -> dict:
    return _params("gd", seed, device)


def momentum_update_params(seed: int, device: str) -> dict:
    return _params("momentum", seed, device)


def rmsprop_update_params(seed: int, device: str) -> dict:
    return _params("rmsprop", seed, device)


def problem(params: dict) -> dict:
    """The probe's data and starting point as float64 CPU tensors: x (N, D), y (N,),
    W0 (K, D), b0 (K,), and the starting state (momentum: N(0, 0.1^2) velocities; RMSprop:
    averages uniform in [0.005, 0.05])."""
    g = torch.Generator().manual_seed(params["data_seed"])
    k, d, n = params["K"], params["D"], params["N"]
    out = {"x": torch.randn(n, d, generator=g, dtype=torch.float64),
           "y": torch.randint(0, k, (n,), generator=g),
           "W0": 0.5 * torch.randn(k, d, generator=g, dtype=torch.float64),
           "b0": 0.5 * torch.randn(k, generator=g, dtype=torch.float64)}
    if params["rule"] == "momentum":
        out["state0"] = [0.1 * torch.randn(k, d, generator=g, dtype=torch.float64),
                         0.1 * torch.randn(k, generator=g, dtype=torch.float64)]
    elif params["rule"] == "rmsprop":
        out["state0"] = [0.005 + 0.045 * torch.rand(k, d, generator=g, dtype=torch.float64),
                         0.005 + 0.045 * torch.rand(k, generator=g, dtype=torch.float64)]
    return out


# ----------------------------------------------------------------------------- probe

def _plain(value):
    """A tensor as a float64 numpy array (a copy); anything else as None."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy().copy()
    return None


def _run(params, update, prefix, hyper, steps, data):
    """``steps`` calls on fresh tensors; records parameters and state after each call.

    A call that raises ends the run: the error and the number of calls done are recorded,
    so that the verdict can first say what the calls before it did wrong (a first call that
    replaced the parameters makes the second one fail, for instance).
    """
    prob = problem(params)
    device = params["device"]
    x, y = prob["x"].to(device), prob["y"].to(device)
    weight = torch.nn.Parameter(prob["W0"].clone().to(device))
    bias = torch.nn.Parameter(prob["b0"].clone().to(device))
    originals = [weight, bias]
    param_list = list(originals)
    state = [s.clone().to(device) for s in prob["state0"]] if "state0" in prob else None
    name = NAMES[params["rule"]]
    shown = ", ".join(f"{k}={v}" for k, v in hyper.items())
    call = f"{name}(loss, params{', ' + STATE_NAMES[params['rule']] if state else ''}" \
           f"{', ' + shown if shown else ''})"
    data[f"{prefix}_error"] = None
    data[f"{prefix}_done"] = 0
    for t in range(steps):
        try:
            loss = F.nll_loss(F.log_softmax(x @ weight.T + bias, dim=1), y)
            args = (loss, param_list) if state is None else (loss, param_list, state)
            returned = call_student(f"call {t + 1}: {call}", update, *args, **hyper)
        except StudentCodeError as error:
            where = f" (at {error.detail})" if error.detail else ""
            data[f"{prefix}_error"] = f"{error}{where}"
            return
        except RuntimeError as error:  # the probe's own loss, after a call broke the params
            data[f"{prefix}_error"] = f"after call {t}: computing the next loss raised " \
                                      f"RuntimeError: {error}"
            return
        if t == 0 and prefix == "A":
            data["returned"] = type(returned).__name__
        for i, p in enumerate(originals):
            data[f"{prefix}{t}_p{i}"] = _plain(p)
        data[f"{prefix}{t}_trainable"] = [bool(p.is_leaf and p.requires_grad)
                                          for p in originals]
        if state is not None:
            for i in range(2):
                data[f"{prefix}{t}_s{i}"] = _plain(state[i]) if i < len(state) else None
        data[f"{prefix}_done"] = t + 1


def probe(params: dict, update) -> dict:
    """Run A (non-default hyper-parameters, 3-5 steps) and run B (defaults, 2 steps)."""
    data = {"callable": callable(update)}
    if not data["callable"]:
        data["argument_type"] = type(update).__name__
        return data
    with single_thread():
        _run(params, update, "A", dict(params["hyper"]), params["steps"], data)
        if params["default_steps"]:
            _run(params, update, "B", {}, params["default_steps"], data)
    return data


# ----------------------------------------------------------------------------- the maths

def gradient(x, onehot, w, b):
    """Closed-form gradient of J = mean NLL of softmax(x W^T + b): ((P-Y)^T x / N, mean(P-Y))."""
    logits = x @ w.T + b
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    g = (p - onehot) / len(x)
    return [g.T @ x, g.sum(axis=0)]


def replay(params: dict, hyper: dict, steps: int, variant: str = "pinned"):
    """The parameters and state after each of ``steps`` calls, by the rule or a named mistake.

    Variants (the mistakes the verdict names): 'accumulate' (gradients of earlier calls
    added up), 'sign' (the step goes uphill), 'sign_param' (momentum: w - v_t),
    'old_state' (the parameter step uses v_{t-1}), 'torch' (momentum: v_t = beta v + g,
    w - lr v_t), 'eps_outside' (g / (sqrt(v_t) + eps)), 'alpha_swapped'
    (v_t = (1 - alpha) v + alpha g^2), 'no_sqrt' (g / (v_t + eps)), 'defaults' (the
    hyper-parameters given are ignored).
    """
    rule = params["rule"]
    prob = problem(params)
    x, y = prob["x"].numpy(), prob["y"].numpy()
    onehot = np.eye(params["K"])[y]
    w = [prob["W0"].numpy().copy(), prob["b0"].numpy().copy()]
    state = [s.numpy().copy() for s in prob["state0"]] if "state0" in prob else None
    h = dict(DEFAULTS.get(rule, {}))
    h.update(hyper)
    if variant == "defaults":
        h = dict(DEFAULTS.get(rule, {"lr": 1e-3}))
    total = [np.zeros_like(p) for p in w]
    out = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            g = gradient(x, onehot, *w)
            if variant == "accumulate":
                total = [a + b for a, b in zip(total, g)]
                g = total
            for i in range(2):
                w[i], new_state = _step(rule, variant, w[i], g[i],
                                        None if state is None else state[i], h)
                if state is not None:
                    state[i] = new_state
            kept = None if state is None else [s.copy() for s in state]
            out.append(([p.copy() for p in w], kept))
    return out


def _step(rule, variant, w, g, s, h):
    """One parameter's new value and state under ``variant`` of ``rule``."""
    lr = h["lr"]
    if rule == "gd":
        return (w + lr * g if variant == "sign" else w - lr * g), None
    if rule == "momentum":
        beta = h["beta"]
        if variant == "torch":
            v = beta * s + g
            return w - lr * v, v
        v = beta * s + (lr * g if variant == "sign" else -lr * g)
        if variant == "sign_param":
            return w - v, v
        if variant == "old_state":
            return w + s, v
        return w + v, v
    alpha, eps = h["alpha"], h["epsilon"]
    v = (1 - alpha) * s + alpha * g ** 2 if variant == "alpha_swapped" \
        else alpha * s + (1 - alpha) * g ** 2
    if variant == "eps_outside":
        step = g / (np.sqrt(v) + eps)
    elif variant == "old_state":
        step = g / np.sqrt(s + eps)
    elif variant == "no_sqrt":
        step = g / (v + eps)
    else:
        step = g / np.sqrt(v + eps)
    return (w + lr * step if variant == "sign" else w - lr * step), v


# ----------------------------------------------------------------------------- verdict

VARIANTS = {
    "gd": [
        ("sign", "update direction (sign)",
         "the parameters moved uphill: gradient descent SUBTRACTS lr * gradient"),
        ("accumulate", "gradients zeroed between calls",
         "from the second call on, your step used the gradients of all earlier calls added "
         "up: loss.backward() ADDS to p.grad, so reset it (zero it, or set it to None) "
         "before computing the new gradient"),
    ],
    "momentum": [
        ("sign", "update direction (sign)",
         "the parameters moved uphill: the velocity is v_t = -lr * g + beta * v_{t-1} (minus "
         "the learning rate times the gradient), then w <- w + v_t"),
        ("sign_param", "update direction (sign)",
         "your velocity is right but the parameters moved the wrong way: with "
         "v_t = -lr * g + beta * v_{t-1} the update ADDS the velocity, w <- w + v_t"),
        ("accumulate", "gradients zeroed between calls",
         "from the second call on, your step used the gradients of all earlier calls added "
         "up: loss.backward() ADDS to p.grad, so reset it (zero it, or set it to None) "
         "before computing the new gradient"),
        ("torch", "velocity convention",
         "you stored v_t = beta * v_{t-1} + g and stepped w - lr * v_t (torch.optim.SGD's "
         "convention); the notebook's velocity includes the learning rate and the sign: "
         "v_t = -lr * g + beta * v_{t-1}, w <- w + v_t.  The two agree only when the "
         "velocity starts at zero"),
        ("old_state", "parameters use the new velocity",
         "update the velocity first, then move the parameters by the NEW velocity v_t "
         "(you moved them by v_{t-1})"),
        ("defaults", "hyper-parameter arguments",
         "your function ignored the lr and beta it was given (it behaved as with the "
         "defaults lr=1e-3, beta=0.8): use the arguments, not global or hard-coded values"),
    ],
    "rmsprop": [
        ("sign", "update direction (sign)",
         "the parameters moved uphill: w <- w - lr * g / sqrt(v_t + eps) SUBTRACTS the step"),
        ("accumulate", "gradients zeroed between calls",
         "from the second call on, your step used the gradients of all earlier calls added "
         "up: loss.backward() ADDS to p.grad, so reset it (zero it, or set it to None) "
         "before computing the new gradient"),
        ("eps_outside", "epsilon inside the square root",
         "you divided by sqrt(v_t) + eps, as torch.optim.RMSprop does; this notebook's rule "
         "puts eps inside the root: g / sqrt(v_t + eps).  With the default eps = 1e-8 the two "
         "barely differ, so the check uses a large eps to tell them apart"),
        ("old_state", "parameters use the new average",
         "update the average first, v_t = alpha v_{t-1} + (1 - alpha) g^2, then divide by "
         "sqrt(v_t + eps) with the NEW v_t (you used v_{t-1})"),
        ("alpha_swapped", "moving-average weights",
         "the old average is weighted by alpha and the new squared gradient by (1 - alpha): "
         "v_t = alpha * v_{t-1} + (1 - alpha) * g^2 (you swapped them)"),
        ("no_sqrt", "square root",
         "divide the gradient by the SQUARE ROOT of (v_t + eps), not by v_t + eps"),
        ("defaults", "hyper-parameter arguments",
         "your function ignored the lr, alpha and epsilon it was given (it behaved as with "
         "the defaults): use the arguments, not global or hard-coded values"),
    ],
}


def _observed(pd: ProbeData, params: dict, prefix: str, steps: int):
    """[(params, state)] per step from the probe data, shapes checked with teaching props."""
    rule, check = params["rule"], pd.check
    shapes = [(params["K"], params["D"]), (params["K"],)]
    state_name = STATE_NAMES.get(rule)
    out = []
    for t in range(steps):
        ps = [pd.array(f"{prefix}{t}_p{i}", optional=True) for i in range(2)]
        for i, p in enumerate(ps):
            if p is None or p.shape != shapes[i]:
                raise CheckFailure(
                    check, "parameter shapes", expected=f"{PARAM_NAMES[i]} of shape {shapes[i]}",
                    observed="not a tensor" if p is None else f"shape {p.shape}",
                    hint="change the parameters' values in place; never reshape or replace them")
        ss = None
        if state_name:
            ss = [pd.array(f"{prefix}{t}_s{i}", optional=True) for i in range(2)]
            for i, s in enumerate(ss):
                if s is None or s.shape != shapes[i]:
                    raise CheckFailure(
                        check, f"{'velocity' if rule == 'momentum' else 'average'} stored in "
                               f"{state_name}",
                        expected=f"{state_name}[{i}] a tensor of shape {shapes[i]} after "
                                 f"call {t + 1}",
                        observed="not a tensor" if s is None else f"shape {s.shape}",
                        hint=f"{state_name}[i] keeps the state of params[i]: same shape, "
                             "updated in place")
        out.append((ps, ss))
    return out


def _first_difference(observed, reference):
    """(step, 'parameters'|'state', index) of the first mismatch, or None."""
    for t, ((ps, ss), (rp, rs)) in enumerate(zip(observed, reference)):
        if ss is not None and rs is not None:
            for i in range(2):
                if not close(ss[i], rs[i], **TOL):
                    return t, "state", i
        for i in range(2):
            if not close(ps[i], rp[i], **TOL):
                return t, "parameters", i
    return None


def _matches(observed, reference) -> bool:
    return _first_difference(observed, reference) is None


def _describe(values) -> str:
    flat = np.asarray(values).reshape(-1)[:4]
    more = " ..." if np.size(values) > 4 else ""
    return np.array2string(flat, precision=5, separator=", ") + more


def verdict_update(params: dict, data) -> str:
    """Replays the update rule from the maths on the check's own problem (see the module)."""
    rule = params["rule"]
    check = {"gd": GRADIENT_UPDATE_NAME, "momentum": MOMENTUM_UPDATE_NAME,
             "rmsprop": RMSPROP_UPDATE_NAME}[rule]
    name, state_name = NAMES[rule], STATE_NAMES.get(rule)
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "a function", expected=f"the function {name}",
                           observed=pd.text("argument_type", optional=True),
                           hint=f"pass the function itself: {check}({name})")
    steps, hyper = params["steps"], params["hyper"]
    done = min(pd.integer("A_done"), steps)
    error = pd.text("A_error", optional=True)
    if done == 0:
        raise student_raised(check, error or "no call ran",
                             hint="call the function yourself on small inputs and read the "
                                  "traceback")
    judged = {"gd": GRADIENT_UPDATE, "momentum": MOMENTUM_UPDATE,
              "rmsprop": RMSPROP_UPDATE}[rule].judge()
    observed = _observed(pd, params, "A", done)
    with judged("update rule"):
        _check_run(check, params, pd, observed, error, done, state_name)
    summary = f"{steps} calls with {', '.join(f'{k}={v}' for k, v in hyper.items())} on a " \
              f"{params['K']}x{params['D']} weight and a bias"
    with judged("default hyper-parameters"):
        if params["default_steps"]:
            _check_defaults(check, params, pd, name, state_name)
            summary += ", and 2 with the defaults"
    return judged.verdict(summary)


def _check_run(check, params, pd, observed, error, done, state_name) -> None:
    """The calls with the check's hyper-parameters: parameters (and state) updated in place,
    still trainable, and the values of the update rule's replay."""
    rule, steps, hyper = params["rule"], params["steps"], params["hyper"]
    returned = pd.text("returned")
    prob = problem(params)
    start = [prob["W0"].numpy(), prob["b0"].numpy()]
    if all(np.array_equal(p, s) for p, s in zip(observed[0][0], start)):
        extra = f" (your function returned a {returned}, which the caller ignores)" \
            if returned != "NoneType" else ""
        raise CheckFailure(
            check, "parameters updated in place",
            expected="the tensors in params changed after one call",
            observed="both parameters still hold their starting values" + extra,
            hint="the model holds these Parameter objects: give them new values in place "
                 "(p.data -= ..., or p -= ... inside torch.no_grad()); assigning a new tensor "
                 "to the loop variable or to params[i] leaves the model untouched")
    trainable = pd.flags("A0_trainable", length=2)
    if not all(trainable):
        raise CheckFailure(check, "parameters still trainable",
                           expected="every parameter a leaf tensor with requires_grad=True",
                           observed=f"after call 1, trainable: {trainable}",
                           hint="change the values through p.data or under torch.no_grad(); "
                                "do not detach the parameters or switch off their gradients")
    if state_name:
        state0 = [s.numpy() for s in prob["state0"]]
        if all(np.array_equal(s, s0) for s, s0 in zip(observed[0][1], state0)):
            extra = f"; your function returned a {returned}, which the caller ignores" \
                if returned != "NoneType" else ""
            raise CheckFailure(
                check, f"{'velocity' if rule == 'momentum' else 'average'} stored in {state_name}",
                expected=f"{state_name} to hold v_1 after the first call",
                observed=f"{state_name} still holds its starting values{extra}",
                hint=f"the next call must start from v_t: write it into the tensors of "
                     f"{state_name} in place (e.g. v.data = ..., or v.mul_(...).add_(...)); "
                     "assigning to the loop variable only renames it")
    if error is not None:
        raise student_raised(check, error,
                             hint=f"calls 1..{done} ran; run several calls in a row yourself, "
                                  "computing a fresh loss from the same parameters each time")
    reference = replay(params, hyper, steps)
    difference = _first_difference(observed, reference)
    if difference is not None:
        _fail_run(check, params, hyper, observed, reference, difference, "A")


def _check_defaults(check, params, pd, name, state_name) -> None:
    """The calls without hyper-parameters: the values of the signature's defaults."""
    rule = params["rule"]
    if pd.integer("B_done") < params["default_steps"]:
        raise CheckFailure(check, "default hyper-parameters",
                           expected=f"{name}(loss, params, {state_name}) to run with the "
                                    "signature's defaults",
                           observed=pd.text("B_error", optional=True) or "it did not run",
                           hint="keep the defaults of the signature: "
                                + ", ".join(f"{k}={v}" for k, v in DEFAULTS[rule].items()))
    defaults = _observed(pd, params, "B", params["default_steps"])
    ref_defaults = replay(params, {}, params["default_steps"])
    difference = _first_difference(defaults, ref_defaults)
    if difference is not None:
        t, what, i = difference
        got = defaults[t][0 if what == "parameters" else 1][i]
        want = ref_defaults[t][0 if what == "parameters" else 1][i]
        raise CheckFailure(
            check, "default hyper-parameters",
            expected=f"with {', '.join(f'{k}={v}' for k, v in DEFAULTS[rule].items())}: "
                     f"{_describe(want)}",
            observed=f"called without them, {what} {i} after call {t + 1}: {_describe(got)}",
            hint=f"keep the signature's defaults: {name}(loss, params, {state_name}, "
                 + ", ".join(f"{k}={v}" for k, v in DEFAULTS[rule].items()) + ")")


def _fail_run(check, params, hyper, observed, reference, difference, prefix):
    """Name the mistake whose replay matches the student's run, or describe the difference."""
    rule = params["rule"]
    for variant, prop, hint in VARIANTS[rule]:
        if _matches(observed, replay(params, hyper, params["steps"], variant)):
            t, what, i = difference
            got = observed[t][0 if what == "parameters" else 1][i]
            want = reference[t][0 if what == "parameters" else 1][i]
            raise CheckFailure(check, prop,
                               expected=f"{_label(rule, what, i)} after call {t + 1} "
                                        f"({', '.join(f'{k}={v}' for k, v in hyper.items())}): "
                                        f"{_describe(want)}",
                               observed=_describe(got), hint=hint)
    t, what, i = difference
    got = observed[t][0 if what == "parameters" else 1][i]
    want = reference[t][0 if what == "parameters" else 1][i]
    if rule == "gd" and t == 0 and what == "parameters":
        _learning_rate(check, params, hyper, observed, reference)
    if what == "state":
        prop = "velocity update" if rule == "momentum" else "average update"
        formula = "v_t = -lr * g + beta * v_{t-1}" if rule == "momentum" \
            else "v_t = alpha * v_{t-1} + (1 - alpha) * g^2"
        hint = f"the state after each call must be {formula} (element-wise, g the gradient " \
               f"of this call)"
    else:
        prop = "parameter update"
        formula = {"gd": "w <- w - lr * g", "momentum": "w <- w + v_t",
                   "rmsprop": "w <- w - lr * g / sqrt(v_t + eps)"}[rule]
        hint = f"each call must apply {formula} to every parameter, element-wise"
    when = "from the first call" if t == 0 else \
        f"calls 1..{t} were right; call {t + 1} was not (is something carried over wrongly " \
        f"between calls?)"
    raise CheckFailure(check, prop,
                       expected=f"{_label(rule, what, i)} after call {t + 1} "
                                f"({', '.join(f'{k}={v}' for k, v in hyper.items())}): "
                                f"{_describe(want)}",
                       observed=f"{_describe(got)}; {when}", hint=hint)


def _label(rule, what, i) -> str:
    if what == "parameters":
        return PARAM_NAMES[i]
    return f"{STATE_NAMES[rule]}[{i}]"


def _learning_rate(check, params, hyper, observed, reference):
    """For gradient descent: a first step along -g but with another length names the rate."""
    prob = problem(params)
    x, y = prob["x"].numpy(), prob["y"].numpy()
    start = [prob["W0"].numpy(), prob["b0"].numpy()]
    g = gradient(x, np.eye(params["K"])[y], *start)
    moved = np.concatenate([(o - s).reshape(-1) for o, s in zip(observed[0][0], start)])
    grad = np.concatenate([a.reshape(-1) for a in g])
    rate = -float(moved @ grad / (grad @ grad))
    if rate > 0 and close(moved, -rate * grad, **TOL):
        raise CheckFailure(check, "learning rate",
                           expected=f"a step of -lr * gradient with lr = {hyper['lr']}",
                           observed=f"a step of -{rate:.4g} * gradient",
                           hint="use the lr argument the function is given, once (no global "
                                "or hard-coded learning rate)")


def probe_gradient_update(params: dict, gradient_update) -> dict:
    return probe(params, gradient_update)


def probe_momentum_update(params: dict, momentum_update) -> dict:
    return probe(params, momentum_update)


def probe_rmsprop_update(params: dict, rmsprop_update) -> dict:
    return probe(params, rmsprop_update)


def verdict_stateful_update(params: dict, data) -> str:
    """Replays the update rule from the maths on the check's own problem (see the module),
    for the rules that keep a state (momentum, RMSProp): :func:`verdict_update`.

    Partial credit (the share of the check's points each property gives):
    - update rule (0.75): with the hyper-parameters given, parameters and state updated in
      place, still trainable, with the values of the rule over several calls
    - default hyper-parameters (0.25): called without them, the values of the signature's
      defaults
    """
    return verdict_update(params, data)


# One probe and one verdict for the three rules (params["rule"] says which); a probe per
# check only so that each checker's call reads with the name of the function it takes.
# Plain gradient descent has no default hyper-parameters to check: all or nothing.
GRADIENT_UPDATE = Check(GRADIENT_UPDATE_NAME, probe_gradient_update, verdict_update,
                        gradient_update_params,
                        doc="test_gradient_update(gradient_update): w <- w - lr * grad, in "
                            "place, over several calls with fresh losses.")
MOMENTUM_UPDATE = Check(MOMENTUM_UPDATE_NAME, probe_momentum_update, verdict_stateful_update,
                        momentum_update_params,
                        doc="test_momentum_update(momentum_update): v_t = -lr g + beta v_{t-1}, "
                            "w <- w + v_t, velocities kept in grad_vel, over several calls.")
RMSPROP_UPDATE = Check(RMSPROP_UPDATE_NAME, probe_rmsprop_update, verdict_stateful_update,
                       rmsprop_update_params,
                       doc="test_rmsprop_update(rmsprop_update): v_t = alpha v + (1-alpha) g^2, "
                           "w <- w - lr g / sqrt(v_t + eps), averages kept in grad_sq.")
