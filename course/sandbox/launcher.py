"""Run student code in a sandbox: bubblewrap, a user of its own, and resource limits.

One job, the sandbox's launcher (the bubblewrap command and the process that runs inside
it); its command line is built in :mod:`course.sandbox.command`, its user and rlimits in
:mod:`course.sandbox.limits`.

Both grading paths run student code through this module: ``nbgrader autograde``'s kernel
(:mod:`course.autograde.kernel`) and every student process of ``grader_tests``
(:func:`course.grade.supervisor.wrap_command`).  Limits come from ``[tool.course.sandbox]`` and
``[tool.course.limits]`` in pyproject.toml (:func:`course.config.load_sandbox_config`).

What a sandboxed command sees, with bubblewrap (``bwrap``, Debian package ``bubblewrap``):

* namespaces of its own (``--unshare-all``): no network at all, not even the host's
  loopback; its own process ids (it cannot see or signal anything outside), IPC, hostname;
* read-only: the system (``/usr``, ``/bin``, ``/lib*``, ``/etc``), the Python installation
  (``sys.base_prefix``), the virtual environment (``sys.prefix``) and, from the repository,
  only the ``support`` and ``course`` packages, at their own paths (so that the editable
  install finds them).  Not the repository root: no ``source/``, ``release/``,
  ``gradebook.db``, ``submitted/`` (other students), ``autograded/``, ``grades/``;
* writable: its work folder (the working directory and ``HOME``), the folders the caller
  names, and a private ``/tmp`` and ``/dev/shm`` (tmpfs, of bounded size); everything else,
  the sandbox's own root included, is read-only;
* its own ``/proc`` and a minimal ``/dev`` (no GPU unless asked for).

When we are root the command runs as a user of its own, uid ``UID_BASE + launcher pid``
(unique among running sandboxes), which owns nothing outside its work folder: this is what
makes ``RLIMIT_NPROC`` count the sandbox's processes (the kernel never enforces it for
root).  Its work folders are handed to that user for the run and back afterwards.

Limits (``setrlimit`` before bubblewrap starts, inherited by everything inside):
``RLIMIT_AS`` (CPU runs only: CUDA reserves far more address space than it uses),
``RLIMIT_CPU``, ``RLIMIT_FSIZE``, ``RLIMIT_NPROC``, ``RLIMIT_NOFILE``, no core dumps; the
launcher adds a wall clock, and stops the sandbox when its processes together hold more
than 1.25 x ``memory_limit_mb`` (RLIMIT_AS bounds one process; forks would add up).
After the command ends the launcher kills whatever is left of the sandbox's user and
removes what its work folders now hold that a later root process could trip on: symlinks
(``shutil.copy`` and ``os.chmod`` follow them), FIFOs, sockets.

Where bubblewrap cannot run (not installed, no user namespaces, in Docker, ``enabled =
false``) the command runs in the *fallback*: as its own user (when root), in its own
session, with the same limits, and a seccomp filter (:mod:`course.sandbox.network`) that
refuses new sockets, and one loud warning says "filesystem isolation is OFF".  What each
mode gives and lacks, and whether a run may grade with it (``[tool.course.sandbox]
require``), is :mod:`course.sandbox.isolation`'s.  When the filter cannot be set up the
command does not run, unless ``require = "none"``.

This module is the launcher (``python -m course.sandbox``: the bubblewrap command for a
:class:`Spec`, and running it, watched): one job.  The callers' side is
:mod:`course.sandbox.command` (:func:`~course.sandbox.command.sandbox_argv` returns a
command, ``python -m course.sandbox ... -- argv``, to hand to ``subprocess``); the users and
rlimits of a sandbox are :mod:`course.sandbox.limits`, what it leaves behind is made safe by
:mod:`course.sandbox.files`, and the watchdogs' meters are :mod:`course.sandbox.meters`.
:func:`run_sandboxed` runs one in this process; :func:`sandbox_available` probes once.
``python -m course.sandbox --check`` prints which isolation grading will use
(:mod:`course.sandbox.isolation`).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from course.config import SandboxConfig, load_sandbox_config
from course.sandbox.meters import folder_bytes, tree_resident_bytes
from course.sandbox.files import hand_over, sanitize
from course.sandbox.limits import _child_setup, _sandbox_uid, limits_for, reap
from course.sandbox.network import SeccompUnavailable, network_filter

log = logging.getLogger("course.sandbox.launcher")

TREE_MEMORY_FACTOR = 1.25  # all processes of a sandbox together: 1.25 x memory_limit_mb
# the line the launcher prints on stderr when it stops the run, and how it ends for each
# watchdog (stop_reason reads it back: the grader reports such a stop as such, not a crash)
STOPPED = "course.sandbox.launcher: stopped after"
MEMORY_STOP = "MiB of memory in all"
DISK_STOP = "MiB of files in its folders"
TREE_DISK_FACTOR = 1.25  # its writable folders together: 1.25 x disk_limit_mb (a backstop
#                          above the grader's own check, which stops a student at 1 x)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
LIMIT_FIELDS = ("memory_limit_mb", "cpu_time_s", "wall_time_s", "file_size_limit_mb",
                "disk_limit_mb", "max_processes", "max_open_files", "tmp_size_mb")
OFF_WARNING = ("filesystem isolation is OFF: student code runs without bubblewrap, in the "
               "sandbox's fallback (it can read what any user of this machine may read); "
               "{why}")
_STATE: dict = {}


# --------------------------------------------------------------------------- what to run


@dataclass
class Spec:
    """One sandboxed command: what runs, where, what else it sees, and its limits."""

    command: list[str]
    workdir: str
    ro: list[tuple[str, str]] = field(default_factory=list)  # (source, destination)
    rw: list[tuple[str, str]] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)  # files it cannot read (/dev/null over them)
    keep_fds: list[int] = field(default_factory=list)
    gpu: bool = False
    address_space_limit: bool = True  # RLIMIT_AS (never with gpu)
    env: dict[str, str] | None = None  # None: this process's environment
    limits: SandboxConfig = field(default_factory=SandboxConfig)
    unix_listen: bool = False  # fallback: it may listen on unix sockets (the ZMQ kernel)


class SandboxRefused(RuntimeError):
    """The sandbox cannot give the isolation ``[tool.course.sandbox] require`` asks for."""


def course_packages() -> list[str]:
    """The folders of the ``support`` and ``course`` packages (without importing support)."""
    folders = [str(Path(__file__).resolve().parents[1])]
    spec = importlib.util.find_spec("support")
    if spec and spec.submodule_search_locations:
        folders += [os.path.realpath(p) for p in spec.submodule_search_locations]
    return sorted(set(folders))


def python_dirs() -> list[str]:
    """The Python installation and the virtual environment (what ``import torch`` needs)."""
    dirs = []
    for prefix in (sys.base_prefix, sys.prefix):
        for path in (prefix, os.path.realpath(prefix)):
            if path not in dirs and not any(path == s or path.startswith(s + "/")
                                            for s in SYSTEM_DIRS):
                dirs.append(path)
    return dirs


# --------------------------------------------------------------------------- bubblewrap


def bwrap_args(spec: Spec, uid: int | None = None) -> list[str]:
    """The bubblewrap command for ``spec``.

    As root (``uid`` given) bubblewrap runs privileged, without a user namespace: it makes
    the mounts and the namespaces, and the command starts through ``setpriv``, which
    becomes ``uid``, drops every capability (bounding set included) and sets
    no_new_privs (setuid programs in /usr stay powerless).  As anyone else bubblewrap
    makes a user namespace and the command runs as that user.
    """
    if uid is None:
        args = ["bwrap", "--unshare-all"]
    else:
        args = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += ["--die-with-parent", "--new-session"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    size = str(spec.limits.tmp_size_mb * 2**20)
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
             "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
    if spec.gpu:
        for device in sorted(glob.glob("/dev/nvidia*")):
            args += ["--dev-bind", device, device]
        args += ["--ro-bind-try", "/sys", "/sys"]
    made = {"/", "/tmp", "/dev", "/dev/shm", "/proc", *SYSTEM_DIRS}

    def bind(kind: str, source: str, dest: str) -> list[str]:
        parents = []
        for parent in reversed(Path(dest).parents):
            if str(parent) not in made and not any(str(parent).startswith(d + "/")
                                                   for d in SYSTEM_DIRS):
                made.add(str(parent))
                parents += ["--perms", "0755", "--dir", str(parent)]
        return parents + [f"--{kind}", source, dest]

    for path in python_dirs() + course_packages():
        args += bind("ro-bind", path, path)
    for source, dest in spec.ro:
        args += bind("ro-bind", source, dest)
    args += bind("bind", spec.workdir, spec.workdir)
    for source, dest in spec.rw:
        args += bind("bind", source, dest)
    for path in spec.hide:
        args += ["--ro-bind", "/dev/null", path]
    args += ["--remount-ro", "/", "--chdir", spec.workdir, "--setenv", "HOME", spec.workdir,
             "--setenv", "TMPDIR", "/tmp", "--"]
    return args + (_become(uid) if uid is not None else []) + spec.command


_DROP = """import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
uid = int(sys.argv[1])
for cap in range(64):
    libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP
os.setgroups([]); os.setgid(uid); os.setuid(uid)
if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
    sys.exit("course.sandbox.launcher: cannot set no_new_privs")
os.execvp(sys.argv[2], sys.argv[2:])
"""


def _become(uid: int) -> list[str]:
    """The prefix that makes a command run as ``uid`` with no privileges left."""
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return [sys.executable, "-I", "-S", "-c", _DROP, str(uid)]


def sandbox_available(config: SandboxConfig | None = None) -> bool:
    """Whether student code runs in bubblewrap: enabled in the configuration, and bwrap
    works here (probed once per process, as the sandbox's user would run it).

    When it does not, logs the "filesystem isolation is OFF" warning, once per process.
    """
    config = config or load_sandbox_config()
    if not config.enabled:
        why = "[tool.course.sandbox] enabled = false"
    else:
        if "probe" not in _STATE:
            _STATE["probe"] = ("bubblewrap is not installed (apt-get install bubblewrap)"
                               if shutil.which("bwrap") is None else _probe(config))
        why = _STATE["probe"]
    if why and not _STATE.get("warned"):
        _STATE["warned"] = True
        log.warning("WARNING: " + OFF_WARNING.format(why=why))
    _STATE["why"] = why
    return not why


def _probe(config: SandboxConfig) -> str:
    """'' when bwrap runs a command as the sandbox would, else why not."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="sandbox-probe-")
    uid = _sandbox_uid()
    try:
        if uid is not None:
            hand_over(folder, uid, uid)
        spec = Spec(["/bin/sh", "-c", "test -w ."],
                    workdir=folder, limits=config)
        proc = _start(spec, "bwrap", uid, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0:
            return f"bwrap cannot run here: {err.decode(errors='replace').strip()[:300]}"
        return ""
    except (OSError, subprocess.SubprocessError, SandboxRefused) as error:
        return f"bwrap cannot run here: {error}"
    finally:
        if uid is not None:
            reap(uid)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- running


def _reachable_by_others(paths) -> bool:
    """Whether a user with no rights of ours can reach ``paths`` (every parent o+x)."""
    for path in paths:
        current = Path(path)
        for folder in [current, *current.parents]:
            try:
                if not os.stat(folder).st_mode & stat.S_IXOTH:
                    return False
            except OSError:
                return False
    return True


def _start(spec: Spec, mode: str, uid: int | None, **popen) -> subprocess.Popen:
    """Start ``spec``: bwrap (``mode`` "bwrap") or the command itself, limits applied (the
    fallback: and the network filter; SandboxRefused when it cannot be built, unless
    ``require = "none"``)."""
    command = bwrap_args(spec, uid) if mode == "bwrap" else spec.command
    env = dict(os.environ if spec.env is None else spec.env)
    env["HOME"] = spec.workdir
    env["TMPDIR"] = "/tmp" if mode == "bwrap" else spec.workdir
    limits = limits_for(spec, uid)
    # bwrap needs root to set up (it drops to uid itself); the fallback drops here
    drop = uid if mode != "bwrap" else None
    network = _network_filter(spec) if mode != "bwrap" else None
    try:
        return subprocess.Popen(
            command, cwd=spec.workdir, env=env, pass_fds=list(spec.keep_fds),
            preexec_fn=lambda: _child_setup(limits, drop, network),
            start_new_session=(mode != "bwrap"), **popen)
    except subprocess.SubprocessError as error:  # the child's setup failed: nothing ran
        raise SandboxRefused(f"the sandboxed process could not be set up (limits, user"
                             f"{', seccomp filter' if network is not None else ''}): "
                             f"{error}") from None


def _network_filter(spec: Spec):
    """The fallback's seccomp filter for ``spec``; None (and a warning) where it cannot be
    built and ``require = "none"``; else SandboxRefused."""
    try:
        return network_filter(spec.unix_listen)
    except SeccompUnavailable as error:
        if spec.limits.require != "none":
            raise SandboxRefused(f"the sandbox cannot cut the network ({error}); "
                                 f"[tool.course.sandbox] require = "
                                 f"{spec.limits.require!r}") from None
        log.warning(f"WARNING: student code keeps the network: {error}")
        return None


def fallback_uid(program: str) -> int | None:
    """The user the fallback runs ``program`` as: a user of its own when we are root and
    other users can reach the Python installation, the course's packages and ``program``;
    else None (as we are)."""
    uid = _sandbox_uid()
    if uid is not None and not _reachable_by_others(
            python_dirs() + course_packages() + [os.path.dirname(program)]):
        uid = None  # e.g. Python or the course in a folder only we can reach (/root)
        if not _STATE.get("warned_root"):
            _STATE["warned_root"] = True
            log.warning("WARNING: the sandbox fallback runs student code as root: Python "
                        "or the course is installed where other users cannot reach it")
    return uid


def run_sandboxed(spec: Spec, mode: str | None = None) -> int:
    """Run ``spec`` (blocking); returns its exit status, negative for a signal, as
    :class:`subprocess.Popen` does.  Signals to this process stop the sandbox.
    SandboxRefused: the fallback cannot cut the network (and may not run without)."""
    mode = mode or ("bwrap" if sandbox_available(spec.limits) else "fallback")
    uid = _sandbox_uid() if mode == "bwrap" else fallback_uid(spec.command[0])
    writable = [spec.workdir] + [source for source, _ in spec.rw]
    owners = {}
    for folder in writable:
        info = os.stat(folder)
        owners[folder] = (info.st_uid, info.st_gid)
        if uid is not None:
            hand_over(folder, uid, uid)
    hidden = _hide(spec.hide, uid) if mode != "bwrap" else {}
    try:
        memory = int(spec.limits.memory_limit_mb * 2**20 * TREE_MEMORY_FACTOR)
        disk = int(spec.limits.disk_limit_mb * 2**20 * TREE_DISK_FACTOR)
        return _wait(_start(spec, mode, uid), spec.limits.wall_time_s, memory,
                     (writable, disk))
    finally:
        if uid is not None:
            reap(uid)
        for folder in writable:
            sanitize(folder, owners[folder] if uid is not None else None)
        for path, mode_bits in hidden.items():
            _chmod_plain_file(path, mode_bits)


def _hide(paths, uid: int | None) -> dict:
    """The fallback's ``--hide``: each file, owned by us for the run (were it handed over
    with its folder) with mode 0600, which the sandbox's user cannot read; returns each
    one's mode, which :func:`run_sandboxed` puts back (its owner: :func:`sanitize`'s).
    Running as ourselves (uid None), nothing can be hidden."""
    hidden = {}
    for path in paths if uid is not None else ():
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                continue
            hidden[path] = stat.S_IMODE(info.st_mode)
            if info.st_uid == uid:
                os.chown(path, os.geteuid(), os.getegid(), follow_symlinks=False)
            _chmod_plain_file(path, 0o600)
        except OSError:
            continue
    return hidden


def _chmod_plain_file(path: str, mode_bits: int) -> None:
    """chmod a regular file, never through a link (one the student may have put there)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, mode_bits)
    finally:
        os.close(fd)


def _wait(proc: subprocess.Popen, wall_time_s: float, memory_bytes: int | None,
          disk: tuple[list[str], int] | None = None) -> int:
    """Wait for the sandbox; stop it on a signal to us, at the wall clock, when its
    processes together hold more than ``memory_bytes`` (RLIMIT_AS bounds each process
    only; a fork bomb of processes that each touch memory does not pass this), or when
    ``disk`` = (its writable folders, bytes) is passed (RLIMIT_FSIZE bounds one file only;
    many files would fill the disk under every other student)."""
    stopped = []

    def stop(signum, frame):
        stopped.append(signum)
        _kill(proc)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP,
                                                    signal.SIGINT)}
    deadline = time.monotonic() + wall_time_s
    try:
        while True:
            try:
                return proc.wait(timeout=max(0.01, min(0.5, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                pass
            why = ""
            if time.monotonic() >= deadline:
                why = f"the wall-clock limit ({wall_time_s} s)"
            elif memory_bytes and tree_resident_bytes(proc.pid, memory_bytes) > memory_bytes:
                why = f"more than {memory_bytes // 2**20} {MEMORY_STOP}"
            elif disk and folder_bytes(disk[0], disk[1]) > disk[1]:
                why = f"more than {disk[1] // 2**20} {DISK_STOP}"
            if why:
                print(f"{STOPPED} {why}", file=sys.stderr, flush=True)
                _kill(proc)
                return proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def stop_reason(output: bytes) -> str | None:
    """``memory`` or ``disk`` when ``output`` ends with this launcher's line for stopping a
    run over that limit, else None.  The grader watches the same limits, and either watchdog
    may see a fast student first: the student is told the same either way."""
    lines = output.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1] if lines else ""
    if last.startswith(STOPPED):
        if last.endswith(MEMORY_STOP):
            return "memory"
        if last.endswith(DISK_STOP):
            return "disk"
    return None


def _kill(proc: subprocess.Popen) -> None:
    try:
        if proc.pid == os.getpgid(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass


MIRRORED = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT,
            signal.SIGKILL, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGTERM}


def _exit_like(status: int, mode: str) -> None:
    """Exit as the sandboxed command did: bwrap reports a signal as 128 + its number, and
    the caller (the grader) wants to see 'killed by SIGSEGV', so we die of it too."""
    signum = -status if status < 0 else (status - 128 if mode == "bwrap" and status > 128
                                         else 0)
    if signum in MIRRORED:
        if signum != signal.SIGKILL:
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        time.sleep(1)
    sys.exit(status if 0 <= status < 256 else 1)


# --------------------------------------------------------------------------- command line


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m course.sandbox",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="say which isolation student code gets here and what it "
                             "lacks; exit 1 when below [tool.course.sandbox] require")
    parser.add_argument("--mode", choices=("bwrap", "fallback"), default=None)
    parser.add_argument("--workdir")
    parser.add_argument("--ro", nargs=2, action="append", default=[],
                        metavar=("SOURCE", "DEST"))
    parser.add_argument("--rw", nargs=2, action="append", default=[],
                        metavar=("SOURCE", "DEST"))
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--keep-fd", type=int, action="append", default=[])
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--no-address-space-limit", action="store_true")
    for name in LIMIT_FIELDS:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    config = load_sandbox_config()
    if args.check:
        from course.sandbox.isolation import isolation

        found = isolation(config)
        print("sandbox: bubblewrap isolation is ON" if found.level == "namespaces" else
              "sandbox: " + OFF_WARNING.format(why=found.why))
        print(found.summary())
        print("grading " + ("may go on" if found.enough else "is refused: " + found.refusal()))
        sys.exit(0 if found.enough else 1)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not args.workdir:
        sys.exit("course.sandbox.launcher: need --workdir and a command after --")
    changes = {name: getattr(args, name) for name in LIMIT_FIELDS
               if getattr(args, name) is not None}
    limits = replace(config, **changes)
    spec = Spec(command, os.path.abspath(args.workdir), ro=[tuple(p) for p in args.ro],
                rw=[tuple(p) for p in args.rw], hide=args.hide, keep_fds=args.keep_fd,
                gpu=args.gpu, address_space_limit=not args.no_address_space_limit,
                limits=limits)
    mode = args.mode or ("bwrap" if sandbox_available(config) else "fallback")
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        status = run_sandboxed(spec, mode)
    except SandboxRefused as error:
        sys.exit(f"course.sandbox.launcher: {error}")
    _exit_like(status, mode)
