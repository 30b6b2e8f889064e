"""``make similarity`` (course/similarity/compare.py) on a fixture class of hw4.

ana hands in the course's own solutions; ben copied ana's answers, renamed the variables,
rewrote the comments and changed the layout; cara and dev wrote their own correct answers
(by hand: tests/grading/honest_answers.py); eli answered only mse_loss and left the rest as released; fay's notebook
is not JSON.  For every question that ben copied, ana and ben must rank first.
"""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from course.similarity.compare import SimilarityError, main, similarity
from tests.grading.honest_answers import BEN, CARA, DEV, ELI_MSE
from tests.submissions import REPO, make_submission, write_submission

A = "hw4_pytorch_regularization"
COPIED = ("mse_loss", "gradient_descent", "dropout", "linear_zeros")


def build_class(folder):
    """The fixture class in ``folder`` (one sub-folder per student)."""
    write_submission(folder, "ana", A, make_submission(A))
    write_submission(folder, "ben", A, make_submission(A, replace=BEN))
    write_submission(folder, "cara", A, make_submission(A, replace=CARA))
    write_submission(folder, "dev", A, make_submission(A, replace=DEV))
    stubbed = [q for q in COPIED if q != "mse_loss"]
    write_submission(folder, "eli", A, make_submission(A, replace={"mse_loss": ELI_MSE},
                                                       stub=stubbed))
    write_submission(folder, "fay", A, "{ this is not a notebook")
    return folder


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    submitted = build_class(tmp_path_factory.mktemp("similarity") / "submitted")
    questions, unreadable = similarity(A, submitted, REPO / "release", progress=False)
    return {q.name: q for q in questions}, unreadable


@pytest.mark.parametrize("question", COPIED)
def test_the_copied_pair_ranks_first(compared, question):
    found = compared[0][question]
    first, second = found.pairs[0], found.pairs[1]
    assert (first.a.student, first.b.student) == ("ana", "ben"), \
        [(p.a.student, p.b.student, round(p.similarity, 2)) for p in found.pairs]
    assert first.similarity > 0.8 and first.similarity > second.similarity + 0.2


def test_independent_answers_are_not_flagged_as_copies(compared):
    for question in COPIED:
        for pair in compared[0][question].pairs[1:]:
            assert pair.similarity < 0.7, (question, pair.a.student, pair.b.student)


def test_the_stub_is_removed_and_unanswered_questions_are_left_out(compared):
    questions = compared[0]
    assert "eli" in {a.student for a in questions["mse_loss"].answers}
    for question in COPIED[1:]:
        students = {a.student for a in questions[question].answers}
        assert students == {"ana", "ben", "cara", "dev"}
    ana = next(a for a in questions["gradient_descent"].answers if a.student == "ana")
    assert "YOUR CODE HERE" not in ana.code and "NotImplementedError" not in ana.code
    assert "def gradient_descent" not in ana.code and "losses[t]" not in ana.code


def test_an_unreadable_notebook_is_reported_not_compared(compared):
    assert list(compared[1]) == ["fay"] and "not valid JSON" in compared[1]["fay"]


def test_the_command_writes_csv_and_escaped_html(tmp_path):
    submitted = build_class(tmp_path / "submitted")
    result = subprocess.run(
        [sys.executable, "-m", "course.similarity", A, "--submissions", str(submitted),
         "--release", str(REPO / "release"), "--out", str(tmp_path / "out"), "--top", "3"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "comparing hw4_pytorch_regularization" in result.stderr  # the progress bar
    assert "not compared: fay" in result.stderr
    with open(tmp_path / "out" / f"{A}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    firsts = {r["question"]: (r["student_a"], r["student_b"]) for r in rows if r["rank"] == "1"}
    assert all(firsts[q] == ("ana", "ben") for q in COPIED)
    assert max(int(r["rank"]) for r in rows) == 3
    page = (tmp_path / "out" / f"{A}.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;owned&quot;)" in page
    assert "<mark>" in page and "dropout" in page
    assert "<th>pairs compared</th>" in page  # where to look first, per question


def test_a_bad_assignment_name_is_a_clear_error(tmp_path, capsys):
    build_class(tmp_path / "submitted")
    assert main(["hw9_nothing", "--submissions", str(tmp_path / "submitted")]) == 2
    error = capsys.readouterr().err
    assert "no assignment 'hw9_nothing'" in error and A in error


def test_an_empty_submissions_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "submitted" / "ana").mkdir(parents=True)  # a student without the notebook
    assert main([A, "--submissions", str(tmp_path / "submitted"), "--no-progress"]) == 2
    assert f"no submissions of {A} in" in capsys.readouterr().err
    with pytest.raises(SimilarityError, match="no submissions folder"):
        similarity(A, tmp_path / "nowhere", REPO / "release", progress=False)


def test_a_missing_release_is_a_clear_error(tmp_path):
    build_class(tmp_path / "submitted")
    with pytest.raises(SimilarityError, match="run make release"):
        similarity(A, tmp_path / "submitted", tmp_path / "no-release", progress=False)
