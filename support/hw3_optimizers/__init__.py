"""Checkers and helpers for hw3_optimizers (gradient descent, momentum, minibatches, RMSprop).

The notebook does ``from support.hw3_optimizers import *``, which gives everything in
``__all__``: the data, the :class:`MLP` model, the plotting and experiment helpers, and one
``test_<name>`` checker per graded function.  ``CHECKS`` maps each checker's name to its
:class:`~support.checking.Check`, which is what the grader uses to run the same check
across a process boundary.  Nothing here imports the hw4 modules.
"""

from ..checking import export_checks
from .common import (MLP, benchmark_accuracy, benchmark_predictions, evaluate,
                     load_digits_split, load_mnist, make_loss_2d, newton_optimum_2d,
                     perturbed_copy, plot_losses,
                     plot_param_distance, plot_timings, plot_training,
                     plot_trajectories_2d, print_params, run_optimizer,
                     show_class_filters, show_digits, time_forward_backward,
                     train_model, zero_grad)
from .minibatch_checks import SAMPLE_MINIBATCH
from .training_checks import BEAT_BENCHMARK
from .update_checks import GRADIENT_UPDATE, MOMENTUM_UPDATE, RMSPROP_UPDATE

# One list: each check gives the notebook its test_<name> checker (defined here by
# export_checks), its entry in CHECKS and its name in __all__.
CHECKS, __all__ = export_checks(globals(), checks=(
    GRADIENT_UPDATE, MOMENTUM_UPDATE, SAMPLE_MINIBATCH, RMSPROP_UPDATE, BEAT_BENCHMARK,
), helpers=(
    "MLP", "zero_grad", "print_params", "evaluate", "train_model", "benchmark_accuracy",
    "benchmark_predictions",
    "load_digits_split", "load_mnist",
    "show_digits", "show_class_filters", "plot_losses", "plot_training",
    "make_loss_2d", "newton_optimum_2d", "run_optimizer", "plot_param_distance",
    "plot_trajectories_2d", "perturbed_copy", "time_forward_backward", "plot_timings",
))
