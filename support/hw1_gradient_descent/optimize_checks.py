"""Checks of Part 1: gradient descent on f(x, y) = x^2 + y^2 + x (y + 2) + cos(3x).

The notebook's function and its gradient (given to the students):

    f(x, y)     = x^2 + y^2 + x (y + 2) + cos(3x)
    df/dx       = 2x - 3 sin(3x) + y + 2
    df/dy       = x + 2y

``optimize_f(x, y, step_size, steps, decay=1.0)`` runs ``steps`` steps of gradient descent
from (x, y); step t = 0, 1, ..., steps-1 uses the step size eta_t = step_size * decay**t
(not compounded), and both coordinates move at once, with the gradient taken at the point
before the step:

    (x, y) <- (x, y) - eta_t * (df/dx(x, y), df/dy(x, y))

It returns ``(x, y, f(x, y), x_hist, y_hist)``: the final point, its value, and the
histories, which start with the starting point and gain one entry per step (length
steps + 1).

The verdicts replay the path in float64 with the formulas above.  Tolerance: the student's
path is float64 too, computed with the same formulas in possibly another order; with step
sizes <= 0.2 and at most 15 steps, the map (x, y) -> (x, y) - eta grad f has a Jacobian of
norm <= 1 + 0.2 * 11.1 = 3.2 (the Hessian's eigenvalues lie in [-7, 11.1]), so rounding
(1e-16) grows to at most 3.2^15 * 1e-16 ~ 4e-9.  The tolerance, 1e-7 relative plus 1e-7
absolute (at most 6e-7 on these paths), leaves room for that, and the mistakes the check
names move some point of every run by at least 1.3e-4 (measured over 1000 seeds: compounded
decay 4.8e-4, shifted 2.3e-3, decay ignored 3.2e-4, x updated first 1.3e-4, ascent 6.6e-2),
more than 200 times the tolerance.
"""

from __future__ import annotations

import math

import numpy as np

from ..checking import Check, CheckFailure, StudentCodeError, call_student, student_raised
from .common import as_number, describe, error_text, fmt
from ..numeric import close
from ..probe_data import ProbeData

OPTIMIZE_F_NAME = "test_optimize_f"
SETTINGS_NAME = "test_optimize_f_settings"
RTOL = ATOL = 1e-7
TOL = dict(rtol=RTOL, atol=ATOL)  # for numeric.close
SETTINGS_START = (3.0, 2.0)
SETTINGS_TARGET = -2.2
MAX_STEPS = 10_000


# ----------------------------------------------------------------------------- the maths

def f_value(x: float, y: float) -> float:
    """f(x, y) = x^2 + y^2 + x (y + 2) + cos(3x)."""
    return x * x + y * y + x * (y + 2.0) + math.cos(3.0 * x)


def f_gradient(x: float, y: float) -> tuple[float, float]:
    """(df/dx, df/dy) = (2x - 3 sin(3x) + y + 2, x + 2y)."""
    return 2.0 * x - 3.0 * math.sin(3.0 * x) + y + 2.0, x + 2.0 * y


def step_sizes(step_size: float, steps: int, decay: float, schedule: str = "pinned"):
    """eta_t for t = 0 .. steps-1.

    'pinned': step_size * decay**t (the notebook's rule); the mistakes the verdict names:
    'compounded': the running step size multiplied by decay**t at every step
    (eta_t = step_size * decay**(0 + 1 + ... + t)); 'shifted': step_size * decay**(t + 1);
    'constant': decay ignored.
    """
    if schedule == "pinned":
        return [step_size * decay ** t for t in range(steps)]
    if schedule == "compounded":
        return [step_size * decay ** (t * (t + 1) // 2) for t in range(steps)]
    if schedule == "shifted":
        return [step_size * decay ** (t + 1) for t in range(steps)]
    return [step_size] * steps


def descent_path(x: float, y: float, etas, mode: str = "pinned"):
    """The points visited, starting point first, for the step sizes ``etas``.

    mode 'pinned' moves both coordinates with the gradient at the old point; the mistakes:
    'sequential' (df/dy taken at the new x) and 'ascent' (the gradient added).
    """
    xs, ys = [x], [y]
    with np.errstate(all="ignore"):
        for eta in etas:
            gx, gy = f_gradient(x, y)
            if mode == "ascent":
                x, y = x + eta * gx, y + eta * gy
            elif mode == "sequential":
                x = x - eta * gx
                y = y - eta * f_gradient(x, y)[1]
            else:
                x, y = x - eta * gx, y - eta * gy
            xs.append(x)
            ys.append(y)
    return np.array(xs), np.array(ys)


# ----------------------------------------------------------------------------- optimize_f

def make_params(seed: int, device: str) -> dict:
    """Seed 0: three fixed runs (none from the notebook's (3, 2) with step 0.1);
    other seeds: starts in [-4, 4]^2, step sizes 0.02..0.2, 3..15 steps, decay 0.6..0.95."""
    if seed == 0:
        cases = [{"x": -2.5, "y": 1.5, "step_size": 0.05, "steps": 7, "decay": 0.8},
                 {"x": 1.2, "y": -3.1, "step_size": 0.12, "steps": 12, "decay": 0.9},
                 {"x": 0.4, "y": 3.3, "step_size": 0.2, "steps": 5, "decay": 0.7}]
    else:
        rng = np.random.default_rng([seed, 31])
        cases = [{"x": round(float(rng.uniform(-4, 4)), 3), "y": round(float(rng.uniform(-4, 4)), 3),
                  "step_size": round(float(rng.uniform(0.02, 0.2)), 3),
                  "steps": int(rng.integers(3, 16)),
                  "decay": round(float(rng.uniform(0.6, 0.95)), 3)} for _ in range(3)]
    return {"seed": seed, "device": device, "cases": cases}


def _calls(params: dict, decay: bool):
    """(label, case, keyword decay or None) for every call the probe makes."""
    cases = params["cases"]
    if not decay:
        return [(f"c{i}", case, None) for i, case in enumerate(cases)]
    calls = [(f"c{i}", case, case["decay"]) for i, case in enumerate(cases)]
    return [("default", cases[0], None)] + calls


def _call_text(case: dict, decay) -> str:
    text = f"optimize_f({case['x']}, {case['y']}, {case['step_size']}, {case['steps']}"
    return text + (f", decay={decay})" if decay is not None else ")")


def _record(prefix: str, result) -> dict:
    """The five returned values as plain numbers and arrays (None where not convertible)."""
    data = {f"{prefix}_returned": describe(result), f"{prefix}_length": -1}
    if not isinstance(result, (tuple, list)):
        return data
    data[f"{prefix}_length"] = len(result)
    if len(result) != 5:
        return data
    for key, value in zip(("x", "y", "value"), result[:3]):
        data[f"{prefix}_{key}"] = as_number(value)
    for key, value in zip(("x_hist", "y_hist"), result[3:]):
        try:
            array = np.array([as_number(v) for v in value], dtype=float)
        except (TypeError, ValueError):
            array = None
        data[f"{prefix}_{key}"] = array
    return data


def probe_optimize_f(params: dict, optimize_f, *, decay: bool = False) -> dict:
    """Call optimize_f on the parameters' runs; report what it returned."""
    data = {"callable": callable(optimize_f), "argument_type": type(optimize_f).__name__}
    if not data["callable"]:
        return data
    for prefix, case, decay_value in _calls(params, decay):
        args = (float(case["x"]), float(case["y"]), float(case["step_size"]), int(case["steps"]))
        kwargs = {} if decay_value is None else {"decay": float(decay_value)}
        try:
            result = call_student(_call_text(case, decay_value), optimize_f, *args, **kwargs)
        except StudentCodeError as error:
            data[f"{prefix}_error"] = error_text(error)
            continue
        data[f"{prefix}_error"] = None
        data.update(_record(prefix, result))
    return data


def _history_hint(xs, ys, case, decay) -> tuple[str, str]:
    """(prop, hint) for a history that differs from the pinned path: which mistake it matches."""
    steps, eta0 = case["steps"], case["step_size"]
    d = 1.0 if decay is None else decay
    x0, y0 = case["x"], case["y"]
    if decay is not None:
        for schedule, text in (
                ("compounded", "the step size is compounded: eta_t must be step_size * decay**t "
                               "computed from the ORIGINAL step_size, not the previous step size "
                               "multiplied by decay**t again"),
                ("shifted", "the first step (t = 0) must use step_size itself: "
                            "eta_t = step_size * decay**t with t counting from 0"),
                ("constant", "decay is ignored: step t uses step_size * decay**t")):
            rx, ry = descent_path(x0, y0, step_sizes(eta0, steps, d, schedule))
            if close(xs, rx, **TOL) and close(ys, ry, **TOL):
                return "step-size schedule", text
    etas = step_sizes(eta0, steps, d)
    for mode, text in (
            ("sequential", "both coordinates must move at once: compute df/dx and df/dy at the "
                           "current point first, then update x and y (your y step uses the "
                           "new x)"),
            ("ascent", "the path climbs: gradient DEscent subtracts step_size * gradient")):
        rx, ry = descent_path(x0, y0, etas, mode)
        if close(xs, rx, **TOL) and close(ys, ry, **TOL):
            return "history values", text
    return "history values", ("each step moves (x, y) by -eta_t * (df/dx, df/dy) at the current "
                              "point; the histories hold the start and then the point after "
                              "every step")


def _verdict_call(check: str, pd: ProbeData, prefix: str, case: dict, decay) -> None:
    call = _call_text(case, decay)
    error = pd.text(f"{prefix}_error", optional=True)
    if error is not None:
        hint = "call your function yourself on these arguments and read the traceback"
        if prefix == "default" and "TypeError" in error and "decay" in error:
            hint = "give decay a default: def optimize_f(x, y, step_size, steps, decay=1.0)"
        raise student_raised(check, error,
                             hint=hint)
    length = pd.integer(f"{prefix}_length")
    if length != 5:
        raise CheckFailure(check, "returns 5 values",
                           expected="(x, y, f(x, y), x_hist, y_hist)",
                           observed=f"{call} returned {pd.text(f'{prefix}_returned')}",
                           hint="return the final point, its function value and both histories")
    steps = case["steps"]
    d = 1.0 if decay is None else decay
    rx, ry = descent_path(case["x"], case["y"], step_sizes(case["step_size"], steps, d))
    xs = pd.array(f"{prefix}_x_hist", optional=True)
    ys = pd.array(f"{prefix}_y_hist", optional=True)
    if xs is None or ys is None or xs.ndim != 1 or ys.ndim != 1:
        raise CheckFailure(check, "history length", expected=f"two lists of {steps + 1} numbers",
                           observed=f"{call}: histories that are not lists of numbers",
                           hint="x_hist and y_hist are lists of floats")
    if len(xs) != steps + 1 or len(ys) != steps + 1:
        raise CheckFailure(
            check, "history length", expected=f"{steps + 1} entries each ({steps} steps)",
            observed=f"{call}: len(x_hist) = {len(xs)}, len(y_hist) = {len(ys)}",
            hint="the histories start with the starting point and gain one entry after every "
                 "step: steps + 1 entries")
    if not (close(xs[:1], rx[:1], **TOL) and close(ys[:1], ry[:1], **TOL)):
        raise CheckFailure(check, "history start",
                           expected=f"x_hist[0], y_hist[0] = {case['x']}, {case['y']}",
                           observed=f"{fmt(xs[0])}, {fmt(ys[0])} ({call})",
                           hint="the histories begin with the starting point, before any step")
    if not (close(xs, rx, **TOL) and close(ys, ry, **TOL)):
        bad = int(np.argmax((np.abs(xs - rx) > ATOL + RTOL * np.abs(rx))
                            | (np.abs(ys - ry) > ATOL + RTOL * np.abs(ry))))
        prop, hint = _history_hint(xs, ys, case, decay)
        raise CheckFailure(
            check, prop,
            expected=f"after step {bad}: (x, y) = ({fmt(rx[bad], 8)}, {fmt(ry[bad], 8)})",
            observed=f"({fmt(xs[bad], 8)}, {fmt(ys[bad], 8)}) ({call})", hint=hint)
    x, y, value = (pd.number(f"{prefix}_{k}", optional=True) for k in ("x", "y", "value"))
    if x is None or y is None or not (close(x, rx[-1], **TOL) and close(y, ry[-1], **TOL)):
        raise CheckFailure(check, "final point",
                           expected=f"x, y = {fmt(rx[-1], 8)}, {fmt(ry[-1], 8)}",
                           observed=f"{x}, {y} ({call})",
                           hint="return the point after the last step (the last history entry)")
    reference = f_value(rx[-1], ry[-1])
    if value is None or not close(value, reference, **TOL):
        hint = "return f at the final point"
        if value is not None and close(value, f_value(case["x"], case["y"]), **TOL):
            hint = "you returned f at the starting point; return f at the final point"
        raise CheckFailure(check, "final value", expected=f"f(x, y) = {fmt(reference, 8)}",
                           observed=f"{value} ({call})", hint=hint)


def verdict_optimize_f(params: dict, data: dict, decay: bool = False) -> str:
    """optimize_f(x, y, step_size, steps[, decay]) against the path replayed in float64.

    Without ``decay=True`` the check calls optimize_f(x, y, step_size, steps) (part (a));
    with it, the same calls with decay=d as a keyword (t = 0 uses step_size itself) and one
    call without decay, which must behave as decay = 1.0.  Compared: the returned 5-tuple,
    the histories (length steps + 1, starting point first, every point), the final point and
    f there.  A wrong path is replayed with the usual mistakes (compounded or shifted decay,
    decay ignored, x updated before df/dy is taken, gradient ascent) to name the one it is.
    Tolerance 1e-7 relative and absolute: see the module docstring.
    """
    check = OPTIMIZE_F_NAME
    pd = ProbeData(check, data)
    if not pd.flag("callable"):
        raise CheckFailure(check, "argument", expected="your optimize_f function",
                           observed=pd.text("argument_type"),
                           hint="pass the function itself: test_optimize_f(optimize_f)")
    use_decay = decay is True
    for prefix, case, decay_value in _calls(params, use_decay):
        _verdict_call(check, pd, prefix, case, decay_value)
    runs = len(params["cases"])
    if use_decay:
        return (f"{runs} runs with eta_t = step_size * decay**t, and decay = 1.0 by default: "
                f"histories, final points and values match")
    return f"{runs} runs: histories, final points and values match gradient descent on f"


OPTIMIZE_F = Check(
    OPTIMIZE_F_NAME, probe_optimize_f, verdict_optimize_f, make_params,
    doc="test_optimize_f(optimize_f[, decay=True]): runs optimize_f from other starting "
        "points with other step sizes and compares (x, y, f(x, y), x_hist, y_hist) with "
        "gradient descent on f; decay=True also checks the schedule eta_t = step_size * decay**t.")


# ----------------------------------------------------------------------------- tuned settings

def settings_params(seed: int, device: str) -> dict:
    """The run the notebook states: from (3, 2); the target f < -2.2 (the global minimum is
    -2.2807 at (-1.088, 0.544)).  The seed changes nothing: the settings are the answer."""
    return {"seed": seed, "device": device, "start": list(SETTINGS_START),
            "target": SETTINGS_TARGET, "max_steps": MAX_STEPS}


def probe_optimize_f_settings(params: dict, optimize_f, best_step_size, best_steps, best_decay) -> dict:
    """Report the chosen settings, and what the student's optimize_f reaches with them."""
    data = {"step_size": as_number(best_step_size), "steps": as_number(best_steps),
            "decay": as_number(best_decay), "student_value": None, "student_error": None,
            "types": [type(v).__name__ for v in (best_step_size, best_steps, best_decay)]}
    step_size, steps, decay = data["step_size"], data["steps"], data["decay"]
    usable = (step_size is not None and steps is not None and decay is not None
              and steps == int(steps) and 1 <= steps <= params["max_steps"])
    if usable and callable(optimize_f):
        x0, y0 = params["start"]
        try:
            result = call_student(f"optimize_f({x0}, {y0}, {step_size}, {int(steps)}, "
                                  f"decay={decay})", optimize_f, float(x0), float(y0),
                                  step_size, int(steps), decay=decay)
            if isinstance(result, (tuple, list)) and len(result) == 5:
                data["student_value"] = as_number(result[2])
        except StudentCodeError as error:
            data["student_error"] = error_text(error)
    return data


def verdict_optimize_f_settings(params: dict, data: dict) -> str:
    """best_step_size, best_steps, best_decay reach f < -2.2 from (3, 2).

    The verdict replays gradient descent itself (eta_t = best_step_size * best_decay**t, in
    float64) from the start the notebook states, so the answer is the settings, not whatever
    a function returns; the student's own optimize_f result is only used in the hint.
    Nothing is random.  Accepted settings: 0 < step size, an integer number of steps in
    1..10000 (so the check stays fast), 0 < decay <= 1.
    """
    check = SETTINGS_NAME
    pd = ProbeData(check, data)
    step_size = pd.number("step_size", optional=True)
    steps = pd.number("steps", optional=True)
    decay = pd.number("decay", optional=True)
    expected = ("best_step_size > 0, best_steps an integer in 1..10000, "
                "0 < best_decay <= 1")
    observed = f"best_step_size = {step_size}, best_steps = {steps}, best_decay = {decay}"
    if (step_size is None or steps is None or decay is None
            or not (math.isfinite(step_size) and step_size > 0)
            or not (math.isfinite(steps) and steps == int(steps)
                    and 1 <= steps <= params["max_steps"])
            or not (math.isfinite(decay) and 0 < decay <= 1)):
        raise CheckFailure(check, "settings", expected=expected, observed=observed,
                           hint="set the three variables to plain numbers in the solution cell")
    steps = int(steps)
    x0, y0 = params["start"]
    xs, ys = descent_path(x0, y0, step_sizes(step_size, steps, decay))
    with np.errstate(all="ignore"):
        value = f_value(xs[-1], ys[-1]) if np.isfinite([xs[-1], ys[-1]]).all() else math.inf
    target = params["target"]
    if not value < target:
        student = pd.number("student_value", optional=True)
        hint = ("a large first step can jump over the local minima; a decay below 1 then "
                "shrinks the steps so the path settles in the deepest valley")
        if student is not None and math.isfinite(student) and not close(student, value, **TOL):
            hint = (f"your optimize_f reaches {student:.5g} with these settings but the rule "
                    f"eta_t = step_size * decay**t reaches {value:.5g}: fix optimize_f "
                    f"(test_optimize_f(optimize_f, decay=True)) and tune again")
        raise CheckFailure(check, "final value",
                           expected=f"f < {target} from ({x0}, {y0})",
                           observed=f"f = {value:.5g} at ({xs[-1]:.4g}, {ys[-1]:.4g}) with "
                                    f"{observed}", hint=hint)
    return (f"from ({x0}, {y0}): f = {value:.5f} at ({xs[-1]:.4f}, {ys[-1]:.4f}) after "
            f"{steps} steps (target f < {target})")


OPTIMIZE_F_SETTINGS = Check(
    SETTINGS_NAME, probe_optimize_f_settings, verdict_optimize_f_settings, settings_params,
    doc="test_optimize_f_settings(optimize_f, best_step_size, best_steps, best_decay): runs "
        "gradient descent from (3, 2) with your settings and checks that it ends below -2.2.")
