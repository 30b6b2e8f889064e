"""Checkers, data and plots for hw2_mlp_training (training MLPs: perceptron loss, gradient
descent by hand, minibatch training with DataLoader and torch.optim).

The notebook does ``from support.hw2_mlp_training import *``.  ``CHECKS`` maps each checker's
name to its :class:`~support.checking.Check`, which the grader runs across a process
boundary.  Nothing here imports the hw4 modules.
"""

from ..checking import export_checks
from .data import (digits_datasets, mnist_datasets, plot_decision, plot_features,
                   plot_history, plot_loss_history, show_predictions, zero_one_features)
from .gd_checks import TRAIN_BY_GD
from .loop_checks import LOSS_AND_ACCURACY, TRAIN
from .model_checks import MAKE_MLP, PERCEPTRON_LOSS
from .tuning_checks import HYPERPARAMETERS

# One list: each check gives the notebook its test_<name> checker (defined here by
# export_checks), its entry in CHECKS and its name in __all__.
CHECKS, __all__ = export_checks(globals(), checks=(
    MAKE_MLP, PERCEPTRON_LOSS, TRAIN_BY_GD, LOSS_AND_ACCURACY, TRAIN, HYPERPARAMETERS,
), helpers=(
    "zero_one_features", "digits_datasets", "mnist_datasets",
    "plot_features", "plot_decision", "plot_loss_history", "plot_history", "show_predictions",
))
