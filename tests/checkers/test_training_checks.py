"""Tests of support/training_checks.py: test_gradient_descent (Q2, Q11) and test_train_eval (Q14).

Correct loops written the ways students write them pass for seeds 0..50; each realistic
wrong loop fails naming the property it breaks; the verdict survives malformed probe data
and a trip through course.grade.transport.
"""

import json
import time

import numpy as np
import pytest
import torch

from course.grade import transport
from support.checking import CallError, CheckFailure, make_checker
from support.hw4_pytorch_regularization.training_checks import (ATOL, GRADIENT_DESCENT, RTOL, TRAIN_EVAL, DEFAULT_LR,
                                     descend, l1_margin, largest_curvature, make_params,
                                     make_train_eval_params, problem, smallest_move,
                                     Penalty)

from . import corpus_training as corpus
from .helpers import assert_partial_credit

SEEDS = range(51)
# student-style float(loss) on a tensor that requires grad warns; the corpus keeps that style
pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")
WRONG_SEEDS = range(4)


def _name(fn):
    return fn.__name__


def notebook_mse(prediction, labels):
    return torch.mean((prediction.reshape(-1) - labels.reshape(-1)) ** 2)


def call_args(check, fn) -> tuple:
    """The objects the notebook passes: test_gradient_descent(fn, mse_loss, x, y, xvalid,
    yvalid) (the check validates but does not use the data), test_train_eval(fn)."""
    if check is GRADIENT_DESCENT:
        return fn, notebook_mse, corpus.x, corpus.y, corpus.xvalid, corpus.yvalid
    return (fn,)


def run(check, fn, seed=0, device="cpu", **options):
    return check.run(*call_args(check, fn), seed=seed, device=device, **options)


def fails_with(check, fn, seed=0, device="cpu", **options):
    with pytest.raises(CheckFailure) as excinfo:
        run(check, fn, seed, device, **options)
    return excinfo.value


# ----------------------------------------------------------------------------- correct code

@pytest.mark.parametrize("fn", corpus.CORRECT_GD, ids=_name)
def test_correct_gradient_descent_passes(fn):
    for seed in SEEDS:
        summary = run(GRADIENT_DESCENT, fn, seed)
        assert "match" in summary


@pytest.mark.parametrize("fn", corpus.CORRECT_L1, ids=_name)
def test_correct_l1_passes(fn):
    for seed in SEEDS:
        run(GRADIENT_DESCENT, fn, seed, l1=True)


@pytest.mark.parametrize("fn", corpus.CORRECT_TRAIN_EVAL, ids=_name)
def test_correct_train_eval_passes(fn):
    for seed in SEEDS:
        run(TRAIN_EVAL, fn, seed)


def test_train_eval_loops_still_pass_the_q2_check():
    for fn in corpus.CORRECT_TRAIN_EVAL:
        for seed in range(5):
            run(GRADIENT_DESCENT, fn, seed)


def test_weights_only_and_all_parameters_are_both_reported():
    assert "all parameters" in run(GRADIENT_DESCENT, corpus.l1_stack, l1=True)
    assert "weights only" in run(GRADIENT_DESCENT, corpus.l1_weights_only, l1=True)


# ----------------------------------------------------------------------------- wrong code

@pytest.mark.parametrize("fn", list(corpus.WRONG_GD), ids=_name)
def test_wrong_gradient_descent_fails(fn):
    for seed in WRONG_SEEDS:
        assert fails_with(GRADIENT_DESCENT, fn, seed).prop == corpus.WRONG_GD[fn], seed


@pytest.mark.parametrize("fn", list(corpus.PARTIAL_GD), ids=_name)
def test_gradient_descent_partial_credit(fn):
    """A loop wrong in one history earns the weights of what it gets right."""
    fraction, held = corpus.PARTIAL_GD[fn]
    assert_partial_credit(GRADIENT_DESCENT, lambda seed: run(GRADIENT_DESCENT, fn, seed),
                          fraction, held, seeds=WRONG_SEEDS)


def test_gradient_descent_partial_credit_declared():
    assert [(p.name, p.weight) for p in GRADIENT_DESCENT.properties] == [
        ("updates", 0.5), ("recording", 0.25), ("validation", 0.25)]
    assert TRAIN_EVAL.properties == ()  # all or nothing


def test_steps_ignored_fails_with_a_hint():
    failure = fails_with(GRADIENT_DESCENT, corpus.gd_fixed_steps)
    assert failure.prop == "history length"
    assert "steps was ignored" in failure.hint


@pytest.mark.parametrize("fn", list(corpus.WRONG_L1), ids=_name)
def test_wrong_l1_fails(fn):
    for seed in WRONG_SEEDS:
        assert fails_with(GRADIENT_DESCENT, fn, seed, l1=True).prop == corpus.WRONG_L1[fn], seed


def test_plain_loop_passed_as_l1_fails():
    """gradient_descent_l1 without any penalty term (but accepting l1_weight)."""
    def no_penalty(model, loss_func, x, y, xvalid, yvalid, lr=0.1, l1_weight=1., steps=5000):
        return corpus.gd_zero_first_item(model, loss_func, x, y, xvalid, yvalid, lr, steps)
    assert fails_with(GRADIENT_DESCENT, no_penalty, l1=True).prop == "L1 penalty in the gradient"


def test_an_l1_loop_fails_the_plain_check():
    """test_gradient_descent(gradient_descent_l1, ...) without l1=True: l1_weight stays 1."""
    assert fails_with(GRADIENT_DESCENT, corpus.l1_stack).prop == "SGD trajectory"


@pytest.mark.parametrize("fn", list(corpus.WRONG_TRAIN_EVAL), ids=_name)
def test_wrong_train_eval_fails(fn):
    for seed in WRONG_SEEDS:
        assert fails_with(TRAIN_EVAL, fn, seed).prop == corpus.WRONG_TRAIN_EVAL[fn], seed


def test_messages_teach():
    failure = fails_with(GRADIENT_DESCENT, corpus.gd_valid_before_step)
    assert "BEFORE the first step" in failure.hint
    assert "swapped" in fails_with(GRADIENT_DESCENT, corpus.gd_swapped).hint
    assert "optimizer.step()" in fails_with(GRADIENT_DESCENT, corpus.gd_no_step).hint
    assert "zero them" in fails_with(GRADIENT_DESCENT, corpus.gd_no_zero_grad).hint
    assert "lr=0.05" in fails_with(GRADIENT_DESCENT, corpus.gd_fixed_lr).hint
    assert "p.data" in fails_with(GRADIENT_DESCENT, corpus.l1_from_data, l1=True).hint
    assert "global" in fails_with(GRADIENT_DESCENT, corpus.gd_globals_crash).hint
    assert "model.train()" in fails_with(TRAIN_EVAL, corpus.te_never_train_again).hint
    failure = fails_with(TRAIN_EVAL, corpus.gd_zero_first_item)
    assert "iteration 0" in failure.expected and "model.eval()" in failure.hint
    for failure in (fails_with(GRADIENT_DESCENT, corpus.gd_adam),
                    fails_with(GRADIENT_DESCENT, corpus.l1_squared, l1=True)):
        assert "expected" in str(failure) and "observed" in str(failure)


def test_student_exception_is_reported():
    def broken(model, loss_func, x, y, xvalid, yvalid, lr=0.1, steps=5000):
        raise RuntimeError("boom")
    failure = fails_with(GRADIENT_DESCENT, broken)
    assert failure.prop == "your code raised an exception"
    assert "boom" in failure.observed


# ----------------------------------------------------------------------------- notebook use

def test_checker_uses_its_own_data_and_prints_one_line(capsys):
    """The notebook's data are checked for their kind, not used: other tensors (here three
    features instead of one) give the same verdict."""
    checker = make_checker(GRADIENT_DESCENT)
    checker(corpus.gd_zero_first_item, notebook_mse, corpus.x, corpus.y, corpus.xvalid,
            corpus.yvalid)
    checker(corpus.l1_stack, notebook_mse, corpus.x3, corpus.y, corpus.x3[:50],
            corpus.yvalid[:50], l1=True, seed=3)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and all(line.startswith("test_gradient_descent passed: ")
                                 for line in out)
    make_checker(TRAIN_EVAL)(corpus.te_seed_style)
    assert capsys.readouterr().out.startswith("test_train_eval passed: ")


USAGE = "test_gradient_descent(gradient_descent, mse_loss, x, y, xvalid, yvalid, l1=False)"
DATA = (notebook_mse, corpus.x, corpus.y, corpus.xvalid, corpus.yvalid)


@pytest.mark.parametrize("args,options,observed", [
    ((), {}, "missing a required argument: 'mse_loss'"),
    (DATA[:4], {}, "missing a required argument: 'yvalid'"),
    (DATA + (0.1,), {}, "too many positional arguments"),
    (DATA, {"l1": 1}, "l1=1"),
    (DATA, {"l1": "True"}, "l1='True'"),
    (DATA, {"l2": True}, "unexpected keyword argument 'l2'"),
    (DATA, {"lr": 0.01}, "unexpected keyword argument 'lr'"),
    ((None, None, None, None, None), {"l1": True}, "mse_loss is a NoneType, not a function"),
    (("mse_loss",) + DATA[1:], {}, "mse_loss is a str, not a function"),
    ((notebook_mse, corpus.x.numpy()) + DATA[2:], {}, "x is a ndarray, not a tensor"),
    ((notebook_mse, corpus.x, corpus.xvalid[:50], corpus.y, corpus.yvalid), {},
     "x has 200 rows but y has 50"),
    ((notebook_mse, corpus.x, corpus.y, corpus.x3, corpus.yvalid), {},
     "training shapes (200, 1), (200, 1) but validation shapes (200, 3)"),
])
def test_a_mistyped_call_fails_loudly_and_says_how_to_call(args, options, observed):
    fn = corpus.l1_stack if options.get("l1") is True else corpus.gd_zero_first_item
    with pytest.raises(CallError) as excinfo:
        make_checker(GRADIENT_DESCENT)(fn, *args, **options)
    failure = excinfo.value
    assert isinstance(failure, CheckFailure) and isinstance(failure, TypeError)
    assert failure.prop == "how the checker is called" and failure.expected == USAGE
    assert observed in failure.observed, failure.observed


def test_the_grader_path_holds_the_call_too():
    """probe() on the student's side and verdict() on the grader's check the call as well:
    a verdict given l1=1 or an unknown option (the grader passes the source call's literals)
    fails instead of treating it as l1=False."""
    params = make_params(0, "cpu")
    with pytest.raises(CallError):
        GRADIENT_DESCENT.probe(params, corpus.l1_stack, *DATA, l1=1)
    data = GRADIENT_DESCENT.probe(params, corpus.l1_stack, *DATA, l1=True)
    assert "l1_weight=0.3" in GRADIENT_DESCENT.verdict(params, data, l1=True)
    for options in ({"l1": 1}, {"l1": "<given>"}, {"l2": True}):
        with pytest.raises(CallError) as excinfo:
            GRADIENT_DESCENT.verdict(params, data, **options)
        assert excinfo.value.expected == USAGE
    with pytest.raises(CallError):
        TRAIN_EVAL.run(corpus.te_seed_style, *DATA)


# ----------------------------------------------------------------------------- parameters

def test_canonical_parameters():
    params = make_params(0, "cpu")
    assert {k: params[k] for k in ("in_features", "n_train", "n_valid", "lr", "steps",
                                   "l1_weight")} == {
        "in_features": 3, "n_train": 17, "n_valid": 11, "lr": 0.05, "steps": 12,
        "l1_weight": 0.3}
    assert make_params(0, "cpu") == params  # deterministic
    assert make_train_eval_params(0, "cpu")["steps"] == 4


def test_parameters_vary_and_stay_away_from_defaults():
    drawn = [make_params(seed, "cpu") for seed in range(1, 60)]
    for key in ("in_features", "n_train", "n_valid", "lr", "steps", "l1_weight", "data_seed"):
        assert len({p[key] for p in drawn}) > 3, key
    for p in drawn:
        assert p["n_train"] != p["n_valid"] and p["n_train"] != 200
        assert abs(p["lr"] - DEFAULT_LR) >= 0.03 and p["steps"] <= 40
        assert abs(p["l1_weight"] - 1.0) >= 0.3
        assert json.loads(json.dumps(p)) == p
    assert all(p["device"] == "cuda" for p in (make_params(5, "cuda"),))
    assert {make_train_eval_params(s, "cpu")["steps"] for s in range(50)} == set(range(3, 9))


def test_drawn_problems_are_well_conditioned():
    """SGD stable, every step visible through the tolerance, L1 paths away from 0."""
    for seed in range(120):
        p = make_params(seed, "cpu")
        prob = problem(p)
        assert p["lr"] * largest_curvature(prob) < 1.5
        assert smallest_move(prob, p["lr"], p["steps"]) >= 4
        assert l1_margin(prob, p["lr"], p["steps"], p["l1_weight"]) >= 0.02
        # the mistakes the verdict names move the path far outside the tolerance
        right = descend(prob, p["lr"], p["steps"]).final
        for other in (descend(prob, DEFAULT_LR, p["steps"]).final,
                      descend(prob, p["lr"], p["steps"], mode="accumulate").final,
                      descend(prob, p["lr"], p["steps"], mode="stale").final,
                      descend(prob, p["lr"], p["steps"],
                              Penalty("l1", "all", p["l1_weight"])).final):
            assert np.max(np.abs(other - right) / (RTOL * np.abs(right) + ATOL)) > 20


def test_tolerance_headroom():
    """float32 loops stay within a small fraction of the tolerance of the float64 reference."""
    worst = 0.0
    for seed in range(0, 51, 5):
        params = make_params(seed, "cpu")
        data = GRADIENT_DESCENT.probe(params, *call_args(GRADIENT_DESCENT,
                                                         corpus.gd_zero_first_item))
        ref = descend(problem(params), params["lr"], params["steps"])
        for obs, want in ((np.append(data["weights"], data["bias"]), ref.final),
                          (data["losses"], ref.losses), (data["valid_losses"], ref.valid)):
            worst = max(worst, float(np.max(np.abs(obs - want) / (RTOL * np.abs(want) + ATOL))))
    assert worst < 0.1, worst


def test_each_check_is_fast():
    """CPU time of one check (probe + verdict + parameters), robust to a loaded machine."""
    for check, fn, options in ((GRADIENT_DESCENT, corpus.gd_zero_first_item, {}),
                               (GRADIENT_DESCENT, corpus.l1_stack, {"l1": True}),
                               (TRAIN_EVAL, corpus.te_seed_style, {})):
        run(check, fn, 0, **options)  # warm up
        times = []
        for seed in range(5):
            start = time.process_time()
            run(check, fn, seed, **options)
            times.append(time.process_time() - start)
        assert sorted(times)[2] < 0.3, (check.name, times)


# ----------------------------------------------------------------------------- transport

def _through_transport(check, fn, seed=0, **options):
    params = check.make_params(seed, "cpu")
    blob = transport.encode(check.probe(params, *call_args(check, fn), **options))
    return check.verdict(params, transport.decode(blob), **options)


@pytest.mark.parametrize("check,fn,options,prop", [
    (GRADIENT_DESCENT, corpus.gd_seed_style, {}, None),
    (GRADIENT_DESCENT, corpus.gd_stacked_tensors, {}, None),
    (GRADIENT_DESCENT, corpus.l1_seed_style, {"l1": True}, None),
    (TRAIN_EVAL, corpus.te_train_at_end, {}, None),
    (GRADIENT_DESCENT, corpus.gd_no_zero_grad, {}, "gradients zeroed each iteration"),
    (GRADIENT_DESCENT, corpus.gd_globals_crash, {}, "uses its arguments"),
    (GRADIENT_DESCENT, corpus.gd_returns_model, {}, "return value"),
    (GRADIENT_DESCENT, corpus.l1_squared, {"l1": True}, "L1 not L2"),
    (TRAIN_EVAL, corpus.te_never_train_again, {}, "training forward in train mode"),
])
def test_probe_and_verdict_through_transport(check, fn, options, prop):
    if prop is None:
        assert "match" in _through_transport(check, fn, 3, **options)
    else:
        with pytest.raises(CheckFailure) as excinfo:
            _through_transport(check, fn, 3, **options)
        assert excinfo.value.prop == prop


# ----------------------------------------------------------------------------- untrusted data

def _good_data(check=GRADIENT_DESCENT, seed=0):
    params = check.make_params(seed, "cpu")
    return params, check.probe(params, *call_args(check, corpus.gd_copies_inputs))


@pytest.mark.parametrize("check", [GRADIENT_DESCENT, TRAIN_EVAL], ids=lambda c: c.name)
def test_malformed_probe_data_is_a_check_failure(check):
    params, data = _good_data(check)
    assert "match" in check.verdict(params, dict(data))
    bad = [None, "text", [1, 2], np.zeros((2, 2)), np.array(["a"]), {"a": 1}, 1.5, True]
    for key in data:
        for value in bad:
            forged = dict(data, **{key: value})
            try:
                check.verdict(params, forged)
            except CheckFailure as failure:
                assert failure.prop in ("probe data", "uses its arguments", "return value",
                                        "history length", "parameters updated",
                                        "training forward in train mode",
                                        "validation forward in eval mode",
                                        "validation loss not backpropagated"), (key, value,
                                                                                failure)
        missing = {k: v for k, v in data.items() if k != key}
        with pytest.raises(CheckFailure) as excinfo:
            check.verdict(params, missing)
        assert excinfo.value.prop == "probe data"
    for not_a_dict in (None, [], "data"):
        with pytest.raises(CheckFailure) as excinfo:
            check.verdict(params, not_a_dict)
        assert excinfo.value.prop == "probe data"


def test_non_finite_histories_fail():
    params, data = _good_data()
    for key in ("losses", "valid_losses", "weights"):
        forged = dict(data, **{key: np.full_like(data[key], np.nan)})
        with pytest.raises(CheckFailure):
            GRADIENT_DESCENT.verdict(params, forged)


def test_forged_histories_on_other_parameters_fail():
    """Data computed for one seed does not pass the verdict of another."""
    _, data = _good_data(seed=1)
    with pytest.raises(CheckFailure):
        GRADIENT_DESCENT.verdict(make_params(2, "cpu"), data)


# ----------------------------------------------------------------------------- CUDA

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda():
    for seed in range(5):
        for fn in (corpus.gd_zero_first_item, corpus.gd_copies_inputs, corpus.gd_seed_style):
            run(GRADIENT_DESCENT, fn, seed, device="cuda")
        run(GRADIENT_DESCENT, corpus.l1_stack, seed, device="cuda", l1=True)
        run(TRAIN_EVAL, corpus.te_seed_style, seed, device="cuda")
    assert fails_with(GRADIENT_DESCENT, corpus.gd_no_zero_grad,
                      device="cuda").prop == "gradients zeroed each iteration"
    assert fails_with(TRAIN_EVAL, corpus.gd_zero_first_item,
                      device="cuda").prop == "validation forward in eval mode"
