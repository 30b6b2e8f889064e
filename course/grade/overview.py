"""The end of a grading run on the terminal, readable at any class size.

A class of up to :data:`PER_STUDENT_UP_TO` students gets a line per student
(:func:`course.grade.reports.summary_line`); a larger one gets the class at a glance instead
of a thousand lines: the spread of the totals, and for each check how many students passed
it and how the others failed (the check a class got wrong stands out), with where each
student's own line is (the grade sheet, and ``make export``'s one row per student).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter

PER_STUDENT_UP_TO = 40
BINS = 5


def class_overview(grades: list, sheet: str = "the grade sheet") -> list[str]:
    """The lines that sum up ``grades`` (StudentGrade objects, at least one)."""
    totals = [g.points for g in grades]
    top = max(g.max_points for g in grades)
    lines = [f"{len(grades)} students: mean {statistics.fmean(totals):.1f}/{top:g}, median "
             f"{statistics.median(totals):g}, {sum(t == top for t in totals)} with every point, "
             f"{sum(t == 0 for t in totals)} with none",
             "  points  " + "  ".join(f"{low:g}-{high:g}: {count}"
                                      for low, high, count in histogram(totals, top))]
    lines.append(f"  {'check':<44}{'passed':>8}  the others")
    for check, statuses in per_check(grades).items():
        passed = statuses.pop("passed", 0)
        others = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
        lines.append(f"  {check:<44}{passed:>8}  {others or '-'}")
    lines.append(f"each student's points, check by check: {sheet} (make export: one row per "
                 f"student)")
    return lines


def histogram(totals: list[float], top: float, bins: int = BINS) -> list[tuple]:
    """(low, high, students): ``bins`` ranges of whole points from 0 to ``top``, each from
    ``low`` up to ``high`` (``high + 1`` excluded; the last one includes ``top``)."""
    width = max(1, math.ceil(top / bins))
    count = min(bins, int(top // width) + 1)  # the ranges a total can fall in
    found = Counter(min(int(t // width), count - 1) for t in totals)
    return [(i * width, top if i == count - 1 else (i + 1) * width - 1, found.get(i, 0))
            for i in range(count)]


def per_check(grades: list) -> dict[str, Counter]:
    """check -> how many students got each status, checks in notebook order."""
    found: dict[str, Counter] = {}
    for grade in grades:
        for row in grade.results:
            found.setdefault(row.check, Counter())[row.status] += 1
    return found
