"""The CUDA path (skipped on machines without a GPU; ``make gpu-check`` runs these with
``-m cuda``): --device auto picks the GPU, student modules and probe inputs live there,
verdicts hold with the stated CUDA tolerances, and the device class's mistakes (real torch
errors on the GPU) get the CPU's grade under the default device policy."""

import json

import pytest

from course.grade.reports import read_csv
from tests.grading import device_class
from tests.grading.fixture_class import ASSIGNMENT, build_class, expected_status
from tests.grading.grader_cli import output, run_grader

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]

STUDENTS = ("correct", "partial", "cuda_hardcoded", "infinite_loop")
SEEDS = "0,1234,98765"


def test_grading_on_the_gpu(tmp_path):
    build_class(tmp_path / "submitted", STUDENTS)
    result = run_grader("--submissions", tmp_path / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "auto", "--grades-dir", tmp_path / "grades",
                        "--check-timeout", 20)
    assert result.returncode == 0, output(result)
    info = json.loads((tmp_path / "grades" / f"{ASSIGNMENT}-run.json").read_text())
    assert info["device"] == "cuda"
    for row in read_csv(tmp_path / "grades" / f"{ASSIGNMENT}.csv"):
        expected = expected_status(row["student_id"], row["check"], device="cuda")
        assert row["status"] == expected, row


def points(grades) -> dict:
    """student -> {check: (status, points)} of a grade sheet."""
    table: dict = {}
    for row in read_csv(grades / f"{ASSIGNMENT}.csv"):
        table.setdefault(row["student_id"], {})[row["check"]] = (row["status"], row["points"])
    return table


def test_device_mistakes_get_the_cpu_grade_on_the_gpu(tmp_path):
    """The real code of the device class: on the GPU torch raises its device errors, the
    policy grades those checks again on the CPU, and every student gets the CPU's grade."""
    device_class.build_class(tmp_path / "submitted", rehearse_students=False)
    sheets = {}
    for device in ("cuda", "cpu"):
        result = run_grader("--submissions", tmp_path / "submitted", "--assignment",
                            ASSIGNMENT, "--device", device, "--seeds", SEEDS,
                            "--grades-dir", tmp_path / device, cpu_only=device == "cpu")
        assert result.returncode == 0, output(result)
        sheets[device] = points(tmp_path / device)
    assert sheets["cuda"] == sheets["cpu"]
    record = json.loads((tmp_path / "cuda" / f"{ASSIGNMENT}-run.json").read_text())
    # torch raises on the GPU where these students' probes run the faulty line
    assert {"numpy_losses", "numpy_no_zero_grad", "cpu_mask"} <= set(record["device_regrades"])
    assert set(record["device_regrades"]) <= {s for s, (_, faults) in
                                              device_class.STUDENTS.items() if faults}
