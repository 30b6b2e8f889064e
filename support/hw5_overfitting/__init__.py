"""Checkers, data and plots for hw5_overfitting (overfitting, regularisation, quadratic surfaces).

The notebook does ``from support.hw5_overfitting import *``.  ``CHECKS`` maps each checker's
name to its :class:`~support.checking.Check`, which the grader uses to run the same check
across a process boundary.  Nothing here imports the hw4 modules.
"""

from ..checking import export_checks
from .plots import (compare_curves, compare_losses_plot, get_accuracy,
                    get_training_progress_plot, plot_contours, plot_distances,
                    plot_histories, plot_metrics)
from .quadratic_checks import FUNCTION, GRADIENT_DESCENT, LARGEST_STABLE_LR, MOMENTUM
from .reviews import load_imdb, load_reviews, make_review_corpus
from .text_checks import (COUNT_VECTORIZER, ENCODE_LABELS, INDEX_VECTOR, REVIEW_DATASET,
                          TOKENIZE, UNKNOWN_TOKEN)
from .model_checks import BUILD_MODEL
from .training_checks import EARLY_STOPPING, EVALUATE, TRAIN

# One list: each check gives the notebook its test_<name> checker (defined here by
# export_checks), its entry in CHECKS and its name in __all__.
CHECKS, __all__ = export_checks(globals(), checks=(
    TOKENIZE, COUNT_VECTORIZER, INDEX_VECTOR, ENCODE_LABELS, REVIEW_DATASET,
    BUILD_MODEL, TRAIN, EARLY_STOPPING, EVALUATE,
    FUNCTION, GRADIENT_DESCENT, LARGEST_STABLE_LR, MOMENTUM,
), helpers=(
    # data
    "make_review_corpus", "load_imdb", "load_reviews", "UNKNOWN_TOKEN",
    # helpers and plots
    "get_accuracy", "get_training_progress_plot", "plot_metrics", "compare_losses_plot",
    "compare_curves", "plot_contours", "plot_histories", "plot_distances",
))
