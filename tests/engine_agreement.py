"""One engine, two front ends: what ``nbgrader autograde`` stored, next to ``make grade``'s sheet.

Helpers for the tests that grade one class with both commands on the same seeds and demand
the same points per check and the same message text.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from course.gradebook.views import check_points
from course.notebooks import grade_id, nbgrader_meta
from course.grade.reports import one_line, read_csv


def gradebook_points(root: Path, assignment: str) -> dict:
    """student -> {grade id: autograded points} of the code cells in ``gradebook.db``."""
    return check_points(root / "gradebook.db", assignment)


def autograded_messages(root: Path, assignment: str, student: str) -> dict:
    """grade id -> the verdict text in the autograded notebook's test cell, on one line."""
    path = root / "autograded" / student / assignment / f"{assignment}.ipynb"
    messages = {}
    for cell in nbformat.read(str(path), 4).cells:
        gid = grade_id(cell)
        texts = [o.get("text") or o.get("evalue", "") for o in cell.get("outputs", [])]
        if gid and nbgrader_meta(cell).get("grade") and cell.cell_type == "code":
            messages[gid] = one_line("\n".join(texts))
    return messages


def sheet(csv_path: Path) -> dict:
    """student -> {check: (points, message)} of a ``make grade`` sheet."""
    table: dict = {}
    for row in read_csv(csv_path):
        table.setdefault(row["student_id"], {})[row["check"]] = (float(row["points"]),
                                                                 row["message"])
    return table


def disagreements(root: Path, assignment: str, csv_path: Path) -> list[str]:
    """Every (student, check) where the two commands differ in points or message."""
    graded, rows = gradebook_points(root, assignment), sheet(csv_path)
    found = []
    if set(graded) != set(rows):
        found.append(f"students: autograde {sorted(graded)}, make grade {sorted(rows)}")
    for student in sorted(set(graded) & set(rows)):
        messages = autograded_messages(root, assignment, student)
        for check, (points, message) in rows[student].items():
            if graded[student].get(check) != points:
                found.append(f"{student}/{check}: autograde {graded[student].get(check)} "
                             f"points, make grade {points}")
            elif messages.get(check) != message:
                found.append(f"{student}/{check}: autograde says {messages.get(check)!r}, "
                             f"make grade says {message!r}")
    return found
