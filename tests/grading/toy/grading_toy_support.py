"""A tiny assignment's facade for the grader's own tests: checks that cost nothing.

Students write ``double(x)`` (2x), ``square(x)`` (x**2) and ``scale(x, factor)``.  Each check
follows the real contract (probe returns plain data, verdict recomputes the answer from the
parameters), with numpy only so that a student process starts in a fraction of a second.
"""

import numpy as np

from support.checking import Check, CheckFailure, call_student, make_checker


def make_params(seed: int, device: str) -> dict:
    rng = np.random.default_rng(seed)
    return {"seed": seed, "device": device, "n": int(rng.integers(3, 9))}


def inputs(params: dict) -> np.ndarray:
    return np.random.default_rng(params["seed"] + 1).normal(size=params["n"])


def make_check(name: str, what: str, expected_of):
    def probe(params, fn, *extra, **options):
        x = inputs(params)
        out = call_student(what, fn, x.copy(), *extra, **options)
        return {"out": np.asarray(out, dtype=float)}

    def verdict(params, data, **options):
        expected = expected_of(inputs(params), options)
        out = data.get("out")
        if not isinstance(out, np.ndarray) or out.shape != expected.shape:
            raise CheckFailure(name, "output shape", expected=expected.shape,
                               observed=getattr(out, "shape", type(out).__name__))
        if not np.allclose(out, expected):
            raise CheckFailure(name, "values", expected=expected[:3], observed=out[:3],
                               hint="compute it element-wise")
        return f"{len(expected)} values match"

    return Check(name, probe, verdict, make_params, doc=f"Check {what}.")


DOUBLE = make_check("test_double", "double(x)", lambda x, o: 2 * x)
SQUARE = make_check("test_square", "square(x)", lambda x, o: x ** 2)
SCALE = make_check("test_scale", "scale(x, factor)", lambda x, o: o.get("factor", 3) * x)

CHECKS = {c.name: c for c in (DOUBLE, SQUARE, SCALE)}
test_double, test_square, test_scale = (make_checker(c) for c in (DOUBLE, SQUARE, SCALE))
__all__ = ["test_double", "test_square", "test_scale"]
