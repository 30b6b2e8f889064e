"""What a grading run writes: the grade sheet, Gradescope files, and the terminal summary.

All of them are views: ``make grade`` first records its grades in nbgrader's gradebook
(:mod:`course.gradebook.record`) and writes these from the gradebook as it then stands
(:mod:`course.gradebook.views`), every student of the assignment in it included.

* ``grades/<a>.csv``: one row per student per check (``CSV_COLUMNS``): ``points`` are the
  points that count (a TA's override in the formgrader wins), ``engine_points`` the
  engine's own; messages on one line so that any LMS import or spreadsheet reads them;
  ``verdict`` names where the check's verdict is defined (a function's module and name, or
  the notebook's test cell); ``case`` the case that decided a check that did not pass
  (``visible``, or ``hidden, seed S``); ``graded_by`` the run that graded it;
* ``grades/<a>/<student>/results.json``: Gradescope's autograder format (``tests[]`` with
  name, score, max_score, status, output, visibility, and ``extra_data.verdict`` as in the
  sheet; top-level score), uploadable as is;
  next to it ``student_output.txt``, what the student's code printed (for the TA);
* ``grades/<a>-run.json``: how the run was made (seeds, device, limits), to reproduce it,
  and every earlier run (``runs``: each one's seeds and the students it graded;
  ``graded_by_run``: which of them graded each student now in the sheet).

A run that grades some of the students (``make grade STUDENTS=...`` or ``-k``) replaces
their rows and results files and keeps everyone else's (``write_reports(partial=True)``).

Messages come from verdicts and never contain the source of hidden tests.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from course.grade.device_policy import summary as device_summary

CSV_COLUMNS = ("student_id", "check", "points", "max_points", "status", "message", "verdict",
               "case", "engine_points", "graded_by")
# verdict: where the check's verdict is defined (CheckResult.verdict_at), one hop from a
# lost point to the code that took it


def number(value: float):
    """2.0 -> 2 (an int), 1.5 -> 1.5: points as a TA writes them."""
    return int(value) if float(value).is_integer() else float(value)


def one_line(message: str) -> str:
    return " | ".join(line.strip() for line in str(message).splitlines() if line.strip())


def case_label(row) -> str:
    """Which case decided a check that did not pass: 'visible' (seed 0), 'hidden, seed S',
    or '' (it passed, or no case decided it: a plain test cell, a notebook that could not
    run)."""
    if row.status == "passed" or row.case_seed is None:
        return ""
    return "visible" if row.case_seed == 0 else f"hidden, seed {row.case_seed}"


def write_csv(path: Path, grades, extra: dict | None = None) -> Path:
    """The grade sheet, students in the given order, checks in notebook order; ``extra``:
    (student, check) -> (engine points, graded by) when they differ from the row's points
    and nothing (the gradebook's view, :mod:`course.gradebook.views`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = extra or {}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for grade in grades:
            for row in grade.results:
                engine, graded_by = extra.get((row.student, row.check), (row.points, ""))
                writer.writerow([row.student, row.check, number(row.points),
                                 number(row.max_points), row.status, one_line(row.message),
                                 row.verdict_at, case_label(row),
                                 "" if engine is None else number(engine), graded_by])
    return path


def read_csv(path: Path) -> list[dict]:
    """The rows of a grade sheet as dicts (for tests and scripts)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_grades(path: Path) -> list:
    """A grade sheet read back as StudentGrade objects, students in the sheet's order (their
    messages are the sheet's: on one line)."""
    from course.grade.grader import CheckResult, StudentGrade

    grades: dict = {}
    for row in read_csv(path):
        student = row["student_id"]
        result = CheckResult(student, row["check"], float(row["points"]),
                             float(row["max_points"]), row["status"], row["message"],
                             verdict_at=row.get("verdict") or "")
        grades.setdefault(student, StudentGrade(student, [])).results.append(result)
    return list(grades.values())


def merge_grades(kept, graded) -> list:
    """``kept`` with each student of ``graded`` replaced (or added), ordered by student."""
    by_student = {g.student: g for g in kept}
    by_student.update({g.student: g for g in graded})
    return [by_student[s] for s in sorted(by_student)]


def gradescope_results(grade, labels: dict | None = None) -> dict:
    """One student's results in Gradescope's autograder format."""
    labels = labels or {}
    tests = []
    regrades = {r["check"]: r for r in getattr(grade, "device_regrades", [])}
    for number_, row in enumerate(grade.results, start=1):
        output = row.message if row.status == "passed" else f"{row.status}: {row.message}"
        tests.append({
            "name": labels.get(row.check, row.check),
            "number": str(number_),
            "score": number(row.points),
            "max_score": number(row.max_points),
            "status": "passed" if row.status == "passed" else "failed",
            "output": output,
            "visibility": "visible",
            **case_data(row, regrades.get(row.check)),
        })
    return {
        "score": number(grade.points),
        "execution_time": int(round(grade.seconds)),
        "output": summary_line(grade),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def verdict_data(verdict_at: str, device_regrade: dict | None = None) -> dict:
    """A results.json test's ``extra_data``: where its check's verdict is defined, and what
    the device policy did with it (course.grade.device_policy), if anything."""
    extra = {"verdict": verdict_at} if verdict_at else {}
    if device_regrade:
        extra["device_regrade"] = device_regrade
    return {"extra_data": extra} if extra else {}


def case_data(row, device_regrade: dict | None = None) -> dict:
    """A results.json test's ``extra_data``: where its verdict is defined, what the device
    policy did with it, and the case that decided a check that did not pass
    (:func:`case_label`)."""
    data = verdict_data(row.verdict_at, device_regrade)
    if case_label(row):
        data.setdefault("extra_data", {})["case"] = case_label(row)
    return data


def write_gradescope(folder: Path, grade, labels: dict | None = None) -> Path:
    """``<folder>/<student>/results.json`` (and the student's output next to it)."""
    target = folder / grade.student
    target.mkdir(parents=True, exist_ok=True)
    path = target / "results.json"
    path.write_text(json.dumps(gradescope_results(grade, labels), indent=2) + "\n",
                    encoding="utf-8")
    (target / "student_output.txt").write_text(grade.output, encoding="utf-8")
    return path


def summary_line(grade) -> str:
    """'alice: 23/27 points (8 passed, 1 failed)'."""
    counts: dict[str, int] = {}
    for row in grade.results:
        counts[row.status] = counts.get(row.status, 0) + 1
    detail = ", ".join(f"{n} {status}" for status, n in counts.items())
    line = f"{grade.student}: {number(grade.points)}/{number(grade.max_points)} points ({detail})"
    if device_summary(grade):
        line += f"; {device_summary(grade)}"
    if grade.internal_error:
        line += f"  GRADER ERROR: {grade.internal_error}"
    return line


def write_reports(grades_dir: Path, assignment: str, grades, run_info: dict,
                  labels: dict | None = None, partial: bool = False, sheet=None,
                  extra: dict | None = None) -> list[Path]:
    """Write every file of a run; returns their paths (CSV first).

    ``sheet``: the whole class as the gradebook holds it (StudentGrades; ``extra`` as
    :func:`write_csv` takes it): the grade sheet, while ``grades`` (this run's students,
    as recorded) get results files.  Without it, ``partial``: the run graded some of the
    class; their rows replace theirs in the sheet already there, whose other rows (and
    other students' results files) are kept.
    """
    grades_dir = Path(grades_dir)
    sheet_path = grades_dir / f"{assignment}.csv"
    if sheet is None:
        sheet = list(grades)
        if partial and sheet_path.exists():
            sheet = merge_grades(read_grades(sheet_path), grades)
    else:
        sheet = list(sheet)
    written = [write_csv(sheet_path, sheet, extra)]
    written += [write_gradescope(grades_dir / assignment, g, labels) for g in grades]
    written.append(write_run_record(grades_dir / f"{assignment}-run.json", run_info,
                                    [g.student for g in grades], [g.student for g in sheet]))
    return written


def write_run_record(path: Path, run_info: dict, graded: list[str],
                     sheet: list[str] | None = None) -> Path:
    """The run record: this run's settings at the top (seeds, device, ``graded``: its
    students), ``runs``: every run so far, oldest first, and ``graded_by_run``: for each
    student of the sheet (default: ``graded``), the index in ``runs`` of the run whose
    grades the sheet holds (a record written before runs were kept counts as one run)."""
    earlier = _json_object(path)
    runs = earlier.get("runs", [earlier] if earlier else [])
    this = {**run_info, "graded": list(graded)}
    before = earlier.get("graded_by_run", {})
    graded_by = {s: len(runs) if s in graded else before.get(s, len(runs) - 1)
                 for s in sorted(sheet if sheet is not None else graded)}
    record = {**this, "runs": runs + [this], "graded_by_run": graded_by}
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def _json_object(path: Path) -> dict:
    """The JSON object in ``path``; {} when there is none (no file, not JSON, not an object)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
