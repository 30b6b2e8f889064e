"""Probe data across the process boundary (course/grade/transport.py): what a probe sends arrives
unchanged, and bytes a student forged are refused with a reason, never unpickled."""

from __future__ import annotations

import io
import json
import os
import pickle

import numpy as np
import pytest
import torch

from course.grade.supervisor import probe_data, read_probe_file
from course.grade import transport
from course.grade.transport import LENGTH_BYTES, MAGIC


def forged(arrays: list, plain: dict | None = None, body: bytes = b"") -> bytes:
    """Bytes in the transport's layout with any header a forger likes."""
    header = json.dumps({"arrays": arrays, "plain": plain or {}}).encode()
    return MAGIC + len(header).to_bytes(LENGTH_BYTES, "little") + header + body


def test_round_trip_keeps_every_kind_of_value():
    data = {
        "w": torch.ones(2, 3), "loss": np.float32(0.5), "steps": np.int64(7),
        "name": "x", "ok": True, "none": None, "hist": [1.0, 2.0], "info": {"lr": 0.1},
        "mask": np.array([[True, False], [False, True]]), "labels": np.array(["cat", "dog"]),
        "counts": np.arange(10, dtype=np.uint16)[::3], "empty": np.zeros((0, 4)),
        "complex": np.array([1 + 2j]), "scalar": np.array(3.5),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    }
    back = transport.decode(transport.encode(data))
    assert set(back) == set(data)
    for key, value in data.items():
        value = transport.to_plain(value)
        if isinstance(value, np.ndarray):
            assert back[key].dtype == value.dtype and back[key].shape == value.shape, key
            assert np.array_equal(back[key], value), key
        else:
            assert back[key] == value and type(back[key]) is type(value), key


def test_decoded_arrays_are_writable_copies():
    back = transport.decode(transport.encode({"a": np.zeros(3), "b": np.ones(2)}))
    back["a"] += 1  # a verdict may work in place
    assert back["a"].tolist() == [1.0, 1.0, 1.0] and back["b"].tolist() == [1.0, 1.0]


def test_an_object_array_cannot_be_sent():
    with pytest.raises(TypeError, match="send numbers"):
        transport.encode({"bad": np.array([object()], dtype=object)})


@pytest.mark.parametrize("label, blob, reason", [
    ("a pickle", pickle.dumps({"a": 1}), "not probe data"),
    ("an .npz archive", None, "not probe data"),
    ("nothing", b"", "not probe data"),
    ("a header cut short", MAGIC + (10**6).to_bytes(LENGTH_BYTES, "little") + b"{}",
     "cut short"),
    ("an array cut short", forged([["a", "<f8", [4]]], body=b"\0" * 31), "cut short"),
    ("bytes after the arrays", forged([["a", "<f8", [1]]], body=b"\0" * 9), "after"),
    ("an object dtype", forged([["a", "|O", [1]]], body=b"\0" * 8), "only numbers"),
    ("a structured dtype", forged([["a", "i4,O", [1]]], body=b"\0" * 12), "only numbers"),
    ("a void dtype", forged([["a", "|V8", [1]]], body=b"\0" * 8), "only numbers"),
    ("a datetime dtype", forged([["a", "<M8[s]", [1]]], body=b"\0" * 8), "only numbers"),
    ("an unknown dtype", forged([["a", "no such type", [1]]]), "unknown dtype"),
    ("a negative dimension", forged([["a", "<f8", [-1]]]), "bad shape"),
    ("a float dimension", forged([["a", "<f8", [1.5]]]), "bad shape"),
    ("an enormous shape", forged([["a", "<f8", [2**40, 2**40]]]), "cut short"),
    ("a name twice", forged([["a", "|u1", [1]], ["a", "|u1", [1]]], body=b"\0\0"),
     "repeated"),
    ("an array and a value with one name", forged([["a", "|u1", [1]]], {"a": 1}, b"\0"),
     "repeated"),
    ("a header that is not an object", MAGIC + (2).to_bytes(LENGTH_BYTES, "little") + b"[]",
     "no arrays list"),
    ("an entry that is not [name, dtype, shape]", forged([["a", "<f8"]]),
     "not \\[name, dtype, shape\\]"),
])
def test_forged_bytes_are_refused_with_a_reason(label, blob, reason):
    if blob is None:
        buffer = io.BytesIO()
        np.savez(buffer, evil=np.array([{"a": 1}], dtype=object))
        blob = buffer.getvalue()
    with pytest.raises(ValueError, match=reason):
        transport.decode(blob)


def test_any_nonzero_byte_of_a_bool_array_reads_as_true():
    back = transport.decode(forged([["m", "|b1", [3]]], body=bytes([0, 1, 200])))
    assert back["m"].dtype == bool and back["m"].tolist() == [False, True, True]


def test_the_grader_reads_only_a_plain_bounded_file(tmp_path):
    blob = transport.encode({"a": np.arange(100.0)})
    path = tmp_path / f"0{transport.SUFFIX}"
    path.write_bytes(blob)
    read, data = read_probe_file(path, len(blob))
    assert read == blob and data["a"].tolist() == list(range(100))  # the bytes go to Dask
    with pytest.raises(ValueError, match="larger than"):
        read_probe_file(path, len(blob) - 1)
    with pytest.raises(ValueError, match="larger than"):
        probe_data(blob, len(blob) - 1)
    link = tmp_path / f"1{transport.SUFFIX}"
    os.symlink(path, link)  # a student's link to a file only the grader could read
    with pytest.raises(OSError):
        read_probe_file(link, len(blob))
