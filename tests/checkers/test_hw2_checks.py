"""hw2_mlp_training: every checker against correct and wrong implementations, through the
transport, on tampered data; the data helpers; the facade and the notebook's structure."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from support import hw2_mlp_training as facade
from support.checking import CheckFailure, plain_options
from support.hw2_mlp_training.data import (digits_arrays, digits_datasets, ink_features, mnist_datasets,
                              split_indices, zero_one_features)
from support.hw2_mlp_training.gd_checks import TRAIN_BY_GD, problem, simulate
from support.hw2_mlp_training.loop_checks import LOSS_AND_ACCURACY, TRAIN
from support.hw2_mlp_training.model_checks import MAKE_MLP, PERCEPTRON_LOSS
from support.hw2_mlp_training.tuning_checks import HYPERPARAMETERS
from course.grade.transport import decode, encode

from . import corpus_hw2_models as models
from . import corpus_hw2_training as training

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "source" / "hw2_mlp_training" / "hw2_mlp_training.ipynb"
SEEDS = range(0, 51)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SLOW = pytest.mark.skipif(not os.environ.get("HW2_SLOW"), reason="set HW2_SLOW=1 (minutes)")


def _name(value):
    return getattr(value, "__name__", str(value)[:40])


def passes(check, *args, seed=0, device="cpu", **options):
    return check.run(*args, seed=seed, device=device, **options)


def fails_with(check, prop, *args, seed=0, device="cpu", **options) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        check.run(*args, seed=seed, device=device, **options)
    assert info.value.prop == prop, str(info.value)
    message = str(info.value)
    assert ("expected" in message or "observed" in message) and "hint" in message, message
    return info.value


def through_transport(check, *args, seed=0, device="cpu"):
    """probe -> encode -> decode -> verdict, as the grader runs a check across a pipe."""
    params = check.make_params(seed, device)
    assert json.loads(json.dumps(params)) == params
    data = decode(encode(check.probe(params, *args)))
    return check.verdict(params, data, **plain_options({}))


# ============================================================================= make_mlp

@pytest.mark.parametrize("impl", models.MLP_CORRECT, ids=_name)
def test_make_mlp_accepts_correct(impl):
    for seed in SEEDS:
        passes(MAKE_MLP, impl, seed=seed)


@pytest.mark.parametrize("impl, prop", models.MLP_WRONG, ids=_name)
def test_make_mlp_rejects_wrong(impl, prop):
    for seed in (0, 1, 2):
        fails_with(MAKE_MLP, prop, impl, seed=seed)


def test_make_mlp_shapes_are_never_square():
    for seed in range(200):
        for sizes in MAKE_MLP.make_params(seed, "cpu")["cases"]:
            assert all(a != b for a, b in zip(sizes, sizes[1:])), sizes
    lengths = {len(s) for s in MAKE_MLP.make_params(3, "cpu")["cases"]}
    assert lengths == {2, 3, 4}


def test_make_mlp_messages_teach():
    failure = fails_with(MAKE_MLP, "layer pattern", models.mlp_relu_at_end)
    assert "no activation after it" in failure.hint
    failure = fails_with(MAKE_MLP, "layer sizes", models.mlp_transposed)
    assert "Linear(3, 7)" in str(failure)


# ============================================================================= perceptron_loss

@pytest.mark.parametrize("impl", models.LOSS_CORRECT, ids=_name)
def test_perceptron_loss_accepts_correct(impl):
    for seed in SEEDS:
        passes(PERCEPTRON_LOSS, impl, seed=seed)


@pytest.mark.parametrize("impl, prop", models.LOSS_WRONG, ids=_name)
def test_perceptron_loss_rejects_wrong(impl, prop):
    for seed in (0, 1, 2):
        fails_with(PERCEPTRON_LOSS, prop, impl, seed=seed)


def test_perceptron_loss_names_the_broadcast():
    failure = fails_with(PERCEPTRON_LOSS, "shape broadcasting", models.loss_broadcast)
    assert "(N, N)" in failure.hint


# ======================================================================== train_by_gradient_descent

@pytest.mark.parametrize("impl", training.GD_CORRECT, ids=_name)
def test_gd_accepts_correct(impl):
    for seed in SEEDS:
        passes(TRAIN_BY_GD, impl, seed=seed)


@pytest.mark.parametrize("impl, prop", training.GD_WRONG, ids=_name)
def test_gd_rejects_wrong(impl, prop):
    for seed in (0, 1, 2):
        fails_with(TRAIN_BY_GD, prop, impl, seed=seed)


def test_gd_cases_exercise_what_they_claim():
    """Halving run: >= 1 halving, stops by the 1 % rule; guard run: stops after exactly
    max_iterations steps; zero run: ends at an exact 0."""
    for seed in range(0, 200, 7):
        params = TRAIN_BY_GD.make_params(seed, "cpu")
        kinds = [c["case"] for c in params["cases"]]
        assert kinds == ["halving", "guard", "zero"]
        history, _, _, rels, halvings = simulate(problem(params, 0))
        assert halvings >= 1 and rels[-1] < 0.01 and len(history) - 1 < 300
        guard = problem(params, 1)
        assert len(simulate(guard)[0]) == guard.max_iterations + 1
        assert simulate(problem(params, 2))[0][-1] == 0.0


def test_gd_float32_run_is_far_inside_the_tolerance():
    """Every float32 loss and parameter is within a tenth of the check's tolerance
    (1e-3 relative + 1e-6 / 1e-5) of the float64 replay (measured worst over seeds
    0..200: 4 % of it)."""
    worst = 0.0
    for seed in range(0, 51, 5):
        params = TRAIN_BY_GD.make_params(seed, "cpu")
        data = TRAIN_BY_GD.probe(params, training.gd_manual)
        for i in range(3):
            history, w, _, _, _ = simulate(problem(params, i))
            reference, observed = np.array(history), np.array(data[f"history_{i}"])
            assert observed.shape == reference.shape
            loss_error = np.abs(observed - reference) / (1e-3 * np.abs(reference) + 1e-6)
            weight_error = np.abs(data[f"weight_{i}"] - w) / (1e-3 * np.abs(w) + 1e-5)
            worst = max(worst, float(loss_error.max()), float(weight_error.max()))
    assert worst < 0.1, worst


# ============================================================================= loss_and_accuracy

@pytest.mark.parametrize("impl", training.LA_CORRECT, ids=_name)
def test_loss_and_accuracy_accepts_correct(impl):
    for seed in SEEDS:
        passes(LOSS_AND_ACCURACY, impl, seed=seed)


@pytest.mark.parametrize("impl, prop", training.LA_WRONG, ids=_name)
def test_loss_and_accuracy_rejects_wrong(impl, prop):
    for seed in (0, 1, 2):
        fails_with(LOSS_AND_ACCURACY, prop, impl, seed=seed)


@pytest.mark.parametrize("impl", list(training.LA_PARTIAL), ids=_name)
def test_loss_and_accuracy_partial_credit(impl):
    """A function right in some parts earns the weights of those parts."""
    from .helpers import assert_partial_credit

    fraction, held = training.LA_PARTIAL[impl]
    assert_partial_credit(LOSS_AND_ACCURACY, lambda seed: passes(LOSS_AND_ACCURACY, impl,
                                                                 seed=seed),
                          fraction, held, seeds=(0, 1, 2))


def test_loss_and_accuracy_always_has_a_partial_last_batch():
    for seed in range(200):
        p = LOSS_AND_ACCURACY.make_params(seed, "cpu")
        assert p["n"] % p["batch"] != 0 and p["d"] != p["classes"] and p["smoothing"] > 0


# ============================================================================= train

@pytest.mark.parametrize("impl", training.TRAIN_CORRECT, ids=_name)
def test_train_accepts_correct(impl):
    for seed in SEEDS:
        passes(TRAIN, impl, seed=seed)


@pytest.mark.parametrize("impl, prop", training.TRAIN_WRONG, ids=_name)
def test_train_rejects_wrong(impl, prop):
    for seed in (0, 1, 2):
        fails_with(TRAIN, prop, impl, seed=seed)


def test_train_params_have_a_partial_batch_and_several_epochs():
    for seed in range(200):
        p = TRAIN.make_params(seed, "cpu")
        assert p["n_train"] % p["batch"] != 0 and p["epochs"] >= 2 and p["smoothing"] > 0


# ============================================================================= hyper-parameters

def test_hyperparameters_accept_the_notebook_setting_on_three_splits():
    for seed in (0, 1, 2):
        passes(HYPERPARAMETERS, training.HP_CORRECT[0], training.make_mlp_for_hp,
               training.train_canonical, seed=seed)


@pytest.mark.parametrize("settings", training.HP_CORRECT[1:], ids=["adam", "nesterov"])
def test_hyperparameters_accept_other_good_settings(settings):
    passes(HYPERPARAMETERS, settings, training.make_mlp_for_hp, training.train_canonical, seed=3)


@pytest.mark.parametrize("settings, prop", training.HP_WRONG,
                         ids=["stub", "budget", "key", "type", "too-large-rate"])
def test_hyperparameters_reject_bad_settings(settings, prop):
    fails_with(HYPERPARAMETERS, prop, settings, training.make_mlp_for_hp,
               training.train_canonical)


def test_hyperparameters_leave_the_global_random_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fails_with(HYPERPARAMETERS, "test accuracy", training.HP_WRONG[0][0],
               training.make_mlp_for_hp, training.train_canonical)
    assert torch.equal(torch.rand(3), expected)


@SLOW
def test_hyperparameters_reference_passes_seeds_0_to_50():
    for seed in SEEDS:
        passes(HYPERPARAMETERS, training.HP_CORRECT[0], training.make_mlp_for_hp,
               training.train_canonical, seed=seed)


# ============================================================================= every check

CANONICAL = [
    (MAKE_MLP, (models.mlp_loop,)),
    (PERCEPTRON_LOSS, (models.loss_clamp,)),
    (TRAIN_BY_GD, (training.gd_manual,)),
    (LOSS_AND_ACCURACY, (training.la_weighted,)),
    (TRAIN, (training.train_canonical,)),
    (HYPERPARAMETERS, (training.HP_FAST_FAILING, training.make_mlp_for_hp,
                       training.train_canonical)),
]


@pytest.mark.parametrize("check, args", CANONICAL, ids=lambda v: getattr(v, "name", ""))
def test_through_the_transport(check, args):
    if check is HYPERPARAMETERS:
        with pytest.raises(CheckFailure, match="test accuracy"):
            through_transport(check, *args, seed=4)
    else:
        for seed in (0, 4):
            assert through_transport(check, *args, seed=seed)


def _tampered(data):
    yield "empty", {}
    yield "not a dict", ["junk"]
    for key in data:
        yield f"without {key}", {k: v for k, v in data.items() if k != key}
        for junk in (None, "junk", [1, "x"], np.zeros((2, 3, 4)), 1e300, float("nan"), True, -1):
            yield f"{key} = {junk!r:.20}", {**data, key: junk}


@pytest.mark.parametrize("check, args", CANONICAL, ids=lambda v: getattr(v, "name", ""))
def test_verdicts_never_crash_on_tampered_data(check, args):
    params = check.make_params(0, "cpu")
    data = decode(encode(check.probe(params, *args)))
    for label, variant in _tampered(data):
        try:
            check.verdict(params, variant)
        except CheckFailure as failure:
            if label.startswith("without") or label in ("empty", "not a dict"):
                assert failure.prop == "probe data", (label, str(failure))
        except Exception as error:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"{check.name} crashed on {label}: {error!r}") from error


@pytest.mark.parametrize("check", list(facade.CHECKS.values()), ids=lambda c: c.name)
def test_params_are_plain_deterministic_and_vary(check):
    first = check.make_params(0, "cpu")
    assert first == check.make_params(0, "cpu")
    assert first["seed"] == 0 and first["device"] == "cpu"
    others = [json.dumps({k: v for k, v in check.make_params(s, "cpu").items() if k != "seed"},
                         sort_keys=True) for s in range(1, 8)]
    assert len(set(others)) == len(others)
    for seed in range(8):
        params = check.make_params(seed, "cuda")
        assert json.loads(json.dumps(params)) == params and params["device"] == "cuda"


def test_a_crash_in_student_code_is_reported():
    def broken(*args, **kwargs):
        raise ValueError("oops")
    for check in (MAKE_MLP, PERCEPTRON_LOSS, TRAIN_BY_GD, LOSS_AND_ACCURACY, TRAIN):
        failure = fails_with(check, "your code raised an exception", broken)
        assert "oops" in str(failure)
    failure = fails_with(MAKE_MLP, "argument", "not a function")


@CUDA
@pytest.mark.parametrize("check, args", CANONICAL[:5], ids=lambda v: getattr(v, "name", ""))
def test_checks_pass_on_cuda(check, args):
    for seed in (0, 1):
        passes(check, *args, seed=seed, device="cuda")


# ============================================================================= data

def test_zero_one_features():
    features, labels, mean, std = zero_one_features()
    assert features.shape == (360, 2) and labels.shape == (360,)
    assert features.dtype == torch.float32 and labels.dtype == torch.float32
    assert set(labels.tolist()) == {-1.0, 1.0} and int((labels > 0).sum()) == 182
    assert np.allclose(features.mean(0).numpy(), 0, atol=1e-5)
    assert np.allclose(features.std(0, unbiased=False).numpy(), 1, atol=1e-5)
    # the features separate the classes: 0s have more ink spread wider
    assert features[labels < 0].mean(0).min() > 0 > features[labels > 0].mean(0).max()


def test_ink_features_on_hand_made_images():
    image = np.zeros((8, 8))
    image[2, 1] = image[2, 5] = 4.0   # two equal pixels at x = 1 and x = 5: variance 4
    image[6, 3] = 0.0
    count, var_x = ink_features(image[None])[0]
    assert count == 2 and np.isclose(var_x, 4.0)
    image[0, 3] = 8.0                 # weight 8 at x = 3 (the mean): variance 32 / 16 = 2
    assert np.isclose(ink_features(image[None])[0, 1], 2.0)


def test_digits_split():
    train, valid, test = digits_datasets(seed=0)
    assert (len(train), len(valid), len(test)) == (1079, 359, 359)
    x, y = train[0]
    assert x.shape == (1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    a, b = digits_arrays(0), digits_arrays(0)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    assert not np.array_equal(digits_arrays(1)[2][1], a[2][1])
    parts = split_indices(1797, 0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(1797))


def test_mnist_is_optional_and_never_downloads(tmp_path):
    assert mnist_datasets(str(tmp_path)) is None
    assert not any(tmp_path.iterdir())


# ========================================================================== facade, leaks, notebook

def test_facade_exports():
    for name in facade.__all__:
        assert hasattr(facade, name), name
    for name, check in facade.CHECKS.items():
        assert name == check.name and getattr(facade, name).check is check
        assert name in facade.__all__


def test_facade_does_not_import_the_hw4_modules():
    code = ("import sys, support.hw2_mlp_training; "
            "print([m for m in sys.modules if m.startswith('support.')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    modules = set(eval(out))  # noqa: S307 - our own printed list
    hw4 = {m for m in modules if m == "support.plotting"
           or m.startswith("support.hw4_pytorch_regularization")}
    assert not hw4, hw4
    assert "support.hw2_mlp_training" in modules


def test_support_holds_no_solution_code():
    text = "\n".join(p.read_text() for p in (REPO / "support" / "hw2_mlp_training").glob("*.py"))
    for name in ("make_mlp", "perceptron_loss", "train_by_gradient_descent",
                 "loss_and_accuracy", "train"):
        assert not re.search(rf"^\s*def {name}\(", text, re.M), name


EXPECTED_CELLS = {
    "make_mlp_tests": ("test", 2), "perceptron_loss_tests": ("test", 2),
    "train_by_gradient_descent_tests": ("test", 3), "q4_answer": ("answer", 2),
    "q5_answer": ("answer", 2), "loss_and_accuracy_tests": ("test", 2),
    "train_tests": ("test", 3), "hyperparameters_tests": ("test", 2),
    "q9_answer": ("answer", 2), "q10_answer": ("answer", 2),
}


def test_notebook_structure():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    graded = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None
        if meta.get("grade"):
            kind = "answer" if meta.get("solution") else "test"
            graded[meta["grade_id"]] = (kind, meta["points"])
        if meta.get("grade") and not meta.get("solution"):
            lines = cell.source.splitlines()
            visible = lines[0]
            match = re.fullmatch(r"(test_\w+)\(([\w, ]+)\)", visible)
            assert match and match.group(1) in facade.CHECKS, visible
            assert lines[1] == "### BEGIN HIDDEN TESTS" and lines[-1] == "### END HIDDEN TESTS"
            hidden = lines[2:-1]
            assert hidden and all(h.startswith(match.group(1) + "(") and "seed=" in h
                                  for h in hidden)
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    assert graded == EXPECTED_CELLS
    assert sum(p for _, p in graded.values()) == 22
