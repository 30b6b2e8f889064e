"""Small helpers shared by the hw1_gradient_descent checks (probe side and verdict side).

Nothing here knows an answer: it turns what student code returned into plain data, runs
student code without letting its prints or progress bars reach the test cell, and formats
numbers for messages.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from ..checking import call_student, student_output_dropped
from ..numeric import fmt, single_thread, to_array  # noqa: F401 - used by the checks


def as_number(value):
    """float(value) for a number, a numpy scalar or a one-element tensor/array; else None."""
    if isinstance(value, (bool, str, bytes)):
        return None
    try:
        array = to_array(value)
    except (TypeError, ValueError, RuntimeError):
        return None
    if array.size != 1:
        return None
    return float(array.reshape(()))


def describe(value) -> str:
    """A short description of a returned object for a failure message."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def quietly(what: str, fn, *args, **kwargs):
    """:func:`call_student` with the student's prints and progress bars kept out of the cell.

    A graded cell that writes to stderr scores 0 in nbgrader (a tqdm bar does), so the
    training functions run with stdout and stderr captured; what they printed is dropped.
    """
    with student_output_dropped():
        return call_student(what, fn, *args, **kwargs)


def seed_everything(*seeds: int) -> None:
    """Seed torch, numpy and random from a tuple of ints, so that any shuffling a student
    writes (torch.randperm, np.random.permutation, random.shuffle) is reproducible."""
    value = int(np.random.default_rng(list(seeds)).integers(2 ** 31 - 1))
    torch.default_generator.manual_seed(value)  # the CPU generator (torch.manual_seed also
    #                                             seeds every accelerator: 4 ms a call)
    np.random.seed(value)
    random.seed(value)


def shape_text(shape) -> str:
    """(3,) / (4, 5) / () as Python writes a tuple."""
    shape = tuple(shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def error_text(error) -> str:
    """A StudentCodeError as one line, with the student's line when known."""
    return f"{error}" + (f" (at {error.detail})" if getattr(error, "detail", "") else "")
