"""Shared fixtures: expensive results computed once per test run, and the released course.

Building a release executes every source notebook and grading a class runs real student
processes (tens of seconds to minutes each), so such results are computed once
(``computed_once``) and shared between pytest-xdist workers through a lock file in pytest's
shared temp folder.  Tests that change a course work in their own copy (``course_copy``).
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from course.release import venv_env

REPO = Path(__file__).resolve().parent.parent
COURSE_FILES = ("source", "support", "nbgrader_config.py", "pyproject.toml")


def copy_course(dest: Path) -> Path:
    """A course directory at ``dest`` with the repo's source, support and configuration."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def run(cmd, cwd, check=True, timeout=900) -> subprocess.CompletedProcess:
    """Run a command, capturing its output; on failure the assertion shows both streams."""
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=venv_env())
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} exited {result.returncode}\n--- stdout\n{result.stdout}"
                             f"\n--- stderr\n{result.stderr}")
    return result


def nbgrader(*args, cwd, check=True) -> subprocess.CompletedProcess:
    """The venv's nbgrader command, run in a course directory."""
    exe = Path(sys.executable).with_name("nbgrader")
    return run([str(exe), *args], cwd=cwd, check=check)


@pytest.fixture
def course_copy(tmp_path) -> Path:
    return copy_course(tmp_path / "course")


@pytest.fixture(scope="session")
def computed_once(tmp_path_factory, worker_id):
    """``computed_once(name, compute)``: ``compute(folder)`` runs once for the whole test run,
    in whichever pytest-xdist worker asks first, with a fresh ``folder`` to work in; every
    caller gets (the value it returned, pickled, and that folder)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base  # the workers' common folder

    def get(name: str, compute):
        folder, done = shared / name, shared / f"{name}.pickle"
        with FileLock(str(shared / f"{name}.lock")):
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                done.write_bytes(pickle.dumps(compute(folder)))
        return pickle.loads(done.read_bytes()), folder

    return get


def release_course(root: Path) -> Path:
    """A course copy at ``root`` after ``python -m course.release`` (sources executed and
    kept in ``root/executed``)."""
    copy_course(root)
    result = run([sys.executable, "-m", "course.release", "--root", str(root),
                  "--keep-executed", str(root / "executed")], cwd=REPO, check=False)
    if result.returncode != 0:
        pytest.fail(f"make release failed:\n{result.stdout}\n{result.stderr}")
    (root / "release.log").write_text(result.stdout)
    return root


@pytest.fixture(scope="session")
def released_course(computed_once) -> Path:
    """A course copy after ``python -m course.release`` (sources executed and kept)."""
    return computed_once("released_course", release_course)[0]
