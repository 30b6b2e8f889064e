"""One row per student, for a learning management system: nbgrader's gradebook as an LMS
gradebook.

    python -m course.export hw4_pytorch_regularization [--roster roster.csv]   # make export

reads ``gradebook.db``, the one record (:mod:`course.gradebook.views`): every check's
points as the last grading run wrote them, whichever command it was (``make grade``,
``make autograde``, ``nbgrader autograde``), a TA's override of a check and the written
answers' scores from the formgrader (a TA's score always wins, as in nbgrader), and which
run graded each student; and writes

* ``grades/<a>-lms.csv``: one row per student: ``student_id``, a column per graded question
  in notebook order (each autograded check, each manually graded answer), then
  ``autograded``, ``manual`` and ``total``, and ``graded_by`` (the run: its command, time
  and seeds): what Moodle's gradebook import, a spreadsheet or anything that reads Otter's
  ``final_grades.csv`` wants.  An answer not graded by hand yet is blank (and counts 0);
* ``grades/<a>-canvas.csv``: Canvas's gradebook import layout: ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section``, then the assignment's column (the total),
  with the points possible in the second row.

A course roster (``--roster``: a CSV with the nbgrader id in a ``student_id`` column, or in
``SIS Login ID`` when there is none, and any of Canvas's identity columns: a Canvas gradebook
export works as it is when the SIS Login IDs are the nbgrader ids) says who each student is
in the LMS.  Roster students without a submission get 0 and are listed; graded students
the roster lacks are listed and left out of the Canvas file (Canvas could not match them).
Without a roster the Canvas file names each student by nbgrader id, as ``SIS Login ID``.
The command also lists the TA overrides it applied and the students graded by each run.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

from course.config import assignments, nbgrader_setting
from course.grade.reports import number

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
KEY, CANVAS_KEY = "student_id", "SIS Login ID"
TOTALS = ("autograded", "manual", "total")
GRADED_BY = "graded_by"


class ExportError(Exception):
    """Nothing to export, or an input that cannot be read (with what to do about it)."""


@dataclass(frozen=True)
class Question:
    """A graded cell of the assignment: an autograded check or a manually graded answer."""

    grade_id: str
    max_points: float
    manual: bool


@dataclass
class StudentScores:
    """One student's points per question (None: a manual answer not graded yet)."""

    student: str
    points: dict = field(default_factory=dict)
    submitted: bool = True
    graded_by: str = ""

    def part(self, questions, manual: bool) -> float:
        return sum(self.points.get(q.grade_id) or 0 for q in questions if q.manual == manual)

    def totals(self, questions) -> tuple[float, float, float]:
        auto, manual = self.part(questions, False), self.part(questions, True)
        return auto, manual, auto + manual


# --------------------------------------------------------------------------- reading


def questions_of(name: str, source: Path) -> list[Question]:
    """The graded cells of ``source/<name>/<name>.ipynb``: autograded test cells and every
    other cell with points (written answers, tasks), in notebook order."""
    from course.notebooks import NotebookError, cell_kind, cell_points, grade_id, load_notebook

    try:
        nb = load_notebook(Path(source) / name / f"{name}.ipynb")
    except NotebookError as error:
        raise ExportError(f"cannot export {name}: {error}") from None
    graded = [(cell_kind(c), grade_id(c), cell_points(c)) for c in nb.cells]
    return [Question(gid, points, kind != "test") for kind, gid, points in graded
            if gid and (kind == "test" or points > 0)]


def recorded_scores(database: Path, assignment: str, course_id: str) -> tuple[list, list]:
    """(one StudentScores per student in the gradebook, the TA overrides of checks as
    lines); an ExportError when the gradebook holds no grades of ``assignment``."""
    from course.gradebook.views import read_class

    hint = ("run make grade, make autograde or nbgrader autograde first (they grade the "
            "submissions in submitted/<student>/<assignment>/ into it)")
    if database is None or not Path(database).is_file():
        raise ExportError(f"no gradebook {database}: {hint}")
    record = read_class(f"sqlite:///{Path(database).resolve()}", course_id, assignment)
    if record is None or not record.students:
        raise ExportError(f"{database} holds no grades of {assignment}: {hint}")
    scores, overrides = [], []
    for student in record.students.values():
        points = {gid: cell.points for gid, cell in student.cells.items()}
        scores.append(StudentScores(student.student, points,
                                    graded_by=record.run_label(student.run_id)))
        overrides += [f"{student.student} {cell.grade_id}: "
                      f"{number(cell.auto_points or 0)} -> {number(cell.points)}"
                      for cell in student.checks() if cell.overridden]
    return scores, overrides


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """nbgrader id -> the student's Canvas identity columns, in the roster's order."""
    if not Path(path).is_file():
        raise ExportError(f"no roster {path}")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    columns = set(rows[0]) if rows else set()
    key = KEY if KEY in columns else CANVAS_KEY if CANVAS_KEY in columns else None
    if key is None:
        raise ExportError(f"{path}: a roster needs a {KEY!r} column (the nbgrader student "
                          f"ids) or Canvas's {CANVAS_KEY!r}")
    roster: dict = {}
    for row in rows:
        student = (row.get(key) or "").strip()
        if not student or (row.get("Student") or "").strip() == "Points Possible":
            continue
        if student in roster:
            raise ExportError(f"{path}: student {student!r} is listed twice")
        roster[student] = {c: (row.get(c) or "").strip() for c in CANVAS_IDENTITY}
    return roster


# --------------------------------------------------------------------------- the class


def class_scores(graded: list[StudentScores], questions: list[Question],
                 roster: dict | None) -> list[StudentScores]:
    """Every student once, by id: the graded ones, and roster students without a
    submission (0 everywhere)."""
    by_student = {s.student: s for s in graded}
    for student in roster or {}:
        if student not in by_student:
            by_student[student] = StudentScores(
                student, {q.grade_id: 0 for q in questions}, submitted=False)
    return [by_student[s] for s in sorted(by_student)]


def write_lms(path: Path, scores: list[StudentScores], questions: list[Question]) -> Path:
    """One row per student: a column per question, then the three totals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([KEY, *(q.grade_id for q in questions), *TOTALS, GRADED_BY])
        for student in scores:
            cells = [student.points.get(q.grade_id) for q in questions]
            writer.writerow([student.student, *("" if c is None else number(c) for c in cells),
                             *map(number, student.totals(questions)), student.graded_by])
    return path


def write_canvas(path: Path, scores: list[StudentScores], questions: list[Question],
                 column: str, roster: dict | None) -> Path:
    """Canvas's gradebook import: identity columns, the assignment's total, points possible
    in the second row; roster order (without a roster: by nbgrader id, as SIS Login ID)."""
    by_student = {s.student: s for s in scores}
    people = roster if roster is not None else {
        s.student: {"Student": s.student, CANVAS_KEY: s.student} for s in scores}
    possible = sum(q.max_points for q in questions)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_IDENTITY, column])
        writer.writerow(["Points Possible", *[""] * (len(CANVAS_IDENTITY) - 1),
                         number(possible)])
        for student, identity in people.items():
            total = by_student[student].totals(questions)[2]
            writer.writerow([identity.get(c, "") for c in CANVAS_IDENTITY] + [number(total)])
    return path


# --------------------------------------------------------------------------- command


def export(name: str, grades_dir: Path, source: Path, database: Path | None,
           course_id: str, roster_path: Path | None = None,
           column: str | None = None) -> list[str]:
    """Write both files; returns the lines to print (what was written, who is missing)."""
    questions = questions_of(name, source)
    graded, overrides = recorded_scores(database, name, course_id)
    roster = read_roster(roster_path) if roster_path else None
    scores = class_scores(graded, questions, roster)
    lms = write_lms(Path(grades_dir) / f"{name}-lms.csv", scores, questions)
    canvas = write_canvas(Path(grades_dir) / f"{name}-canvas.csv", scores, questions,
                          column or name, roster)
    return [f"wrote {lms} ({len(scores)} students) from {database}", f"wrote {canvas}",
            *_notes(scores, questions, overrides, roster)]


def _notes(scores, questions, overrides, roster) -> list[str]:
    """Which run graded whom, the TA overrides applied, who got 0 for want of a
    submission, who Canvas cannot match, what is not graded by hand yet."""
    notes = []
    runs: dict = {}
    for s in scores:
        if s.submitted:
            runs.setdefault(s.graded_by, []).append(s.student)
    notes += [f"graded by {run}: {', '.join(students)}" for run, students in runs.items()]
    if overrides:
        notes.append(f"TA overrides of autograded checks (the TA's score counts): "
                     f"{'; '.join(overrides)}")
    absent = [s.student for s in scores if not s.submitted]
    if absent:
        notes.append(f"no submission (0 points): {', '.join(absent)}")
    if roster is not None:
        unknown = [s.student for s in scores if s.student not in roster]
        if unknown:
            notes.append(f"not in the roster (left out of the Canvas file): "
                         f"{', '.join(unknown)}")
    else:
        notes.append("no roster: the Canvas file names students by nbgrader id, as "
                     "SIS Login ID (ROSTER=roster.csv maps them to Canvas ids)")
    manual_ids = [q.grade_id for q in questions if q.manual]
    pending = [s.student for s in scores if s.submitted and any(
        s.points.get(gid) is None for gid in manual_ids)]
    if pending:
        notes.append(f"answers not graded by hand yet (blank, counted 0): {', '.join(pending)}")
    return notes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.export",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--grades-dir", type=Path, default=Path("grades"))
    parser.add_argument("--source", type=Path, default=Path("source"))
    parser.add_argument("--gradebook", type=Path, default=Path("gradebook.db"),
                        help="nbgrader's gradebook: every grade, override and manual score "
                             "(default: the course's gradebook.db)")
    parser.add_argument("--roster", type=Path, default=None,
                        help="CSV: student_id (nbgrader) -> Canvas's Student, ID, SIS User "
                             "ID, SIS Login ID, Section")
    parser.add_argument("--column", default=None,
                        help="the Canvas column, e.g. 'HW4 (123456)' for an existing "
                             "assignment (default: the assignment's name)")
    parser.add_argument("--course-id", default=None,
                        help="nbgrader course id (default: nbgrader_config.py's)")
    args = parser.parse_args(argv)
    known = assignments()
    if known and args.assignment not in known:
        print(f"error: no assignment {args.assignment!r} (the course's: {', '.join(known)})",
              file=sys.stderr)
        return 2
    course_id = args.course_id or (Path("nbgrader_config.py").is_file() and nbgrader_setting(
        "CourseDirectory", "course_id", ".")) or "default_course"
    try:
        lines = export(args.assignment, args.grades_dir, args.source, args.gradebook,
                       course_id, args.roster, args.column)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
