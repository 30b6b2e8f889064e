"""Course support: checkers, plots and offline data for the assignments.

``from support import *`` gives the core assignment's helpers and checkers, those of
:mod:`support.hw4_pytorch_regularization`.  Other assignments import their own facade,
``from support.<assignment> import *``.  The core facade is loaded on first use, so that
importing another assignment's facade does not pay for it.
"""

import importlib

CORE_ASSIGNMENT = "hw4_pytorch_regularization"

# Kept equal to the core facade's __all__ (a test checks it).
__all__ = [
    "plotRegression",
    "test_linear_zeros", "test_mse_loss", "test_gradient_descent", "test_build",
    "test_normal", "test_kaiming", "test_early_stopping", "test_dropout", "test_train_eval",
]


def __getattr__(name):
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.{CORE_ASSIGNMENT}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
