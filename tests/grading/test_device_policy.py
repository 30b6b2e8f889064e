"""The device policy (``[tool.course.grading] device_errors``, course/grade/device_policy.py):
a check that fails on the GPU because of where the student put a tensor is graded again on
the CPU (default) or stays failed ("fail"), on every front end.

This machine has no GPU.  The policy is driven by torch's own error messages (checked
against the installed torch below), and the class of tests/grading/device_class.py
*rehearses* the GPU's first pass: its ``<student>_gpu`` submissions raise exactly what torch
2.13 raises on ``cuda:0`` where their real code would, in a student process that sees a GPU
(``CUDA_VISIBLE_DEVICES=0`` in the grader's environment), while the policy's CPU pass hides
every GPU.  No run here is or is recorded as a CUDA run: the grader's device is ``cpu``.
The real code (``<student>``, no rehearsal) graded in the same run on the same seeds is
the CPU grade every rehearsed student must get.  The GPU itself: tests/grading/
test_grading_cuda.py and ``make gpu-check``.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from course.config import GradingConfig
from course.grade.device_policy import device_error
from course.grade.reports import read_csv
from tests.grading.device_class import (ASSIGNMENT, DEVICE_FAILURES, GPU_VISIBLE, MM_DEVICES,
                                        NUMPY_ERROR, STUDENTS, TWO_DEVICES, build_class)
from tests.grading.grader_cli import output, run_grader

SEEDS = "0,1234,98765"
MISTAKES = sorted(s for s in STUDENTS if STUDENTS[s][1])

# torch 2.13's device errors, as they reach a check's message (kind of hint expected)
TORCH_DEVICE_ERRORS = [
    (NUMPY_ERROR[1], "numpy"),
    (TWO_DEVICES[1], "devices"),
    ("Expected all tensors to be on the same device, but found at least two devices, cpu "
     "and cuda:0!", "devices"),
    (MM_DEVICES[1], "devices"),
    ("Expected all tensors to be on the same device. addmm: expected 'mat1' to be a CPU "
     "tensor, but got tensor on cuda:0", "devices"),
    ("Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) should be the "
     "same or input should be a MKLDNN tensor and weight is a dense tensor", "devices"),
    ("indices should be either on cpu or on the same device as the indexed tensor (cpu)",
     "devices"),
    ("Tensor for argument #2 'mat1' is on CPU, but expected it to be on GPU (while checking "
     "arguments for addmm)", "devices"),
]
NOT_DEVICE_ERRORS = [
    "Torch not compiled with CUDA enabled",  # .cuda() on a CPU machine: no CPU pass helps
    "can't convert meta device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
    "to host memory first.",
    "Expected all tensors to be on the same device, but found at least two devices, cpu "
    "and meta!",
    "Input type (torch.cuda.DoubleTensor) and weight type (torch.cuda.FloatTensor) should be "
    "the same",  # a dtype clash on the GPU
    "mat1 and mat2 shapes cannot be multiplied (3x2 and 3x2)",
    "expected scalar type Double but found Float",
    "name 'x' is not defined",
]


@pytest.mark.parametrize("message, kind", TORCH_DEVICE_ERRORS)
def test_torchs_device_errors_are_recognised(message, kind):
    found = device_error(f"test_dropout failed: your code raised RuntimeError: {message} "
                         f"(at line 3: return x * mask)")
    assert found is not None and found.kind == kind
    assert found.text == message  # torch's words, not the student's line after them


@pytest.mark.parametrize("message", NOT_DEVICE_ERRORS)
def test_other_errors_are_not_device_errors(message):
    assert device_error(f"your code raised RuntimeError: {message}") is None


def test_the_numpy_message_is_the_installed_torchs():
    """Torch words the message the same for every device but the CPU: a tensor on the meta
    device gives the installed torch's text, which on cuda:0 reads as device_class's."""
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError) as raised:
        torch.zeros(2, device="meta").numpy()
    assert str(raised.value).replace("meta", "cuda:0") == NUMPY_ERROR[1]
    assert device_error(str(raised.value).replace("meta", "cuda:0")) is not None


def test_the_policy_is_cpu_or_fail():
    assert GradingConfig().device_errors == "cpu"
    with pytest.raises(ValueError, match="device_errors"):
        GradingConfig(device_errors="gpu")


# --------------------------------------------------------------------------- make grade


def grade_device_class(folder) -> dict:
    """The device class (real and rehearsed students) graded by make grade's command on the
    CPU with two warm workers, a GPU 'visible' to the first pass."""
    build_class(folder / "submitted")
    result = run_grader("--submissions", folder / "submitted", "--assignment", ASSIGNMENT,
                        "--device", "cpu", "--grades-dir", folder / "grades", "--seeds", SEEDS,
                        "--workers", 2, env=GPU_VISIBLE)
    return {"returncode": result.returncode, "text": output(result), "stdout": result.stdout}


@pytest.fixture(scope="module")
def graded(computed_once):
    result, folder = computed_once("device_class_cpu", grade_device_class)
    assert result["returncode"] == 0, result["text"]
    grades = folder / "grades"
    rows = {(r["student_id"], r["check"]): r for r in read_csv(grades / f"{ASSIGNMENT}.csv")}
    record = json.loads((grades / f"{ASSIGNMENT}-run.json").read_text())
    return {**result, "folder": folder, "grades": grades, "rows": rows, "record": record}


def sheet_of(graded, student) -> dict:
    return {check: (row["status"], row["points"]) for (who, check), row in
            graded["rows"].items() if who == student}


@pytest.mark.parametrize("student", MISTAKES)
def test_a_device_mistake_gets_the_cpu_grade(graded, student):
    """The rehearsed student (its first pass failed as on a GPU) gets, check by check, the
    grade of the same code graded on the CPU."""
    assert sheet_of(graded, f"{student}_gpu") == sheet_of(graded, student)


def test_the_run_record_names_each_check_graded_again_and_why(graded):
    record = graded["record"]
    assert record["device"] == "cpu"  # where the first pass really ran
    assert record["settings"]["device_errors"] == "cpu"
    regrades = record["device_regrades"]
    assert {s: {r["check"] for r in rs} for s, rs in regrades.items()} == \
        {f"{s}_gpu": DEVICE_FAILURES[s] for s in MISTAKES}
    errors = {s: STUDENTS[s][1][0][1][1] for s in MISTAKES}
    for student in MISTAKES:
        for entry in regrades[f"{student}_gpu"]:
            assert entry["error"] == errors[student]  # torch's message, as raised
            assert (entry["policy"], entry["first_status"]) == ("cpu", "failed")
            row = graded["rows"][(f"{student}_gpu", entry["check"])]
            assert (entry["status"], float(entry["points"])) == (row["status"],
                                                                  float(row["points"]))


def test_the_student_reads_that_the_code_is_not_device_agnostic_and_how(graded):
    for student in MISTAKES:
        for check in DEVICE_FAILURES[student]:
            message = graded["rows"][(f"{student}_gpu", check)]["message"]
            assert "graded again on the CPU, and that result counts" in message
            assert "not device-agnostic" in message
            hint = ".cpu() before .numpy()" if "numpy" in student else "device=x.device"
            assert hint in message
        for check, row in ((c, r) for (s, c), r in graded["rows"].items() if s == student):
            assert "device-agnostic" not in row["message"]  # the real code: nothing to say


def test_a_real_mistake_still_counts_on_the_cpu(graded):
    row = graded["rows"][("numpy_no_zero_grad_gpu", "gradient_descent_tests")]
    assert row["status"] == "failed" and float(row["points"]) == 0
    assert "zero" in row["message"]  # the CPU's verdict: zero_grad forgotten


def test_results_json_and_the_summary_carry_it(graded):
    results = json.loads((graded["grades"] / ASSIGNMENT / "cpu_mask_gpu" /
                          "results.json").read_text())
    marked = {t["name"].split(":")[0]: t["extra_data"]["device_regrade"]
              for t in results["tests"] if "device_regrade" in t.get("extra_data", {})}
    assert set(marked) == DEVICE_FAILURES["cpu_mask"]
    assert "device errors: dropout_tests graded again on the CPU" in graded["stdout"]


# --------------------------------------------------------------------------- other front ends


@pytest.fixture
def gpu_visible(monkeypatch):
    for name, value in GPU_VISIBLE.items():
        monkeypatch.setenv(name, value)


def grader_for(**settings):
    from course.config import load_grading_config
    from course.grade.grader import Grader
    from course.grade.plan import load_assignment

    config = load_grading_config().replace(**settings)
    return Grader(load_assignment(ASSIGNMENT), config, "cpu",
                  [int(s) for s in SEEDS.split(",")])


def notebook(graded, student):
    return graded["folder"] / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def test_device_errors_fail_keeps_the_failure(graded, gpu_visible):
    grade = grader_for(device_errors="fail").grade("numpy_losses_gpu",
                                                    notebook(graded, "numpy_losses_gpu"))
    rows = {r.check: r for r in grade.results}
    for check in DEVICE_FAILURES["numpy_losses"]:
        assert (rows[check].status, rows[check].points) == ("failed", 0)
        assert "not device-agnostic, which this course requires" in rows[check].message
    assert [(r["check"], r["policy"], r["status"]) for r in grade.device_regrades] == \
        [(c, "fail", "failed") for c in sorted(DEVICE_FAILURES["numpy_losses"])]
    assert "graded again on the CPU" not in grade.output  # no CPU pass
    others = {c: (r.status, r.points) for c, r in rows.items()
              if c not in DEVICE_FAILURES["numpy_losses"]}
    assert others == {c: (s, float(p)) for c, (s, p) in
                      sheet_of(graded, "numpy_losses_gpu").items() if c in others}


def test_the_dask_front_end_grades_again_on_the_cluster(graded, gpu_visible):
    from distributed import Client, LocalCluster

    from course.grade.dask_cluster import grade_on_cluster

    student = "cpu_mask_gpu"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        grades = grade_on_cluster(grader_for(), {student: notebook(graded, student)},
                                  cluster.scheduler_address, progress=False, client=client)
    grade = grades[student]
    assert {c: (r.status, f"{r.points:g}") for c, r in
            ((r.check, r) for r in grade.results)} == \
        {c: (s, f"{float(p):g}") for c, (s, p) in sheet_of(graded, student).items()}
    assert {r["check"] for r in grade.device_regrades} == DEVICE_FAILURES["cpu_mask"]


def test_nbgrader_autograde_gives_make_grades_points(graded, course_copy, gpu_visible):
    from tests.conftest import nbgrader
    from tests.engine_agreement import gradebook_points

    students = ("numpy_losses", "cpu_mask")
    build_class(course_copy / "submitted", students=students)
    nbgrader("autograde", ASSIGNMENT, "--force", f"--EngineExecute.seeds=[{SEEDS}]",
             cwd=course_copy)
    points = gradebook_points(course_copy, ASSIGNMENT)
    for student in [*students, *(f"{s}_gpu" for s in students)]:
        sheet = sheet_of(graded, student)
        assert {c: points[student].get(c) for c in sheet} == \
            {c: float(p) for c, (_, p) in sheet.items()}, student
    for student in students:
        path = course_copy / "autograded" / f"{student}_gpu" / ASSIGNMENT / \
            f"{ASSIGNMENT}.ipynb"
        record = nbformat.read(str(path), 4).metadata["course_grading"]
        assert {r["check"] for r in record["device_regrades"]} == DEVICE_FAILURES[student]


def test_check_my_work_tells_the_student_before_they_hand_in(graded, gpu_visible):
    """On a student's Colab GPU check_my_work grades as the grader does: the CPU's points,
    and the note that the code is not device-agnostic."""
    from course.check.my_work import check_notebook

    report = check_notebook(notebook(graded, "numpy_losses_gpu"), ASSIGNMENT)
    row = next(r for r in report.grade.results if r.check == "gradient_descent_tests")
    assert row.status == "passed"
    table = report.table()
    assert "Not device-agnostic: on the GPU these checks fail (the grader counts the CPU's " \
           "result)" in table
    assert NUMPY_ERROR[1] in table and ".cpu() before .numpy()" in table
