"""Tests of support/early_stopping_checks.py: test_early_stopping (Q8 simple, Q10 patient).

Correct loops pass for seeds 0..50, wrong ones fail naming the broken property; the scripted
curves are checked to make every decision unambiguous; the verdict survives malformed data
and a trip through course.grade.transport.
"""

import json
import time

import numpy as np
import pytest
import torch

from course.grade import transport
from support.checking import CheckFailure, make_checker
from support.hw4_pytorch_regularization.early_stopping_checks import (EARLY_STOPPING, PATIENCE, make_params,
                                           mean_before, stop_length)
from support.hw4_pytorch_regularization.training_checks import largest_curvature, problem, smallest_move

from . import corpus_training as gd_corpus
from . import corpus_training_es as corpus
from .helpers import assert_partial_credit

SEEDS = range(51)
# student-style float(loss) on a tensor that requires grad warns; the corpus keeps that style
pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")


def _name(fn):
    return fn.__name__


def run(fn, seed=0, patient=False, device="cpu"):
    return EARLY_STOPPING.run(fn, seed=seed, device=device, patient=patient)


def fails_with(fn, seed=0, patient=False, device="cpu"):
    with pytest.raises(CheckFailure) as excinfo:
        run(fn, seed, patient, device)
    return excinfo.value


# ----------------------------------------------------------------------------- correct code

@pytest.mark.parametrize("fn", corpus.CORRECT_SIMPLE, ids=_name)
def test_correct_simple_passes(fn):
    for seed in SEEDS:
        assert "as expected" in run(fn, seed)


@pytest.mark.parametrize("fn", corpus.CORRECT_PATIENT, ids=_name)
def test_correct_patient_passes(fn):
    for seed in SEEDS:
        assert "as expected" in run(fn, seed, patient=True)


# ----------------------------------------------------------------------------- wrong code

@pytest.mark.parametrize("fn", list(corpus.WRONG_SIMPLE), ids=_name)
def test_wrong_simple_fails(fn):
    for seed in range(6):
        assert fails_with(fn, seed).prop == corpus.WRONG_SIMPLE[fn], seed


@pytest.mark.parametrize("fn", list(corpus.WRONG_PATIENT), ids=_name)
def test_wrong_patient_fails(fn):
    for seed in range(3):
        assert fails_with(fn, seed, patient=True).prop == corpus.WRONG_PATIENT[fn], seed


PARTIAL = [(fn, False, *v) for fn, v in corpus.PARTIAL_SIMPLE.items()] + [
    (fn, True, *v) for fn, v in corpus.PARTIAL_PATIENT.items()]


@pytest.mark.parametrize("fn, patient, fraction, held", PARTIAL,
                         ids=[f"{'patient' if p else 'simple'}-{i}" for i, (_, p, *_)
                              in enumerate(PARTIAL)])
def test_partial_credit(fn, patient, fraction, held):
    """A loop wrong in one part earns the weights of the parts it gets right, on every
    scripted curve and seed."""
    assert_partial_credit(EARLY_STOPPING, lambda seed: run(fn, seed, patient), fraction, held,
                          seeds=range(3))


def test_partial_credit_declared():
    assert [(p.name, p.weight) for p in EARLY_STOPPING.properties] == [
        ("stopping rule", 0.5), ("SGD steps", 0.3), ("validation losses", 0.2)]


def test_simple_loop_fails_the_patient_check_and_vice_versa():
    assert fails_with(corpus.es_item_enumerate, patient=True).prop == "checks start at t=50"
    assert fails_with(corpus.pes_index).prop == "stops at the first increase"


def test_plain_loop_never_stops():
    assert fails_with(gd_corpus.gd_zero_first_item).prop == "stops at the first increase"
    assert fails_with(gd_corpus.gd_zero_first_item, patient=True).prop == "stops above the mean"


@pytest.mark.parametrize("fn,prop", [
    (gd_corpus.gd_no_zero_grad, "gradients zeroed each iteration"),
    (gd_corpus.gd_fixed_lr, "learning rate used"),
    (gd_corpus.gd_backprops_valid_harmless, "validation loss not backpropagated"),
    (gd_corpus.gd_globals_crash, "uses its arguments"),
    (gd_corpus.gd_valid_before_step, "validation losses"),
    (gd_corpus.gd_loss_after_step, "training losses"),
])
def test_loop_mistakes_are_named(fn, prop):
    """A loop that never stops, with a Q2 mistake: caught on the first (never-stopping) curve."""
    assert fails_with(fn).prop == prop


def test_messages_teach():
    failure = fails_with(corpus.pes_seed_49, patient=True)
    assert "50 values before" in failure.hint and "49 previous" in failure.hint
    failure = fails_with(corpus.es_ties_stop)
    assert "strict increase" in failure.hint
    failure = fails_with(corpus.pes_watches_training, patient=True)
    assert "TRAINING losses" in failure.hint
    failure = fails_with(corpus.es_break_before_record)
    assert "keeps its records" in failure.hint
    failure = fails_with(corpus.pes_no_minimum, patient=True)
    assert "before iteration 50" in failure.hint


# ----------------------------------------------------------------------------- the curves

def _curves(seed, patient):
    params = make_params(seed, "cpu")
    key = "patient" if patient else "simple"
    return params, params[f"{key}_steps"], params[f"{key}_curves"]


def test_canonical_parameters():
    params = make_params(0, "cpu")
    assert (params["in_features"], params["n_train"], params["n_valid"], params["lr"],
            params["simple_steps"], params["patient_steps"]) == (2, 19, 13, 0.03, 20, 72)
    assert [stop_length(c["values"], False) for c in params["simple_curves"]] == [20, 20, 10, 2]
    assert [stop_length(c["values"], True) for c in params["patient_curves"]] == [72, 51, 61, 67]
    assert json.loads(json.dumps(params)) == params


def test_parameters_vary():
    drawn = [make_params(seed, "cpu") for seed in range(1, 40)]
    for key in ("in_features", "n_train", "n_valid", "lr", "simple_steps", "patient_steps"):
        assert len({p[key] for p in drawn}) > 3, key
    stops = {tuple(stop_length(c["values"], True) for c in p["patient_curves"]) for p in drawn}
    assert len(stops) > 20


@pytest.mark.parametrize("seed", range(0, 300, 30))
def test_simple_curves_are_unambiguous(seed):
    """Every step is a tie (exact) or a move of at least 1e-3 of the scale; designed stops."""
    for seed in range(seed, seed + 30):
        _, steps, curves = _curves(seed, False)
        kinds = [c["kind"] for c in curves]
        assert kinds == ["decreasing", "ties", "increase", "increase at t=1"]
        lengths = [stop_length(c["values"], False) for c in curves]
        assert lengths[0] == lengths[1] == steps and lengths[3] == 2 and 3 <= lengths[2] < steps
        for c in curves:
            v = np.array(c["values"])
            assert len(v) == steps and np.all(v > 0)
            assert np.all(v.astype(np.float32).astype(float) == v)  # float32 numbers
            d = np.abs(np.diff(v))
            assert np.all((d == 0) | (d >= 1e-3 * c["scale"]))
        assert np.sum(np.diff(curves[1]["values"]) == 0) == 2  # two ties, never a stop
        assert np.all(np.diff(curves[0]["values"]) < 0)


@pytest.mark.parametrize("seed", range(0, 300, 30))
def test_patient_curves_are_unambiguous(seed):
    """Every comparison the rule makes is 1e-3 of the scale away from a tie; the 49-value and
    50-value means disagree exactly on the window curves and nowhere else."""
    for seed in range(seed, seed + 30):
        _, steps, curves = _curves(seed, True)
        assert 60 <= steps <= 80
        lengths = [stop_length(c["values"], True) for c in curves]
        assert lengths[0] == steps and lengths[1] == PATIENCE + 1
        assert PATIENCE + 2 < lengths[2] < steps and PATIENCE + 1 < lengths[3] < steps
        # a loop that first checks at 51 stops at 55 on the t=50 curve
        assert stop_length(curves[1]["values"], True, start=PATIENCE + 1) == PATIENCE + 6
        seed_rule_disagrees = []
        for c, n in zip(curves, lengths):
            v, scale = c["values"], c["scale"]
            assert all(x > 0 for x in v) and all(float(np.float32(x)) == x for x in v)
            disagree = False
            for t in range(PATIENCE, n):
                m50, m49 = mean_before(v, t), mean_before(v, t, PATIENCE - 1)
                assert abs(v[t] - m50) >= 1e-3 * scale, (seed, c["kind"], t)
                assert abs(v[t] - m49) >= 1e-3 * scale, (seed, c["kind"], t)
                disagree |= (v[t] > m50) != (v[t] > m49)
            seed_rule_disagrees.append(disagree)
            # before 50 the curve has bumps that a loop without the minimum would stop on
        assert seed_rule_disagrees == [True, False, False, True]
        assert stop_length(curves[0]["values"], False) < PATIENCE  # bump before 50


def test_drawn_problems_are_well_conditioned():
    for seed in range(60):
        params = make_params(seed, "cpu")
        prob, steps = problem(params), max(params["simple_steps"], params["patient_steps"])
        assert params["lr"] * largest_curvature(prob) < 1.5
        assert smallest_move(prob, params["lr"], steps) >= 4


def test_each_check_is_fast():
    """CPU time of one check (probe + verdict + parameters), robust to a loaded machine."""
    for fn, patient in ((corpus.es_item_enumerate, False), (corpus.pes_index, True)):
        run(fn, 0, patient)
        times = []
        for seed in range(5):
            start = time.process_time()
            run(fn, seed, patient)
            times.append(time.process_time() - start)
        assert sorted(times)[2] < 0.3, (patient, times)


# ----------------------------------------------------------------------------- notebook use

def test_checker_prints_one_line(capsys):
    checker = make_checker(EARLY_STOPPING)
    checker(corpus.es_seed_style)
    checker(corpus.pes_slice, patient=True, seed=4)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and all(line.startswith("test_early_stopping passed: ") for line in out)


def test_facade_exports_the_check():
    facade = pytest.importorskip("support.hw4_pytorch_regularization")
    assert facade.CHECKS["test_early_stopping"] is EARLY_STOPPING


# ----------------------------------------------------------------------------- transport

@pytest.mark.parametrize("fn,patient,prop", [
    (corpus.es_previous_variable, False, None),
    (corpus.pes_torch_mean, True, None),
    (corpus.es_ties_stop, False, "ties do not stop"),
    (corpus.pes_seed_49, True, "mean of the previous 50"),
    (corpus.es_break_before_record, False, "records the stopping iteration"),
])
def test_probe_and_verdict_through_transport(fn, patient, prop):
    params = make_params(2, "cpu")
    data = transport.decode(transport.encode(EARLY_STOPPING.probe(params, fn, patient=patient)))
    if prop is None:
        assert "as expected" in EARLY_STOPPING.verdict(params, data, patient=patient)
    else:
        with pytest.raises(CheckFailure) as excinfo:
            EARLY_STOPPING.verdict(params, data, patient=patient)
        assert excinfo.value.prop == prop


# ----------------------------------------------------------------------------- untrusted data

def test_malformed_probe_data_is_a_check_failure():
    params = make_params(0, "cpu")
    data = EARLY_STOPPING.probe(params, corpus.es_item_enumerate)
    assert "as expected" in EARLY_STOPPING.verdict(params, dict(data))
    for key in data:
        for value in (None, "text", np.zeros((2, 2)), {"a": 1}, 2.5, False):
            try:
                EARLY_STOPPING.verdict(params, dict(data, **{key: value}))
            except CheckFailure:
                pass
        missing = {k: v for k, v in data.items() if k != key}
        with pytest.raises(CheckFailure) as excinfo:
            EARLY_STOPPING.verdict(params, missing)
        assert excinfo.value.prop == "probe data"
    with pytest.raises(CheckFailure) as excinfo:
        EARLY_STOPPING.verdict(params, None)
    assert excinfo.value.prop == "probe data"


def test_forged_lengths_fail():
    params = make_params(0, "cpu")
    data = EARLY_STOPPING.probe(params, corpus.es_item_enumerate)
    for forged in ({"c0_losses": np.zeros(0), "c0_valid_losses": np.zeros(0)},
                   {"c0_losses": np.ones(500), "c0_valid_losses": np.ones(500)},
                   {"c0_valid_losses": np.full(20, np.nan)}):
        with pytest.raises(CheckFailure):
            EARLY_STOPPING.verdict(params, dict(data, **forged))


# ----------------------------------------------------------------------------- CUDA

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda():
    for seed in range(3):
        for fn in corpus.CORRECT_SIMPLE:
            run(fn, seed, device="cuda")
        for fn in corpus.CORRECT_PATIENT:
            run(fn, seed, patient=True, device="cuda")
    assert fails_with(corpus.pes_seed_49, patient=True,
                      device="cuda").prop == "mean of the previous 50"
