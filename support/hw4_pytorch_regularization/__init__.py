"""Checkers and helpers for hw4_pytorch_regularization (PyTorch basics and regularisation).

The notebook does ``from support import *``, which re-exports everything in ``__all__``.
``CHECKS`` maps each checker's name to its :class:`~support.checking.Check`, which is what
the grader uses to run the same check across a process boundary.
"""

from ..checking import export_checks
from .dropout_checks import DROPOUT
from .early_stopping_checks import EARLY_STOPPING
from .layer_checks import KAIMING, LINEAR_ZEROS, NORMAL
from .loss_checks import MSE_LOSS
from .network_checks import BUILD
from ..plotting import plotRegression
from .training_checks import GRADIENT_DESCENT, TRAIN_EVAL

# One list: each check gives the notebook its test_<name> checker (defined here by
# export_checks), its entry in CHECKS and its name in __all__.
CHECKS, __all__ = export_checks(globals(), checks=(
    LINEAR_ZEROS, MSE_LOSS, GRADIENT_DESCENT, BUILD, NORMAL, KAIMING,
    EARLY_STOPPING, DROPOUT, TRAIN_EVAL,
), helpers=(
    "plotRegression",
))
