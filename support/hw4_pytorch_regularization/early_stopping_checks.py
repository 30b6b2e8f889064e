"""Check of Q8/Q10: gradient descent with early stopping (simple and patient).

The loop is Q2's (losses[t] = training loss before step t, valid_losses[t] = validation loss
V_t after step t) plus a stopping rule applied after V_t is recorded; the iteration that
stops keeps its step and its records, so a run that stops at iteration t returns t+1 entries
(``steps`` if it never stops):

* simple (Q8):  for t >= 1, stop if V_t > V_{t-1} (strictly: a tie goes on);
* patient (Q10): for t >= 50, stop if V_t > (V_{t-50} + ... + V_{t-1}) / 50, the mean of the
  50 previous values (V_t not included).

The probe runs the student's function on the check's linear model (see
:mod:`support.hw4_pytorch_regularization.training_checks`) with a loss_func that computes the real MSE on the training
data (so real SGD steps happen) and, on the validation data, returns a scripted curve
V_0, V_1, ... (the real validation gradient is kept, the value replaced).  Several curves per
seed: a decreasing one, ties, an increase; for the patient rule, bumps before iteration 50,
upticks that stay below the 50-value mean, a rise above it (at t = 50 exactly and later), and
curves where the mean of the 49 previous values and the mean of the 50 previous values give
different decisions.  The verdict counts the SGD steps through the final parameters (float64
reference, tolerance as in :mod:`support.hw4_pytorch_regularization.training_checks`), compares the stopping iteration
with the rule and the recorded values with the curve.

Decisions are unambiguous: every scripted value is a float32 number, and every comparison
the rule makes differs by at least 1e-3 of the curve's scale (ties excepted, which are exact),
far above the 1e-7 relative error of a float32 mean; a test checks this over many seeds.
"""

from __future__ import annotations

import numpy as np

from ..checking import ALL_OR_NOTHING, Check, CheckFailure
from .training_checks import (ATOL, RTOL, TOL, Path, check_arguments, check_no_valid_backprop,
                              check_parameters, close, descend, draw_problem,
                              first_difference, problem, read_run, run_loop)

NAME = "test_early_stopping"
PATIENCE = 50
SCRIPT_RTOL = 1e-6  # scripted values come back as the same float32 numbers


# ----------------------------------------------------------------------------- the rule

def mean_before(v, t, window=PATIENCE) -> float:
    """Mean of the ``window`` values before V_t: (V_{t-window} + ... + V_{t-1}) / window."""
    return float(np.mean(np.asarray(v[t - window:t], dtype=float)))


def stop_length(v, patient: bool, start: int | None = None) -> int:
    """How many iterations a run with validation curve ``v`` makes under the notebook's rule.

    ``start`` moves the first iteration at which the patient rule is applied (the verdict
    uses 51 to recognise a loop that starts checking one iteration late).
    """
    for t in range(1, len(v)):
        if patient:
            if t >= (start or PATIENCE) and v[t] > mean_before(v, t):
                return t + 1
        elif v[t] > v[t - 1]:
            return t + 1
    return len(v)


# ----------------------------------------------------------------------------- the curves

def _f32(x) -> float:
    return float(np.float32(x))


def _base(rng, steps):
    """A smooth decreasing curve A (0.5 + 0.5 exp(-t/tau) + 0.004 (steps - t)); returns (f, A).

    Each step lowers it by at least 0.004 A, so every value is below all earlier ones.
    """
    scale, tau = float(rng.uniform(0.5, 3.0)), float(rng.uniform(8.0, 30.0))

    def base(t):
        return scale * (0.5 + 0.5 * np.exp(-t / tau) + 0.004 * (steps - t))
    return base, scale


def _curve(rng, steps, spikes=(), dips=(), upticks=(), above=(), window_b=None,
           window_a=None):
    """Values V_0..V_{steps-1}: the decreasing base with events placed at given iterations.

    spikes: above every earlier value; dips: 0.1 x the base; upticks: a rise that stays below
    both the 49- and the 50-value means (before 50: a small rise); above: above both means
    and the previous value (before 50: above the previous value); window_b: between the
    49-mean (below) and the 50-mean (above); window_a: between the 50-mean (below) and the
    49-mean (above).
    """
    base, scale = _base(rng, steps)
    v = []
    for t in range(steps):
        x = base(t)
        if t in spikes:
            x = max(v) + (0.5 if t + PATIENCE == window_b else 0.1) * scale
        elif t in dips:
            x = 0.1 * base(t)
        elif t in upticks and t >= PATIENCE:
            low = min(mean_before(v, t), mean_before(v, t, PATIENCE - 1))
            x = v[-1] + float(rng.uniform(0.3, 0.7)) * (low - v[-1])
        elif t in upticks:
            x = v[-1] + 0.02 * scale
        elif t in above and t >= PATIENCE:
            x = max(mean_before(v, t), mean_before(v, t, PATIENCE - 1), v[-1]) + 0.05 * scale
        elif t in above:
            x = v[-1] + float(rng.uniform(0.02, 0.1)) * scale
        elif t == window_b or t == window_a:
            m50, m49 = mean_before(v, t), mean_before(v, t, PATIENCE - 1)
            x = 0.5 * (m49 + m50)
        v.append(_f32(x))
    return {"values": v, "scale": scale}


def _spaced(rng, low, high, count, gap=3):
    """Up to ``count`` distinct iterations in [low, high], at least ``gap`` apart."""
    picks = []
    for t in rng.permutation(np.arange(low, high + 1)):
        if all(abs(int(t) - p) >= gap for p in picks):
            picks.append(int(t))
        if len(picks) == count:
            break
    return sorted(picks)


def simple_curves(rng, steps, canonical=False) -> list:
    """Decreasing; two ties; a tie then an increase at t0; an increase at t = 1."""
    if canonical:
        ties, t0 = (4, 13), 9
    else:
        ties = (int(rng.integers(1, steps // 2)), int(rng.integers(steps // 2 + 1, steps)))
        t0 = int(rng.integers(2, steps - 1))
    curves = [("decreasing", _curve(rng, steps)),
              ("ties", _tie(_curve(rng, steps), ties)),
              ("increase", _tie(_curve(rng, steps, above=(t0,)), (t0 - 2,) if t0 >= 3 else ())),
              ("increase at t=1", _curve(rng, steps, above=(1,)))]
    return [dict(curve, kind=kind) for kind, curve in curves]


def _tie(curve, at):
    """V_t = V_{t-1} exactly at the given iterations (later values are still lower)."""
    for t in at:
        curve["values"][t] = curve["values"][t - 1]
    return curve


def patient_curves(rng, steps, canonical=False) -> list:
    """A curve that never stops (bumps before 50, upticks below the mean, one value between
    the 49-mean and the 50-mean); a rise at 50 (and 55); a rise at t1 > 50 after upticks;
    a value between the 50-mean and the 49-mean (stops)."""
    if canonical:
        bumps, ups, t2, t1, t1_ups, t3 = (12, 30), (55, 58, 68), 64, 60, (54, 57), 66
    else:
        last = min(steps - 2, 70)
        t2 = int(rng.integers(51, last + 1))
        bumps = tuple(int(b) for b in rng.choice(
            [b for b in range(1, PATIENCE - 1) if b != t2 - PATIENCE], 2, replace=False))
        ups = tuple(u for u in _spaced(rng, 51, steps - 1, 4) if abs(u - t2) >= 3)
        t1 = int(rng.integers(52, last + 1))
        t1_ups = tuple(_spaced(rng, 51, t1 - 2, 2))
        t3 = int(rng.integers(51, last + 1))
    spikes = tuple(sorted(set(bumps) | {t2 - PATIENCE, PATIENCE - 1}))
    curves = [
        ("bumps before 50, upticks below the mean",
         _curve(rng, steps, spikes=spikes, upticks=ups, window_b=t2)),
        ("rise above the mean at t=50", _curve(rng, steps, above=(PATIENCE, PATIENCE + 5))),
        ("rise above the mean", _curve(rng, steps, upticks=t1_ups, above=(t1,))),
        ("above the 50-mean, below the 49-mean",
         _curve(rng, steps, dips=(t3 - PATIENCE,), window_a=t3)),
    ]
    return [dict(curve, kind=kind) for kind, curve in curves]


def make_params(seed: int, device: str) -> dict:
    """Seed 0: d=2, 19 training / 13 validation points, lr=0.03, 20 steps (simple), 72 (patient).

    Learning rates are small (0.01..0.05) so that over the long patient runs every SGD step
    still moves the parameters visibly (the verdict counts steps through them).
    """
    rng = np.random.default_rng([seed, 4048])
    if seed == 0:
        d, n, nv, lr, s_simple, s_patient = 2, 19, 13, 0.03, 20, 72
    else:
        d, n = int(rng.integers(2, 6)), int(rng.integers(13, 30))
        nv = int(rng.choice([v for v in range(7, 20) if v != n]))
        lr = round(float(rng.uniform(0.01, 0.05)), 3)
        s_simple, s_patient = int(rng.integers(12, 31)), int(rng.integers(60, 81))
    params = {"seed": seed, "device": device, "in_features": d, "n_train": n, "n_valid": nv,
              "lr": lr, "simple_steps": s_simple, "patient_steps": s_patient,
              "simple_curves": simple_curves(rng, s_simple, seed == 0),
              "patient_curves": patient_curves(rng, s_patient, seed == 0)}
    return draw_problem(rng, params, lr, max(s_simple, s_patient))


# ----------------------------------------------------------------------------- probe

def _setting(params, patient):
    key = "patient" if patient is True else "simple"
    return int(params[f"{key}_steps"]), params[f"{key}_curves"]


def probe_early_stopping(params, gradient_descent_early_stopping, *, patient: bool = False):
    """Run the student's loop (model, loss_func, x, y, xvalid, yvalid, lr=, steps=) once per
    scripted curve."""
    steps, curves = _setting(params, patient)
    name = ("gradient_descent_patient_early_stopping" if patient is True
            else "gradient_descent_early_stopping")
    kwargs = {"lr": params["lr"], "steps": steps}
    what = f"{name}(model, loss_func, x, y, xvalid, yvalid, lr={params['lr']}, steps={steps})"
    prob, data = problem(params), {}
    for i, curve in enumerate(curves):
        data.update(run_loop(gradient_descent_early_stopping, what, prob, params["device"], kwargs,
                             script=curve["values"], prefix=f"c{i}_"))
    return data


# ----------------------------------------------------------------------------- verdict

def _count_steps(final, path: Path, likely: int):
    """How many SGD steps the final parameters show: the t with theta_t == final (``likely``
    first; otherwise the closest theta_t within the tolerance), None if none matches."""
    if likely < len(path.w) and close(final, path.theta(likely), **TOL):
        return likely
    thetas = np.array([path.theta(t) for t in range(len(path.w))])
    if not np.all(np.isfinite(final)):
        return None
    errors = np.max(np.abs(thetas - final) / (RTOL * np.abs(thetas) + ATOL), axis=1)
    t = int(np.argmin(errors))
    return t if errors[t] <= 1 else None


def _stop_failure(run, v, patient, expected_n, steps_taken, kind):
    """The failure for a run that made len(run.valid) iterations instead of ``expected_n``."""
    n = len(run.valid)
    t = n - 1
    expected = f"{expected_n} iterations (curve '{kind}': stop " + (
        f"after iteration {expected_n - 1})" if expected_n < len(v) else "never)")
    observed = f"{n} iterations"
    training = ""
    if len(run.losses) == n and stop_length(run.losses, patient) == n:
        training = (" (your loop stops where the TRAINING losses would: the rule watches "
                    "valid_losses)" if n < len(v) else " (did your loop watch the TRAINING "
                    "losses? they never rise here: the rule watches valid_losses)")
    if n == expected_n - 1 and steps_taken == expected_n:
        return ("records the stopping iteration", expected, observed,
                f"the parameters took {expected_n} steps but only {n} entries were recorded: "
                "the iteration that stops keeps its records (append, then stop)")
    if not patient:
        if n < expected_n:
            if t >= 1 and v[t] == v[t - 1]:
                return ("ties do not stop", expected, observed,
                        f"you stopped after iteration {t} where valid_losses[{t}] == "
                        f"valid_losses[{t - 1}] = {v[t]:.6g}: stop only on a strict increase")
            return ("stops at the first increase", expected, observed,
                    f"you stopped after iteration {t} where the validation loss did not "
                    f"increase ({v[t - 1] if t else float('nan'):.6g} -> {v[t]:.6g})"
                    + training)
        tk = expected_n - 1
        return ("stops at the first increase", expected, observed,
                f"valid_losses rose at iteration {tk} ({v[tk - 1]:.6g} -> {v[tk]:.6g}): stop "
                "right after recording it" + training)
    if n < expected_n:
        if t < PATIENCE:
            return ("checks start at t=50", expected, observed,
                    f"you stopped after iteration {t}: no stopping before iteration 50 (the "
                    "rule needs 50 earlier validation losses)")
        m50, m49 = mean_before(v, t), mean_before(v, t, PATIENCE - 1)
        if v[t] > m49 or v[t] > v[t - 1]:
            return ("mean of the previous 50", expected, observed,
                    f"at iteration {t}: V_t = {v[t]:.6g}, mean of the 50 previous values "
                    f"{m50:.6g}, of the 49 previous {m49:.6g}, previous value {v[t - 1]:.6g}; "
                    "compare V_t with the mean of exactly the 50 values before it "
                    "(V_t not included)")
        return ("stops above the mean", expected, observed,
                f"you stopped after iteration {t} where V_t = {v[t]:.6g} is below the mean of "
                f"the 50 previous values ({m50:.6g}): stop only when it is above" + training)
    tk = expected_n - 1
    m50, m49 = mean_before(v, tk), mean_before(v, tk, PATIENCE - 1)
    if tk == PATIENCE and stop_length(v, True, start=PATIENCE + 1) == n:
        return ("checks start at t=50", expected, observed,
                f"V_50 = {v[tk]:.6g} > {m50:.6g}, the mean of V_0..V_49, but your loop went "
                "on: the first check is at iteration 50, as soon as 50 earlier values exist")
    if v[tk] <= m49:
        return ("mean of the previous 50", expected, observed,
                f"at iteration {tk}: V_t = {v[tk]:.6g} > {m50:.6g}, the mean of the 50 "
                f"previous values (the 49 previous average {m49:.6g}): average exactly the "
                "50 values before V_t")
    return ("stops above the mean", expected, observed,
            f"at iteration {tk}: V_t = {v[tk]:.6g} > {m50:.6g}, the mean of the 50 previous "
            "validation losses, so the loop should stop there" + training)


def _check_values(run, v, m):
    """valid_losses[:m] are the scripted values V_0..V_{m-1} (exactly: same float32 numbers)."""
    want = np.array(v[:m])
    bad = ~(np.abs(run.valid[:m] - want) <= SCRIPT_RTOL * np.abs(want))
    if not np.any(bad):
        return
    t = int(np.argmax(bad))
    late = m >= 2 and np.all(np.abs(run.valid[1:m] - want[:-1]) <= SCRIPT_RTOL * want[:-1])
    hint = ("valid_losses lag one step behind: the validation loss was computed before the "
            "SGD step; measure it right after optimizer.step()" if late else
            "valid_losses[t] is loss_func(model(xvalid), yvalid), computed once right after "
            "step t")
    raise CheckFailure(NAME, "validation losses",
                       expected=f"valid_losses[{t}] = {v[t]:.6g} (the check's loss_func "
                                "returns a scripted validation curve)",
                       observed=f"valid_losses[{t}] = {run.valid[t]:.6g}", hint=hint)


def check_curve(run, prob, lr, steps, curve, patient, path: Path,
                judged=ALL_OR_NOTHING) -> int:
    """One scripted curve: an SGD path, the values recorded, the stopping iteration, one step
    per recorded iteration, the training losses; with ``judged``, each under its property
    (``SGD steps``, ``validation losses``, ``stopping rule``)."""
    v, kind = [float(x) for x in curve["values"]], curve["kind"]
    check_arguments(NAME, run)
    n, nv = len(run.losses), len(run.valid)
    if n != nv or not 1 <= n <= steps:
        raise CheckFailure(NAME, "history length",
                           expected=f"two lists of equal length between 1 and steps={steps}",
                           observed=f"len(losses) = {n}, len(valid_losses) = {nv}",
                           hint="append one training and one validation loss per iteration; "
                                "loop at most `steps` times")
    steps_taken = None
    with judged("SGD steps"):
        check_no_valid_backprop(NAME, run, prob, lr, n)
        steps_taken = _count_steps(run.final, path, n)
        if steps_taken is None or (steps_taken == 0 < n):
            check_parameters(NAME, run, prob, lr, n)  # not an SGD path: names the mistake
    expected_n = stop_length(v, patient is True)
    with judged("validation losses"):
        _check_values(run, v, min(n, expected_n))
    with judged("stopping rule"):
        if n != expected_n:
            prop, expected, observed, hint = _stop_failure(run, v, patient is True, expected_n,
                                                           steps_taken, kind)
            raise CheckFailure(NAME, prop, expected=expected, observed=observed, hint=hint)
    if judged.holds("SGD steps"):
        with judged("SGD steps"):
            _check_steps(run, prob, lr, n, steps_taken)
    return n


def _check_steps(run, prob, lr, n, steps_taken) -> None:
    """One SGD step per recorded iteration, and the training losses of that path."""
    if steps_taken != n:
        raise CheckFailure(NAME, "SGD steps", expected=f"{n} SGD steps (one per recorded "
                           "iteration)", observed=f"the parameters are those after "
                           f"{steps_taken} steps",
                           hint="take exactly one optimizer step per iteration and stop "
                                "right after recording the iteration that triggers the stop")
    ref = check_parameters(NAME, run, prob, lr, n)
    if not close(run.losses, ref.losses, **TOL):
        t = first_difference(run.losses, ref.losses)
        after = close(run.losses, ref.losses_after, **TOL)
        raise CheckFailure(NAME, "training losses", expected=f"losses[{t}] = "
                           f"{ref.losses[t]:.6g}", observed=f"losses[{t}] = "
                           f"{run.losses[t]:.6g}",
                           hint=("losses[t] matches the training loss AFTER step t; " if after
                                 else "") + "losses[t] is the training loss before step t, "
                                "the one you call backward() on")


def verdict_early_stopping(params, data, patient: bool = False) -> str:
    """The early-stopping loop (patient=True: the patient rule of Q10) on scripted validation
    curves: the stopping iteration follows the rule (ties go on; for the patient rule no stop
    before iteration 50 and a comparison with the mean of the 50 previous values), the
    stopping iteration keeps its records, one SGD step per recorded iteration, and the
    histories hold the training loss before each step and the validation loss after it.

    Partial credit (the share of the check's points each property gives; each must hold on
    every scripted curve):
    - stopping rule (0.5): the loop makes as many iterations as the rule allows, the
      stopping iteration recorded
    - SGD steps (0.3): one SGD step per recorded iteration on the training loss (never the
      validation loss), losses[t] the training loss before step t
    - validation losses (0.2): valid_losses[t] is the validation loss right after step t
    """
    steps, curves = _setting(params, patient)
    prob, lr = problem(params), float(params["lr"])
    path = descend(prob, lr, steps)
    lengths, judged = [], EARLY_STOPPING.judge()
    for i, curve in enumerate(curves):
        run = read_run(NAME, data, len(prob.w0), prefix=f"c{i}_")
        lengths.append(check_curve(run, prob, lr, steps, curve, patient, path, judged))
    rule = "patient rule (50-value mean)" if patient is True else "first increase"
    return judged.verdict(f"{len(curves)} scripted validation curves ({rule}, steps={steps}, "
                          f"lr={lr}): stopped after {lengths} iterations as expected, SGD "
                          "steps and histories match")


EARLY_STOPPING = Check(NAME, probe_early_stopping, verdict_early_stopping, make_params,
                       doc=verdict_early_stopping.__doc__)
