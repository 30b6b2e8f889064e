"""Course support: checkers, plots and offline data for the assignments.

Layout: a small core used by every assignment (:mod:`support.checking`,
:mod:`support.numeric`, :mod:`support.probe_data`, :mod:`support.stats`,
:mod:`support.plotting`) and one package per assignment, named after it
(``support/hw1_gradient_descent/`` ...), whose ``__init__`` is the facade its notebook imports.

``from support import *`` gives the core assignment's helpers and checkers, those of
:mod:`support.hw4_pytorch_regularization`.  Other assignments import their own facade,
``from support.<assignment> import *``.  The core facade is loaded on first use, so that
importing another assignment's facade does not pay for it, and a student folder that carries
only another assignment's package still imports ``support``.
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
        try:
            module = importlib.import_module(f"{__name__}.{CORE_ASSIGNMENT}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{CORE_ASSIGNMENT}":
                raise
            raise ImportError(
                f"support.{name} belongs to {CORE_ASSIGNMENT}, whose support/{CORE_ASSIGNMENT}/ "
                f"package is not in this folder; import your own assignment's names with "
                f"'from support.<assignment> import *'") from None
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
