"""Checkers, plots and data for hw1_gradient_descent (gradient descent and a network from scratch).

The notebook does ``from support.hw1_gradient_descent import *``.  ``CHECKS`` maps each
checker's name to its :class:`~support.checking.Check`, which the grader runs across a
process boundary.  This module imports nothing of the other assignments.
"""

from .checking import make_checker
from .hw1_component_checks import BCE_LOSS, RELU, SIGMOID, STABLE_BCE_LOSS
from .hw1_data import digit_images, load_binary_digits, model1_parameters
from .hw1_network_checks import MAKE_LAYER, MODEL1, NETWORK
from .hw1_optimize_checks import OPTIMIZE_F, OPTIMIZE_F_SETTINGS
from .hw1_plots import (plot_activations, plot_digits, plot_f_contours,
                        plot_gradient_descent_results, plot_learning_curves)
from .hw1_training_checks import EVALUATE, FIT, TRAIN_EPOCH, TRAINING_SETTINGS

CHECKS = {check.name: check for check in (
    OPTIMIZE_F, OPTIMIZE_F_SETTINGS, SIGMOID, RELU, BCE_LOSS, STABLE_BCE_LOSS, MODEL1,
    NETWORK, MAKE_LAYER, EVALUATE, TRAIN_EPOCH, FIT, TRAINING_SETTINGS,
)}

test_optimize_f = make_checker(OPTIMIZE_F)
test_optimize_f_settings = make_checker(OPTIMIZE_F_SETTINGS)
test_sigmoid = make_checker(SIGMOID)
test_relu = make_checker(RELU)
test_bce_loss = make_checker(BCE_LOSS)
test_stable_bce_loss = make_checker(STABLE_BCE_LOSS)
test_model1 = make_checker(MODEL1)
test_network = make_checker(NETWORK)
test_make_layer = make_checker(MAKE_LAYER)
test_evaluate = make_checker(EVALUATE)
test_train_epoch = make_checker(TRAIN_EPOCH)
test_fit = make_checker(FIT)
test_training_settings = make_checker(TRAINING_SETTINGS)

__all__ = [
    "load_binary_digits", "model1_parameters", "digit_images",
    "plot_f_contours", "plot_gradient_descent_results", "plot_activations", "plot_digits",
    "plot_learning_curves",
    "test_optimize_f", "test_optimize_f_settings", "test_sigmoid", "test_relu",
    "test_bce_loss", "test_stable_bce_loss", "test_model1", "test_network", "test_make_layer",
    "test_evaluate", "test_train_epoch", "test_fit", "test_training_settings",
]
