"""Reading a probe's data in a verdict without trusting it.

The probe may have run in another (hostile) process, so every value a verdict reads is
checked for presence and type: anything missing or malformed becomes a
:class:`~support.checking.CheckFailure` with the property "probe data", never a KeyError.
"""

from __future__ import annotations

import math

import numpy as np

from .checking import CheckFailure

PROBE_HINT = ("the data the check collected from your code is incomplete or malformed; "
              "run the check in the notebook, where the probe and the verdict run together")


class ProbeData:
    """Typed access to one probe's data for the verdict of the check ``check``; ``keys``:
    the ones every probe sends (all missing ones are named at once, before any is read)."""

    def __init__(self, check: str, data, keys=()):
        self.check = check
        if not isinstance(data, dict):
            self.fail("a dict of probe data", type(data).__name__)
        self.data = data
        missing = [key for key in keys if key not in data]
        if missing:
            self.fail(f"the probe's results {list(keys)}", f"{missing} missing")

    def fail(self, expected, observed):
        """Stop the verdict: the probe data is not what the check collects."""
        raise CheckFailure(self.check, "probe data", expected=expected, observed=observed,
                           hint=PROBE_HINT)

    def get(self, key, what="a value"):
        """The value of ``key``, whatever its type (a failure when it is missing)."""
        if key not in self.data:
            self.fail(f"{key!r} ({what})", "missing")
        return self.data[key]

    def has(self, key) -> bool:
        return key in self.data and self.data[key] is not None

    def flag(self, key) -> bool:
        value = self.get(key, "a bool")
        if isinstance(value, np.ndarray) and value.shape == () and value.dtype == bool:
            value = bool(value)
        if not isinstance(value, bool):
            self.fail(f"{key!r} as a bool", repr(value)[:80])
        return value

    def number(self, key, optional=False):
        """A finite-or-not float; None if ``optional`` and the probe sent None."""
        value = self.get(key, "a number")
        if value is None and optional:
            return None
        if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{key!r} as a number", repr(value)[:80])
        return float(value)

    def integer(self, key) -> int:
        value = self.number(key)
        if not math.isfinite(value) or value != int(value):
            self.fail(f"{key!r} as an integer", value)
        return int(value)

    def text(self, key, optional=False):
        value = self.get(key, "a string")
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.fail(f"{key!r} as a string", repr(value)[:80])
        return value

    def shape(self, key, optional=False):
        """A shape sent as a list of ints (None if ``optional`` and the probe sent None)."""
        value = self.get(key, "a shape")
        if value is None and optional:
            return None
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu":
            value = value.tolist()
        if (not isinstance(value, (list, tuple))
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            self.fail(f"{key!r} as a list of ints", repr(value)[:80])
        return tuple(value)

    def texts(self, key, length=None) -> list:
        return self._list(key, "strings", lambda v: isinstance(v, str), length)

    def flags(self, key, length=None) -> list:
        return self._list(key, "bools", lambda v: isinstance(v, bool), length)

    def integers(self, key, length=None) -> list:
        return self._list(key, "ints", lambda v: isinstance(v, int) and not isinstance(v, bool),
                          length)

    def _list(self, key, kind: str, is_item, length=None) -> list:
        """A list whose every entry passes ``is_item`` (of ``length`` entries when given)."""
        value = self.get(key, f"a list of {kind}")
        if not isinstance(value, list) or not all(is_item(v) for v in value):
            self.fail(f"{key!r} as a list of {kind}", repr(value)[:80])
        if length is not None and len(value) != length:
            self.fail(f"{key!r} with {length} entries", f"{len(value)} entries")
        return value

    def items(self, key):
        """A list of anything (checked by the caller), or None when the probe sent None."""
        value = self.get(key, "a list")
        if value is not None and not isinstance(value, list):
            self.fail(f"{key!r} as a list", repr(value)[:80])
        return value

    def numbers(self, key, optional=False):
        """A 1-D float64 array from a list of numbers or a 1-D numeric array (None if
        ``optional`` and the probe sent None)."""
        value = self.get(key, "a list of numbers")
        if value is None and optional:
            return None
        if isinstance(value, list) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return np.asarray(value, dtype=float).reshape(-1)
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iuf":
            return value.astype(float)
        self.fail(f"{key!r} as a list of numbers", repr(value)[:80])

    def array(self, key, shape=None, optional=False, ndim=None):
        """A numeric numpy array as float64 (None if ``optional`` and the probe sent None);
        ``shape`` entries of None match any length."""
        value = self.get(key, "an array")
        if value is None and optional:
            return None
        if isinstance(value, (list, int, float)) and not isinstance(value, bool):
            try:
                value = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                self.fail(f"{key!r} as a numeric array", repr(value)[:80])
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            self.fail(f"{key!r} as a numeric array", type(value).__name__)
        if ndim is not None and value.ndim != ndim:
            self.fail(f"{key!r} as a {ndim}-d array", f"shape {tuple(value.shape)}")
        if shape is not None and (value.ndim != len(shape) or any(
                want is not None and want != got for want, got in zip(shape, value.shape))):
            self.fail(f"{key!r} of shape {tuple(shape)}", f"shape {tuple(value.shape)}")
        return value.astype(float)
