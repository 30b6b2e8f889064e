"""The gradebook read back: what every view of the grades (the grade sheet, results.json,
the LMS and Canvas files) is written from.

:func:`read_class` gives, per student of an assignment in ``gradebook.db``, each graded
cell's record: for a check (an autograded test cell) the engine's points
(``Grade.auto_score``), a TA's override (``Grade.manual_score``), extra credit, and the
engine's message, status, deciding case and run (:mod:`course.gradebook.record`); for a
written answer its manual score.  The points that count are nbgrader's: a TA's score when
there is one, else the engine's, plus extra credit (:attr:`CellRecord.points`).
"""

from __future__ import annotations

import json
from pathlib import Path
from dataclasses import dataclass, field


@dataclass
class CellRecord:
    """One graded cell of one student's submission."""

    grade_id: str
    max_points: float
    auto_points: float | None
    manual_points: float | None = None  # a TA's score: an override on a check
    extra_credit: float = 0.0
    check: bool = True  # an autograded test cell (else a written answer / manual cell)
    status: str = ""
    message: str = ""
    case_seed: int | None = None
    verdict_at: str = ""
    run_id: int | None = None

    @property
    def points(self) -> float | None:
        """The points that count: a TA's score, else the engine's, plus extra credit;
        None when nobody scored it yet."""
        value = self.manual_points if self.manual_points is not None else self.auto_points
        return None if value is None else value + (self.extra_credit or 0)

    @property
    def overridden(self) -> bool:
        return self.check and self.manual_points is not None


@dataclass
class StudentRecord:
    student: str
    cells: dict = field(default_factory=dict)  # grade id -> CellRecord
    run_id: int | None = None  # the run that graded its checks (the latest, if several)
    seconds: float = 0.0
    internal_error: str | None = None

    def checks(self) -> list[CellRecord]:
        return [c for c in self.cells.values() if c.check]


@dataclass
class ClassRecord:
    assignment: str
    students: dict  # student -> StudentRecord, by id
    runs: dict  # run id -> {"command", "seeds", "device", "started", "finished", "settings"}

    def run_label(self, run_id: int | None) -> str:
        """'run 3 (make grade, 2026-12-07 21:40, seeds 0,1357,2468)', or 'unknown run'."""
        run = self.runs.get(run_id)
        if run is None:
            return "not graded by the course's engine"
        when = run["finished"].strftime("%Y-%m-%d %H:%M") if run["finished"] else "?"
        return (f"run {run_id} ({run['command']}, {when}, seeds "
                f"{','.join(map(str, run['seeds']))})")


def read_class(db_url: str, course_id: str, assignment: str) -> ClassRecord | None:
    """Every submission of ``assignment`` in the gradebook; None when it has no such
    assignment."""
    from nbgrader.api import MissingEntry

    from course.gradebook.record import open_gradebook
    from course.gradebook.schema import CheckVerdict, GradingRun

    with open_gradebook(db_url, course_id) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry:
            return None
        verdicts = {(v.student, v.check): v for v in gradebook.db.query(CheckVerdict)
                    .filter(CheckVerdict.assignment == assignment)}
        runs = {r.id: {"command": r.command, "seeds": json.loads(r.seeds), "device": r.device,
                       "started": r.started, "finished": r.finished,
                       "settings": json.loads(r.settings or "{}")}
                for r in gradebook.db.query(GradingRun)
                .filter(GradingRun.assignment == assignment)}
        students = {}
        for submission in found.submissions:
            record = StudentRecord(submission.student.id)
            for notebook in submission.notebooks:
                _read_notebook(notebook, record, verdicts)
            students[record.student] = record
    return ClassRecord(assignment, dict(sorted(students.items())), runs)


def _read_notebook(notebook, record: StudentRecord, verdicts: dict) -> None:
    """One submitted notebook's graded cells into ``record``."""
    answers = {c.name for c in notebook.notebook.solution_cells} \
        | {c.name for c in notebook.notebook.task_cells}
    comments = {c.cell_id: c for c in notebook.comments}
    for grade in notebook.grades:
        is_check = grade.cell.cell_type == "code" and grade.name not in answers
        cell = CellRecord(grade.name, grade.max_score, grade.auto_score, grade.manual_score,
                          grade.extra_credit or 0.0, is_check)
        verdict = verdicts.get((record.student, grade.name))
        comment = comments.get(grade.cell_id)
        if is_check:
            cell.message = (comment.auto_comment or "") if comment is not None else ""
            if verdict is not None:
                cell.status, cell.case_seed = verdict.status, verdict.case_seed
                cell.verdict_at, cell.run_id = verdict.verdict_at or "", verdict.run_id
                record.run_id = max(record.run_id or 0, verdict.run_id)
                record.seconds, record.internal_error = verdict.seconds or 0.0, \
                    verdict.internal_error
            elif grade.auto_score is not None:  # graded by nbgrader's own SaveAutoGrades
                cell.status = "passed" if grade.auto_score >= grade.max_score else "failed"
        record.cells[grade.name] = cell


def student_grade(record: StudentRecord, order: list[str]):
    """A StudentGrade of the checks of ``record`` in ``order`` (grade ids), each with the
    points that count (a TA's override wins); checks the record lacks are left out."""
    from course.grade.grader import CheckResult, StudentGrade

    rows = []
    for gid in order:
        cell = record.cells.get(gid)
        if cell is None or not cell.check:
            continue
        rows.append(CheckResult(record.student, gid, cell.points or 0.0, cell.max_points,
                                cell.status or "not graded", cell.message, cell.case_seed,
                                cell.verdict_at))
    grade = StudentGrade(record.student, rows, record.seconds)
    grade.internal_error = record.internal_error
    return grade


def check_points(database: Path, assignment: str) -> dict[str, dict[str, float]]:
    """student -> {grade id: points that count} of the code cells (the checks) of
    ``assignment`` in the gradebook file ``database``; {} when there is no such file."""
    from nbgrader.api import Gradebook

    if not Path(database).is_file():
        return {}
    table = {}
    with Gradebook(f"sqlite:///{Path(database).resolve()}") as gb:
        for submission in gb.find_assignment(assignment).submissions:
            grades = submission.notebooks[0].grades
            table[submission.student.id] = {g.name: g.score for g in grades
                                            if g.cell.cell_type == "code"}
    return table
