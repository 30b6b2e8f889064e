"""The Gradescope autograder in a clean room (``make test-clean-room``; minutes, so marked
``clean_room`` and left out of ``make test``).

The zip that ``make gradescope``'s command builds is unpacked into a scratch root laid out as
``/autograder`` (``source/``, ``submission/``, ``results/``).  Its own ``setup.sh`` runs as
Gradescope runs it when it builds the image, under ``env -i`` with a system PATH and a scratch
HOME: it picks the system's ``python3`` (here Debian bookworm's 3.11.2, older than the
developers' Python), builds its own virtual environment from the zip's requirements.txt and
constraints.txt and installs the zip's ``course`` and ``support`` into it.  Then
``run_autograder`` grades, the same way, with nothing of the repository or its ``.venv`` on
any path: the solution notebook (full marks), the released stub (0), a wrong answer and a
misnamed notebook, each scored as ``make grade`` scores the same notebooks.

What the clean room takes from this machine: its system Python and packages (apt is never
called: a fake ``apt-get`` first on PATH records any call) and where pip finds packages (the
``PIP_*`` variables and the user's pip configuration: a local wheel of CPU torch).
``COURSE_TORCH_INDEX`` is empty: download.pytorch.org, setup.sh's default index for CPU
torch, is out of reach here.

The pins themselves are resolved, with pip's ``--dry-run``, for the oldest Python that
pyproject.toml's requires-python (and so setup.sh) allows, and for 3.12 (Ubuntu 24.04).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from course.config import python_minimum
from course.export.gradescope import read_results, unpack
from course.grade.reports import read_csv
from tests.conftest import REPO
from tests.grading.fixture_class import ASSIGNMENT, checks, submission
from tests.grading.test_grading_fixture_class import make_grade
from tests.submissions import write_submission
from tests.test_gradescope import (NOTEBOOK, SYSTEM_PATH, assert_scores_are_make_grades, build,
                                   guard_apt, run_clean, text)

pytestmark = pytest.mark.clean_room

SETUP_TIMEOUT = 1200  # seconds: a fresh virtual environment, torch included
# what each notebook is, as Gradescope gets it (file name -> bytes) and as make grade gets it
SOLUTION = REPO / "source" / ASSIGNMENT / NOTEBOOK
STUB = REPO / "release" / ASSIGNMENT / NOTEBOOK
MISNAMED = "hw4 (1).ipynb"


def submissions() -> dict[str, dict[str, bytes]]:
    """Student -> the files they upload: the solution, the released stub, a wrong answer
    (three checks fail) and the solution under another name."""
    wrong = json.dumps(submission("partial")).encode()
    return {"solution": {NOTEBOOK: SOLUTION.read_bytes()},
            "stub": {NOTEBOOK: STUB.read_bytes()},
            "wrong": {NOTEBOOK: wrong},
            "misnamed": {MISNAMED: SOLUTION.read_bytes()}}


def pip_sources() -> dict[str, str]:
    """Where pip finds packages on this machine (its variables, the user's configuration
    file), which a scratch HOME would otherwise lose; nothing else of this environment."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    for user_config in (Path.home() / ".config/pip/pip.conf", Path.home() / ".pip/pip.conf"):
        if "PIP_CONFIG_FILE" not in env and user_config.is_file():
            env["PIP_CONFIG_FILE"] = str(user_config)
    return env


@pytest.fixture(scope="module")
def clean_room(tmp_path_factory):
    """The zip built, unpacked as /autograder, its setup.sh run in a clean environment."""
    scratch = tmp_path_factory.mktemp("clean-room")
    (scratch / "home").mkdir()
    apt_calls = guard_apt(scratch)
    built = build(ASSIGNMENT, "--no-check", out=scratch / "zip")
    assert built.returncode == 0, text(built)
    root = unpack(scratch / "zip" / f"{ASSIGNMENT}-autograder.zip", scratch / "autograder")
    setup = run_clean(["bash", str(root / "source" / "setup.sh")], scratch, root,
                      SETUP_TIMEOUT, COURSE_TORCH_INDEX="", **pip_sources())
    assert setup.returncode == 0, text(setup)
    return SimpleNamespace(scratch=scratch, root=root, setup=setup, apt_calls=apt_calls,
                           python=root / "source" / ".venv" / "bin" / "python")


def on_gradescope(room, files: dict[str, bytes]) -> SimpleNamespace:
    """Run the root's run_autograder on ``files`` (a fresh submission/); its results.json."""
    submission_folder = room.root / "submission"
    shutil.rmtree(submission_folder)
    submission_folder.mkdir()
    for name, data in files.items():
        (submission_folder / name).write_bytes(data)
    result = run_clean([str(room.root / "run_autograder")], room.scratch, room.root, 900)
    assert result.returncode == 0, text(result)
    return SimpleNamespace(results=read_results(room.root), text=text(result))


@pytest.fixture(scope="module")
def make_grade_rows(tmp_path_factory):
    """make grade's sheet for the same notebooks: {(student, check): row}."""
    folder = tmp_path_factory.mktemp("make-grade")
    for student, files in submissions().items():
        write_submission(folder / "submitted", student, ASSIGNMENT, files.get(NOTEBOOK))
    result = make_grade(folder)
    assert result["returncode"] == 0, result
    rows = read_csv(folder / "grades" / f"{ASSIGNMENT}.csv")
    return {(r["student_id"], r["check"]): r for r in rows}


def test_setup_builds_its_own_environment_from_the_system_python(clean_room):
    python3 = shutil.which("python3", path=SYSTEM_PATH)
    assert f"setup.sh: {os.path.realpath(python3)} " in clean_room.setup.stdout or \
        f"setup.sh: {python3} " in clean_room.setup.stdout, text(clean_room.setup)
    assert not clean_room.apt_calls.exists(), clean_room.apt_calls.read_text()
    config = (clean_room.root / "source" / ".venv" / "pyvenv.cfg").read_text()
    assert str(REPO) not in config, config
    # every process the grader starts imports the zip's course, -I ones included
    probe = subprocess.run(
        ["env", "-i", f"PATH={SYSTEM_PATH}", str(clean_room.python), "-I", "-c",
         "import sys, course, support; print(course.__file__, support.__file__, *sys.path)"],
        cwd="/", capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, text(probe)
    course_file, support_file, *path = probe.stdout.split()
    for where in (course_file, support_file):
        assert Path(where).is_relative_to(clean_room.root / "source"), probe.stdout
    assert not [p for p in path if str(REPO) in p], path


@pytest.mark.parametrize("student", ["solution", "stub", "wrong", "misnamed"])
def test_scores_are_make_grades(clean_room, make_grade_rows, student):
    run = on_gradescope(clean_room, submissions()[student])
    rows = [make_grade_rows[(student, c.grade_id)] for c in checks()]
    assert_scores_are_make_grades(run.results, rows, run.text)
    total = sum(c.points for c in checks())
    score = run.results["score"]
    assert score == {"solution": total, "stub": 0, "misnamed": 0}.get(student, score)
    assert 0 < score < total or student != "wrong", run.text
    if student == "misnamed":
        assert f"no notebook named {NOTEBOOK}" in run.results["output"]
        assert MISNAMED in run.results["output"], run.results["output"]
    # graded by the venv setup.sh made, with the zip's course, nothing of the repository
    assert f"{clean_room.python}, course {clean_room.root / 'source' / 'course'}" \
        in run.text, run.text
    assert str(REPO) not in run.text + json.dumps(run.results), run.text


def dry_run(python_version: str, requirements: Path, target: Path) -> subprocess.CompletedProcess:
    """pip's resolution of ``requirements`` with constraints.txt for ``python_version``
    (wheels only, as the target Python would install them); nothing is installed."""
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
               "--only-binary=:all:", "--python-version", python_version, "--target",
               str(target), "--disable-pip-version-check", "-r", str(requirements),
               "-c", str(REPO / "constraints.txt")]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_the_pins_install_on_the_oldest_python_setup_sh_accepts(tmp_path):
    oldest = ".".join(map(str, (*python_minimum(), 0, 0)[:3]))  # 3.11 -> 3.11.0
    assert oldest == "3.11.0"  # Ubuntu 22.04's python3.11 (3.11.0rc1) must do
    result = dry_run(oldest, REPO / "requirements.txt", tmp_path)
    assert result.returncode == 0, text(result)
    assert "torch-2.13.0" in result.stdout, result.stdout[-2000:]


def test_the_pins_install_on_python_3_12(tmp_path):
    """Every pin of constraints.txt but torch's, as requirements: torch 2.13.0's CPU build
    for 3.12 is on download.pytorch.org only, out of reach here (setup.sh's default index
    for it)."""
    pins = [line for line in (REPO / "constraints.txt").read_text().splitlines()
            if line.strip() and not line.startswith(("#", "torch=="))]
    requirements = tmp_path / "pins.txt"
    requirements.write_text("\n".join(pins) + "\n")
    result = dry_run("3.12", requirements, tmp_path / "target")
    assert result.returncode == 0, text(result)
