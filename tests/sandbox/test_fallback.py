"""The sandbox's fallback where namespaces are refused as in Docker (Gradescope's container):
``tests/sandbox/like_docker.py`` installs Docker's refusal of new namespaces in the grader's
own process tree (nothing of the machine changes), bubblewrap fails there as on Gradescope,
and the grader runs student code in the fallback (a user of its own, rlimits, a seccomp
filter: course/sandbox/network.py).

A correct submission whose solution cell also tries to open an internet and a unix socket,
to read the source notebook and another course file, and to write the results, is graded
by ``python -m course.grade`` and by the Gradescope autograder: it gets full points, none
of its attempts succeeds (what it printed says so; a world-readable file beside the course
shows that the refusals are the sandbox's), and the run's record says ``fallback``.  A
course that requires ``namespaces`` is refused there, with the reason.  nbgrader's
sandboxed kernel starts there too, and is as closed.

The grader runs with a Python that other users can reach (Debian's ``/usr/bin/python3``
with this environment's packages), as Gradescope's image has one: this machine's own Python
lives under ``/root`` (mode 0700), where the sandbox's user could not start it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from course.export.gradescope import read_results, unpack
from course.grade.reports import read_csv
from tests.conftest import REPO
from tests.grading.fixture_class import ASSIGNMENT
from tests.submissions import make_submission, solution_of, write_submission

LIKE_DOCKER = Path(__file__).resolve().parent / "like_docker.py"
SYSTEM_PYTHON = Path("/usr/bin/python3")
NOTEBOOK = f"{ASSIGNMENT}.ipynb"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the fallback's user of its own needs root"),
    pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="no /usr/bin/python3"),
]

# the student's attempts, each reported as ok / the error's name and errno, on one line
ATTACK = textwrap.dedent('''\
    import json as _json, socket as _socket
    def _attempt(action):
        try:
            action()
            return "ok"
        except Exception as error:
            return f"{type(error).__name__} {getattr(error, 'errno', None)}"
    def _read(path):
        with open(path, "rb") as handle:
            return handle.read(10)
    def _write(path):
        with open(path, "w") as handle:
            handle.write("forged")
    print("ATTACKS " + _json.dumps({
        "inet_socket": _attempt(lambda: _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)),
        "unix_socket": _attempt(lambda: _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)),
        "read_source": _attempt(lambda: _read(SOURCE)),
        "read_private": _attempt(lambda: _read(PRIVATE)),
        "write_results": _attempt(lambda: _write(RESULTS)),
        "read_canary": _attempt(lambda: _read(CANARY)),
    }))
''')


def attacking_submission(**paths: str):
    """The correct notebook whose first solution cell also runs :data:`ATTACK` on
    ``paths`` (SOURCE, PRIVATE, RESULTS, CANARY)."""
    constants = "".join(f"{name} = {str(path)!r}\n" for name, path in paths.items())
    cell = constants + ATTACK + "\n" + solution_of(ASSIGNMENT, "linear_zeros")
    return make_submission(ASSIGNMENT, replace={"linear_zeros": cell})


def attacks_in(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("ATTACKS ")]
    assert lines, output[-3000:]
    return json.loads(lines[-1][len("ATTACKS "):])


def assert_all_refused(attacks: dict, text: str) -> None:
    assert attacks["read_canary"] == "ok", text  # the premise: other users reach here
    for name in ("inet_socket", "unix_socket", "read_source", "read_private",
                 "write_results"):
        assert attacks[name] == "PermissionError 13", f"{name}: {attacks[name]}\n{text}"


@pytest.fixture(scope="module")
def scratch():
    """A folder other users can reach, as ``/autograder`` is (pytest's tmp_path is not)."""
    folder = Path(tempfile.mkdtemp(prefix="fallback-"))
    folder.chmod(0o755)
    (folder / "canary.txt").write_text("anyone may read this")
    (folder / "canary.txt").chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def python(scratch):
    """A Python other users can reach: /usr/bin/python3 in a virtual environment of its own
    that adds this environment's packages."""
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip(f"/usr/bin/python3 is {version}, not {sys.version_info[:2]}")
    from course.sandbox.launcher import _reachable_by_others, course_packages

    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    if not _reachable_by_others([ours, *course_packages()]):
        pytest.skip(f"other users cannot reach this checkout ({REPO}) or its packages: the "
                    f"fallback's user could not import the course")
    venv = scratch / "venv"
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "course_packages.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return str(venv / "bin" / "python")


def like_docker(python: str, *args, env=None, timeout=600) -> subprocess.CompletedProcess:
    """``python args`` where new namespaces are refused as Docker refuses them."""
    return subprocess.run([python, str(LIKE_DOCKER), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=env)


def output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def test_bubblewrap_is_refused_there_and_the_check_says_fallback(python):
    result = like_docker(python, python, "-m", "course.sandbox", "--check")
    assert result.returncode == 0, output(result)
    assert "Creating new namespace failed" in result.stdout, output(result)
    assert "sandbox isolation: fallback (required: fallback)" in result.stdout


def test_make_grade_in_the_fallback(python, scratch):
    course = scratch / "course"
    shutil.copytree(REPO / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    (course / "grades").mkdir(parents=True)
    sheet = course / "grades" / f"{ASSIGNMENT}.csv"
    sheet.write_text("an earlier run's sheet\n")
    paths = dict(SOURCE=course / "source" / ASSIGNMENT / NOTEBOOK,
                 PRIVATE=REPO / "grader_tests" / "conftest.py", RESULTS=sheet,
                 CANARY=scratch / "canary.txt")
    write_submission(course / "submitted", "mallory", ASSIGNMENT, attacking_submission(**paths))
    result = like_docker(python, python, "-m", "course.grade", ASSIGNMENT, "--source",
                         course / "source", "--submissions", course / "submitted",
                         "--grades-dir", course / "grades", "--device", "cpu",
                         "--workers", "1")
    text = output(result)
    assert result.returncode == 0, text
    rows = read_csv(sheet)
    assert rows and all(r["status"] == "passed" for r in rows), text
    printed = (course / "grades" / ASSIGNMENT / "mallory" / "student_output.txt").read_text()
    assert_all_refused(attacks_in(printed), text)
    record = json.loads((course / "grades" / f"{ASSIGNMENT}-run.json").read_text())
    assert record["isolation"]["level"] == "fallback", record["isolation"]
    assert any("seccomp" in item for item in record["isolation"]["lacks"])
    assert "isolation is OFF" in result.stderr and "'fallback' isolation" in result.stdout


def test_a_course_that_requires_namespaces_is_refused_there(python):
    code = ("from course.config import SandboxConfig\n"
            "from course.sandbox.isolation import require_isolation\n"
            "require_isolation(SandboxConfig(require='namespaces'))\n")
    result = like_docker(python, python, "-c", code)
    assert result.returncode != 0, output(result)
    assert "IsolationRefused: refusing to grade: student code would run with 'fallback' " \
           "isolation here, and [tool.course.sandbox] require = 'namespaces'" in result.stderr
    assert "Creating new namespace failed" in result.stderr  # why


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    from course.export.gradescope import build

    return build(ASSIGNMENT, out=tmp_path_factory.mktemp("zip"), check=False)


def on_gradescope(python, root: Path, notebook, require: str | None = None):
    """The zip's run_autograder in ``root`` (laid out as /autograder), there; results.json."""
    if require:
        pyproject = root / "source" / "pyproject.toml"
        text = pyproject.read_text().replace('require = "fallback"', f'require = "{require}"')
        pyproject.write_text(text)
    nbformat.write(notebook, str(root / "submission" / NOTEBOOK))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": python}
    result = like_docker(python, str(root / "run_autograder"), env=env)
    return read_results(root), output(result)


def test_gradescope_in_the_fallback(python, scratch, autograder_zip):
    root = unpack(autograder_zip, scratch / "autograder")
    paths = dict(SOURCE=root / "source" / "source" / ASSIGNMENT / NOTEBOOK,
                 PRIVATE=root / "source" / "source" / ASSIGNMENT,
                 RESULTS=root / "results" / "results.json", CANARY=scratch / "canary.txt")
    results, text = on_gradescope(python, root, attacking_submission(**paths))
    assert results["score"] == sum(t.get("max_score", 0) for t in results["tests"]), text
    assert_all_refused(attacks_in(text), text)
    isolation = results["extra_data"]["isolation"]
    assert isolation["level"] == "fallback", isolation
    assert "sandbox isolation: fallback" in text  # the instructor's output


def test_gradescope_refuses_where_namespaces_are_required(python, scratch, autograder_zip):
    root = unpack(autograder_zip, scratch / "refusing")
    results, text = on_gradescope(python, root, make_submission(ASSIGNMENT), "namespaces")
    assert results["score"] == 0, text
    assert "not graded" in results["output"] and "required: namespaces" in results["output"]
    assert results["extra_data"]["isolation"]["level"] == "fallback", results
    assert "refusing to grade" in text and "Creating new namespace failed" in text


KERNEL_RUN = textwrap.dedent('''\
    import sys
    from tests.sandbox.test_sandbox_kernel import execute, text
    cell = """
    import os, socket
    def attempt(action):
        try:
            action()
            return "ok"
        except Exception as error:
            return f"{type(error).__name__} {getattr(error, 'errno', None)}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    print("KERNEL", attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
          attempt(lambda: unix.connect(%r)),
          attempt(lambda: open("hw.ipynb").read()), os.getuid() >= 2_000_000_000)
    """ % sys.argv[2]
    print(text(execute([cell], sys.argv[1]).cells[0]))
''')


def test_the_sandboxed_kernel_in_the_fallback(python, scratch, tmp_path):
    """nbgrader's sandboxed kernel (demo_cells = "run") starts in the fallback: ZMQ binds
    its unix sockets, but the kernel can open no internet socket, connect to no unix socket
    (here: nbgrader's own) and read no notebook of its folder (they hold hidden tests)."""
    work = scratch / "kernel-work"
    work.mkdir()
    (work / "hw.ipynb").write_text("HIDDEN TESTS")
    runtime = Path(tempfile.mkdtemp(prefix="rt-"))  # short: socket paths
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(runtime / "theirs"))
    listener.listen()
    os.chmod(runtime, 0o755)
    os.chmod(runtime / "theirs", 0o777)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime),
           "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
    try:
        result = like_docker(python, python, "-c", KERNEL_RUN, str(work),
                             str(runtime / "theirs"), env=env)
    finally:
        listener.close()
        shutil.rmtree(runtime, ignore_errors=True)
    text = output(result)
    assert result.returncode == 0, text
    line = next(line for line in result.stdout.splitlines() if line.startswith("KERNEL"))
    assert line == "KERNEL PermissionError 13 PermissionError 13 PermissionError 13 True", text
    assert (work / "hw.ipynb").read_text() == "HIDDEN TESTS"
