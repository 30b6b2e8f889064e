"""Autograde in a clone that never ran ``make release`` (course/autograde/gradebook.py).

``gradebook.db`` is git-ignored, so a TA's clone has none; grading records the assignment
from source/ first, as ``nbgrader generate_assignment`` (``make release``) records it, without
writing release/.  The whole README journey runs in tests/test_readme_ta.py (clean room).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from nbgrader.api import Gradebook

from course.autograde.gradebook import (ensure_assignment, gradebook_url, prepare_autograde,
                                       recorded_notebooks)
from course.autograde.parallel import ParallelAutograde
from course.release.build import generate_assignment
from tests.conftest import REPO, copy_course
from tests.submissions import make_submission, write_submission

A = "hw4_pytorch_regularization"


def recorded(root) -> dict:
    """What the gradebook holds of ``A``: each notebook's cells, as autograde uses them."""
    with Gradebook(gradebook_url(root), "dl-course") as gb:
        assignment = gb.find_assignment(A)
        return {nb.name: {
            "grade": sorted((c.name, c.max_score, c.cell_type) for c in nb.grade_cells),
            "solution": sorted(c.name for c in nb.solution_cells),
            "task": sorted((c.name, c.max_score) for c in nb.task_cells),
            "source": sorted((c.name, c.cell_type, c.locked, c.source, c.checksum)
                             for c in nb.source_cells)}
            for nb in assignment.notebooks}


def test_a_missing_assignment_is_recorded_as_make_release_records_it(tmp_path):
    released = copy_course(tmp_path / "released")
    generate_assignment(released, A)  # make release's own step, into release/
    clone = copy_course(tmp_path / "clone")
    assert not (clone / "gradebook.db").exists()

    assert ensure_assignment(clone, A) is True
    assert recorded(clone) == recorded(released)
    assert recorded(clone)[A]["grade"], "no graded cells recorded"
    assert not (clone / "release").exists(), "the stub was written into release/"
    assert ensure_assignment(clone, A) is False  # recorded once: left alone afterwards


def test_the_gradebook_is_read_without_nbgrader_while_workers_grade(tmp_path):
    """make grade asks whether the gradebook holds the assignment while its workers grade:
    read from nbgrader's tables with sqlite3, the answer nbgrader's API gives, without
    importing nbgrader and SQLAlchemy (seconds of CPU taken from the workers)."""
    clone = copy_course(tmp_path / "clone")
    assert ensure_assignment(clone, A) is True
    database = clone / "gradebook.db"
    assert recorded_notebooks(database, A) == set(recorded(clone)) == {A}
    assert recorded_notebooks(database, "hw9_not_released") == set()
    (tmp_path / "not-a-gradebook.db").write_bytes(b"nine bytes")
    assert recorded_notebooks(tmp_path / "not-a-gradebook.db", A) is None
    url = f"sqlite:///{database}"  # as make grade asks it (GradingRun._ensure_assignment)
    script = ("import sys; from course.autograde.gradebook import ensure_assignment; "
              f"assert ensure_assignment({str(clone)!r}, {A!r}, {url!r}) is False; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('nbgrader', 'sqlalchemy')))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_the_hook_records_it_and_drops_links_when_nbgrader_grades_everyone(tmp_path,
                                                                          monkeypatch):
    """nbgrader calls the hook with ``student="*"`` (no --student) and the student's
    notebooks; it runs in the course root."""
    clone = copy_course(tmp_path / "clone")
    notebook = write_submission(clone / "submitted", "ada", A, make_submission(A))
    (notebook.parent / "notes.txt").symlink_to(clone / "source" / A / f"{A}.ipynb")
    monkeypatch.chdir(clone)
    prepare_autograde(assignment=A, student="*", notebooks=[str(notebook)])
    assert not (notebook.parent / "notes.txt").exists()
    assert notebook.is_file()
    assert A in recorded(clone)


def test_make_autograde_records_it_before_copying_the_gradebook(tmp_path):
    clone = copy_course(tmp_path / "clone")
    grader = ParallelAutograde(clone, A, workers=1, progress=False)
    grader.check_gradebook()  # what `make autograde` does first
    assert A in recorded(clone)
    shutil.rmtree(clone / "source" / A)
    os.remove(clone / "gradebook.db")
    try:
        grader.check_gradebook()
    except SystemExit as stop:
        assert "no assignment" in str(stop) and A in str(stop)
    else:
        raise AssertionError("an assignment without source/ was not refused")
