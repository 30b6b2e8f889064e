"""Small tools shared by the hw5 checkers.

* :func:`to_plain_list` turns whatever the student returned (list, tuple, tensor, array)
  into JSON-able data for the probe.

Their verdicts read probe data through :class:`support.probe_data.ProbeData`, as every
assignment's do; the core's :func:`support.checking.student_output_dropped` silences the
student's prints and :func:`support.checking.preserved_random_state` keeps the notebook's
random streams while a probe runs student code.
"""

from __future__ import annotations

import functools
import math
import numbers
import random

import numpy as np

from ..numeric import close, to_array as _to_array  # noqa: F401 - used by the checks

# The hw5 probes record what cannot be converted instead of failing on it.
to_array = functools.partial(_to_array, or_none=True)


def rng(seed: int, salt: int = 0) -> random.Random:
    """A seeded generator for make_params; only ``random()`` and what is built on it."""
    return random.Random(seed * 7919 + salt)


def to_plain_list(value):
    """A list of plain items from a list, tuple, tensor or array (None if not a sequence).

    Integers stay ints, floats stay floats, strings stay strings, ``None`` stays ``None``;
    anything else becomes its ``repr`` so it can be shown in a message.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().tolist()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        return None
    return [_plain_item(v) for v in value]


def _plain_item(v):
    if v is None or isinstance(v, (str, bool)):
        return v
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        v = v.item()
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    return repr(v)


def to_float(value) -> float:
    """float() of a number, a one-element tensor or array; nan if that is impossible."""
    try:
        if hasattr(value, "detach") and hasattr(value, "cpu"):
            value = value.detach().cpu().numpy()
        if isinstance(value, np.ndarray):
            return float(value.reshape(-1)[0]) if value.size == 1 else math.nan
        return float(value)
    except (TypeError, ValueError, IndexError, RuntimeError):
        return math.nan


def same_number(value, expected: float) -> bool:
    """value is a real number (not a bool) equal to expected."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and float(value) == float(expected)


def show(values, digits: int = 4) -> str:
    """A compact rendering of a list/array of numbers for messages."""
    array = np.asarray(values, dtype=float)
    return np.array2string(array, precision=digits, suppress_small=True, max_line_width=100,
                           threshold=40)
