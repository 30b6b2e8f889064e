"""Checkers, data and plots for hw5_overfitting (overfitting, regularisation, quadratic surfaces).

The notebook does ``from support.hw5_overfitting import *``.  ``CHECKS`` maps each checker's
name to its :class:`~support.checking.Check`, which the grader uses to run the same check
across a process boundary.  Nothing here imports the hw4 modules.
"""

from .checking import make_checker
from .hw5_helpers import (compare_curves, compare_losses_plot, get_accuracy,
                          get_training_progress_plot, plot_contours, plot_distances,
                          plot_histories, plot_metrics)
from .hw5_quadratic_checks import FUNCTION, GRADIENT_DESCENT, LARGEST_STABLE_LR, MOMENTUM
from .hw5_reviews import load_imdb, load_reviews, make_review_corpus
from .hw5_text_checks import (COUNT_VECTORIZER, ENCODE_LABELS, INDEX_VECTOR, REVIEW_DATASET,
                              TOKENIZE, UNKNOWN_TOKEN)
from .hw5_model_checks import BUILD_MODEL
from .hw5_training_checks import EARLY_STOPPING, EVALUATE, TRAIN

CHECKS = {check.name: check for check in (
    TOKENIZE, COUNT_VECTORIZER, INDEX_VECTOR, ENCODE_LABELS, REVIEW_DATASET,
    BUILD_MODEL, TRAIN, EARLY_STOPPING, EVALUATE,
    FUNCTION, GRADIENT_DESCENT, LARGEST_STABLE_LR, MOMENTUM,
)}

test_tokenize = make_checker(TOKENIZE)
test_count_vectorizer = make_checker(COUNT_VECTORIZER)
test_get_index_vector = make_checker(INDEX_VECTOR)
test_encode_labels = make_checker(ENCODE_LABELS)
test_review_dataset = make_checker(REVIEW_DATASET)
test_build_model = make_checker(BUILD_MODEL)
test_train = make_checker(TRAIN)
test_early_stopping = make_checker(EARLY_STOPPING)
test_evaluate = make_checker(EVALUATE)
test_function = make_checker(FUNCTION)
test_do_gradient_descent = make_checker(GRADIENT_DESCENT)
test_largest_stable_lr = make_checker(LARGEST_STABLE_LR)
test_do_momentum_gd = make_checker(MOMENTUM)

__all__ = [
    # data
    "make_review_corpus", "load_imdb", "load_reviews", "UNKNOWN_TOKEN",
    # helpers and plots
    "get_accuracy", "get_training_progress_plot", "plot_metrics", "compare_losses_plot",
    "compare_curves", "plot_contours", "plot_histories", "plot_distances",
    # checkers
    "test_tokenize", "test_count_vectorizer", "test_get_index_vector", "test_encode_labels",
    "test_review_dataset", "test_build_model", "test_train", "test_early_stopping",
    "test_evaluate", "test_function", "test_do_gradient_descent", "test_largest_stable_lr",
    "test_do_momentum_gd",
]
