"""One item per student per check: it passes when the check passed for that student.

The grading itself happens in conftest.py (``GradingRun``); this item only reports it, so
pytest's progress, ``-k`` selection and JUnit report work per check.
"""

import pytest


def test_check(submission_check, grading_run):
    student, check = submission_check
    row = grading_run.row(student, check)
    if row.status != "passed":
        grading_run.student_failures += 1
        pytest.fail(f"{row.status} ({row.points:g}/{row.max_points:g}): {row.message}",
                    pytrace=False)
