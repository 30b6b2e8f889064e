"""The autograde kernel in the sandbox (course/autograde/kernel.py) and nbgrader's hardened
Execute (course/autograde/preprocessors.py), on small notebooks without torch: real kernels, fast.

What nbgrader autograde does with each of these on the real assignment is in
tests/test_attacks.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from course.autograde.preprocessors import SandboxedExecute, clean_workdir, drop_submitted_links
from course.config import nbgrader_setting
from course.sandbox.launcher import sandbox_available
from course.autograde.kernel import KERNEL_NAME, kernelspec

needs_bwrap = pytest.mark.skipif(not sandbox_available(), reason="bubblewrap cannot run here")


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """A private Jupyter runtime folder, holding another kernel's connection file."""
    folder = Path("/tmp") / f"rt-{os.getpid()}-{tmp_path.name[-12:]}"  # short: socket paths
    folder.mkdir(exist_ok=True)
    (folder / "kernel-someone-else.json").write_text('{"key": "their secret"}')
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(folder))
    yield folder
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def execute(cells, workdir, **options):
    """Run ``cells`` the way autograde does; the executed notebook."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    options.setdefault("timeout", 60)
    preprocessor = SandboxedExecute(kernel_name=KERNEL_NAME, **options)
    preprocessor.preprocess(nb, {"metadata": {"path": str(workdir)},
                                 "nbgrader": {"student": "someone", "notebook": "nb"}})
    return nb


def text(cell) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text") or output.get("evalue")
                     or str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def errors(cell) -> list[str]:
    return [o.ename for o in cell.outputs if o.output_type == "error"]


def test_kernelspec_is_installed_where_nbgrader_runs_and_selected():
    specs = KernelSpecManager().find_kernel_specs()
    assert KERNEL_NAME in specs, "run `make venv` (it installs the course-sandbox kernel)"
    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.argv == kernelspec()["argv"] and spec.interrupt_mode == "message"
    assert "-I" in spec.argv  # the student's folder must not shadow course.autograde.kernel
    assert nbgrader_setting("Execute", "kernel_name") == KERNEL_NAME
    assert nbgrader_setting("KernelManager", "transport") == "ipc"


@needs_bwrap
def test_kernel_sees_only_its_folder_and_its_own_connection_file(tmp_path, runtime):
    work = tmp_path / "autograded" / "ada" / "hw"
    work.mkdir(parents=True)
    (work / "hw.ipynb").write_text("HIDDEN TESTS OF THE ASSIGNMENT")
    (tmp_path / "gradebook.db").write_text("GRADES")
    nb = execute([
        "import os, sys; print(os.getcwd(), os.getuid())",
        "print(sorted(os.listdir(os.environ['JUPYTER_RUNTIME_DIR'])))",
        "open('hw.ipynb').read()",
        "open('../../../gradebook.db').read()",
        "import socket; socket.create_connection(('127.0.0.1', 22), timeout=2)",
        "open('notes.txt', 'w').write('mine'); print('wrote')",
    ], work)
    cwd, uid = text(nb.cells[0]).split()
    assert cwd == str(work) and (os.geteuid() != 0 or int(uid) >= 2_000_000_000)
    visible = text(nb.cells[1])
    assert "someone-else" not in visible and ".json" in visible
    assert errors(nb.cells[2]) == ["PermissionError"]
    assert errors(nb.cells[3]) == ["FileNotFoundError"]
    assert errors(nb.cells[4]) in (["ConnectionRefusedError"], ["OSError"])
    assert "wrote" in text(nb.cells[5]) and (work / "notes.txt").read_text() == "mine"
    assert (work / "hw.ipynb").read_text() == "HIDDEN TESTS OF THE ASSIGNMENT"
    left = [p.name for p in runtime.iterdir()]
    assert left == ["kernel-someone-else.json"], left  # sockets and private folder gone


def test_a_cell_that_kills_the_kernel_costs_that_cell_only(tmp_path, runtime):
    nb = execute([
        "x = 41",                                         # 0: replayed after each restart
        "import os\ndef die():\n    os._exit(0)",         # 1
        "die()",                                          # 2: kills the kernel
        "print(x + 1)",                                   # 3: runs in a new kernel
        "import ctypes\nctypes.string_at(0)",             # 4: segfault
        "print(x + 2, die.__name__)",                     # 5
        "exit()",                                         # 6: a no-op in a Jupyter kernel
        "print(x + 3)",                                   # 7
    ], tmp_path)
    assert errors(nb.cells[2]) == ["DeadKernelError"] and "died" in text(nb.cells[2])
    assert text(nb.cells[3]).strip() == "42"
    assert errors(nb.cells[4]) == ["DeadKernelError"]
    assert text(nb.cells[5]).strip() == "43 die"
    assert errors(nb.cells[6]) == []
    assert text(nb.cells[7]).strip() == "44"
    assert not errors(nb.cells[0]) and not errors(nb.cells[3])


def test_a_cell_that_hangs_past_the_interrupt_is_charged_and_grading_goes_on(tmp_path,
                                                                            runtime):
    nb = execute([
        "x = 1",
        "import time\nwhile True:\n    time.sleep(0.01)",       # interrupted after 5 s
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "print(x)",
    ], tmp_path, timeout=5, iopub_timeout=3)
    assert "KeyboardInterrupt" in errors(nb.cells[1])
    assert errors(nb.cells[2]) == ["CellTimeoutError"] and "restarted" in text(nb.cells[2])
    assert text(nb.cells[3]).strip() == "1"


def test_after_too_many_restarts_the_rest_is_not_run(tmp_path, runtime):
    kill = "import os; os._exit(1)"
    nb = execute(["x = 1", kill, kill, kill, "print(x)"], tmp_path, max_kernel_restarts=2)
    assert [errors(c) for c in nb.cells] == [[], ["DeadKernelError"], ["DeadKernelError"],
                                             ["DeadKernelError"], ["NotRun"]]


def test_links_and_special_files_are_cleaned_after_the_kernel(tmp_path):
    (tmp_path / "plain.txt").write_text("kept")
    (tmp_path / "leak.txt").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "blocker")
    removed = clean_workdir(str(tmp_path))
    assert sorted(Path(p).name for p in removed) == ["blocker", "leak.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["plain.txt"]


def test_links_in_a_submission_are_dropped_before_nbgrader_copies_it(tmp_path, monkeypatch):
    folder = tmp_path / "submitted" / "ada" / "hw"
    folder.mkdir(parents=True)
    (folder / "hw.ipynb").symlink_to(tmp_path / "source.ipynb")
    (folder / "data.csv").write_text("1,2")
    monkeypatch.chdir(tmp_path)
    drop_submitted_links(assignment="hw", student="ada", notebooks=[])
    assert [p.name for p in folder.iterdir()] == ["data.csv"]


def test_launcher_refuses_tcp(tmp_path):
    import json
    import subprocess

    connection = tmp_path / "kernel.json"
    connection.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1"}))
    result = subprocess.run([sys.executable, "-I", "-m", "course.autograde.kernel", "-f",
                             str(connection)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0 and "no network" in result.stderr
