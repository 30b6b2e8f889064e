"""The hw1_gradient_descent checkers against correct and wrong student implementations.

Correct implementations must pass at seeds 0..50 (deterministic checks) and, for the checks
that test a random property (make_layer's initialisation, train_epoch's shuffle), over the
200-seed sweep; wrong ones must fail naming the expected property.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from support import hw1_gradient_descent as facade
from support.checking import CheckFailure
from support.hw1_gradient_descent import CHECKS
from support.hw1_gradient_descent.training_checks import (CALLS, TOL, _ball_probability, logistic_problem,
                                         ordered_partitions, sgd_epochs)
from support.stats import FALSE_REJECT

from . import corpus_hw1_components as comp
from . import corpus_hw1_optimize as opt
from . import corpus_hw1_training as tr
from .helpers import torch_one_thread  # noqa: F401 (a fixture, see pytestmark)
from .helpers import (CUDA, assert_partial_credit, assert_tamper_safe, fails_with, passes,
                      sweep_chunks, through_transport)

pytestmark = pytest.mark.usefixtures("torch_one_thread")
REPO = Path(__file__).resolve().parents[2]
SEEDS = range(51)
WRONG_SEEDS = (0, 1, 2)


def _name(value):
    return getattr(value, "__name__", repr(value))


# name of the check, correct implementations, wrong implementations -> prop, options
DETERMINISTIC = [
    ("test_optimize_f", opt.CORRECT_A + opt.CORRECT_DECAY, opt.WRONG_A, {}),
    ("test_optimize_f", opt.CORRECT_DECAY, opt.WRONG_DECAY, {"decay": True}),
    ("test_sigmoid", comp.CORRECT_SIGMOID, comp.WRONG_SIGMOID, {}),
    ("test_relu", comp.CORRECT_RELU, comp.WRONG_RELU, {}),
    ("test_bce_loss", comp.CORRECT_BCE, comp.WRONG_BCE, {}),
    ("test_stable_bce_loss", comp.CORRECT_STABLE, comp.WRONG_STABLE, {}),
    ("test_model1", comp.CORRECT_MODEL1, comp.WRONG_MODEL1, {}),
    ("test_network", comp.CORRECT_NETWORK, comp.WRONG_NETWORK, {}),
    ("test_evaluate", tr.CORRECT_EVALUATE, tr.WRONG_EVALUATE, {}),
    ("test_fit", tr.CORRECT_FIT, tr.WRONG_FIT, {}),
]
RANDOM = [
    ("test_make_layer", comp.CORRECT_LAYER, comp.WRONG_LAYER),
    ("test_train_epoch", tr.CORRECT_TRAIN_EPOCH, tr.WRONG_TRAIN_EPOCH),
]


def _correct_cases(groups):
    return [pytest.param(name, fn, options, id=f"{name}-{_name(fn)}"
                         + ("-decay" if options else ""))
            for name, good, _, options in groups for fn in good]


def _wrong_cases(groups):
    return [pytest.param(name, fn, prop, options, id=f"{name}-{_name(fn)}"
                         + ("-decay" if options else ""))
            for name, _, bad, options in groups for fn, prop in bad.items()]


# ----------------------------------------------------------------------------- corpus

@pytest.mark.parametrize("name, fn, options", _correct_cases(DETERMINISTIC))
def test_accepts_correct(name, fn, options):
    for seed in SEEDS:
        passes(CHECKS[name], fn, seed=seed, **options)


@pytest.mark.parametrize("name, fn, prop, options", _wrong_cases(DETERMINISTIC))
def test_rejects_wrong(name, fn, prop, options):
    for seed in WRONG_SEEDS:
        fails_with(CHECKS[name], prop, fn, seed=seed, **options)


@pytest.mark.parametrize("fn", list(tr.PARTIAL_EVALUATE), ids=_name)
def test_evaluate_partial_credit(fn):
    """An evaluate wrong in one value (or with side effects) earns what it gets right."""
    fraction, held = tr.PARTIAL_EVALUATE[fn]
    check = CHECKS["test_evaluate"]
    assert_partial_credit(check, lambda seed: check.run(fn, seed=seed, device="cpu"),
                          fraction, held, seeds=WRONG_SEEDS)


@pytest.mark.parametrize("name, fn", [pytest.param(n, f, id=f"{n}-{_name(f)}")
                                      for n, good, _ in RANDOM for f in good])
def test_random_checks_accept_correct(name, fn):
    for seed in range(0, 51, 5 if name == "test_train_epoch" else 1):
        passes(CHECKS[name], fn, seed=seed)


@pytest.mark.parametrize("name, fn, prop", [pytest.param(n, f, p, id=f"{n}-{_name(f)}")
                                            for n, _, bad in RANDOM for f, p in bad.items()])
def test_random_checks_reject_wrong(name, fn, prop):
    for seed in WRONG_SEEDS:
        fails_with(CHECKS[name], prop, fn, seed=seed)


@pytest.mark.parametrize("seeds", sweep_chunks(4), ids=lambda s: f"seeds{s[0]}-{s[-1]}")
def test_make_layer_sweep(seeds):
    """The initialisation statistics over 200 seeds, implementations taking turns."""
    for seed in seeds:
        passes(CHECKS["test_make_layer"], comp.CORRECT_LAYER[seed % len(comp.CORRECT_LAYER)],
               seed=seed)


@pytest.mark.parametrize("seeds", sweep_chunks(4), ids=lambda s: f"seeds{s[0]}-{s[-1]}")
def test_train_epoch_sweep(seeds):
    """The shuffle statistic over 200 seeds, implementations taking turns."""
    for seed in seeds:
        passes(CHECKS["test_train_epoch"],
               tr.CORRECT_TRAIN_EPOCH[seed % len(tr.CORRECT_TRAIN_EPOCH)], seed=seed)


@pytest.mark.parametrize("seeds", sweep_chunks(2), ids=lambda s: f"seeds{s[0]}-{s[-1]}")
def test_train_epoch_shuffle_is_always_judged(seeds):
    """At every sweep seed the enumerated epochs are far enough apart that an unshuffled
    train_epoch is rejected: the bound on a correct shuffle ending at the same point in all
    5 calls is below 1e-9 (the verdict skips the shuffle test only above it)."""
    for seed in seeds:
        params = CHECKS["test_train_epoch"].make_params(seed, "cpu")
        X, y, w0, b0 = logistic_problem(params, params["n"], 1)
        outcomes, _, _ = sgd_epochs(X, y, w0, b0, params["lr"],
                                    ordered_partitions(params["n"], params["batch_size"]))
        assert _ball_probability(outcomes, 4 * TOL, CALLS) <= FALSE_REJECT, seed


@pytest.mark.parametrize("eps", [1e-7, 1e-6, 1e-5])
def test_train_epoch_accepts_eps_losses(eps, monkeypatch):
    """A stable loss with eps added inside the logs (the usual fix) still passes."""
    def loss(y, y_hat):
        return -(y * torch.log(y_hat + eps) + (1 - y) * torch.log(1 - y_hat + eps)).mean()

    monkeypatch.setattr(tr, "stable_bce_loss", loss)
    for seed in range(0, 40, 3):
        passes(CHECKS["test_train_epoch"], tr.train_epoch_skeleton, seed=seed)
        passes(CHECKS["test_fit"], tr.fit_stub, seed=seed)
        passes(CHECKS["test_evaluate"], tr.evaluate_no_grad, seed=seed)


def test_ball_probability_matches_brute_force():
    """The slab search counts the same neighbours as all pairwise distances (600 epochs)."""
    params = CHECKS["test_train_epoch"].make_params(3, "cpu")
    X, y, w0, b0 = logistic_problem(params, params["n"], 1)
    outcomes, _, _ = sgd_epochs(X, y, w0, b0, params["lr"],
                                ordered_partitions(params["n"], params["batch_size"]))
    outcomes = outcomes[np.random.default_rng(0).choice(len(outcomes), 600, replace=False)]
    dist = np.max(np.abs(outcomes[:, None, :] - outcomes[None, :, :]), axis=2)
    for radius in (1e-3, 1e-2, 5e-2, 2e-1):
        brute = float(np.mean((np.sum(dist <= radius, axis=1) / len(outcomes)) ** 4))
        assert _ball_probability(outcomes, radius, 5) == pytest.approx(brute, rel=1e-12)


def test_ordered_partitions_count():
    assert ordered_partitions(8, 2).shape == (2520, 4, 2)
    assert ordered_partitions(9, 3).shape == (1680, 3, 3)
    cuts = ordered_partitions(8, 2)
    assert len({c.tobytes() for c in cuts}) == 2520
    assert all(sorted(c.ravel()) == list(range(8)) for c in cuts[:50])


# ----------------------------------------------------------------------------- settings

@pytest.mark.parametrize("settings", opt.CORRECT_SETTINGS, ids=str)
def test_optimize_f_settings_accepts(settings):
    passes(CHECKS["test_optimize_f_settings"], opt.gd_decay_power, *settings)


@pytest.mark.parametrize("settings, prop", list(opt.WRONG_SETTINGS.items()), ids=str)
def test_optimize_f_settings_rejects(settings, prop):
    fails_with(CHECKS["test_optimize_f_settings"], prop, opt.gd_decay_power, *settings)


def test_optimize_f_settings_hint_names_a_wrong_schedule():
    """Settings tuned with the compounded schedule fail, and the hint says why."""
    failure = fails_with(CHECKS["test_optimize_f_settings"], "final value",
                         opt.gd_decay_compounded, 0.4, 10, 0.95)
    assert "fix optimize_f" in failure.hint


def test_training_settings_accepts_the_solution():
    for seed in range(3):
        passes(CHECKS["test_training_settings"], tr.make_layer, tr.fit_stub,
               *tr.SOLUTION_SETTINGS, seed=seed)


@pytest.mark.parametrize("settings, prop", tr.WRONG_SETTINGS, ids=str)
def test_training_settings_rejects(settings, prop):
    fails_with(CHECKS["test_training_settings"], prop, tr.make_layer, tr.fit_stub, *settings)


def test_training_settings_reports_a_broken_fit():
    fails_with(CHECKS["test_training_settings"], "your code raised an exception",
               tr.make_layer, tr.fit_no_enable, *tr.SOLUTION_SETTINGS)


# ----------------------------------------------------------------------------- robustness

ONE_CORRECT = {
    "test_optimize_f": (opt.gd_lists,),
    "test_optimize_f_settings": (opt.gd_lists, 0.15, 20, 1.0),
    "test_sigmoid": (comp.sigmoid_exp,),
    "test_relu": (comp.relu_clamp,),
    "test_bce_loss": (comp.bce_seed,),
    "test_stable_bce_loss": (comp.stable_clamp,),
    "test_model1": (comp.model1_at,),
    "test_network": (comp.network_seed,),
    "test_make_layer": (comp.layer_randn,),
    "test_evaluate": (tr.evaluate_no_grad,),
    "test_train_epoch": (tr.train_epoch_skeleton,),
    "test_fit": (tr.fit_stub,),
    "test_training_settings": (tr.make_layer, tr.fit_stub, [32], 0.5, 64, 12),
}
SLOW_TAMPER = {"test_train_epoch": ("full_", "mini0_"), "test_training_settings": ("w0", "b1",
                                                                                  "epochs")}
# A two-epoch run is enough to feed the verdict junk (it may fail on accuracy: allowed).
TAMPER_ARGS = {"test_training_settings": (tr.make_layer, tr.fit_stub, [8], 0.5, 128, 2)}


def test_every_check_has_a_case():
    assert set(ONE_CORRECT) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(ONE_CORRECT))
def test_through_transport(name):
    assert through_transport(CHECKS[name], *ONE_CORRECT[name], seed=3)


@pytest.mark.parametrize("name", sorted(ONE_CORRECT))
def test_verdict_survives_tampered_probe_data(name):
    args = TAMPER_ARGS.get(name, ONE_CORRECT[name])
    assert_tamper_safe(CHECKS[name], *args, seed=1, keys=SLOW_TAMPER.get(name))


@pytest.mark.parametrize("name", sorted(ONE_CORRECT))
def test_not_a_function(name):
    """Passing something that is not the student's function fails cleanly."""
    if name == "test_optimize_f_settings":
        pytest.skip("the verdict replays the settings itself; optimize_f only feeds a hint")
    args = list(ONE_CORRECT[name])
    args[0] = 42
    with pytest.raises(CheckFailure):
        CHECKS[name].run(*args, seed=0, device="cpu")


@pytest.mark.parametrize("name", sorted(ONE_CORRECT))
def test_parameters_are_plain_and_vary(name):
    check = CHECKS[name]
    import json

    first = check.make_params(0, "cpu")
    assert json.loads(json.dumps(first)) == first
    assert first["seed"] == 0 and first["device"] == "cpu"
    if name not in ("test_optimize_f_settings", "test_training_settings", "test_model1"):
        others = {json.dumps({k: v for k, v in check.make_params(s, "cpu").items()
                              if k != "seed"}) for s in range(1, 6)}
        assert len(others) > 1, "other seeds must draw other inputs"


@CUDA
@pytest.mark.parametrize("name", sorted(ONE_CORRECT))
def test_on_cuda(name):
    for seed in (0, 1):
        passes(CHECKS[name], *ONE_CORRECT[name], seed=seed, device="cuda")


def test_checker_is_fast():
    """Every check but the training-settings one runs well under 0.5 s on a CPU."""
    import time

    for name, args in ONE_CORRECT.items():
        if name == "test_training_settings":
            continue
        CHECKS[name].run(*args, seed=2, device="cpu")  # warm caches
        start = time.perf_counter()
        CHECKS[name].run(*args, seed=4, device="cpu")
        assert time.perf_counter() - start < 0.5, name


# ----------------------------------------------------------------------------- the facade

def test_facade_exports():
    for name in facade.__all__:
        assert hasattr(facade, name), name
    checkers = {n for n in facade.__all__ if n.startswith("test_")}
    assert checkers == set(CHECKS)
    for name in checkers:
        assert getattr(facade, name).check is CHECKS[name]


def test_facade_imports_nothing_of_the_core_assignment():
    """`import support.hw1_gradient_descent` loads no module of another assignment."""
    code = ("import sys, support.hw1_gradient_descent; "
            "bad = [m for m in sys.modules if m == 'support.plotting' or "
            "m.startswith(('support.hw2', 'support.hw3', 'support.hw4', 'support.hw5'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_solution_code_in_support():
    """support/ ships to students: none of the graded functions is defined there."""
    graded = ("optimize_f", "sigmoid", "relu", "bce_loss", "stable_bce_loss", "model1",
              "network", "make_layer", "evaluate", "train_epoch", "fit")
    for path in (REPO / "support" / "hw1_gradient_descent").glob("*.py"):
        text = path.read_text()
        for name in graded:
            assert not re.search(rf"^\s*def {name}\(", text, re.MULTILINE), (path.name, name)


def test_bundled_digits_are_scikit_learns():
    """The data file read directly is exactly what sklearn.datasets.load_digits returns."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from support.hw1_gradient_descent.data import bundled_digits, digit_images, load_binary_digits

    digits = sklearn_datasets.load_digits()
    pixels, classes = bundled_digits()
    assert np.array_equal(pixels, digits.data) and np.array_equal(classes, digits.target)
    assert np.array_equal(digit_images(7)[0], digits.images[:7])
    split_x, split_y = load_binary_digits()
    assert split_x["train"].shape == (898, 64) and split_x["val"].shape == (899, 64)
    assert split_x["train"].dtype == torch.float32
    assert set(torch.unique(split_y["val"]).tolist()) == {0.0, 1.0}
    assert abs(float(split_x["train"].mean())) < 1e-5
    assert abs(float(split_x["train"].std()) - 1) < 1e-3


def test_notebook_calls_only_known_checkers():
    """Every test cell of the source notebook calls a checker of CHECKS with names that a
    setup or solution cell defines (what the grader needs to run it)."""
    from course.grade.plan import load_assignment

    assignment = load_assignment("hw1_gradient_descent", source_root=REPO / "source")
    assert {check.checker for check in assignment.checks} == set(CHECKS)
    for check in assignment.checks:
        for arg in check.args:
            name = getattr(arg, "id", None)
            assert name is None or name in assignment.definers, (check.grade_id, name)
    assert assignment.max_points == 22
