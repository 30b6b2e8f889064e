"""``make gpu-check`` (course/bench/gpu_check.py) where it can be tested: on a machine without
a GPU it refuses with a clear message and a non-zero status, ``--dry-run`` shows every step
of the GPU run, and its comparison reads real grade sheets.  The GPU run itself needs a GPU
(README: "GPU or CPU")."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from course.bench import gpu_check
from tests.grading.device_class import STUDENTS
from tests.grading.test_device_policy import grade_device_class

REPO = gpu_check.ROOT
torch = pytest.importorskip("torch")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def gpu_check_command(*args):
    return subprocess.run([sys.executable, "-m", "course.bench.gpu_check", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@no_cuda
def test_without_cuda_it_says_so_and_fails():
    result = gpu_check_command()
    assert result.returncode == 2
    assert "sees no CUDA device on this machine" in result.stderr
    assert "device none: no CUDA device" in result.stdout
    assert "---" not in result.stdout  # no step ran


@no_cuda
def test_a_dry_run_shows_every_step_of_the_gpu_run(tmp_path):
    result = gpu_check_command("--dry-run", "--keep", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr  # still no CUDA here
    steps = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    wanted = ["pytest -m cuda", "make grade DEVICE=cuda, fixture class",
              "make grade DEVICE=cpu, fixture class", "nbgrader autograde, fixture class",
              "make grade DEVICE=cuda, device class", "make grade DEVICE=cpu, device class",
              "nbgrader autograde, device class", "make bench DEVICE=cuda"]
    assert len(steps) == len(wanted)
    for line, name in zip(steps, wanted):
        assert name in line, (line, name)
    assert all("CUDA_VISIBLE_DEVICES=''" in line for line in steps if "DEVICE=cpu" in line)
    assert "BENCH_ARGS=--skip-stock --rounds 1" in steps[-1]
    # the device class as the GPU gets it: the real code, nothing rehearsed
    assert sorted(p.name for p in (tmp_path / "device" / "submitted").iterdir()) == \
        sorted(STUDENTS)


def test_the_comparison_reads_real_sheets_and_finds_a_difference(computed_once):
    result, folder = computed_once("device_class_cpu", grade_device_class)
    assert result["returncode"] == 0, result["text"]
    cpu = gpu_check.sheet(folder / "grades")
    assert set(cpu) >= set(STUDENTS)
    rows = gpu_check.compare(cpu, cpu, cpu)
    assert all(row["equal"] for row in rows)
    gpu = copy.deepcopy(cpu)
    gpu["cpu_mask"]["dropout_tests"] = 0.0
    rows = {row["student"]: row for row in gpu_check.compare(cpu, gpu, cpu, {"correct"})}
    assert not rows["cpu_mask"]["equal"] and rows["cpu_mask"]["differing"] == ["dropout_tests"]
    assert rows["cpu_mask"]["gpu"] == rows["cpu_mask"]["cpu"] - 2
    assert rows["correct"]["expected"] and rows["correct"]["equal"]
    table = "\n".join(gpu_check.table("device", list(rows.values()),
                                      gpu_check.regraded(folder / "grades")))
    assert "NO: dropout_tests" in table
    assert "cpu_mask_gpu" in table and "dropout_tests" in table.split("cpu_mask_gpu")[1]
