"""A class with the device mistakes students make (hw4): code that is right on a laptop's CPU
and fails on a GPU only because of where a tensor is.

``STUDENTS`` holds the real code (``make gpu-check`` grades it on a GPU, where torch raises
its own errors, and on the CPU, where it passes).  On a machine without a GPU the same
mistakes are *rehearsed* (``rehearsed(student)``, students named ``<student>_gpu``): before
the faulty line the code raises exactly what torch 2.13 raises there on ``cuda:0``, but only
in a student process that sees a GPU, i.e. whose ``CUDA_VISIBLE_DEVICES`` is set and not
empty.  The grader passes the TA's ``CUDA_VISIBLE_DEVICES`` on to its student processes and
hides every GPU (``""``) from the device policy's CPU pass, so with
``CUDA_VISIBLE_DEVICES=0`` in the grader's environment (:data:`GPU_VISIBLE`) a rehearsed
student fails its first pass as on a GPU and is graded again on the CPU.  Nothing claims a
CUDA run: the grader's device is and is recorded as ``cpu``; only the student's exception
is the GPU's.
"""

from __future__ import annotations

from pathlib import Path

from tests.submissions import make_submission, solution_of, write_submission

ASSIGNMENT = "hw4_pytorch_regularization"
GPU_VISIBLE = {"CUDA_VISIBLE_DEVICES": "0"}  # the grader's environment for a rehearsal

# torch 2.13's messages on cuda:0 (torch/csrc/utils/tensor_numpy.cpp; ATen's TensorIterator
# and its device check of operator arguments)
NUMPY_ERROR = ("TypeError", "can't convert cuda:0 device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
TWO_DEVICES = ("RuntimeError", "Expected all tensors to be on the same device, but found at "
                               "least two devices, cuda:0 and cpu!")
MM_DEVICES = ("RuntimeError", "Expected all tensors to be on the same device, but got mat2 is "
                              "on cpu, different from other tensors on cuda:0 (when checking "
                              "argument in method wrapper_CUDA_mm)")

GD = solution_of(ASSIGNMENT, "gradient_descent")
# the reference homework's answer (shared/seeds/004): the losses as numpy arrays
NUMPY_LOSSES = (GD.replace("losses.append(loss.item())", "losses.append(loss.detach().numpy())")
                .replace("valid_losses.append(valid_loss.item())",
                         "valid_losses.append(valid_loss.detach().numpy())"))
# the same, and zero_grad forgotten: wrong on every device
NUMPY_NO_ZERO_GRAD = NUMPY_LOSSES.replace("        optimizer.zero_grad()\n", "")
# the dropout mask drawn on the CPU (torch.rand's default device)
CPU_MASK = solution_of(ASSIGNMENT, "dropout").replace(
    "torch.rand_like(x)", "torch.rand(x.shape)")
# a device written into the code
HARDCODED_CPU = '''\
class LinearNormal(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.randn(out_dimensions))

    def forward(self, x):
        weights = self.weights.to(torch.device("cpu"))
        return x.to(self.weights.device) @ weights + self.bias
'''

# student: (cell -> code, [(faulty line, torch's error there)])
STUDENTS = {
    "correct": ({}, []),
    "numpy_losses": ({"gradient_descent": NUMPY_LOSSES},
                     [("losses.append(loss.detach().numpy())", NUMPY_ERROR)]),
    "numpy_no_zero_grad": ({"gradient_descent": NUMPY_NO_ZERO_GRAD},
                           [("losses.append(loss.detach().numpy())", NUMPY_ERROR)]),
    "cpu_mask": ({"dropout": CPU_MASK}, [("return x * mask", TWO_DEVICES)]),
    "hardcoded_cpu": ({"linear_normal": HARDCODED_CPU},
                      [("return x.to(self.weights.device) @ weights", MM_DEVICES)]),
}
# the checks a rehearsed student fails on its first pass (those whose probe runs the line)
DEVICE_FAILURES = {
    "numpy_losses": {"gradient_descent_tests"},
    "numpy_no_zero_grad": {"gradient_descent_tests"},
    "cpu_mask": {"dropout_tests"},
    "hardcoded_cpu": {"linear_normal_tests", "model_normal_tests"},
}

ON_THE_GPU = '''\
import os as _os


def _on_the_gpu():
    """Whether this process stands in for a GPU's: it sees one (tests/grading/device_class.py)."""
    return _os.environ.get("CUDA_VISIBLE_DEVICES", "") != ""


'''


def rehearse(code: str, faults) -> str:
    """``code`` that raises torch's error before each faulty line when it sees a GPU."""
    for line, (kind, message) in faults:
        at = code.index(line)
        start = code.rindex("\n", 0, at) + 1
        indent = code[start:at]
        code = (code[:start] + f"{indent}if _on_the_gpu():\n"
                f"{indent}    raise {kind}({message!r})\n" + code[start:])
    return ON_THE_GPU + code


def rehearsed(student: str):
    """The student's notebook with its device mistakes rehearsed."""
    cells, faults = STUDENTS[student]
    replace = {cell: rehearse(code, faults) for cell, code in cells.items()}
    return make_submission(ASSIGNMENT, replace=replace)


def submission(student: str):
    """The student's real notebook."""
    return make_submission(ASSIGNMENT, replace=STUDENTS[student][0])


def build_class(root: str | Path, rehearse_students: bool = True, students=None) -> Path:
    """Write every student's real notebook under ``root`` and, with ``rehearse_students``,
    the rehearsed one of each student with a device mistake, as ``<student>_gpu``."""
    for student in students or STUDENTS:
        write_submission(root, student, ASSIGNMENT, submission(student))
        if rehearse_students and STUDENTS[student][1]:
            write_submission(root, f"{student}_gpu", ASSIGNMENT, rehearsed(student))
    return Path(root)
