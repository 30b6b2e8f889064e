"""The student's loop: one screen per failure in a real kernel, and check_my_work().

* A failing check in Jupyter shows its message and, when the student's code raised, only
  the student's frames (``CheckFailure._render_traceback_``); plain Python keeps the full
  traceback; a stub is named as a stub, in the notebook and in graded messages.
* ``check_my_work()`` (course/check) grades the saved notebook with the grading engine on
  the visible cases: its table agrees with the grader's seed-0 grade, and it lists what the
  grader will not see.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.check.my_work import (CheckError, check_notebook, find_saved_notebook,
                                  plan_notebook_folder)
from course.config import load_grading_config
from course.grade.grader import Grader
from course.grade.plan import load_assignment
from tests.grading.added_cells_class import DROPOUT_WITH_HELPER
from tests.submissions import make_submission, solution_of

REPO = Path(__file__).resolve().parent.parent
A = "hw4_pytorch_regularization"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SETUP = "import torch\nfrom torch import nn\nfrom support import *\n"
STUB = '''class LinearNormal(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()
'''
WRONG = '''class LinearNormal(nn.Module):
    def __init__(self, in_dimensions, out_dimensions):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(in_dimensions, out_dimensions))
        self.bias = nn.Parameter(torch.zeros(out_dimensions))

    def forward(self, x):
        return x @ self.weights + self.bias
'''
RAISES = DROPOUT_WITH_HELPER  # calls keep_mask, which this kernel never defines
CASES = {"stub": (STUB, "test_normal(LinearNormal)"), "wrong": (WRONG, "test_normal(LinearNormal)"),
         "raises": (RAISES, "test_dropout(Dropout)")}


def error_outputs(cells: list[str], folder: Path) -> list[str]:
    """Run ``cells`` in a real IPython kernel (cwd ``folder``); the text of each cell's error
    output as the student sees it (ANSI colours removed; "" for a cell without one)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    NotebookClient(nb, timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    texts = []
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        texts.append(ANSI.sub("", "\n".join(errors[0].traceback)) if errors else "")
    return texts


@pytest.fixture(scope="module")
def failures() -> dict[str, str]:
    """Each case's error output, from one real kernel."""
    cells = [SETUP]
    for code, call in CASES.values():
        cells += [code, call]
    texts = error_outputs(cells, REPO)
    return {name: texts[2 + 2 * i] for i, name in enumerate(CASES)}


def test_a_failing_check_shows_its_message_without_the_course_frames(failures):
    text = failures["wrong"]
    assert text.startswith("CheckFailure: test_normal failed: bias random")
    for part in ("expected: bias entries drawn from N(0, 1)", "observed: every bias entry is 0",
                 "hint: "):
        assert part in text
    for name, text in failures.items():
        assert "support/" not in text and "checking.py" not in text, (name, text)
        assert len(text.splitlines()) <= 20, (name, text)


def test_student_code_that_raises_shows_the_students_own_frame(failures):
    text = failures["raises"]
    assert "test_dropout failed: your code raised an exception" in text
    assert "Your code raised it here:" in text
    assert "----> 8             return x * keep_mask(x, self.rate)" in text
    assert "NameError: name 'keep_mask' is not defined" in text
    assert "torch/nn/modules" not in text  # nn.Module.__call__: not the student's frame


def test_a_stub_is_named_as_a_stub(failures):
    assert failures["stub"].splitlines()[0] == (
        "NotWritten: test_normal failed: LinearNormal is not written yet: its cell still "
        "raises NotImplementedError")
    assert len(failures["stub"].splitlines()) == 2  # the message and its hint, nothing else


def test_plain_python_keeps_the_full_traceback(tmp_path):
    script = tmp_path / "student.py"
    script.write_text(SETUP + WRONG + "test_normal(LinearNormal)\n")
    result = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "support/checking.py" in result.stderr  # the course's frames are all there
    assert "test_normal failed: bias random" in result.stderr


# --------------------------------------------------------------------------- check_my_work

KEEP_MASK = '''# trying my mask on a small tensor
with torch.no_grad():
    def keep_mask(x, rate):
        return (torch.rand_like(x) >= rate).to(x.dtype)
    print(keep_mask(torch.ones(2, 4), 0.5))'''


def half_finished() -> nbformat.NotebookNode:
    """Some answers done, LinearNormal still the stub, and Dropout calling a helper defined
    only inside a with block (a part of an added cell that grading skips)."""
    dropout = solution_of(A, "dropout").replace(
        "mask = (torch.rand_like(x) >= self.rate).to(x.dtype)", "mask = keep_mask(x, self.rate)")
    assert "keep_mask" in dropout
    return make_submission(A, replace={"dropout": dropout}, stub=("linear_normal",),
                           add=[("gradient_descent_l1_tests", KEEP_MASK)])


def test_check_my_work_agrees_with_the_grader_and_says_what_it_will_not_see(tmp_path):
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(half_finished(), str(path))
    started = time.monotonic()
    report = check_notebook(path)
    seconds = time.monotonic() - started
    rows = {r.check: r for r in report.grade.results}
    assert rows["linear_normal_tests"].points == 0
    assert "LinearNormal is not written yet: its cell still raises NotImplementedError" in \
        rows["linear_normal_tests"].message
    assert "keep_mask" in rows["dropout_tests"].message and rows["dropout_tests"].points == 0
    assert rows["linear_zeros_tests"].status == "passed"
    assert report.grade.points == 17 and report.grade.max_points == 21
    table = report.table()
    assert "test_normal(LinearNormal)" in table and "17/21" in table
    assert any("cell linear_normal is not written yet" in n for n in report.notes)
    assert any(n.startswith("`keep_mask` is defined only in cell") and "cell dropout uses it" in n
               for n in report.notes), report.notes
    assert seconds < 60
    # the grader (sandboxed, as make grade runs it) on the same seed: the same rows
    assignment = load_assignment(A, REPO / "source")
    grade = Grader(assignment, load_grading_config(), "cpu", [0]).grade("student", path)
    assert [(r.check, r.points, r.status) for r in grade.results] == \
        [(r.check, r.points, r.status) for r in report.grade.results]


def test_the_saved_notebook_is_found_as_each_front_end_names_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckError, match="no notebook in"):
        find_saved_notebook()
    mine = tmp_path / f"{A}.ipynb"
    mine.write_text("{}")
    assert find_saved_notebook() == mine  # the one notebook here
    (tmp_path / "scratch.ipynb").write_text("{}")
    assert find_saved_notebook() == mine  # the one named after an assignment
    (tmp_path / f"{A}.ipynb").unlink()
    (tmp_path / "copy.ipynb").write_text("{}")
    with pytest.raises(CheckError, match="several notebooks"):
        find_saved_notebook()
    elsewhere = tmp_path / "sub" / "renamed.ipynb"
    elsewhere.parent.mkdir()
    elsewhere.write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(elsewhere))  # JupyterLab, Notebook 7
    assert find_saved_notebook() == elsewhere
    assert find_saved_notebook(tmp_path / "copy.ipynb") == tmp_path / "copy.ipynb"


def test_the_plan_comes_from_the_course_notebook_not_the_students():
    assert plan_notebook_folder(A) == REPO / "source"
    with pytest.raises(CheckError, match="no plan for"):
        plan_notebook_folder("hw9_missing")


def test_check_my_work_does_nothing_in_the_grading_kernel(monkeypatch, capsys, tmp_path):
    """nbgrader autograde's kernel (demo_cells = "run") runs the notebook's last cell too:
    there check_my_work() must not start a grading of its own."""
    from course.autograde.kernel import kernel_environment
    from course.check import check_my_work

    assert kernel_environment(str(tmp_path))["COURSE_GRADING"] == "1"
    monkeypatch.setenv("COURSE_GRADING", "1")
    check_my_work()
    assert capsys.readouterr().out == "check_my_work: skipped while grading\n"


def test_the_table_gives_a_partial_credit_row_what_failed():
    from course.check.my_work import reason
    from support.checking import Property, partial_message

    message = partial_message("test_dropout", (Property("training mode", 0.5),
                                               Property("evaluation mode", 0.3),
                                               Property("autograd", 0.2)),
                              {"evaluation mode": "test_dropout failed: eval output"}, 2)
    assert reason(message) == "partial credit, failed: evaluation mode (0.3)"
