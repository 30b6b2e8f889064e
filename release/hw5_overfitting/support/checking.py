"""The shape every checker in this package has: a probe, a verdict, and their parameters.

A check is split in two so that the same definition can run in two places:

* ``probe(params, *student_objects, **options) -> dict`` runs the student's code on inputs
  built from ``params`` and returns *plain data* only (numpy arrays, floats, ints, bools,
  strings, lists of those).  It never decides anything.
* ``verdict(params, data, **plain_options) -> str`` rebuilds the same inputs from ``params``,
  computes its own reference from the maths, and either returns a one-line summary of what
  passed or raises :class:`CheckFailure` naming the property that broke.
* ``make_params(seed, device) -> dict`` draws the inputs' description (seeds, shapes,
  learning rates...) as plain data.  Seed 0 is the canonical case the notebook shows;
  any other seed draws other shapes and rates (hidden tests, the grader).

In a notebook the three run in one process (:meth:`Check.__call__`).  The grader runs the
probe inside the student's process and the verdict in its own, on parameters it drew
itself, so a student who patches torch or forges output only controls data.
"""

from __future__ import annotations

import contextlib
import traceback
from dataclasses import dataclass
from typing import Any, Callable

PLAIN_TYPES = (str, int, float, bool, type(None))
GIVEN = "<given>"  # how a non-literal option (a class, a function) reaches the verdict


class CheckFailure(AssertionError):
    """A check found a property of the student's code that is wrong.

    ``prop`` is a short, stable name of the property ("output shape", "bias is zero", ...);
    tests assert on it.  The message shows expected vs observed and a hint, never the answer.
    """

    def __init__(self, check: str, prop: str, expected: Any = None, observed: Any = None,
                 hint: str = ""):
        self.check, self.prop = check, prop
        self.expected, self.observed, self.hint = expected, observed, hint
        lines = [f"{check} failed: {prop}"]
        if expected is not None:
            lines.append(f"  expected: {expected}")
        if observed is not None:
            lines.append(f"  observed: {observed}")
        if hint:
            lines.append(f"  hint: {hint}")
        super().__init__("\n".join(lines))


class StudentCodeError(Exception):
    """The student's code raised while a probe was calling it."""

    def __init__(self, what: str, error: BaseException):
        self.what = what
        self.error_type = type(error).__name__
        self.detail = _last_student_line(error)
        super().__init__(f"{what} raised {self.error_type}: {error}")


def _last_student_line(error: BaseException) -> str:
    """The innermost traceback line outside this package, to point the student at their code."""
    def is_library(filename: str) -> bool:
        filename = filename.replace("\\", "/")
        return "/support/" in filename or "/site-packages/" in filename

    frames = [f for f in traceback.extract_tb(error.__traceback__) if not is_library(f.filename)]
    if not frames:
        return ""
    f = frames[-1]
    return f"line {f.lineno}: {f.line}" if f.line else f"line {f.lineno}"


def call_student(what: str, fn: Callable, *args, **kwargs):
    """Call student code; any exception becomes a :class:`StudentCodeError` saying ``what``."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - anything the student's code raises
        raise StudentCodeError(what, error) from error


def plain_options(options: dict) -> dict:
    """Options as the verdict sees them: literals as they are, any other object as GIVEN."""
    return {k: (v if isinstance(v, PLAIN_TYPES) else GIVEN) for k, v in options.items()}


def failure_from_student_error(check: str, error: StudentCodeError) -> CheckFailure:
    """The failure a check reports when the student's code raised instead of returning."""
    where = f" (at {error.detail})" if error.detail else ""
    return CheckFailure(check, "your code raised an exception", observed=f"{error}{where}",
                        hint="call the function yourself on small inputs and read the traceback")


@contextlib.contextmanager
def preserved_random_state():
    """Run a probe without moving the notebook's random streams (torch, CUDA, numpy, random).

    A student's later results then do not depend on whether they ran the checks.
    """
    import random

    import numpy as np
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def default_device() -> str:
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class Check:
    """One check: its name (the notebook function's name), probe, verdict and parameters."""

    name: str
    probe: Callable[..., dict]
    verdict: Callable[..., str]
    make_params: Callable[[int, str], dict]
    doc: str = ""

    def run(self, *args, seed: int = 0, device: str | None = None, **options) -> str:
        """Probe and verdict in this process; returns the pass summary or raises CheckFailure."""
        params = self.make_params(seed, device or default_device())
        try:
            with preserved_random_state():
                data = self.probe(params, *args, **options)
        except CheckFailure:
            raise
        except StudentCodeError as error:
            raise failure_from_student_error(self.name, error) from None
        except Exception as error:  # noqa: BLE001 - an object that is not what the check needs
            raise CheckFailure(self.name, "your code raised an exception",
                               observed=f"{type(error).__name__}: {error}",
                               hint="check that you passed the object the question asks for "
                                    "and that it runs on small inputs") from None
        return self.verdict(params, data, **plain_options(options))

    def __call__(self, *args, seed: int = 0, device: str | None = None, **options) -> None:
        summary = self.run(*args, seed=seed, device=device, **options)
        print(f"{self.name} passed: {summary}")


def make_checker(check: Check) -> Callable:
    """The notebook-facing function for a check, with the check's docstring."""

    def checker(*args, **options):
        return check(*args, **options)

    checker.__name__ = checker.__qualname__ = check.name
    checker.__doc__ = check.doc or check.verdict.__doc__
    checker.check = check
    return checker
