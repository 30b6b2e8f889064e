"""``[tool.course.grading] device_errors``: a check that failed because of where the student
put a tensor, graded again on the CPU (``"cpu"``, the default) or left failed (``"fail"``).

With ``device = "auto"`` the grader runs student code on the GPU when there is one, and code
that is right on the laptop it was written on can fail there only because of a device: a
CUDA tensor converted to numpy (``loss.detach().numpy()``), a new tensor made on the CPU
and used with the GPU's inputs (``torch.zeros(n)``, a hard-coded ``torch.device("cpu")``),
and torch's other "same device" errors.  :func:`device_error` recognises them by torch's
own messages (torch 2.13's wording, :data:`DEVICE_ERRORS`), in a failed row's message.

:func:`settle` applies the policy to a submission's first grade (:class:`Grader` calls it
for every front end: ``make grade`` cold or warm, the Dask cluster, ``nbgrader autograde``,
the Gradescope autograder, ``check_my_work``):

* ``"cpu"``: the submission is graded again on the CPU, in a fresh student process that sees
  no GPU (``CUDA_VISIBLE_DEVICES=""``: exactly a CPU machine), with the same seeds; each
  check that failed with a device error gets the CPU's row, whatever it is (passed, or a
  real mistake), so the grade does not depend on the machine that graded it.  Its message
  says that the code is not device-agnostic and how to make it so (``x.device``, ``.cpu()``
  before ``.numpy()``), without the answer;
* ``"fail"``: the check keeps its failure, with the same note (a course that teaches and
  requires device-agnostic code, and grades on a GPU).

Checks that passed, or failed for another reason, keep the first pass's row.  The grade
records each such check (:attr:`StudentGrade.device_regrades`): the device of the first
pass, torch's error, the policy and the status before and after; the reports carry it
(:func:`run_record`).  The CPU pass is a grade of its own and is never settled again.

What recognising an error by its text costs: a student can raise torch's message
themselves and get the CPU's verdict, which is the grade a CPU machine gives them anyway.
"""

from __future__ import annotations

import dataclasses
import re

POLICIES = ("cpu", "fail")

GPU = re.compile(r"cuda|GPU")


def _names_gpu(text: str) -> bool:
    return bool(GPU.search(text))


def _one_side_gpu(text: str) -> bool:
    """'Input type (A) and weight type (B)': A or B on the GPU, not both (a dtype clash)."""
    sides = re.findall(r"type \(([^)]*)\)", text)
    return sum(bool(GPU.search(side)) for side in sides) == 1


# (kind, torch's message, a test the text must pass, if any): torch 2.13's wording, from its
# sources (torch/csrc/utils/tensor_numpy.cpp; ATen's TensorIterator, its check of operator
# arguments and TensorUtils; the convolutions' check of their weights)
DEVICE_ERRORS = [
    ("numpy", re.compile(r"can't convert cuda(?::\d+)? device type tensor to numpy\. Use "
                         r"Tensor\.cpu\(\) to copy the tensor to host memory first\."), None),
    ("devices", re.compile(r"Expected all tensors to be on the same device, but found at "
                           r"least two devices, \S+ and \S+!"), _names_gpu),
    ("devices", re.compile(r"Expected all tensors to be on the same device, but got \S+ is on "
                           r"\S+, different from other tensors on \S+(?: \(when checking "
                           r"argument in method \w+\))?"), _names_gpu),
    # e.g. "Expected all tensors to be on the same device. addmm: expected 'mat1' to be a
    # CPU tensor, but got tensor on cuda:0"
    ("devices", re.compile(r"Expected all tensors to be on the same device\.[^\n]*?but got "
                           r"tensor on \S+"), _names_gpu),
    ("devices", re.compile(r"Expected tensor for [^\n]+? to have the same device as tensor "
                           r"for [^\n]+?; but device \S+ does not equal \S+(?: \(while "
                           r"checking arguments for \w+\))?"), _names_gpu),
    ("devices", re.compile(r"Tensor for [^\n]+? is on CPU, but expected (?:it|them) to be on "
                           r"GPU(?: \(while checking arguments for \w+\))?"), None),
    # a layer's weights on one device, its input on the other (convolutions)
    ("devices", re.compile(r"Input type \([^)\n]*\) and (?:weight|bias) type \([^)\n]*\) "
                           r"should be the same(?: or input should be a MKLDNN tensor and "
                           r"(?:weight|bias) is a dense tensor)?"), _one_side_gpu),
    ("devices", re.compile(r"indices should be either on cpu or on the same device as the "
                           r"indexed tensor \(\S+\)"), None),
    ("devices", re.compile(r"Tensor on device \S+ is not on the expected device \S+!"),
     _names_gpu),
]

HINTS = {
    "numpy": "a tensor on the GPU has no numpy array: call .cpu() before .numpy() "
             "(t.detach().cpu().numpy()), or keep values as tensors (.item() for one number)",
    "devices": "make new tensors where the inputs are, e.g. torch.zeros(n, device=x.device) "
               "or t.to(x.device), instead of a device written into the code ('cpu', "
               "'cuda') or the CPU by default",
}


@dataclasses.dataclass(frozen=True)
class DeviceError:
    """Torch's device error found in a failed row: its kind and its text."""

    kind: str
    text: str


def device_error(message: str) -> DeviceError | None:
    """The device error a check's message reports (torch's text), or None."""
    for kind, pattern, test in DEVICE_ERRORS:
        for found in pattern.finditer(message or ""):
            if test is None or test(found.group(0)):
                return DeviceError(kind, found.group(0)[:240])
    return None


def device_failures(grade) -> dict:
    """check -> :class:`DeviceError` for each check of ``grade`` that did not pass because
    of a device error."""
    return {row.check: error for row in grade.results
            if row.status != "passed" and (error := device_error(row.message))}


def note(error: DeviceError, device: str, policy: str) -> str:
    """What the student reads under the check's message: what happened, that the code is not
    device-agnostic, and how to write it so (no answer)."""
    where = f"the GPU ({device})" if device.startswith("cuda") else device
    said = f"when graded on {where} your code raised: {error.text}"
    if policy == "cpu":
        return (f"\n  note: graded again on the CPU, and that result counts: {said}\n"
                f"  note: your code is not device-agnostic (it would fail on a GPU): "
                f"{HINTS[error.kind]}")
    return (f"\n  note: your code is not device-agnostic, which this course requires, so "
            f"this check counts as failed: {said}\n  hint: {HINTS[error.kind]}")


def settle(grader, first, regrade):
    """``first`` (a StudentGrade) under ``grader.config.device_errors``: with ``"cpu"``, the
    checks that failed with a device error take their rows from ``regrade(cpu_grader)``
    (``cpu_grader``: :meth:`Grader.on_cpu`; ``regrade`` grades the same submission with it,
    wherever the front end runs student code); with ``"fail"`` they keep theirs.  Either
    way each gets :func:`note` and a record.  A grade without device errors, or one made
    by a CPU pass, is returned as it is."""
    found = device_failures(first)
    if not found or not getattr(grader, "settles_devices", True):
        return first
    second = regrade(grader.on_cpu()) if grader.config.device_errors == "cpu" else None
    again = {row.check: row for row in second.results} if second is not None else {}
    rows, records = [], []
    for row in first.results:
        if row.check not in found:
            rows.append(row)
            continue
        final = _settled_row(grader, found[row.check], again.get(row.check, row))
        rows.append(final)
        records.append({"check": row.check, "device": grader.device,
                        "error": found[row.check].text, "kind": found[row.check].kind,
                        "policy": grader.config.device_errors, "first_status": row.status,
                        "status": final.status, "points": final.points})
    grade = dataclasses.replace(first, results=rows, device_regrades=records)
    if second is not None:
        grade.seconds += second.seconds
        grade.output = (f"{first.output}\n--- graded again on the CPU (device errors: "
                        f"{', '.join(found)})\n{second.output}")
        grade.internal_error = first.internal_error or second.internal_error
    return grade


def _settled_row(grader, error: DeviceError, final):
    """``final`` (the CPU's row, or the first one under "fail") with :func:`note` below its
    message, within the message limit."""
    text = note(error, grader.device, grader.config.device_errors)
    message, limit = final.message, grader.config.message_limit_chars
    if len(message) + len(text) > limit:
        message = message[:max(0, limit - len(text) - 15)] + " [... cut]"
    return dataclasses.replace(final, message=message + text)


def summary(grade) -> str:
    """A few words for the TA's summary line: what the policy did for this student ('' when
    nothing), e.g. 'device errors: gd_tests, l1_tests graded again on the CPU'."""
    records = getattr(grade, "device_regrades", None) or []
    if not records:
        return ""
    checks = ", ".join(r["check"] for r in records)
    if records[0]["policy"] == "cpu":
        return f"device errors: {checks} graded again on the CPU"
    return f"device errors: {checks} failed (device_errors = \"fail\")"


def student_lines(grade, label=str) -> list[str]:
    """What check_my_work adds below its table ([] when nothing): the checks that fail on
    the GPU (``label(check)``: how the table names one), what the grader counts for them,
    and how to make the code device-agnostic."""
    records = getattr(grade, "device_regrades", None) or []
    if not records:
        return []
    counted = ("the grader counts the CPU's result" if records[0]["policy"] == "cpu" else
               "the grader counts them as failed")
    lines = ["", f"Not device-agnostic: on the GPU these checks fail ({counted}):"]
    lines += [f"  - {label(r['check'])}: {r['error']}" for r in records]
    kinds = dict.fromkeys(r.get("kind", "devices") for r in records)
    return lines + [f"  hint: {HINTS[kind]}" for kind in kinds]


def run_record(grades) -> dict:
    """For a run's record (``grades/<a>-run.json``): student -> the checks settled by the
    device policy (:func:`settle`'s records), for the students that have any."""
    return {"device_regrades": {g.student: g.device_regrades for g in grades
                                if getattr(g, "device_regrades", None)}}
