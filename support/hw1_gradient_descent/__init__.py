"""Checkers, plots and data for hw1_gradient_descent (gradient descent and a network from scratch).

The notebook does ``from support.hw1_gradient_descent import *``.  ``CHECKS`` maps each
checker's name to its :class:`~support.checking.Check`, which the grader runs across a
process boundary.  This module imports nothing of the other assignments.
"""

from ..checking import export_checks
from .component_checks import BCE_LOSS, RELU, SIGMOID, STABLE_BCE_LOSS
from .data import digit_images, load_binary_digits, model1_parameters
from .network_checks import MAKE_LAYER, MODEL1, NETWORK
from .optimize_checks import OPTIMIZE_F, OPTIMIZE_F_SETTINGS
from .plots import (plot_activations, plot_digits, plot_f_contours,
                    plot_gradient_descent_results, plot_learning_curves)
from .training_checks import EVALUATE, FIT, TRAIN_EPOCH, TRAINING_SETTINGS

# One list: each check gives the notebook its test_<name> checker (defined here by
# export_checks), its entry in CHECKS and its name in __all__.
CHECKS, __all__ = export_checks(globals(), checks=(
    OPTIMIZE_F, OPTIMIZE_F_SETTINGS, SIGMOID, RELU, BCE_LOSS, STABLE_BCE_LOSS, MODEL1,
    NETWORK, MAKE_LAYER, EVALUATE, TRAIN_EPOCH, FIT, TRAINING_SETTINGS,
), helpers=(
    "load_binary_digits", "model1_parameters", "digit_images",
    "plot_f_contours", "plot_gradient_descent_results", "plot_activations", "plot_digits",
    "plot_learning_curves",
))
