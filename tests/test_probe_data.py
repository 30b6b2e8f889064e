"""support/probe_data.py: the one reader of untrusted probe data that every verdict uses.
Well-formed data reads back typed; anything else is a CheckFailure with the property
"probe data" that names the key and what was expected, never a KeyError or a TypeError."""

from __future__ import annotations

import numpy as np
import pytest

from support.checking import CheckFailure
from support.probe_data import ProbeData

GOOD = {"n": 3, "rate": 0.5, "ok": True, "name": "relu", "shape": [2, 3], "rows": [[1], []],
        "w": np.arange(6.0).reshape(2, 3), "loss": [0.3, 0.2], "nothing": None,
        "flag0d": np.array(True), "count": 4.0}


def test_well_formed_values_read_back_typed():
    d = ProbeData("test_x", GOOD, keys=("n", "w"))
    assert d.integer("n") == 3 and d.integer("count") == 4
    assert d.number("rate") == 0.5 and d.number("nothing", optional=True) is None
    assert d.flag("ok") is True and d.flag("flag0d") is True
    assert d.text("name") == "relu" and d.shape("shape") == (2, 3)
    assert d.items("rows") == [[1], []] and d.items("nothing") is None
    assert d.numbers("loss").tolist() == [0.3, 0.2]
    assert d.array("w", shape=(2, 3)).dtype == np.float64
    assert d.array("w", shape=(None, 3), ndim=2).shape == (2, 3)  # None: any length
    assert d.array("loss", ndim=1).tolist() == [0.3, 0.2]          # a list of numbers


@pytest.mark.parametrize("read, expected", [
    (lambda d: ProbeData("test_x", GOOD, keys=("n", "gone", "lost")), "['gone', 'lost'] missing"),
    (lambda d: ProbeData("test_x", [1, 2]), "list"),
    (lambda d: d.get("gone"), "missing"),
    (lambda d: d.integer("rate"), "'rate' as an integer"),
    (lambda d: d.integer("ok"), "'ok' as a number"),  # a bool is not a count
    (lambda d: d.flag("n"), "'n' as a bool"),
    (lambda d: d.text("n"), "'n' as a string"),
    (lambda d: d.items("name"), "'name' as a list"),
    (lambda d: d.array("name"), "'name' as a numeric array"),
    (lambda d: d.array("w", shape=(None, 4)), "'w' of shape (None, 4)"),
    (lambda d: d.array("w", ndim=1), "'w' as a 1-d array"),
    (lambda d: d.array("nothing"), "'nothing' as a numeric array"),
])
def test_malformed_data_is_a_probe_data_failure_naming_the_key(read, expected):
    with pytest.raises(CheckFailure) as info:
        read(ProbeData("test_x", GOOD))
    assert info.value.prop == "probe data"
    assert expected in str(info.value) and "test_x" in str(info.value)
