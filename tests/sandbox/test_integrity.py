"""support/integrity.py: hidden tests notice tampering with torch, builtins and checkers.

One fresh interpreter does what a notebook does (``import torch``, ``from support import
*``, then student code), tries each kind of tampering in turn, undoing it after, and
reports what ``verify_integrity`` said; each test reads one line of that report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat
import pytest

from course.config import assignments
from course.notebooks import BEGIN_HIDDEN, cell_kind
from tests.conftest import REPO

VERIFY_LINE = "from support.integrity import verify_integrity; verify_integrity()"

NOTEBOOK = textwrap.dedent(r'''
    import builtins, copy, json, sys
    import torch
    from torch import nn, optim
    from support import *
    from support.integrity import IntegrityError, verify_integrity
    import support.hw4_pytorch_regularization as facade
    report = {}

    def verdict(name, namespace=None, call=None):
        try:
            verify_integrity(namespace if namespace is not None else globals())
            if call is not None:
                call()
            report[name] = "ok"
        except IntegrityError as error:
            report[name] = "IntegrityError: " + str(error)
        except AssertionError as error:
            report[name] = "AssertionError: " + str(error)

    def mse_loss(prediction, labels):  # a correct answer
        return torch.mean((prediction.reshape(-1) - labels.reshape(-1)) ** 2)

    def wrong_mse(prediction, labels):
        return torch.sum((prediction.reshape(-1) - labels.reshape(-1)) ** 2)

    # what the notebook's own code does: training, deep copies, the compiler's import
    model = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.ones(4, 1)).sum().backward()
        optimizer.step()
    copy.deepcopy(model)
    torch.manual_seed(0)
    verdict("untouched", call=lambda: test_mse_loss(mse_loss, seed=3))

    def patched(name, owner, attribute, value):
        original = getattr(owner, attribute)
        setattr(owner, attribute, value)
        try:
            verdict(name)
        finally:
            setattr(owner, attribute, original)
            if attribute in vars(owner) and owner is torch.Tensor and name == "tensor_eq":
                delattr(owner, attribute)

    patched("allclose", torch, "allclose", lambda *a, **k: True)
    patched("tensor_eq", torch.Tensor, "__eq__", lambda self, other: True)
    original_isinstance = isinstance
    patched("isinstance", builtins, "isinstance",
            lambda obj, kind: True if kind is torch.Tensor else original_isinstance(obj, kind))
    verdict("restored")

    # a checker redefined by a solution cell: the hidden tests get the real one back
    namespace = {"test_mse_loss": lambda *a, **k: print("test_mse_loss passed"),
                 "mse_loss": wrong_mse}
    verdict("redefined_checker", namespace,
            call=lambda: namespace["test_mse_loss"](namespace["mse_loss"], seed=5))
    report["redefined_is_course_checker"] = \
        namespace["test_mse_loss"].__wrapped__ is facade.test_mse_loss

    # student code that patches torch while a check runs it (and answers right, so that
    # only the check after the call can catch it)
    def sneaky_mse(prediction, labels):
        torch.allclose = lambda *a, **k: True
        return mse_loss(prediction, labels)
    saved_allclose = torch.allclose
    ns = {"test_mse_loss": test_mse_loss}
    verdict("patch_during_check", ns, call=lambda: ns["test_mse_loss"](sneaky_mse, seed=5))
    torch.allclose = saved_allclose

    # the checker's insides: its closure, its Check's verdict, a support module
    check = facade.CHECKS["test_mse_loss"]
    original_verdict = check.verdict
    object.__setattr__(check, "verdict", lambda *a, **k: "fine")
    verdict("check_verdict")
    object.__setattr__(check, "verdict", original_verdict)
    cell = facade.test_mse_loss.__closure__[0]
    original_cell = cell.cell_contents
    cell.cell_contents = facade.CHECKS["test_linear_zeros"]
    verdict("checker_closure")
    cell.cell_contents = original_cell
    module = sys.modules["support.checking"]
    sys.modules["support.checking"] = type(sys)("support.checking")
    verdict("sys_modules")
    sys.modules["support.checking"] = module
    import support.loss_checks as loss_checks
    loss_checks.isinstance = lambda *a: True
    verdict("module_global_hides_builtin")
    del loss_checks.isinstance
    import importlib
    importlib.reload(loss_checks)  # a student who reloads a support module is no cheat
    verdict("all_restored")
    print(json.dumps(report))
''')


def run_notebook(folder) -> dict:
    result = subprocess.run([sys.executable, "-c", NOTEBOOK], capture_output=True, text=True,
                            cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def report(computed_once):
    return computed_once("integrity_report", run_notebook)[0]


def test_no_false_alarm_after_training_copies_and_torch_wrapping_itself(report):
    assert report["untouched"] == "ok"
    assert report["restored"] == "ok" and report["all_restored"] == "ok"


@pytest.mark.parametrize("case, named", [
    ("allclose", "torch.allclose was replaced"),
    ("tensor_eq", "torch.Tensor.__eq__ was replaced"),
    ("isinstance", "builtins.isinstance was replaced"),
    ("check_verdict", "the code of support.hw4_pytorch_regularization.CHECKS.test_mse_loss"),
    ("checker_closure", "the code of support.hw4_pytorch_regularization.test_mse_loss"),
    ("sys_modules", "sys.modules['support.checking'] was replaced"),
    ("module_global_hides_builtin", "support.loss_checks.isinstance was added"),
])
def test_tampering_fails_the_hidden_tests_with_the_reason(report, case, named):
    assert report[case].startswith("IntegrityError: "), report[case]
    assert named in report[case]
    assert "scores 0" in report[case]


def test_a_redefined_checker_is_replaced_by_the_course_one(report):
    assert report["redefined_checker"].startswith("AssertionError: test_mse_loss failed")
    assert report["redefined_is_course_checker"] is True


def test_patching_while_a_check_runs_the_code_is_caught(report):
    assert report["patch_during_check"].startswith("IntegrityError: ")
    assert "while this check ran your code" in report["patch_during_check"]


@pytest.mark.parametrize("assignment", assignments())
def test_every_hidden_test_block_starts_with_the_integrity_check(assignment):
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(str(path), 4)
    for cell in nb.cells:
        if cell_kind(cell) != "test" or BEGIN_HIDDEN not in cell.source:
            continue
        lines = cell.source.split("\n")
        begin = next(i for i, line in enumerate(lines) if BEGIN_HIDDEN in line)
        assert lines[begin + 1].strip() == VERIFY_LINE, (
            f"{assignment}: {cell.metadata['nbgrader']['grade_id']}: the hidden block must "
            f"start with `{VERIFY_LINE}`")
