"""course/sandbox/launcher.py with real processes: what sandboxed code can see, reach and use.

One sandboxed Python process (``sandbox_argv``, the command both grading paths use) tries
every attack on a scratch course laid out like ours, in order, and reports what happened
as JSON; each test reads one line of that report.  A real TCP server on the host's
loopback tells whether a connection arrived.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course.config import load_sandbox_config
from course.sandbox.launcher import sandbox_available, stop_reason
from course.sandbox.command import sandbox_argv
from course.sandbox.limits import UID_BASE
from tests.sandbox.attack_class import Listener

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_sandbox_config()
needs_bwrap = pytest.mark.skipif(not sandbox_available(CONFIG),
                                 reason="bubblewrap cannot run here (fallback mode)")

ATTACKS = textwrap.dedent(r'''
    import errno, json, os, resource, socket, sys, time
    course, port = sys.argv[1], int(sys.argv[2])
    report = {}

    def attempt(name, action):
        try:
            report[name] = {"ok": True, "value": action()}
        except BaseException as error:  # noqa: BLE001
            report[name] = {"ok": False, "error": type(error).__name__,
                            "errno": getattr(error, "errno", None), "message": str(error)}

    def read(path):
        with open(path, "rb") as handle:
            return handle.read(100).decode(errors="replace")

    def write(path, mode="r+b"):
        with open(path, mode) as handle:
            handle.write(b"not a database any more")
        return "written"

    attempt("uid", os.getuid)
    attempt("cwd", os.getcwd)
    attempt("home", lambda: os.environ["HOME"])
    attempt("read_source_relative", lambda: read("../../../source/hw/hw.ipynb"))
    attempt("read_source_absolute", lambda: read(os.path.join(course, "source/hw/hw.ipynb")))
    attempt("list_course", lambda: sorted(os.listdir(course)))
    attempt("list_repo", lambda: sorted(os.listdir(sys.argv[3])))
    attempt("read_gradebook", lambda: read(os.path.join(course, "gradebook.db")))
    attempt("write_gradebook", lambda: write(os.path.join(course, "gradebook.db")))
    attempt("create_gradebook", lambda: write(os.path.join(course, "gradebook.db"), "wb"))
    attempt("write_other_student", lambda: write(
        os.path.join(course, "submitted/other/hw/hw.ipynb"), "wb"))
    attempt("write_other_student_relative", lambda: write("../../other/hw/hw.ipynb", "wb"))
    attempt("write_repo_support", lambda: write(
        os.path.join(sys.argv[3], "support/__init__.py"), "ab"))
    attempt("write_system", lambda: write("/etc/hostname-x", "wb"))
    attempt("write_root", lambda: write("/evil", "wb"))
    attempt("workdir_writable", lambda: write("mine.txt", "wb"))
    attempt("tmp_writable", lambda: write("/tmp/mine.txt", "wb"))
    attempt("see_host_processes", lambda: sorted(int(p) for p in os.listdir("/proc")
                                                 if p.isdigit()))
    attempt("connect_host_loopback", lambda: socket.create_connection(("127.0.0.1", port),
                                                                      timeout=3) and "connected")
    attempt("connect_internet", lambda: socket.create_connection(("1.1.1.1", 53),
                                                                 timeout=3) and "connected")
    attempt("limits", lambda: {name: resource.getrlimit(getattr(resource, name))[0] for name in
                               ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NPROC",
                                "RLIMIT_NOFILE", "RLIMIT_CORE")})

    def torch_works():
        import torch
        return float(torch.ones(3, 4).sum())
    attempt("torch", torch_works)

    def allocate_50_gb():
        import torch
        return torch.empty(50 * 2**30, dtype=torch.uint8).numel()
    attempt("allocate_50_gb_torch", allocate_50_gb)
    attempt("allocate_50_gb_python", lambda: len(bytearray(50 * 2**30)))

    def write_5_gb():
        written, chunk = 0, b"0" * 2**24
        try:
            with open("big.bin", "wb") as handle:
                while written < 5 * 2**30:
                    handle.write(chunk)
                    handle.flush()
                    written += len(chunk)
        except OSError as error:
            return {"stopped_at": os.path.getsize("big.bin"), "errno": error.errno}
        finally:
            os.remove("big.bin")
        return {"stopped_at": None}
    attempt("write_5_gb", write_5_gb)

    def symlink_to_solutions():  # for a root process that copies this folder later
        os.symlink(os.path.join(course, "source/hw/hw.ipynb"), "leak.txt")
        os.mkfifo("blocker.txt")
        return "made"
    attempt("leave_links", symlink_to_solutions)

    def daemon():  # a process that escapes its session, to outlive the sandbox
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        return "started"
    attempt("daemon", daemon)

    def fork_bomb():
        children, failure = [], None
        for _ in range(1000):
            try:
                pid = os.fork()
            except OSError as error:
                failure = error.errno
                break
            if pid == 0:
                time.sleep(600)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.kill(pid, 9)
        for pid in children:
            os.waitpid(pid, 0)
        return {"forked": len(children), "errno": failure}
    attempt("fork_bomb", fork_bomb)
    print(json.dumps(report))
''')


def make_course(folder: Path) -> Path:
    """A scratch course: solutions, a gradebook and another student, around a workdir."""
    root = folder / "course"
    for path, text in {"source/hw/hw.ipynb": "SECRET SOLUTION", "gradebook.db": "GRADES",
                       "submitted/other/hw/hw.ipynb": "OTHER STUDENT"}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "autograded" / "me" / "hw").mkdir(parents=True)
    return root


def run_attacks(folder: Path) -> dict:
    """Run the attacks once in the sandbox; the report, and what the host saw meanwhile."""
    course = make_course(folder)
    listener = Listener()
    work = course / "autograded" / "me" / "hw"
    command = sandbox_argv([sys.executable, "-c", ATTACKS, str(course), str(listener.port),
                            str(REPO)], work)
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    connected = listener.reached()
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return {"report": report, "connected": connected, "work": work, "course": course,
            "stderr": result.stderr}


@pytest.fixture(scope="module")
def attacks(computed_once):
    return computed_once("sandbox_attacks", run_attacks)[0]


@pytest.fixture(scope="module")
def course(attacks):
    return attacks["course"]


def failed(attacks, name, *errors):
    outcome = attacks["report"][name]
    assert not outcome["ok"], f"{name} succeeded: {outcome}"
    if errors:
        assert outcome["error"] in errors, outcome
    return outcome


@needs_bwrap
@pytest.mark.parametrize("name", ["read_source_relative", "read_source_absolute",
                                  "read_gradebook"])
def test_course_files_are_not_there(attacks, name):
    failed(attacks, name, "FileNotFoundError")


@needs_bwrap
def test_only_the_own_folder_of_the_course_is_visible(attacks):
    assert attacks["report"]["list_course"]["value"] == ["autograded"]
    visible_repo = set(attacks["report"]["list_repo"]["value"])
    assert {"source", "gradebook.db", "tests", "grader_tests", ".git"}.isdisjoint(visible_repo)
    assert {"support", "course"} <= visible_repo


@needs_bwrap
@pytest.mark.parametrize("name", ["write_gradebook", "create_gradebook", "write_other_student",
                                  "write_other_student_relative", "write_repo_support",
                                  "write_system", "write_root"])
def test_nothing_outside_the_work_folder_is_writable(attacks, course, name):
    failed(attacks, name)
    assert (course / "gradebook.db").read_text() == "GRADES"
    assert (course / "submitted/other/hw/hw.ipynb").read_text() == "OTHER STUDENT"


def test_work_folder_and_tmp_are_writable_and_home(attacks):
    report = attacks["report"]
    assert report["workdir_writable"]["ok"] and report["tmp_writable"]["ok"]
    assert report["home"]["value"] == report["cwd"]["value"] == str(attacks["work"])
    assert (attacks["work"] / "mine.txt").exists()


@needs_bwrap
def test_no_network_not_even_the_hosts_loopback(attacks):
    failed(attacks, "connect_host_loopback", "OSError", "ConnectionRefusedError")
    failed(attacks, "connect_internet", "OSError", "TimeoutError")
    assert not attacks["connected"], "a connection reached the host's loopback server"


@needs_bwrap
def test_own_process_ids_only(attacks):
    pids = attacks["report"]["see_host_processes"]["value"]
    assert len(pids) < 10 and max(pids) < 50, pids  # its own pid namespace


@pytest.mark.skipif(os.geteuid() != 0, reason="a separate user only when grading as root")
def test_runs_as_a_user_of_its_own(attacks):
    assert attacks["report"]["uid"]["value"] >= UID_BASE


def test_limits_are_the_configured_ones(attacks):
    limits = attacks["report"]["limits"]["value"]
    assert limits["RLIMIT_AS"] == CONFIG.memory_limit_mb * 2**20
    assert limits["RLIMIT_CPU"] == CONFIG.cpu_time_s
    assert limits["RLIMIT_FSIZE"] == CONFIG.file_size_limit_mb * 2**20
    assert limits["RLIMIT_NOFILE"] == CONFIG.max_open_files
    assert limits["RLIMIT_CORE"] == 0


def test_python_and_torch_work_inside(attacks):
    assert attacks["report"]["torch"] == {"ok": True, "value": 12.0}


def test_50_gb_allocation_fails_cleanly(attacks):
    failed(attacks, "allocate_50_gb_torch", "RuntimeError")
    failed(attacks, "allocate_50_gb_python", "MemoryError")


def test_5_gb_write_stops_at_the_file_size_limit(attacks):
    outcome = attacks["report"]["write_5_gb"]["value"]
    assert outcome["errno"] == 27, outcome  # EFBIG
    assert outcome["stopped_at"] <= CONFIG.file_size_limit_mb * 2**20


@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC counts a user of its own as root")
def test_fork_bomb_is_contained(attacks):
    outcome = attacks["report"]["fork_bomb"]["value"]
    assert outcome["errno"] == 11, outcome  # EAGAIN
    assert outcome["forked"] <= CONFIG.max_processes, outcome


def test_nothing_of_the_sandbox_survives_it(attacks):
    uid = attacks["report"]["uid"]["value"]
    left = [p for p in os.listdir("/proc") if p.isdigit() and _uid_of(p) == uid]
    assert not left or uid < UID_BASE, f"processes of uid {uid} left: {left}"


def test_links_and_fifos_left_for_root_are_removed(attacks):
    assert attacks["report"]["leave_links"]["ok"]
    assert not os.path.lexists(attacks["work"] / "leak.txt")
    assert not os.path.lexists(attacks["work"] / "blocker.txt")


def _uid_of(pid: str):
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None


# --------------------------------------------------------------------------- exit, fallback


def test_a_crash_is_reported_as_the_signal(tmp_path):
    command = sandbox_argv([sys.executable, "-c", "import ctypes; ctypes.string_at(0)"],
                           tmp_path)
    assert subprocess.run(command, capture_output=True).returncode == -signal.SIGSEGV


def test_exit_status_and_inherited_pipe_pass_through(tmp_path):
    read_fd, write_fd = os.pipe()
    code = f"import os; os.write({write_fd}, b'hello'); raise SystemExit(3)"
    command = sandbox_argv([sys.executable, "-c", code], tmp_path, keep_fds=[write_fd])
    result = subprocess.run(command, capture_output=True, pass_fds=[write_fd])
    os.close(write_fd)
    assert result.returncode == 3, result.stderr
    assert os.read(read_fd, 100) == b"hello"


def test_wall_clock_limit(tmp_path):
    command = sandbox_argv([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path,
                           wall_time_s=2)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL
    assert "wall-clock limit" in result.stderr


def test_fallback_without_bubblewrap_says_so_once_and_still_limits(tmp_path):
    code = textwrap.dedent('''
        import dataclasses, logging, subprocess, sys
        from course.config import load_sandbox_config
        from course.sandbox.command import sandbox_argv
        off = dataclasses.replace(load_sandbox_config(), enabled=False)
        for _ in range(2):
            command = sandbox_argv([sys.executable, "-c",
                                    "import resource; print(resource.getrlimit("
                                    "resource.RLIMIT_FSIZE)[0])"], sys.argv[1], config=off,
                                   file_size_limit_mb=7)
            print(subprocess.run(command, capture_output=True, text=True).stdout.strip())
    ''')
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(7 * 2**20)] * 2
    assert result.stderr.count("filesystem isolation is OFF") == 1, result.stderr


def test_check_command_says_which_mode():
    result = subprocess.run([sys.executable, "-m", "course.sandbox", "--check"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0
    expected = "isolation is ON" if sandbox_available(CONFIG) else "isolation is OFF"
    assert expected in result.stdout
    if sandbox_available(CONFIG):  # the record every report carries (isolation.py)
        assert "sandbox isolation: namespaces (required: fallback)" in result.stdout


def test_processes_that_together_hold_too_much_memory_are_stopped(tmp_path):
    code = textwrap.dedent('''
        import os, time
        for _ in range(8):
            if os.fork() == 0:
                block = b"x" * (200 * 2**20)  # each under RLIMIT_AS, 1.6 GB together
                time.sleep(60)
                os._exit(0)
        time.sleep(60)
    ''')
    command = sandbox_argv([sys.executable, "-c", code], tmp_path, memory_limit_mb=1000,
                           wall_time_s=120)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "MiB of memory in all" in result.stderr
    # the grader reports such a stop as a memory failure, whichever watchdog saw it first
    assert stop_reason(result.stderr.encode()) == "memory"
    assert stop_reason(b"course.sandbox.launcher: stopped after the wall-clock limit (5 s)") is None


def test_many_files_that_together_fill_the_disk_are_stopped(tmp_path):
    # each file is far under RLIMIT_FSIZE; together they pass the folders' limit
    code = textwrap.dedent('''
        import os, time
        os.makedirs("deep/er", exist_ok=True)
        for i in range(400):
            with open(f"deep/er/part{i}.bin", "wb") as handle:
                handle.write(os.urandom(2**20))
        time.sleep(60)
    ''')
    command = sandbox_argv([sys.executable, "-c", code], tmp_path, disk_limit_mb=100,
                           file_size_limit_mb=8, wall_time_s=120)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "stopped after more than 125 MiB of files in its folders" in result.stderr
    assert stop_reason(result.stderr.encode()) == "disk"


def test_the_disk_watchdog_counts_empty_files_and_stops_counting_past_its_limit(tmp_path):
    from course.sandbox.meters import FILE_BLOCK, folder_bytes

    for i in range(20):
        (tmp_path / f"folder{i}").mkdir()
        for j in range(5):
            (tmp_path / f"folder{i}" / f"empty{j}").touch()
    (tmp_path / "link").symlink_to("/usr")  # counted, not followed
    everything = (20 + 20 * 5 + 1) * FILE_BLOCK
    assert folder_bytes([tmp_path]) == everything
    # past the limit it stops walking: a million files would not make each check slow
    assert 10 * FILE_BLOCK < folder_bytes([tmp_path], limit=10 * FILE_BLOCK) < everything
