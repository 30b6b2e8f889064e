"""The grading command's exit status when it cannot grade at all (non-zero, with a reason)."""

import os
import subprocess
import sys

import pytest

from tests.grading.grader_cli import REPO, output, run_grader
from tests.grading.toy_course import make_cell

HW4 = "hw4_pytorch_regularization"


def test_unknown_assignment(tmp_path):
    (tmp_path / "submitted" / "ada").mkdir(parents=True)
    result = run_grader("--assignment", "no_such_homework", "--submissions",
                        tmp_path / "submitted", "--grades-dir", tmp_path / "grades")
    assert result.returncode != 0, output(result)
    assert "cannot grade no_such_homework" in result.stdout + result.stderr
    assert not (tmp_path / "grades").exists()


def test_missing_or_empty_submissions_folder(tmp_path):
    result = run_grader("--assignment", HW4, "--submissions", tmp_path / "nothing")
    assert result.returncode != 0, output(result)
    assert "no submissions folder" in result.stdout + result.stderr
    result = run_grader("--assignment", HW4, "--submissions", tmp_path)
    assert result.returncode != 0, output(result)
    assert "no student folders" in result.stdout + result.stderr


def test_source_notebook_calling_an_unknown_checker(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [make_cell("setup", "from support import *", "setup"),
                make_cell("test", "test_that_does_not_exist(x)", "x_tests", 1)]
    path = tmp_path / "source" / HW4 / f"{HW4}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, str(path))
    (tmp_path / "submitted" / "ada").mkdir(parents=True)
    result = run_grader("--assignment", HW4, "--source", tmp_path / "source", "--device", "cpu",
                        "--submissions", tmp_path / "submitted")
    assert result.returncode != 0, output(result)
    assert "test_that_does_not_exist" in result.stdout + result.stderr


def test_cuda_requested_without_a_gpu(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    (tmp_path / "submitted" / "ada").mkdir(parents=True)
    result = run_grader("--assignment", HW4, "--device", "cuda", "--submissions",
                        tmp_path / "submitted")
    assert result.returncode != 0, output(result)
    assert "no CUDA device" in result.stdout + result.stderr


@pytest.mark.skipif(any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/kfd"))
                    or not sys.platform.startswith("linux"), reason="a machine with GPU nodes")
def test_the_grader_starts_without_torch_or_nbformat_on_a_machine_without_gpu():
    """A grading run starts its warm workers first: finding the device and reading the
    notebooks must not cost the seconds of importing torch or nbformat."""
    probe = ("import sys; from course.grade.grader import resolve_device; "
             "from course.grade.plan import load_assignment; load_assignment('" + HW4 + "'); "
             "print(resolve_device('auto'), 'torch' in sys.modules, 'nbformat' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.split() == ["cpu", "False", "False"], output(result)
