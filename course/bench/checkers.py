"""``make bench-checkers``: how long each checker takes on this machine's CPU.

For every assignment, the solved source notebook's setup and solution cells run in this
process (instructor code, trusted), then each autograded test cell's visible checker call
runs at seeds 0, 1 and 2, probe and verdict together as in a student's notebook. Prints
the median and the slowest time per test cell. The target is under 1 s per checker, except
the few that train a small model with the student's settings, whose docstrings say so.

Usage: python -m course.bench.checkers [ASSIGNMENT ...]
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import statistics
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")

from course.config import ROOT, assignments  # noqa: E402
from course.notebooks import (Name, cell_kind, grade_id, load_notebook,  # noqa: E402
                        parse_checker_call, remove_hidden_tests, remove_solution_markers)

SEEDS = (0, 1, 2)


def quietly(fn, *args, **kwargs):
    """Call ``fn`` with its prints and progress bars discarded."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def time_checks(assignment: str) -> list[tuple[str, str, float, float]]:
    """(test cell, checker, median seconds, slowest seconds) for each test cell.

    The solved notebook's setup and solution cells run in order in one namespace, and each
    test cell's check runs where the cell stands (names such as ``model`` are reused).
    """
    nb = load_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")
    checks = importlib.import_module(f"support.{assignment}").CHECKS
    namespace: dict = {"__name__": "__main__"}
    value = lambda a: namespace[a.id] if isinstance(a, Name) else a.value  # noqa: E731
    rows = []
    for cell in nb.cells:
        kind = cell_kind(cell)
        if kind in ("setup", "solution"):
            code = compile(remove_solution_markers(cell.source), f"<{grade_id(cell)}>", "exec")
            quietly(exec, code, namespace)
        elif kind == "test":
            call = parse_checker_call(remove_hidden_tests(cell.source), grade_id(cell))
            args = [value(a) for a in call.args]
            kwargs = {k: value(a) for k, a in call.kwargs.items()}
            seconds = []
            for seed in SEEDS:
                started = time.perf_counter()
                quietly(checks[call.checker].run, *args, seed=seed, device="cpu", **kwargs)
                seconds.append(time.perf_counter() - started)
            rows.append((grade_id(cell), call.checker, statistics.median(seconds),
                         max(seconds)))
    return rows


def main(argv=None) -> int:
    """Print each checker's time for the assignments named (all of them by default)."""
    names = (argv if argv is not None else sys.argv[1:]) or assignments()
    unknown = [name for name in names if name not in assignments()]
    if unknown:
        print(f"usage: python -m course.bench.checkers [ASSIGNMENT ...]; not an assignment: "
              f"{', '.join(unknown)} (the course's: {', '.join(assignments())})", file=sys.stderr)
        return 2
    print(f"{'assignment':28} {'test cell':34} {'checker':30} {'median s':>9} {'max s':>7}")
    for assignment in names:
        for cell, checker, median, slowest in time_checks(assignment):
            print(f"{assignment:28} {cell:34} {checker:30} {median:9.3f} {slowest:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
