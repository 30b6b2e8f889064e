"""Run the real grading command (``pytest grader_tests ...``) in a subprocess, for tests."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_grader(*args, timeout=600, cpu_only=False, env=None) -> subprocess.CompletedProcess:
    """``python -m pytest grader_tests <args>`` from the repository root, output captured.

    ``cpu_only``: hide any GPU, as on a laptop (the grader passes CUDA_VISIBLE_DEVICES on);
    ``env``: variables to set for it.
    """
    extra = env or {}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "COV_CORE_"))}  # not this test run's xdist worker
    env.update(extra)
    if cpu_only:
        env["CUDA_VISIBLE_DEVICES"] = ""
    command = [sys.executable, "-m", "pytest", "grader_tests", "-p", "no:cacheprovider",
               *map(str, args)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
