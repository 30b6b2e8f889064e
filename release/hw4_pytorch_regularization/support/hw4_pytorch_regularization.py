"""Checkers and helpers for hw4_pytorch_regularization (PyTorch basics and regularisation).

The notebook does ``from support import *``, which re-exports everything in ``__all__``.
``CHECKS`` maps each checker's name to its :class:`~support.checking.Check`, which is what
the grader uses to run the same check across a process boundary.
"""

from .checking import make_checker
from .dropout_checks import DROPOUT
from .early_stopping_checks import EARLY_STOPPING
from .layer_checks import KAIMING, LINEAR_ZEROS, NORMAL
from .loss_checks import MSE_LOSS
from .network_checks import BUILD
from .plotting import plotRegression
from .training_checks import GRADIENT_DESCENT, TRAIN_EVAL

CHECKS = {check.name: check for check in (
    LINEAR_ZEROS, MSE_LOSS, GRADIENT_DESCENT, BUILD, NORMAL, KAIMING,
    EARLY_STOPPING, DROPOUT, TRAIN_EVAL,
)}

test_linear_zeros = make_checker(LINEAR_ZEROS)
test_mse_loss = make_checker(MSE_LOSS)
test_gradient_descent = make_checker(GRADIENT_DESCENT)
test_build = make_checker(BUILD)
test_normal = make_checker(NORMAL)
test_kaiming = make_checker(KAIMING)
test_early_stopping = make_checker(EARLY_STOPPING)
test_dropout = make_checker(DROPOUT)
test_train_eval = make_checker(TRAIN_EVAL)

__all__ = [
    "plotRegression",
    "test_linear_zeros", "test_mse_loss", "test_gradient_descent", "test_build",
    "test_normal", "test_kaiming", "test_early_stopping", "test_dropout", "test_train_eval",
]
