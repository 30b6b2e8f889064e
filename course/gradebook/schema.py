"""The course's tables in nbgrader's ``gradebook.db``, beside nbgrader's own.

nbgrader's schema holds a check's points (``Grade.auto_score``, and a TA's
``Grade.manual_score``, which wins) and its message (the test cell's
``Comment.auto_comment``); it has no place for how a run was made or which case decided a
check.  Those live in two tables of the course's (nbgrader's migrations never touch them):

* ``course_grading_run``: one row per grading run: ``id``, ``assignment``, ``command``
  (``make grade``, ``make autograde`` or ``nbgrader autograde``), ``seeds`` (JSON list: 0,
  then the run's fresh seeds), ``device``, ``started``, ``finished``, ``settings`` (JSON:
  limits, sandbox, workers);
* ``course_check_verdict``: one row per student and check (``assignment``, ``student``,
  ``check`` the test cell's grade id), with ``notebook``, ``run_id``, ``status`` (passed,
  failed, error, timeout), ``case_seed`` (the seed whose case decided a check that did not
  pass: 0 the visible case), ``verdict_at`` (where its verdict is defined), and
  ``seconds`` and ``internal_error`` of the student's grading.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class GradingRun(Base):
    """One grading run (see the module docstring)."""

    __tablename__ = "course_grading_run"
    id = Column(Integer, primary_key=True, autoincrement=True)
    assignment = Column(String(128), nullable=False)
    command = Column(String(64), nullable=False)
    seeds = Column(Text, nullable=False)
    device = Column(String(32))
    started = Column(DateTime)
    finished = Column(DateTime)
    settings = Column(Text)


class CheckVerdict(Base):
    """How one check of one student was decided, and by which run."""

    __tablename__ = "course_check_verdict"
    assignment = Column(String(128), primary_key=True)
    student = Column(String(128), primary_key=True)
    check = Column(String(128), primary_key=True)
    notebook = Column(String(128), nullable=False)
    run_id = Column(Integer, ForeignKey("course_grading_run.id"), nullable=False)
    status = Column(String(16), nullable=False)
    case_seed = Column(Integer)
    verdict_at = Column(Text)
    seconds = Column(Float)
    internal_error = Column(Text)


def create_tables(session) -> None:
    """The course's tables in the database of an nbgrader ``Gradebook`` session (kept)."""
    Base.metadata.create_all(session.get_bind())
