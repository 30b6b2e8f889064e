"""The end of a large grading run (course/grade/overview.py): the class at a glance, not a
line per student."""

from course.grade.grader import CheckResult, StudentGrade
from course.grade.overview import class_overview, histogram

CHECKS = (("mse_loss_tests", 2), ("dropout_tests", 3), ("linear_zeros_tests", 1))


def grade(student: str, statuses: dict) -> StudentGrade:
    return StudentGrade(student, [
        CheckResult(student, check, points if statuses.get(check, "passed") == "passed" else 0,
                    points, statuses.get(check, "passed"), "")
        for check, points in CHECKS])


def test_a_class_of_a_thousand_is_summed_up_in_a_few_lines():
    grades = [grade(f"s{i:04d}", {}) for i in range(600)]
    grades += [grade(f"w{i:04d}", {"mse_loss_tests": "failed"}) for i in range(300)]
    grades += [grade(f"t{i:04d}", {"dropout_tests": "timeout", "mse_loss_tests": "error"})
               for i in range(99)]
    grades.append(grade("z", {check: "failed" for check, _ in CHECKS}))  # 4899 points
    lines = class_overview(grades, "grades/hw4.csv")
    assert len(lines) < 10 and not any("s0001" in line for line in lines)
    assert lines[0] == ("1000 students: mean 4.9/6, median 6, 600 with every point, "
                        "1 with none")
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in lines[3:6]}
    assert rows["mse_loss_tests"] == ["600", "301 failed, 99 error"]
    assert rows["dropout_tests"] == ["900", "99 timeout, 1 failed"]
    assert rows["linear_zeros_tests"] == ["999", "1 failed"]
    assert "grades/hw4.csv" in lines[-1]


def test_the_spread_of_points_in_whole_ranges():
    assert histogram([0, 4.5, 5, 21, 20, 19.5, 14], 21) == [
        (0, 4, 2), (5, 9, 1), (10, 14, 1), (15, 19, 1), (20, 21, 2)]
    assert histogram([0, 1, 3], 3) == [(0, 0, 1), (1, 1, 1), (2, 2, 0), (3, 3, 1)]
