"""What a new TA does, command by command, on a fresh checkout after the README's first command.

``released_course`` is a copy of the repository's files (as a fresh clone has them) after
``make release``; the TA then puts submissions in ``submitted/`` and runs plain
``nbgrader autograde``, ``nbgrader export`` and ``nbgrader generate_feedback``, with no
option the README does not give.
"""

from __future__ import annotations

import csv
import html
import re
import shutil

from tests.conftest import nbgrader
from tests.sandbox.attack_class import hidden_lines
from tests.submissions import WRONG_MSE, make_submission, source_notebook, write_submission

A = "hw4_pytorch_regularization"


def test_autograde_export_and_feedback_right_after_make_release(released_course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(released_course, root, ignore=shutil.ignore_patterns("executed"))
    write_submission(root / "submitted", "ada", A, make_submission(A))
    write_submission(root / "submitted", "bob", A,
                     make_submission(A, replace={"mse_loss": WRONG_MSE}))

    graded = nbgrader("autograde", A, cwd=root)
    assert "by the grading engine" in graded.stderr, graded.stderr[-2000:]
    nbgrader("export", cwd=root)
    with open(root / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)
                if row["assignment"] == A}
    # 21 autograded points; the 8 manual points are not graded yet
    assert float(rows["ada"]["raw_score"]) == 21
    assert float(rows["bob"]["raw_score"]) == 20

    nbgrader("generate_feedback", A, cwd=root)
    hidden = hidden_lines(source_notebook(A))
    page = (root / "feedback" / "bob" / A / f"{A}.html").read_text(errors="replace")
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "test_mse_loss failed" in text
    assert not [line for line in hidden if line in text]
