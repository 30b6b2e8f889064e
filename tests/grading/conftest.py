"""Fixtures for the grader's tests: expensive results computed once per test run.

Grading the fixture class runs real student processes (tens of seconds), so it is done once
and shared between pytest-xdist workers through a lock file in pytest's shared temp folder
(the same pattern as tests/conftest.py's released course).
"""

from __future__ import annotations

import pickle
import shutil

import pytest
from filelock import FileLock


@pytest.fixture(scope="session")
def computed_once(tmp_path_factory, request):
    """``computed_once(name, compute)``: ``compute(folder)`` run once for the whole test run
    (all workers); every caller gets its (pickled) value and the folder it wrote in."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if hasattr(request.config, "workerinput") else base  # xdist worker

    def get(name: str, compute):
        folder, done = shared / name, shared / f"{name}.pickle"
        with FileLock(str(shared / f"{name}.lock")):
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                done.write_bytes(pickle.dumps(compute(folder)))
        return pickle.loads(done.read_bytes()), folder

    return get
