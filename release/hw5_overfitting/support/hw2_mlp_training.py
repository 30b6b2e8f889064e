"""Checkers, data and plots for hw2_mlp_training (training MLPs: perceptron loss, gradient
descent by hand, minibatch training with DataLoader and torch.optim).

The notebook does ``from support.hw2_mlp_training import *``.  ``CHECKS`` maps each checker's
name to its :class:`~support.checking.Check`, which the grader runs across a process
boundary.  Nothing here imports the hw4 modules.
"""

from .checking import make_checker
from .hw2_data import (digits_datasets, mnist_datasets, plot_decision, plot_features,
                       plot_history, plot_loss_history, show_predictions, zero_one_features)
from .hw2_gd_checks import TRAIN_BY_GD
from .hw2_loop_checks import LOSS_AND_ACCURACY, TRAIN
from .hw2_model_checks import MAKE_MLP, PERCEPTRON_LOSS
from .hw2_tuning_checks import HYPERPARAMETERS

CHECKS = {check.name: check for check in (
    MAKE_MLP, PERCEPTRON_LOSS, TRAIN_BY_GD, LOSS_AND_ACCURACY, TRAIN, HYPERPARAMETERS,
)}

test_make_mlp = make_checker(MAKE_MLP)
test_perceptron_loss = make_checker(PERCEPTRON_LOSS)
test_train_by_gradient_descent = make_checker(TRAIN_BY_GD)
test_loss_and_accuracy = make_checker(LOSS_AND_ACCURACY)
test_train = make_checker(TRAIN)
test_hyperparameters = make_checker(HYPERPARAMETERS)

__all__ = [
    "zero_one_features", "digits_datasets", "mnist_datasets",
    "plot_features", "plot_decision", "plot_loss_history", "plot_history", "show_predictions",
    "test_make_mlp", "test_perceptron_loss", "test_train_by_gradient_descent",
    "test_loss_and_accuracy", "test_train", "test_hyperparameters",
]
