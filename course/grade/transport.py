"""Probe data across a process boundary as arrays and JSON, never pickle.

A probe returns a dict whose values are numpy arrays or JSON-able plain values (numbers,
strings, bools, None, and lists/dicts of those).  ``encode`` writes it as one blob:

    MAGIC | header length (8 bytes, little-endian) | header (JSON) | the arrays' bytes

The header lists each array's name, dtype and shape, in the order their bytes follow, and
holds the plain values.  ``decode`` rebuilds the arrays from those bytes with
``np.frombuffer``: only numbers, bools and strings, every size checked against the blob,
so a forged blob can hold data but never code.  (An ``.npz`` archive did the same job at
about ten times the cost: the grader decodes some forty probes per student.)
"""

from __future__ import annotations

import json
import math

import numpy as np

MAGIC = b"course-probe-data/1\n"
SUFFIX = ".probe"  # the file a student process writes a probe's data to
LENGTH_BYTES = 8
ARRAY_KINDS = "biufcSU"  # bool, signed, unsigned, float, complex, bytes, str: no objects
MAX_DIMENSIONS = 32


def to_plain(value):
    """Tensors become numpy arrays; numpy scalars become Python numbers; the rest is kept."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.generic):
        return value.item()
    return value


def encode(data: dict) -> bytes:
    """Serialise probe data to bytes."""
    arrays, plain = [], {}
    for key, value in data.items():
        value = to_plain(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in ARRAY_KINDS or value.dtype.fields is not None:
                raise TypeError(f"probe data {key!r} is an array of {value.dtype}; "
                                f"send numbers")
            arrays.append((str(key), value))
        else:
            plain[key] = value
    header = json.dumps({
        "arrays": [[name, array.dtype.str, list(array.shape)] for name, array in arrays],
        "plain": plain,
    }).encode()
    return b"".join([MAGIC, len(header).to_bytes(LENGTH_BYTES, "little"), header,
                     *(array.tobytes(order="C") for _, array in arrays)])


def decode(blob: bytes) -> dict:
    """Read probe data written by :func:`encode`; anything else raises ValueError."""
    blob = bytes(blob)
    if not blob.startswith(MAGIC):
        raise ValueError("not probe data (it does not start as encode() writes it)")
    start = len(MAGIC) + LENGTH_BYTES
    length = int.from_bytes(blob[len(MAGIC):start], "little")
    if len(blob) < start + length:
        raise ValueError("probe data is cut short (its header)")
    header = json.loads(blob[start:start + length])
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list) \
            or not isinstance(header.get("plain"), dict):
        raise ValueError("probe data header has no arrays list and plain dict")
    data, offset = {}, start + length
    for entry in header["arrays"]:
        name, dtype, shape = _array_entry(entry)
        if name in data:
            raise ValueError(f"probe data names repeated: {name!r}")
        size = math.prod(shape) * dtype.itemsize
        if offset + size > len(blob):
            raise ValueError(f"probe data is cut short (array {name!r})")
        if dtype.kind == "b":  # any byte but 0 is True, as numpy reads a bool
            array = np.frombuffer(blob, np.uint8, math.prod(shape), offset) != 0
        else:  # a copy: writable, and not a view of the whole blob
            array = np.frombuffer(blob, dtype, math.prod(shape), offset).copy()
        data[name] = array.reshape(shape)
        offset += size
    if offset != len(blob):
        raise ValueError(f"probe data has {len(blob) - offset} bytes after its arrays")
    overlap = set(data) & set(header["plain"])
    if overlap:
        raise ValueError(f"probe data names repeated: {sorted(overlap)}")
    data.update(header["plain"])
    return data


def _array_entry(entry) -> tuple[str, np.dtype, tuple[int, ...]]:
    """One header entry ``[name, dtype, shape]``, checked: a plain dtype, a sane shape."""
    if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
            and isinstance(entry[1], str) and isinstance(entry[2], list)):
        raise ValueError("probe data header entry is not [name, dtype, shape]")
    name, spec, shape = entry
    try:
        dtype = np.dtype(spec)
    except (TypeError, ValueError, SyntaxError):
        raise ValueError(f"probe data {name!r} has an unknown dtype {spec[:40]!r}") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype \
            or dtype.hasobject or dtype.itemsize == 0:
        raise ValueError(f"probe data {name!r} has dtype {dtype}: only numbers and text")
    if len(shape) > MAX_DIMENSIONS or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"probe data {name!r} has a bad shape {str(shape)[:60]}")
    return name, dtype, tuple(shape)
