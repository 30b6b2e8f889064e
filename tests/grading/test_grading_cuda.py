"""The CUDA path (skipped on machines without a GPU): --device auto picks the GPU, student
modules and probe inputs live there, and verdicts hold with the stated CUDA tolerances."""

import json

import pytest

from course.grade.reports import read_csv
from tests.grading.fixture_class import ASSIGNMENT, build_class, expected_status
from tests.grading.grader_cli import output, run_grader

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

STUDENTS = ("correct", "partial", "cuda_hardcoded", "infinite_loop")


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
