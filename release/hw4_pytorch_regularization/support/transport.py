"""Probe data across a process boundary as arrays and JSON, never pickle.

A probe returns a dict whose values are numpy arrays or JSON-able plain values (numbers,
strings, bools, None, and lists/dicts of those).  ``encode`` writes it as one ``.npz`` file
(arrays under their own names, everything else in a JSON member ``__json__``); ``decode``
reads it back with ``allow_pickle=False``, so a forged file can hold data but never code.
"""

from __future__ import annotations

import io
import json

import numpy as np

JSON_KEY = "__json__"


def to_plain(value):
    """Tensors become numpy arrays; numpy scalars become Python numbers; the rest is kept."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode(data: dict) -> bytes:
    """Serialise probe data to bytes (an npz archive)."""
    arrays, plain = {}, {}
    for key, value in data.items():
        value = to_plain(value)
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError(f"probe data {key!r} is an object array; send numbers")
            arrays[key] = value
        else:
            plain[key] = value
    if JSON_KEY in arrays:
        raise ValueError(f"{JSON_KEY!r} is reserved")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{JSON_KEY: np.array(json.dumps(plain))})
    return buffer.getvalue()


def decode(blob: bytes) -> dict:
    """Read probe data written by :func:`encode`; refuses pickled content."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        data = {key: archive[key] for key in archive.files if key != JSON_KEY}
        plain = json.loads(str(archive[JSON_KEY])) if JSON_KEY in archive.files else {}
    overlap = set(data) & set(plain)
    if overlap:
        raise ValueError(f"probe data names repeated: {sorted(overlap)}")
    data.update(plain)
    return data
