"""Gradescope's results for one submission graded by the autograder (``course.export.gradescope``):
each check as its visible case and its hidden cases.

The grader (:class:`course.grade.grader.Grader`) runs each check at seed 0, the notebook's own
call (its *visible case*), and at the run's fresh seeds (its *hidden cases*); the check earns
its points when every case passes, and the first case that does not pass, in seed order,
decides its row (:class:`course.grade.grader.CheckResult`, whose ``case_seed`` says which case
that was).  On Gradescope each check becomes two tests:

* ``<id>: <call> (visible case)``: visibility ``visible``, the visible case's outcome and
  message, no points (a student sees at once what the notebook's own check says);
* ``<id>: hidden cases``: the course's visibility for hidden cases (default
  ``after_published``), and the check's points: the row's, 0 unless every case passed, so
  that the total is ``make grade``'s; the failing hidden case's message when there is one.

Messages are the verdicts' (never hidden-test source).  A test cell that is not a checker
call runs as it is: one test, with the hidden cases' visibility when its cell has hidden
tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from course.notebooks import BEGIN_HIDDEN
from course.grade.reports import number, verdict_data

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
WHEN_SHOWN = {
    "visible": "shown below",
    "after_published": "shown when grades are published",
    "after_due_date": "shown after the due date",
    "hidden": "not shown",
}


@dataclass(frozen=True)
class CaseResult:
    """One Gradescope test: a check's visible case, its hidden cases, or a whole check."""

    name: str
    status: str  # a grade sheet status (passed, failed, error, timeout) or "not judged"
    message: str
    visibility: str
    points: float | None = None  # None: a test without points (a visible case)
    max_points: float | None = None
    verdict_at: str = ""  # where the check's verdict is defined (CheckResult.verdict_at)

    def test(self, index: str) -> dict:
        """The entry of ``tests`` in results.json."""
        output = self.message if self.status in ("passed", "not judged") else \
            f"{self.status}: {self.message}"
        entry = {"name": self.name, "number": index,
                 "status": "passed" if self.status == "passed" else "failed",
                 "output": output, "visibility": self.visibility}
        if self.max_points is not None:
            entry.update(score=number(self.points), max_score=number(self.max_points))
        entry.update(verdict_data(self.verdict_at))
        return entry


def check_cases(check, row, fresh: int, visibility: str) -> list[CaseResult]:
    """The tests of one check (``GradedCheck``) from its row, with ``fresh`` hidden cases."""
    if check.checker is None or fresh == 0:
        hidden = check.checker is None and BEGIN_HIDDEN in (check.source or "")
        return [CaseResult(f"{check.grade_id}: {check.call_text()}", row.status, row.message,
                           visibility if hidden else "visible", row.points, row.max_points,
                           row.verdict_at)]
    hidden_failed = row.status != "passed" and row.case_seed not in (None, 0)
    visible_passed = row.status == "passed" or hidden_failed
    visible = CaseResult(f"{check.grade_id}: {check.call_text()} (visible case)",
                         "passed" if visible_passed else row.status,
                         row.message if row.status == "passed" or not visible_passed
                         else "passed", "visible", verdict_at=row.verdict_at)
    if not visible_passed and row.points:  # partial credit, decided by the visible case
        status, message = "not judged", (f"{number(row.points)} of {number(row.max_points)} "
                                         f"points, as the visible case decided (its message "
                                         f"says what passed)")
    elif not visible_passed:
        status, message = "not judged", ("no points: the visible case did not pass, and a "
                                         "check earns its points when every case passes")
    elif hidden_failed:
        status, message = row.status, row.message
    else:
        status, message = "passed", f"passed on {fresh} fresh inputs"
    hidden = CaseResult(f"{check.grade_id}: hidden cases ({fresh} fresh inputs)", status,
                        message, visibility, row.points, row.max_points, row.verdict_at)
    return [visible, hidden]


def autograder_results(grade, assignment, seeds: list[int], visibility: str,
                       extra: dict | None = None, note: str = "") -> dict:
    """results.json for one graded submission (``grade``: a StudentGrade of
    ``assignment``), whose hidden cases get ``visibility``; ``note`` leads the output."""
    rows = {row.check: row for row in grade.results}
    fresh = len(seeds) - 1
    tests, visible_passed = [], 0
    for index, check in enumerate(assignment.checks, start=1):
        cases = check_cases(check, rows[check.grade_id], fresh, visibility)
        visible_passed += cases[0].status == "passed"
        tests += [case.test(f"{index}.{part}") for part, case in enumerate(cases, start=1)]
    summary = (f"{assignment.name}: the visible case of {visible_passed} of "
               f"{len(assignment.checks)} checks passed.")
    if fresh:
        summary += (f" Each check also runs on {fresh} inputs drawn for this submission "
                    f"(its hidden cases): it earns its points when all its cases pass; "
                    f"the hidden cases are {WHEN_SHOWN[visibility]}.")
    return {
        "score": number(grade.points),
        "execution_time": int(round(grade.seconds)),
        "output": "\n\n".join(part for part in (note, summary) if part),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": dict(extra or {}),
        "tests": tests,
    }


def failure_results(message: str, max_points: float | None = None,
                    extra: dict | None = None) -> dict:
    """results.json when the autograder could not grade at all: score 0 and why."""
    test = {"name": "autograder", "number": "0", "status": "failed", "output": message,
            "visibility": "visible"}
    if max_points is not None:
        test.update(score=0, max_score=number(max_points))
    return {"score": 0, "output": message, "visibility": "visible",
            "stdout_visibility": "hidden", "extra_data": dict(extra or {}), "tests": [test]}
