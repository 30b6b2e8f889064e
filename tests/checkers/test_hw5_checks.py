"""hw5_overfitting: every checker against correct and wrong implementations, the review corpus
and the IMDB loader."""

import hashlib
import json
import math
import re
import string
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from support import hw5_overfitting as facade
from support.hw5_overfitting.quadratic_checks import FUNCTION, GRADIENT_DESCENT, LARGEST_STABLE_LR, MOMENTUM
from support.hw5_overfitting.reviews import load_imdb, load_reviews, make_review_corpus
from support.hw5_overfitting.text_checks import (COUNT_VECTORIZER, ENCODE_LABELS, INDEX_VECTOR,
                                     REVIEW_DATASET, TOKENIZE)
from support.hw5_overfitting.model_checks import BUILD_MODEL
from support.hw5_overfitting.training_checks import EARLY_STOPPING, EVALUATE, TRAIN

from . import corpus_hw5_quadratic as quad
from . import corpus_hw5_text as text
from . import corpus_hw5_training as training
from .helpers import torch_one_thread  # noqa: F401 (a fixture, see pytestmark)
from .helpers import CUDA, assert_tamper_safe, fails_with, passes, through_transport

pytestmark = pytest.mark.usefixtures("torch_one_thread")

REPO = Path(__file__).resolve().parents[2]
SEEDS = range(51)
WRONG_SEEDS = range(6)

CASES = [
    (TOKENIZE, text.TOKENIZE_CORRECT, text.TOKENIZE_WRONG),
    (COUNT_VECTORIZER, text.VECTORIZER_CORRECT, text.VECTORIZER_WRONG),
    (INDEX_VECTOR, text.INDEX_CORRECT, text.INDEX_WRONG),
    (ENCODE_LABELS, text.LABELS_CORRECT, text.LABELS_WRONG),
    (REVIEW_DATASET, text.DATASET_CORRECT, text.DATASET_WRONG),
    (BUILD_MODEL, training.BUILD_CORRECT, training.BUILD_WRONG),
    (TRAIN, training.TRAIN_CORRECT, training.TRAIN_WRONG),
    (EARLY_STOPPING, training.EARLY_CORRECT, training.EARLY_WRONG),
    (EVALUATE, training.EVALUATE_CORRECT, training.EVALUATE_WRONG),
    (FUNCTION, quad.FUNCTION_CORRECT, quad.FUNCTION_WRONG),
    (GRADIENT_DESCENT, quad.GD_CORRECT, quad.GD_WRONG),
    (LARGEST_STABLE_LR, quad.LR_CORRECT, quad.LR_WRONG),
    (MOMENTUM, quad.MOMENTUM_CORRECT, quad.MOMENTUM_WRONG),
]
CORRECT = [(check, impl) for check, correct, _ in CASES for impl in correct]
WRONG = [(check, impl, prop) for check, _, wrong in CASES for impl, prop in wrong]
FIRST_CORRECT = [(check, correct[0]) for check, correct, _ in CASES]


def _id(value):
    return getattr(value, "name", None) or getattr(value, "__name__", None) or str(value)


# ---------------------------------------------------------------------------------------
# the corpus of implementations
# ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("check, impl", CORRECT, ids=_id)
def test_accepts_correct_implementations(check, impl):
    for seed in SEEDS:
        passes(check, impl, seed=seed)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("check, impl, prop", WRONG, ids=_id)
def test_rejects_wrong_implementations(check, impl, prop):
    for seed in WRONG_SEEDS:
        failure = fails_with(check, prop, impl, seed=seed)
        assert failure.hint, str(failure)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("impl, fraction, held", training.EARLY_PARTIAL,
                         ids=[_id(impl) for impl, *_ in training.EARLY_PARTIAL])
def test_early_stopping_partial_credit(impl, fraction, held):
    """A train right in some parts of early stopping earns the weights of those parts."""
    from .helpers import assert_partial_credit

    assert_partial_credit(EARLY_STOPPING, lambda seed: passes(EARLY_STOPPING, impl, seed=seed),
                          fraction, held, seeds=range(3))


def test_every_checker_has_three_correct_and_three_wrong_implementations():
    for check, correct, wrong in CASES:
        assert len(correct) >= 3 and len(wrong) >= 3, check.name
    assert {check.name for check, _, _ in CASES} == set(facade.CHECKS)


@pytest.mark.parametrize("check, impl", FIRST_CORRECT, ids=_id)
def test_through_transport(check, impl):
    assert through_transport(check, impl, seed=3)


@pytest.mark.parametrize("check, impl", FIRST_CORRECT, ids=_id)
def test_verdicts_survive_tampered_data(check, impl):
    assert_tamper_safe(check, impl, seed=2)


@pytest.mark.parametrize("check, impl", FIRST_CORRECT, ids=_id)
def test_each_check_is_fast(check, impl):
    passes(check, impl, seed=1)                      # imports and first-use costs
    start = time.process_time()
    for seed in (4, 5, 6):
        passes(check, impl, seed=seed)
    assert (time.process_time() - start) / 3 < 0.5, check.name


@CUDA
@pytest.mark.parametrize("check, impl", FIRST_CORRECT, ids=_id)
def test_checks_run_on_cuda(check, impl):
    for seed in range(3):
        passes(check, impl, seed=seed, device="cuda")


def test_make_params_are_plain_and_vary_with_the_seed():
    for check, _, _ in CASES:
        params = [check.make_params(seed, "cpu") for seed in range(4)]
        for p in params:
            assert json.loads(json.dumps(p)) == p
            assert p["seed"] in range(4) and p["device"] == "cpu"
        stripped = [{k: v for k, v in p.items() if k != "seed"} for p in params]
        assert len({json.dumps(p, sort_keys=True) for p in stripped}) == 4, check.name


# ---------------------------------------------------------------------------------------
# what the wrong implementations are told
# ---------------------------------------------------------------------------------------


def test_messages_teach_without_giving_the_answer():
    failure = fails_with(TOKENIZE, "punctuation deleted, not replaced by a space",
                         text.tokenize_punctuation_to_space)
    assert "didnt" in failure.hint
    failure = fails_with(EARLY_STOPPING, "best weights restored",
                         training.EARLY_WRONG[5][0])
    assert "deepcopy" in failure.hint
    failure = fails_with(GRADIENT_DESCENT, "start point not modified", quad.gd_seed_in_place)
    assert "clone" in failure.hint
    failure = fails_with(EVALUATE, "test_loss", training.evaluate_batch_mean)
    assert "weight each batch" in failure.hint
    failure = fails_with(TRAIN, "train_loss", training.TRAIN_WRONG[5][0])
    assert "weight each batch" in failure.hint


def test_a_crash_names_the_call():
    failure = fails_with(INDEX_VECTOR, "your code raised an exception",
                         text.index_vector_off_by_one)
    assert "IndexError" in str(failure.observed)


# ---------------------------------------------------------------------------------------
# the inputs the checks build
# ---------------------------------------------------------------------------------------


def test_tokenize_inputs_tokenize_to_their_words():
    table = str.maketrans("", "", string.punctuation)
    for seed in range(200):
        params = TOKENIZE.make_params(seed, "cpu")
        assert [t.translate(table).lower().split() for t in params["texts"]] == \
            params["expected"]
        assert any(set(t) & set(string.punctuation) for t in params["texts"])
        assert "_" not in "".join(params["texts"])       # \w would keep it


def test_vectorizer_inputs_rank_as_stated():
    for seed in range(200):
        p = COUNT_VECTORIZER.make_params(seed, "cpu")
        ranked = [w for w, _ in Counter(p["tokens"]).most_common()]
        assert ranked == p["words"]
        counts = [p["tokens"].count(w) for w in p["words"]]
        assert counts == p["counts"] and len(set(counts)) < len(counts)
        tied = [(a, b) for a, b, ca, cb in zip(ranked, ranked[1:], counts, counts[1:])
                if ca == cb]
        assert tied and all(a > b for a, b in tied)      # alphabetical order would differ
        assert p["tokens"][0] != ranked[0]


def test_index_inputs_mark_the_stated_positions():
    for seed in range(200):
        p = INDEX_VECTOR.make_params(seed, "cpu")
        for case in p["cases"]:
            size, sequence = case["size"] or 10000, case["sequence"]
            assert sorted({i for i in sequence if 0 < i < size}) == case["positions"]
        main, default, _, overflow = p["cases"]
        for case in (main, default):
            assert 0 in case["sequence"] and max(case["sequence"]) >= (case["size"] or 10000)
            assert len(case["sequence"]) > len(case["positions"])          # repeats
            assert (case["size"] or 10000) - 1 in case["positions"]
        assert overflow["size"] - 1 not in overflow["positions"]


def _rule(curve, patience, early):
    """Epochs run and best epoch under the notebook's rule, written independently."""
    best, best_epoch, strikes = math.inf, 0, 0
    for epoch, value in enumerate(curve, start=1):
        if value < best:
            best, best_epoch, strikes = value, epoch, 0
        else:
            strikes += 1
        if early and strikes >= patience:
            return epoch, best_epoch
    return len(curve), best_epoch if early else len(curve)


def test_early_stopping_curves_stop_where_stated():
    for seed in range(200):
        p = EARLY_STOPPING.make_params(seed, "cpu")
        for index, s in enumerate(p["scenarios"]):
            ran, best = _rule(s["curve"], s["patience"] or 2, s["early_stopping"])
            assert (ran, best) == (s["epochs_run"], s["best_epoch"]), (seed, s)
            assert all(v > 0 for v in s["curve"])
            if index < 3:       # the three that stop early; patience + 1 stops elsewhere
                assert _rule(s["curve"], (s["patience"] or 2) + 1, True) != (ran, best)
        first = p["scenarios"][0]
        prev_rule = _previous_rule(first["curve"], first["patience"])
        assert prev_rule != first["epochs_run"], seed


def _previous_rule(curve, patience):
    strikes = 0
    for epoch in range(2, len(curve) + 1):
        strikes = strikes + 1 if curve[epoch - 1] >= curve[epoch - 2] else 0
        if strikes >= patience:
            return epoch
    return len(curve)


def test_training_problems_have_partial_batches():
    for seed in range(200):
        setup = TRAIN.make_params(seed, "cpu")["setup"]
        n, n_val, b = len(setup["x_train"]), len(setup["x_val"]), setup["batch_size"]
        assert n % b >= 2 and n_val % b >= 2 and n >= 8 and setup["epochs"] >= 3
        rows = [tuple(r) for r in setup["x_train"] + setup["x_val"]]
        assert len(set(rows)) == len(rows)
        setup = EVALUATE.make_params(seed, "cpu")["setup"]
        assert len(setup["x_train"]) % setup["batch_size"] >= 2


def test_descent_problems_are_stable_and_not_diagonal():
    import numpy as np
    for seed in range(200):
        for check in (GRADIENT_DESCENT, MOMENTUM):
            p = check.make_params(seed, "cpu")
            h = np.asarray(p["h"])
            assert abs(h[0, 1]) > 1e-3
            assert p["lr"] < 2 / np.linalg.eigvalsh(h).max()


# ---------------------------------------------------------------------------------------
# the facade
# ---------------------------------------------------------------------------------------


def test_facade_exports_every_checker():
    names = [n for n in facade.__all__ if n.startswith("test_")]
    assert sorted(names) == sorted(facade.CHECKS)
    for name in facade.__all__:
        assert hasattr(facade, name), name
    assert facade.test_train.check is TRAIN


def test_facade_does_not_import_hw4():
    """Importing the hw5 facade loads none of the modules the hw4 facade is built from."""
    code = ("import sys, support.hw5_overfitting; "
            "bad = [m for m in sys.modules if m.startswith('support.hw4_pytorch_regularization')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)


def test_get_accuracy():
    import torch
    assert facade.get_accuracy(torch.tensor([0.9, 0.2, 0.5, 0.7]),
                               torch.tensor([1.0, 0.0, 1.0, 0.0])) == 0.5
    with pytest.raises(ValueError):
        facade.get_accuracy(torch.zeros(3, 1), torch.zeros(4))


# ---------------------------------------------------------------------------------------
# the review corpus and the IMDB loader
# ---------------------------------------------------------------------------------------


def test_corpus_is_deterministic_balanced_and_noisy():
    first = make_review_corpus(400, 300, seed=3)
    assert first == make_review_corpus(400, 300, seed=3)
    assert first != make_review_corpus(400, 300, seed=4)
    train_texts, train_labels, test_texts, test_labels = first
    assert len(train_texts) == len(train_labels) == 400
    assert len(test_texts) == len(test_labels) == 300
    assert set(train_labels) | set(test_labels) == {"pos", "neg"}
    assert 0.4 < train_labels.count("pos") / 400 < 0.6
    assert all(isinstance(t, str) and len(t.split()) > 10 for t in train_texts)
    assert any(c in "".join(train_texts) for c in ".,!?\"")
    assert any(w[0].isupper() for w in " ".join(train_texts).split())


def test_corpus_is_the_same_everywhere():
    """Only random.Random(seed).random() is used, whose sequence Python guarantees."""
    corpus = make_review_corpus(50, 20, seed=0)
    digest = hashlib.sha256(json.dumps(corpus).encode()).hexdigest()
    assert corpus[0][0].startswith("The film runs 174 minutes.")
    assert digest == "8b5ef18bb013753e0f8f15658120e4cea961ca76d7d88eac9ee323da2a16c343"


def _sentiment_score(text, positive, negative):
    words = text.translate(str.maketrans("", "", string.punctuation)).lower().split()
    return sum(w in positive for w in words) - sum(w in negative for w in words)


def test_corpus_is_learnable_but_not_clean():
    from support.hw5_overfitting import reviews
    positive = set(reviews.POSITIVE_ADJECTIVES) | {v for p in reviews.POSITIVE_VERBS for v in p}
    negative = set(reviews.NEGATIVE_ADJECTIVES) | {v for p in reviews.NEGATIVE_VERBS for v in p}
    texts, labels, _, _ = make_review_corpus(1000, 0, seed=1)
    right = sum((_sentiment_score(t, positive, negative) > 0) == (y == "pos")
                for t, y in zip(texts, labels))
    assert 0.7 < right / 1000 < 0.92            # signal, but label noise and negations
    clean = make_review_corpus(1000, 0, seed=1, label_noise=0.0)[1]
    flipped = sum(a != b for a, b in zip(labels, clean)) / 1000
    assert 0.06 < flipped < 0.14
    vocabulary = Counter(w for t in texts for w in t.lower().split())
    assert sum(1 for c in vocabulary.values() if c <= 2) > 500      # rare words to memorise


def _write_imdb(root: Path):
    for split, reviews in (("train", {"pos": ["Great <br />film!", "Loved it."],
                                      "neg": ["Awful.", "Dull<br/>and long.", "Bad."]}),
                           ("test", {"pos": ["Superb."], "neg": ["Boring."]})):
        for label, texts in reviews.items():
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i, body in enumerate(texts):
                (folder / f"{i}_{7 + i}.txt").write_text(body, encoding="utf-8")
            (folder / "notes.md").write_text("not a review")


def test_imdb_loader_reads_the_standard_layout(tmp_path):
    _write_imdb(tmp_path)
    for path in (tmp_path, tmp_path / "aclImdb", str(tmp_path)):
        train_texts, train_labels, test_texts, test_labels = load_imdb(path)
        assert train_labels == ["neg", "neg", "neg", "pos", "pos"]
        assert train_texts == ["Awful.", "Dull and long.", "Bad.", "Great  film!", "Loved it."]
        assert (test_texts, test_labels) == (["Boring.", "Superb."], ["neg", "pos"])
    limited = load_imdb(tmp_path, max_per_label=1)
    assert limited[1] == ["neg", "pos"] and limited[0] == ["Awful.", "Great  film!"]
    assert load_reviews(tmp_path)[1] == train_labels


def test_imdb_loader_explains_a_wrong_path(tmp_path):
    (tmp_path / "aclImdb" / "train" / "pos").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="aclImdb/train/pos"):
        load_imdb(tmp_path)


def test_load_reviews_without_a_path_is_the_synthetic_corpus():
    assert load_reviews(n_train=20, n_test=10) == make_review_corpus(20, 10)
