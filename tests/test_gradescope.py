"""make gradescope (course/export/gradescope.py): the autograder zip, unpacked into a scratch folder
laid out like Gradescope's ``/autograder`` and run as Gradescope runs it, one submission at
a time; its scores are make grade's, its results.json follows Gradescope's schema, and no
submission (missing, misnamed, not JSON) or crash leaves it empty.

The zip is built once by the real command, which also checks it on the solution notebook
(the fixture class's correct student).  ``run_autograder`` runs with this course's Python
(``COURSE_PYTHON``) instead of the virtual environment setup.sh would make.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from types import SimpleNamespace

import pytest

from course.config import python_minimum
from course.export.gradescope import read_results, run_autograder, unpack
from course.export.gradescope_results import VISIBILITIES
from course.grade.reports import read_csv
from tests.conftest import REPO
from tests.grading import added_cells_class
from tests.grading.fixture_class import ASSIGNMENT, STUDENTS, checks, submission
from tests.grading.test_grading_fixture_class import grade_fixture_class
from tests.sandbox.attack_class import hidden_lines
from tests.submissions import source_notebook, write_submission

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
# the fixture students graded on Gradescope here: every kind of row (passed, failed at the
# visible case, every check failed, no notebook, not JSON) at a few seconds each; the rest
# of the class (a student who loops forever costs a minute) is graded by make grade's tests
GRADESCOPE_STUDENTS = ("partial", "all_wrong", "syntax_error", "not_json", "missing_notebook")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TOP_KEYS = {"score", "execution_time", "output", "visibility", "stdout_visibility",
            "extra_data", "tests"}
TEST_KEYS = {"name", "number", "score", "max_score", "status", "output", "visibility",
             "extra_data"}


def build(*args, out) -> subprocess.CompletedProcess:
    """``python -m course.export.gradescope build <args> --out <out>`` (what make gradescope runs)."""
    return subprocess.run([sys.executable, "-m", "course.export.gradescope", "build", *args,
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope")
    result = build(ASSIGNMENT, out=out)
    assert result.returncode == 0, result.stdout + result.stderr
    return SimpleNamespace(zip=out / f"{ASSIGNMENT}-autograder.zip", output=result.stdout)


@pytest.fixture(scope="module")
def make_grade(computed_once):
    """The fixture class's grade sheet from make grade (shared with its own tests)."""
    folder = computed_once("fixture_class_cpu", grade_fixture_class)[1]
    rows = read_csv(folder / "grades" / f"{ASSIGNMENT}.csv")
    return {(r["student_id"], r["check"]): r for r in rows}


def on_gradescope(zip_path, root, files=None, python=sys.executable) -> SimpleNamespace:
    """Unpack the zip into ``root``, put ``files`` (name -> bytes) in submission/ and run
    run_autograder; its results.json and output."""
    unpack(zip_path, root)
    for name, data in (files or {}).items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    result = run_autograder(root, python=python, timeout=600)
    text = f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, text
    return SimpleNamespace(results=read_results(root), text=text)


def clean_env(scratch: Path, **extra) -> dict[str, str]:
    """``env -i`` with a system PATH (a fake apt-get first), a scratch HOME, and ``extra``."""
    return {"PATH": f"{scratch / 'guard'}:{SYSTEM_PATH}", "HOME": str(scratch / "home"),
            "LANG": "C.UTF-8", **extra}


def run_clean(command: list[str], scratch: Path, root: Path, timeout: float,
              **extra) -> subprocess.CompletedProcess:
    """``command`` under ``env -i`` (clean_env), in ``root``, as Gradescope runs it."""
    env = [f"{k}={v}" for k, v in clean_env(scratch, AUTOGRADER_ROOT=str(root),
                                             **extra).items()]
    return subprocess.run(["env", "-i", *env, *command], cwd=root, capture_output=True,
                          text=True, timeout=timeout)


def text(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def guard_apt(scratch: Path) -> Path:
    """A fake ``apt-get`` that records its arguments in ``<scratch>/apt-calls`` and fails."""
    guard = scratch / "guard"
    guard.mkdir(parents=True)
    fake = guard / "apt-get"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {scratch / "apt-calls"}\nexit 1\n')
    fake.chmod(0o755)
    return scratch / "apt-calls"


def submitted_files(tmp_path, student) -> dict:
    """The fixture student's submission as Gradescope gets it: the notebook (partial's in a
    folder of the upload, as when a student uploads the released folder)."""
    write_submission(tmp_path / "class", student, ASSIGNMENT, submission(student))
    path = tmp_path / "class" / student / ASSIGNMENT / NOTEBOOK
    if not path.exists():
        return {}
    return {(f"{ASSIGNMENT}/{NOTEBOOK}" if student == "partial" else NOTEBOOK):
            path.read_bytes()}


def assert_schema(results: dict, text: str = "") -> None:
    """Gradescope's results.json: the keys it reads, statuses, visibilities, a total that is
    the sum of the tests' scores, and something said everywhere."""
    assert set(results) <= TOP_KEYS and {"score", "tests", "output"} <= set(results), text
    assert isinstance(results["output"], str) and results["output"].strip(), text
    assert results["tests"], text
    for test in results["tests"]:
        assert set(test) <= TEST_KEYS and {"name", "status", "output"} <= set(test), test
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
        assert isinstance(test["output"], str) and test["output"].strip(), test
        assert ("score" in test) == ("max_score" in test), test
        if "score" in test:
            assert 0 <= test["score"] <= test["max_score"], test
    assert results["score"] == sum(t.get("score", 0) for t in results["tests"]), text
    json.dumps(results, allow_nan=False)


def assert_scores_are_make_grades(results: dict, rows: list[dict], text: str = "") -> None:
    """results.json (Gradescope's schema) gives the points of make grade's sheet ``rows`` (one
    per check, notebook order): a visible test and a test of the hidden cases per check."""
    assert_schema(results, text)
    assert results["score"] == sum(float(r["points"]) for r in rows), text
    tests = results["tests"]
    assert len(tests) == 2 * len(rows), text
    for row, visible, hidden in zip(rows, tests[0::2], tests[1::2]):
        assert visible["name"].startswith(f"{row['check']}: ") and "score" not in visible
        assert visible["visibility"] == "visible"
        assert hidden["visibility"] == "after_published", hidden
        assert hidden["score"] == float(row["points"]), (row, hidden)
        assert hidden["max_score"] == float(row["max_points"])
        assert visible["status"] == ("passed" if row["status"] == "passed" or
                                     row["message"].startswith("[hidden case") else "failed")


def test_the_zip_follows_gradescopes_layout(autograder, tmp_path):
    with zipfile.ZipFile(autograder.zip) as archive:
        names = set(archive.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in archive.infolist()}
        settings = json.loads(archive.read("gradescope.json"))
    assert {"setup.sh", "run_autograder", "requirements.txt", "constraints.txt",
            "pyproject.toml", "course/export/gradescope.py", "course/grade/grader.py",
            f"support/{ASSIGNMENT}/__init__.py", f"source/{ASSIGNMENT}/{NOTEBOOK}"} <= names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")
                or n.startswith("course/export/autograder_files/")]
    assert {n.split("/")[1] for n in names if n.startswith("source/")} == {ASSIGNMENT}
    assert settings["assignment"] == ASSIGNMENT
    assert settings["hidden_visibility"] == "after_published"
    assert settings["python"] == ".".join(map(str, python_minimum())) == "3.11"
    setup = (REPO / "course" / "export" / "autograder_files" / "setup.sh").read_text()
    assert "requirements.txt" in setup and "download.pytorch.org/whl/cpu" in setup
    for twice in ("one", "two"):  # the same files give the same bytes
        assert build(ASSIGNMENT, "--no-check", out=tmp_path / twice).returncode == 0
    assert (tmp_path / "one" / autograder.zip.name).read_bytes() == \
        (tmp_path / "two" / autograder.zip.name).read_bytes()


def test_the_build_checked_the_zip_on_the_solution(autograder):
    assert f"wrote {autograder.zip}" in autograder.output
    assert "Zip file upload" in autograder.output


@pytest.mark.parametrize("student", GRADESCOPE_STUDENTS)
def test_scores_are_make_grades(autograder, make_grade, tmp_path, student):
    assert student in STUDENTS
    run = on_gradescope(autograder.zip, tmp_path / "autograder",
                        submitted_files(tmp_path, student))
    results = run.results
    assert_scores_are_make_grades(results, [make_grade[(student, c.grade_id)]
                                            for c in checks()], run.text)
    extra = results["extra_data"]
    assert extra["seeds"][0] == 0 and len(extra["seeds"]) == 3, extra
    assert ",".join(map(str, extra["seeds"])) in run.text  # on the instructor's stdout
    for line in hidden_lines(source_notebook(ASSIGNMENT)):
        assert line not in json.dumps(results), line


def test_helpers_in_added_cells_get_full_points(autograder, tmp_path):
    """A helper function, an import, a constant and a subclass in cells the student added,
    each used by an answer (and an edited demo cell): every check at full points."""
    files = {NOTEBOOK: json.dumps(added_cells_class.submission("helpers")).encode()}
    run = on_gradescope(autograder.zip, tmp_path / "autograder", files)
    assert_schema(run.results, run.text)
    assert run.results["score"] == sum(c.points for c in checks()), run.text
    assert all(t["status"] == "passed" for t in run.results["tests"]), run.text


def test_a_misnamed_notebook_is_named_in_the_results(autograder, tmp_path):
    files = {"hw4 (1).ipynb": json.dumps(submission("correct")).encode()}
    run = on_gradescope(autograder.zip, tmp_path / "autograder", files)
    assert_schema(run.results, run.text)
    assert run.results["score"] == 0
    output = run.results["output"]
    assert f"no notebook named {NOTEBOOK}" in output and "hw4 (1).ipynb" in output, output
    assert "notebook not found" in run.results["tests"][0]["output"]
    assert sum(t.get("max_score", 0) for t in run.results["tests"]) == \
        sum(c.points for c in checks())


def test_an_empty_submission(autograder, tmp_path):
    run = on_gradescope(autograder.zip, tmp_path / "autograder")
    assert_schema(run.results, run.text)
    assert run.results["score"] == 0
    assert "Nothing was submitted" in run.results["output"]


def test_a_crash_of_the_grader_still_gives_results(autograder, tmp_path):
    root = unpack(autograder.zip, tmp_path / "autograder")
    settings = root / "source" / "gradescope.json"
    settings.write_text(settings.read_text().replace(ASSIGNMENT, "no_such_assignment"))
    (root / "submission" / NOTEBOOK).write_text(json.dumps(submission("correct")))
    result = run_autograder(root, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    results = read_results(root)
    assert_schema(results, result.stdout + result.stderr)
    assert results["score"] == 0
    assert "The autograder failed" in results["output"] and "no_such_assignment" in \
        results["output"]


def test_no_python_still_gives_results(autograder, tmp_path):
    run = on_gradescope(autograder.zip, tmp_path / "autograder", {NOTEBOOK: b"{}"},
                        python=str(tmp_path / "no-python-here"))
    assert_schema(run.results, run.text)
    assert run.results["score"] == 0
    assert "failed before it could grade" in run.results["output"]


def test_hidden_visibility_is_configurable(tmp_path):
    result = build(ASSIGNMENT, "--no-check", "--hidden-visibility", "hidden", out=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / f"{ASSIGNMENT}-autograder.zip"
    run = on_gradescope(path, tmp_path / "autograder")
    hidden = [t for t in run.results["tests"] if "hidden cases" in t["name"]]
    assert hidden and {t["visibility"] for t in hidden} == {"hidden"}
    assert build(ASSIGNMENT, "--hidden-visibility", "later", out=tmp_path).returncode != 0


def test_a_bad_assignment_name_is_an_error(tmp_path):
    result = build("no_such_homework", out=tmp_path)
    assert result.returncode == 2
    assert "no assignment 'no_such_homework'" in result.stderr
    assert ASSIGNMENT in result.stderr
    assert not list(tmp_path.iterdir())


def test_setup_fails_the_build_without_a_new_enough_python(autograder, tmp_path):
    (tmp_path / "home").mkdir()
    apt_calls = guard_apt(tmp_path)
    root = unpack(autograder.zip, tmp_path / "autograder")
    settings = root / "source" / "gradescope.json"
    settings.write_text(settings.read_text().replace('"python": "3.11"', '"python": "3.99"'))
    result = run_clean(["bash", str(root / "source" / "setup.sh")], tmp_path, root, 120)
    assert result.returncode == 1, text(result)
    assert "setup.sh: ERROR: no Python >= 3.99 here" in result.stderr, text(result)
    assert "apt could not install python3.99" in result.stderr, text(result)
    assert apt_calls.exists()  # it tried apt, which failed
    assert not (root / "source" / ".venv").exists()
