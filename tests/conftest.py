"""Shared fixtures: expensive results computed once per test run, and the released course.

Building a release executes every source notebook and grading a class runs real student
processes (tens of seconds to minutes each), so such results are computed once
(``computed_once``) and shared between pytest-xdist workers through a lock file in pytest's
shared temp folder.  Tests that change a course work in their own copy (``course_copy``).
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from course.release.build import venv_env

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


def clean_environment() -> dict:
    """This process's environment as a new TA's shell has it: no virtual environment's
    scripts on PATH, no VIRTUAL_ENV, nothing of pytest, make or Jupyter."""
    def in_a_venv(folder: str) -> bool:
        return (Path(folder).parent / "pyvenv.cfg").is_file()

    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS", "MFLAGS",
                        "MAKELEVEL", "MAKEOVERRIDES")
           and not k.startswith(("PYTEST_", "JUPYTER_"))}
    env["PATH"] = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                                  if d and not in_a_venv(d))
    return env


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


def checkout(dest: Path) -> Path:
    """What a fresh clone of the repository holds, at ``dest``: its files (tracked, and new
    ones git does not ignore), without anything built (``.venv``, gradebook, outputs)."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                 cwd=REPO).stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)  # times kept: make sees nothing to rebuild
    return dest


def release_course(root: Path) -> Path:
    """A fresh checkout at ``root`` after the README's first command, ``make release``
    (sources executed and kept in ``root/executed``), with this test run's virtual
    environment (``make`` is told it is up to date, so it installs nothing)."""
    checkout(root)
    venv = Path(sys.executable).parent.parent
    result = run(["make", "-C", str(root), "--no-print-directory", f"VENV={venv}",
                  "-o", f"{venv}/.installed", "release",
                  f"RELEASE_ARGS=--keep-executed {root / 'executed'}"], cwd=root, check=False)
    if result.returncode != 0:
        pytest.fail(f"make release failed:\n{result.stdout}\n{result.stderr}")
    (root / "release.log").write_text(result.stdout)
    (root / "release.err").write_text(result.stderr)  # its progress lines
    return root


@pytest.fixture(scope="session")
def released_course(computed_once) -> Path:
    """A fresh checkout after ``make release`` (sources executed and kept)."""
    return computed_once("released_course", release_course)[0]
