"""A grading run's grades written into nbgrader's gradebook, with nbgrader's own API.

For each student graded (a :class:`course.grade.grader.StudentGrade`) and each of its
checks (a ``CheckResult``, the row of one test cell):

* ``Grade.auto_score`` (nbgrader's, the test cell's grade) is the check's points exactly
  as the engine gave them (a fraction when a check gives partial credit);
  ``Grade.manual_score``, a TA's override in the formgrader, is never touched, and wins
  (nbgrader's rule); ``needs_manual_grade`` follows nbgrader's ``SaveAutoGrades`` (True
  when there is a manual score);
* the test cell's ``Comment.auto_comment`` is the check's message (nbgrader creates
  comments for answer cells only: the test cell's is added here; ``manual_comment``, a
  TA's, is never touched);
* ``course_check_verdict`` (:mod:`course.gradebook.schema`) holds its status, the case that
  decided it and the run, ``course_grading_run`` the run's seeds, device and command.

A regrade replaces those and nothing else: every manual score, comment, extra credit and
answer cell stays as the TA left it.  Every writer of the course's gradebook comes here:
``make grade`` (:meth:`course.grade.run.GradingRun.write`), ``nbgrader autograde``
(:class:`course.autograde.engine.SaveEngineGrades`) and ``make autograde``.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from course.gradebook.schema import CheckVerdict, GradingRun, create_tables


@dataclass
class RunInfo:
    """How a run grades: what the ``course_grading_run`` row holds."""

    assignment: str
    command: str  # "make grade", "make autograde", "nbgrader autograde"
    seeds: list
    device: str
    settings: dict = field(default_factory=dict)
    started: datetime = field(default_factory=datetime.now)


def open_gradebook(db_url: str, course_id: str):
    """nbgrader's ``Gradebook`` (a new database is created with nbgrader's schema), with the
    course's tables, and without SQLAlchemy's harmless autoflush warnings of nbgrader's
    ``add_submission``."""
    from nbgrader.api import Gradebook

    from course.autograde.preprocessors import ignore_gradebook_autoflush_warnings

    path = os.environ.get("PATH", "").split(os.pathsep)
    for scripts in (alembic_scripts(), os.path.dirname(sys.executable)):
        if scripts and path[0] != scripts:  # a new database runs `alembic` by name
            path.insert(0, scripts)
    os.environ["PATH"] = os.pathsep.join(path)
    with warnings.catch_warnings():
        ignore_gradebook_autoflush_warnings()
        gradebook = Gradebook(db_url, course_id)
    create_tables(gradebook.db)
    return gradebook


def alembic_scripts() -> str | None:
    """The folder of the ``alembic`` command of the installed alembic package (nbgrader
    runs it by name), wherever this interpreter's own scripts are; None when not found."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution("alembic").files or []
    except PackageNotFoundError:
        return None
    for file in files:
        if file.name == "alembic" and "bin" in file.parts:
            script = Path(file.locate()).resolve()
            if script.is_file():
                return str(script.parent)
    return None


def start_run(gradebook, info: RunInfo) -> int:
    """A new ``course_grading_run`` row; its id."""
    run = GradingRun(assignment=info.assignment, command=info.command,
                     seeds=json.dumps([int(s) for s in info.seeds]), device=info.device,
                     started=info.started, finished=info.started,
                     settings=json.dumps(info.settings, default=str))
    gradebook.db.add(run)
    gradebook.db.commit()
    return run.id


def finish_run(gradebook, run_id: int) -> None:
    run = gradebook.db.get(GradingRun, run_id)
    run.finished = datetime.now()
    gradebook.db.commit()


def record_grade(gradebook, run_id: int, assignment: str, notebook: str, grade,
                 commit: bool = True) -> list[str]:
    """Write one student's grade (see the module docstring); returns the checks that are
    not graded cells of ``notebook`` in the gradebook (not written)."""
    from nbgrader.api import MissingEntry

    student = grade.student
    with warnings.catch_warnings():
        from course.autograde.preprocessors import ignore_gradebook_autoflush_warnings

        ignore_gradebook_autoflush_warnings()
        try:
            gradebook.find_student(student)
        except MissingEntry:
            gradebook.add_student(student)
        try:
            gradebook.find_submission(assignment, student)
        except MissingEntry:
            gradebook.add_submission(assignment, student)
    submitted = gradebook.find_submission_notebook(notebook, assignment, student)
    comments = {c.cell_id: c for c in submitted.comments}
    unknown = []
    for row in grade.results:
        try:
            cell_grade = gradebook.find_grade(row.check, notebook, assignment, student)
        except MissingEntry:
            unknown.append(row.check)
            continue
        cell_grade.auto_score = float(row.points)
        cell_grade.needs_manual_grade = cell_grade.manual_score is not None
        comment = comments.get(cell_grade.cell_id)
        if comment is None:
            from nbgrader.api import Comment

            comment = Comment(cell_id=cell_grade.cell_id, notebook=submitted)
            gradebook.db.add(comment)
        comment.auto_comment = row.message
        gradebook.db.merge(CheckVerdict(
            assignment=assignment, student=student, check=row.check, notebook=notebook,
            run_id=run_id, status=row.status, case_seed=row.case_seed,
            verdict_at=row.verdict_at, seconds=grade.seconds,
            internal_error=grade.internal_error))
    if commit:
        gradebook.db.commit()
    return unknown


def record_run(db_url: str, course_id: str, info: RunInfo, grades, notebook: str | None = None
               ) -> int:
    """A whole run's grades (``make grade``): the run, then every student; the run's id."""
    with open_gradebook(db_url, course_id) as gradebook:
        run_id = start_run(gradebook, info)
        for grade in grades:
            record_grade(gradebook, run_id, info.assignment, notebook or info.assignment,
                         grade, commit=False)
        finish_run(gradebook, run_id)
    return run_id
