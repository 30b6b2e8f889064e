"""The grading machinery on a toy assignment: real student processes, each failure mode.

One toy class is graded once per module (numpy-only checks, so a student process starts in
a fraction of a second); each test reads its student's rows.  Wall-clock limits are short
here (2 s) so that the students who hang cost little.
"""

import pytest

from course.config import GradingConfig
from course.grade.grader import Grader
from course.grade.plan import load_assignment
from tests.grading.toy_course import FACADE, NAME, TOY_PATH, write_toy_source
from tests.submissions import make_submission, write_submission

LIMITS = GradingConfig(check_timeout_s=2, cell_timeout_s=2, memory_limit_mb=1024)
WATCHDOG = LIMITS.replace(address_space_limit=False, memory_limit_mb=400,
                           check_timeout_s=20)  # first touches of memory can be slow
DISK = LIMITS.replace(disk_limit_mb=50, file_size_limit_mb=8, check_timeout_s=20)


def fn(name, body, before=""):
    return f"{before}def {name}(x, *rest):\n    " + body.replace("\n", "\n    ")


STUDENTS = {  # name: (patches to the correct submission, limits)
    "correct": ({}, LIMITS),
    "wrong": ({"double": fn("double", "return 3 * x")}, LIMITS),
    "raises": ({"double": fn("double", "return x / undefined_name")}, LIMITS),
    "loops": ({"double": fn("double", "while True:\n    pass")}, LIMITS),
    "cell_loops": ({"square": fn("square", "return x ** 2") + "\nwhile True:\n    pass"},
                   LIMITS),
    "exits": ({"square": fn("square", "os._exit(3)", before="import os\n")}, LIMITS),
    "segfault": ({"double": fn("double", "ctypes.string_at(0)", before="import ctypes\n")},
                 LIMITS),
    "big_alloc": ({"double": fn("double", "big = np.ones(10**11)\nreturn 2 * x")}, LIMITS),
    "cell_alloc": ({"square": "big = np.ones(10**11)\n" + fn("square", "return x ** 2")},
                   LIMITS),
    "hoards": ({"double": fn("double", "keep = [b'x' * 10**8 for _ in range(30)]\n"
                                       "import time\ntime.sleep(60)")}, WATCHDOG),
    "fills_disk": ({"double": fn("double", "for i in range(100):\n"
                                           "    open(f'part{i}', 'wb').write(bytes(2**20))\n"
                                           "import time\ntime.sleep(60)")}, DISK),
    "syntax": ({"square": "def square(x)\n    return x ** 2"}, LIMITS),
    "sys_exit": ({"double": "import sys\nsys.exit(0)\n" + fn("double", "return 2 * x")},
                 LIMITS),
    "magics": ({"double": "%matplotlib inline\n!echo hi\n" + fn("double", "return 2 * x"),
                "square": "%%time\n" + fn("square", "return x ** 2")}, LIMITS),
    "floods": ({"double": fn("double", "while True:\n    print('x' * 10000)")}, LIMITS),
    "forger": ({"double": (
        "import sys, os, numpy\n"
        "fd = int(sys.argv[sys.argv.index('--events-fd') + 1])\n"
        "os.write(fd, b'junk\\n{\"event\": \"finished\"}\\n'\n"
        "             b'{\"event\": \"done\", \"step\": 2}\\n')\n"
        "print('test_double passed: Passed!')\n"
        "numpy.allclose = lambda *a, **k: True\n"
        "test_double = lambda *a, **k: print('test_double passed')\n"
        + fn("double", "return 3 * x"))}, LIMITS),
    "orphans": ({"double": "import subprocess\nsubprocess.Popen(['sleep', '300'])\n"
                           + fn("double", "return 2 * x")}, LIMITS),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    write_toy_source(root / "source")
    assignment = load_assignment(NAME, root / "source", facade=FACADE)
    graders = {}
    grades = {}
    for student, (patches, limits) in STUDENTS.items():
        if limits not in graders:
            graders[limits] = Grader(assignment, limits, "cpu", [0, 12345, 678],
                                     sys_path=[TOY_PATH])
        nb = make_submission(NAME, replace=patches, source_root=root / "source")
        path = write_submission(root / "submitted", student, NAME, nb)
        grades[student] = graders[limits].grade(student, path)
    for student, content in (("not_json", "{oops"), ("missing", None)):
        path = write_submission(root / "submitted", student, NAME, content)
        grades[student] = graders[LIMITS].grade(student, path)
    return grades


def rows(graded, student):
    return {r.check: (r.status, r.message) for r in graded[student].results}


def statuses(graded, student):
    return {check: status for check, (status, _) in rows(graded, student).items()}


ALL_PASS = {"double_tests": "passed", "square_tests": "passed", "scale_tests": "passed"}


def expect(**changes):
    return {**ALL_PASS, **{f"{k}_tests": v for k, v in changes.items()}}


@pytest.mark.parametrize("student, expected, words", [
    ("correct", ALL_PASS, ""),
    ("wrong", expect(double="failed"), "test_double failed: values"),
    ("raises", expect(double="failed"), "raised NameError"),
    ("loops", expect(double="timeout"), "did not finish within 2 s"),
    ("cell_loops", expect(square="failed"), "cell square did not finish within 2 s"),
    ("exits", expect(square="error"), "exited with code 3"),
    ("segfault", expect(double="error"), "SIGSEGV"),
    ("big_alloc", expect(double="failed"), "MemoryError"),
    ("cell_alloc", expect(square="failed"), "cell square raised MemoryError"),
    ("hoards", expect(double="error"), "more than 400 MiB"),
    ("fills_disk", expect(double="error"), "wrote more than 50 MiB of files"),
    ("syntax", expect(square="failed"), "cell square raised SyntaxError"),
    ("sys_exit", expect(double="failed"), "cell double raised SystemExit"),
    ("magics", ALL_PASS, ""),
    ("floods", expect(double="timeout"), "did not finish"),
    ("forger", expect(double="failed"), "test_double failed: values"),
    ("orphans", ALL_PASS, ""),
])
def test_each_failure_costs_only_its_check(graded, student, expected, words):
    assert statuses(graded, student) == expected
    messages = " ".join(message for _, message in rows(graded, student).values())
    assert words in messages
    grade = graded[student]
    assert grade.points == sum(r.max_points for r in grade.results if r.status == "passed")
    assert grade.internal_error is None


def test_points_and_messages_of_a_correct_student(graded):
    grade = graded["correct"]
    assert (grade.points, grade.max_points) == (6, 6)
    assert all("values match" in r.message for r in grade.results)


def test_a_failure_on_a_fresh_seed_says_how_to_reproduce(graded):
    # 'wrong' fails already at seed 0, the notebook's case: no seed mentioned
    assert "seed" not in rows(graded, "wrong")["double_tests"][1]


@pytest.mark.parametrize("student, words", [("not_json", "not valid JSON"),
                                            ("missing", "notebook not found")])
def test_unreadable_notebooks_are_error_rows(graded, student, words):
    assert set(statuses(graded, student).values()) == {"error"}
    assert all(words in message for _, message in rows(graded, student).values())
    assert graded[student].points == 0


def test_student_output_is_kept_bounded(graded):
    assert "test_double passed: Passed!" in graded["forger"].output
    assert len(graded["floods"].output.encode()) < 2**19
    assert "bytes of output not kept" in graded["floods"].output


def test_missing_solution_cell_names_the_cell(tmp_path):
    write_toy_source(tmp_path / "source")
    assignment = load_assignment(NAME, tmp_path / "source", facade=FACADE)
    grader = Grader(assignment, LIMITS, "cpu", [0], sys_path=[TOY_PATH])
    nb = make_submission(NAME, delete=("square",), source_root=tmp_path / "source")
    grade = grader.grade("lost", write_submission(tmp_path / "sub", "lost", NAME, nb))
    square = next(r for r in grade.results if r.check == "square_tests")
    assert square.status == "failed"
    assert "`square` is not defined" in square.message
    assert "cell square is missing from the submitted notebook" in square.message
    assert grade.points == 5


def test_a_plain_test_cell_passes_when_it_runs_without_error(tmp_path):
    """nbgrader's meaning for a test cell that is not a checker call: the source's code,
    hidden lines included, runs after the student's cells; an error costs its points."""
    import nbformat

    write_toy_source(tmp_path / "source")
    path = tmp_path / "source" / NAME / f"{NAME}.ipynb"
    nb = nbformat.read(str(path), 4)
    nb.cells[4].source = ("assert double(2) == 4\n### BEGIN HIDDEN TESTS\n"
                          "assert double(-3) == -6\n### END HIDDEN TESTS")
    nbformat.write(nb, str(path))
    assignment = load_assignment(NAME, tmp_path / "source", facade=FACADE)
    grader = Grader(assignment, LIMITS, "cpu", [0], sys_path=[TOY_PATH])
    for student, patches, status in (("right", {}, "passed"),
                                     ("wrong", {"double": fn("double", "return x + 2")},
                                      "failed")):
        nb = make_submission(NAME, replace=patches, source_root=tmp_path / "source")
        grade = grader.grade(student, write_submission(tmp_path / "sub", student, NAME, nb))
        row = next(r for r in grade.results if r.check == "double_tests")
        assert row.status == status, row
    assert "AssertionError" in row.message and "double(-3)" in row.message


def grade_one(tmp_path, config, patches=None):
    write_toy_source(tmp_path / "source")
    assignment = load_assignment(NAME, tmp_path / "source", facade=FACADE)
    grader = Grader(assignment, config, "cpu", [0, 7], sys_path=[TOY_PATH])
    nb = make_submission(NAME, replace=patches or {}, source_root=tmp_path / "source")
    return grader.grade("s", write_submission(tmp_path / "sub", "s", NAME, nb))


def test_a_submission_that_uses_up_its_total_time(tmp_path):
    config = LIMITS.replace(check_timeout_s=30, student_timeout_s=3)
    grade = grade_one(tmp_path, config, {"double": fn("double", "while True:\n    pass")})
    assert {r.status for r in grade.results} == {"timeout"}
    assert all("time limit (3 s)" in r.message for r in grade.results)
    assert grade.internal_error is None


def test_a_student_process_that_cannot_start_is_the_graders_error(tmp_path):
    grade = grade_one(tmp_path, LIMITS.replace(startup_timeout_s=0.01))
    assert {r.status for r in grade.results} == {"error"}
    assert "start-up" in grade.internal_error
