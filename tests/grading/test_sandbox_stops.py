"""When the sandbox's own watchdog stops a student (its backstop at 1.25 x the disk limit),
the student is told why, as when the grader's watchdog does: in a cold student process
(the sandbox's last line is in its output) and in a warm worker's fork (the worker's
sandbox stops the whole worker; course.grade.warm_worker reads why from its launcher).

The grader's own disk check is slowed to once an hour here, so that only the sandbox's
can see the student fill its folder: in a real run either may see a fast writer first.
"""

import pytest

from course.grade import supervisor
from course.grade.grader import Grader
from course.grade.plan import load_assignment
from course.grade.worker_pool import grade_all
from tests.grading.test_grading_process import DISK, STUDENTS
from tests.grading.toy_course import FACADE, NAME, TOY_PATH, write_toy_source
from tests.submissions import make_submission, write_submission


@pytest.fixture
def disk_filler(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor, "DISK_CHECK_INTERVAL_S", 3600.0)
    write_toy_source(tmp_path / "source")
    assignment = load_assignment(NAME, tmp_path / "source", facade=FACADE)
    grader = Grader(assignment, DISK, "cpu", [0, 12345], sys_path=[TOY_PATH])
    patches, _ = STUDENTS["fills_disk"]
    nb = make_submission(NAME, replace=patches, source_root=tmp_path / "source")
    return grader, write_submission(tmp_path / "submitted", "fills_disk", NAME, nb)


def assert_told_about_the_disk(grade):
    statuses = {r.check: (r.status, r.message) for r in grade.results}
    assert statuses["double_tests"][0] == "error", statuses
    assert "wrote more than 50 MiB of files" in statuses["double_tests"][1], statuses
    # what it wrote was cleared: the next process resumed and the other checks passed
    assert statuses["square_tests"][0] == statuses["scale_tests"][0] == "passed", statuses


def test_a_cold_process_stopped_by_its_sandbox_is_told_why(disk_filler):
    grader, path = disk_filler
    assert_told_about_the_disk(grader.grade("fills_disk", path))


def test_a_warm_fork_stopped_by_its_workers_sandbox_is_told_why(disk_filler):
    grader, path = disk_filler
    stats = {}
    grades = grade_all(grader, {"fills_disk": path}, workers=1, progress=False, stats=stats)
    assert_told_about_the_disk(grades["fills_disk"])
    assert stats["cold_fallbacks"] >= 1  # the worker was stopped: this student went on cold
