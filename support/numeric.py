"""The numeric helpers every assignment's checkers share: one rule each.

* :func:`close`: are two arrays equal within explicit tolerances?  Every caller passes its
  own ``rtol`` and ``atol`` (each checker's docstring says why its values are safe).
* :func:`to_array`: what student code returned, as a numpy array.
* :func:`fmt`: numbers rounded for a failure message.
* :func:`single_thread` / :func:`in_one_thread`: torch on one CPU thread while a probe runs.
* :func:`bundled_digits`: scikit-learn's 8x8 digits, the data set of hw1, hw2 and hw3.

Nothing here knows an answer.  Random state is kept by
:func:`support.checking.preserved_random_state`, the "your code raised" failure is built by
:func:`support.checking.student_raised`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
from pathlib import Path

import numpy as np


def close(actual, expected, *, rtol: float, atol: float) -> bool:
    """Same shape, every entry of ``actual`` finite, and elementwise
    ``|actual - expected| <= atol + rtol * |expected|``.

    NaN or inf in ``actual`` never matches (not even an inf reference: a diverged run is not
    the reference's run); a NaN reference matches nothing.
    """
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape or not np.all(np.isfinite(actual)):
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.all(np.abs(actual - expected) <= atol + rtol * np.abs(expected)))


def to_array(value, *, dtype=np.float64, or_none: bool = False) -> np.ndarray | None:
    """A tensor (any device, with or without gradients), array, number or nested list as a
    numpy array (a copy; NaN and inf kept).

    ``dtype=None`` keeps a float32/float64 tensor's own precision (other tensors become
    float64).  What cannot be converted raises TypeError/ValueError/RuntimeError, or gives
    None with ``or_none=True``.
    """
    try:
        if hasattr(value, "detach") and hasattr(value, "cpu"):
            import torch

            value = value.detach().cpu()
            if value.dtype not in (torch.float32, torch.float64):
                value = value.to(torch.float64)
            value = value.numpy()
        return np.array(value) if dtype is None else np.array(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError):
        if or_none:
            return None
        raise


def fmt(values, digits: int = 5, limit: int = 6, *, scalar: bool = True,
        count: str = "never") -> str:
    """Numbers rounded to ``digits`` significant digits for a message.

    One value prints as a number when ``scalar`` (else as a one-item list); more print as
    ``[a, b, ...]`` with at most ``limit`` entries.  ``count`` says when ``(N values)`` follows
    the list: ``"never"``, ``"always"`` or ``"more"`` (only when entries were left out, as
    ``[a, ..., (N values)]``).  Each assignment keeps its own message style by binding these
    (``functools.partial``) in one place.
    """
    array = np.asarray(values, dtype=float).ravel()
    if scalar and array.size == 1:
        return f"{array[0]:.{digits}g}"
    shown = ", ".join(f"{v:.{digits}g}" for v in array[:limit])
    more = array.size > limit
    if count == "always":
        return f"[{shown}{', ...' if more else ''}] ({array.size} values)"
    if count == "more" and more:
        return f"[{shown}, ... ({array.size} values)]"
    return f"[{shown}{', ...' if more else ''}]"


@contextlib.contextmanager
def single_thread():
    """torch on one CPU thread inside the block, the caller's setting restored afterwards.

    The checks run tiny tensors, for which extra threads only add overhead, and on a busy
    machine (a grader running many notebooks) torch's thread pool can make each small
    operation many times slower.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def in_one_thread(probe):
    """Decorator: the probe runs under :func:`single_thread`."""

    @functools.wraps(probe)
    def wrapped(*args, **kwargs):
        with single_thread():
            return probe(*args, **kwargs)

    return wrapped


@functools.lru_cache(maxsize=1)
def bundled_digits():
    """(pixels (1797, 64), classes (1797,)) of scikit-learn's bundled digits, as numpy.

    Read straight from the data file scikit-learn ships (what ``load_digits`` reads), so that
    the notebook does not pay for importing scikit-learn (seconds); ``load_digits`` itself
    is the fallback if the file is not where it used to be.
    """
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",")
        return table[:, :-1], table[:, -1].astype(np.int64)
    import sklearn.datasets

    digits = sklearn.datasets.load_digits()
    return np.asarray(digits["data"], dtype=np.float64), np.asarray(digits["target"])
