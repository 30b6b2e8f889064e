"""The README's "For TAs" commands, typed as written, in a fresh clone (``make test-clean-room``).

The command lines are read from the README itself (the fenced block under "## For TAs"), so
the README and what is tested cannot drift apart: a line this test has no expectation for
fails it.  The clone is a fresh copy of the repository's files (tracked, and new ones git does
not ignore: the working tree, as ``git clone`` of it would hold it), with no ``gradebook.db``
and nothing built; the block's own ``make venv`` builds its own ``.venv`` there (never the
developer's).  Every line runs through ``bash -c`` exactly as written, in README order, in an
environment whose PATH holds no virtual environment's scripts (no ``nbgrader``, no
``alembic``: a new TA's shell) and without ``VIRTUAL_ENV``.  A small class (tests/grading/
fixture_class.py) is in ``submitted/``: alice answers everything, bob has three wrong answers,
carol handed in the stub; each keeps the notebook's written answers as given.  The
``roster.csv`` that ``make export`` names is written first.  ``make formgrader`` is started
as a server on a free port with a token of the test's (``JUPYTER_PORT``, ``JUPYTER_TOKEN``),
its assignments page and list are fetched over HTTP, and it is stopped.

Nothing is skipped or shortened: the commands run with the course's own settings.  It takes a
few minutes (``make venv`` alone about one and a half).
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, checkout, clean_environment
from tests.grading.fixture_class import ASSIGNMENT as A, expected_points, submission
from tests.submissions import write_submission

pytestmark = pytest.mark.clean_room

STUDENTS = {"alice": "correct", "bob": "partial", "carol": "all_wrong"}  # name: fixture
ROSTER = [{"student_id": s, "Student": s.title(), "ID": str(100 + i), "SIS User ID": f"u{i}",
           "SIS Login ID": s, "Section": "A"} for i, s in enumerate(STUDENTS)]
COMMAND_TIMEOUT_S = 1200


def readme_ta_commands(readme: Path = REPO / "README.md") -> list[str]:
    """The command lines of the first fenced block under the README's "## For TAs"."""
    text = readme.read_text()
    section = text.split("\n## For TAs\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```[^\n]*\n(.*?)^```", section, re.S | re.M)
    assert block, "README: no fenced block under ## For TAs"
    return [line for line in block.group(1).splitlines() if line.strip()]


def command_of(line: str) -> str:
    """A README line without its comment and extra spaces: the key of its expectations."""
    return " ".join(line.split("#", 1)[0].split())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- what each makes


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def check_venv(root: Path, output: str) -> None:
    assert (root / ".venv" / "bin" / "nbgrader").is_file()
    assert (root / ".venv/share/jupyter/kernels/course-sandbox/kernel.json").is_file()


def check_autograded(root: Path, output: str) -> None:
    """Every student autograded and in the gradebook (created here: no make release)."""
    assert (root / "gradebook.db").is_file()
    for student in STUDENTS:
        assert (root / "autograded" / student / A / f"{A}.ipynb").is_file(), student
    assert "No assignment with ID" not in output
    assert "FileNotFoundError" not in output


def check_make_autograde(root: Path, output: str) -> None:
    check_autograded(root, output)
    assert f"autograded {len(STUDENTS)} of {len(STUDENTS)} students" in output, output[-3000:]


def check_nbgrader_export(root: Path, output: str) -> None:
    """grades.csv: each student's autograded points (written answers not graded yet)."""
    rows = {r["student_id"]: r for r in csv_rows(root / "grades.csv") if r["assignment"] == A}
    assert {s: float(rows[s]["raw_score"]) for s in STUDENTS} == \
        {s: expected_points(fixture) for s, fixture in STUDENTS.items()}


def check_feedback(root: Path, output: str) -> None:
    for student in STUDENTS:
        assert (root / "feedback" / student / A / f"{A}.html").is_file(), student


def check_grade(root: Path, output: str) -> None:
    """grades/<a>.csv: each student's checks, the same totals as nbgrader's."""
    totals: dict[str, float] = {}
    for row in csv_rows(root / "grades" / f"{A}.csv"):
        totals[row["student_id"]] = totals.get(row["student_id"], 0) + float(row["points"])
    assert totals == {s: expected_points(fixture) for s, fixture in STUDENTS.items()}
    for student in STUDENTS:
        assert (root / "grades" / A / student / "results.json").is_file(), student


def check_regrade(root: Path, output: str) -> None:
    check_grade(root, output)
    run = json.loads((root / "grades" / f"{A}-run.json").read_text())
    assert sorted(run["graded"]) == ["alice", "bob"]
    assert len(run["runs"]) == 2


def check_export(root: Path, output: str) -> None:
    lms = {r["student_id"]: r for r in csv_rows(root / "grades" / f"{A}-lms.csv")}
    assert {s: float(lms[s]["total"]) for s in STUDENTS} == \
        {s: expected_points(fixture) for s, fixture in STUDENTS.items()}
    canvas = list(csv.reader(open(root / "grades" / f"{A}-canvas.csv", newline="")))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert sorted(row[3] for row in canvas[2:]) == sorted(STUDENTS)


def check_gradescope(root: Path, output: str) -> None:
    assert (root / "gradescope" / f"{A}-autograder.zip").is_file()


def check_similarity(root: Path, output: str) -> None:
    assert (root / "similarity" / f"{A}.csv").is_file()
    assert (root / "similarity" / f"{A}.html").is_file()


EXPECTED = {
    "make venv": check_venv,
    f".venv/bin/nbgrader autograde {A}": check_autograded,
    f"make autograde ASSIGNMENT={A}": check_make_autograde,
    ".venv/bin/nbgrader export": check_nbgrader_export,
    f"make feedback ASSIGNMENT={A}": check_feedback,
    f"make grade ASSIGNMENT={A}": check_grade,
    f"make grade ASSIGNMENT={A} STUDENTS=alice,bob": check_regrade,
    f"make export ASSIGNMENT={A} ROSTER=roster.csv": check_export,
    f"make gradescope ASSIGNMENT={A}": check_gradescope,
    f"make similarity ASSIGNMENT={A}": check_similarity,
}
SERVERS = {"make formgrader"}  # started, fetched over HTTP, stopped


# --------------------------------------------------------------------------- the formgrader


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to the login page) is the answer, not followed


def fetch(url: str, token: str | None) -> tuple[int, str]:
    """(status, body) of a GET, authenticated with ``token`` (None: not at all)."""
    headers = {"Authorization": f"token {token}"} if token else {}
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def check_formgrader(line: str, root: Path, env: dict, log: Path) -> str:
    """Start the README's formgrader line, fetch its assignments page and list, stop it."""
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        server = subprocess.Popen(["bash", "-c", line], cwd=root, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True,
                                  env={**env, "JUPYTER_PORT": str(port), "JUPYTER_TOKEN": token})
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, f"{line!r} exited {server.returncode}:\n" \
                                          f"{log.read_text()[-3000:]}"
            try:
                status, page = fetch(f"{base}/formgrader/manage_assignments", token)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, f"no formgrader on {base}:\n" \
                                                    f"{log.read_text()[-3000:]}"
                time.sleep(1)
        assert status == 200, page[-2000:]
        assert "Manage Assignments" in page
        assert 'id="warning-exchange"' not in page, "the formgrader warns about the exchange"
        for wrong in (None, "not-the-token"):  # the token is required
            assert fetch(f"{base}/formgrader/api/assignments", wrong)[0] in (302, 403)
        status, listing = fetch(f"{base}/formgrader/api/assignments", token)
        assert status == 200, listing[-2000:]
        assignments = {a["name"]: a for a in json.loads(listing)}
        assert assignments[A]["num_submissions"] == len(STUDENTS)
        # Gradebook -> the assignment -> its notebook: each submission, written answers to grade
        assert fetch(f"{base}/formgrader/gradebook/{A}/{A}", token)[0] == 200
        status, listing = fetch(f"{base}/formgrader/api/submitted_notebooks/{A}/{A}", token)
        assert status == 200, listing[-2000:]
        assert {n["student"]: n["needs_manual_grade"] for n in json.loads(listing)} == \
            {s: True for s in STUDENTS}
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # bash, make and the server: this test's group
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    output = log.read_text()
    assert f"http://127.0.0.1:{port}/formgrader?token=" in output, output[-3000:]
    assert "Unwritable directory" not in output, output[-3000:]
    return output


# --------------------------------------------------------------------------- the test


@pytest.fixture
def clone(tmp_path):
    """A fresh copy of the repository's files with the class in submitted/ and roster.csv;
    its .venv (a GB of packages) is removed afterwards."""
    root = checkout(tmp_path / "course")
    assert not (root / "gradebook.db").exists() and not (root / ".venv").exists()
    for student, fixture in STUDENTS.items():
        write_submission(root / "submitted", student, A, submission(fixture))
    with open(root / "roster.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROSTER[0]))
        writer.writeheader()
        writer.writerows(ROSTER)
    yield root
    shutil.rmtree(root / ".venv", ignore_errors=True)


def test_readme_commands_for_tas_run_as_typed_in_a_fresh_clone(clone, tmp_path):
    lines = readme_ta_commands()
    unknown = [line for line in lines if command_of(line) not in {*EXPECTED, *SERVERS}]
    assert not unknown, f"README TA lines this test does not know what to expect of: {unknown}"
    assert command_of(lines[0]) == "make venv", "the block starts with what must come first"
    env = clean_environment()
    for name in ("nbgrader", "alembic", "jupyter"):
        assert shutil.which(name, path=env["PATH"]) is None, f"{name} is on the clean PATH"
    stub = f"release/{A}/{A}.ipynb"
    committed = (clone / stub).read_bytes()

    timings = []
    for index, line in enumerate(lines):
        log = tmp_path / f"{index:02d}.log"
        started = time.monotonic()
        if command_of(line) in SERVERS:
            output = check_formgrader(line, clone, env, log)
        else:
            result = subprocess.run(["bash", "-c", line], cwd=clone, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    timeout=COMMAND_TIMEOUT_S)
            output = result.stdout
            log.write_text(output)
            assert result.returncode == 0, \
                f"{line!r} exited {result.returncode}:\n{output[-4000:]}"
            EXPECTED[command_of(line)](clone, output)
        timings.append(f"{time.monotonic() - started:6.1f} s  {command_of(line)}")
    print("\n".join(["README TA commands, as typed:", *timings]))
    assert (clone / stub).read_bytes() == committed, "grading changed the committed stub"
