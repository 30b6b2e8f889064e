"""Run student code in a sandbox: bubblewrap, a user of its own, and resource limits.

Both grading paths run student code through this module: ``nbgrader autograde``'s kernel
(:mod:`course.sandbox_kernel`) and every student process of ``grader_tests``
(:func:`course.supervisor.wrap_command`).  Limits come from ``[tool.course.sandbox]`` in
pyproject.toml (:func:`course.config.load_sandbox_config`).

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

Where bubblewrap cannot run (not installed, no user namespaces, ``enabled = false``) the
command still runs, as its own user (when root), without network (when root), in its own
session, with the same limits, and one loud warning says "filesystem isolation is OFF".

API: :func:`sandbox_argv` returns a command (``python -m course.sandbox ... -- argv``) to
hand to ``subprocess``; :func:`run_sandboxed` runs one in this process;
:func:`sandbox_available` probes once.  ``python -m course.sandbox --check`` prints which
mode grading will use.
"""

from __future__ import annotations

import argparse
import ctypes
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

from .config import SandboxConfig, load_sandbox_config

log = logging.getLogger("course.sandbox")

UID_BASE = 2_000_000_000  # + the launcher's pid: a user no file outside the sandbox belongs to
NOBODY = 65534
TREE_MEMORY_FACTOR = 1.25  # all processes of a sandbox together: 1.25 x memory_limit_mb
# the line the launcher prints on stderr when it stops the run, and how it ends for each
# watchdog (stop_reason reads it back: the grader reports such a stop as such, not a crash)
STOPPED = "course.sandbox: stopped after"
MEMORY_STOP = "MiB of memory in all"
DISK_STOP = "MiB of files in its folders"
TREE_DISK_FACTOR = 1.25  # its writable folders together: 1.25 x disk_limit_mb (a backstop
#                          above the grader's own check, which stops a student at 1 x)
FILE_BLOCK = 4096  # each file or folder counts at least one block: empty files fill a disk too
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
LIMIT_FIELDS = ("memory_limit_mb", "cpu_time_s", "wall_time_s", "file_size_limit_mb",
                "disk_limit_mb", "max_processes", "max_open_files", "tmp_size_mb")
OFF_WARNING = ("filesystem isolation is OFF: student code runs without bubblewrap (it can "
               "read the course's files); {why}")
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


def _pairs(paths) -> list[tuple[str, str]]:
    """Paths or (source, destination) pairs, as absolute (source, destination) pairs."""
    pairs = []
    for item in paths:
        source, dest = (item, item) if isinstance(item, (str, os.PathLike)) else item
        pairs.append((os.path.abspath(source), os.path.abspath(dest)))
    return pairs


def course_packages() -> list[str]:
    """The folders of the ``support`` and ``course`` packages (without importing support)."""
    folders = [str(Path(__file__).resolve().parent)]
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


def sandbox_argv(argv, workdir, extra_ro=(), extra_rw=(), *, hide=(), keep_fds=(),
                 gpu=False, memory_limit_mb=None, address_space_limit=True,
                 file_size_limit_mb=None, disk_limit_mb=None, cpu_time_s=None,
                 wall_time_s=None, config: SandboxConfig | None = None) -> list[str]:
    """The command that runs ``argv`` sandboxed, with ``workdir`` as its writable home.

    ``extra_ro`` / ``extra_rw``: more paths it sees read-only / writable (a path, or a
    ``(source, destination)`` pair); ``hide``: files it cannot read; ``keep_fds``:
    inherited descriptors it keeps (e.g. a pipe); ``gpu``: the NVIDIA devices are visible
    and there is no address-space limit.  The limit arguments override the configuration
    (``address_space_limit=False``: no RLIMIT_AS).
    """
    config = config or load_sandbox_config()
    # -I: the caller's working directory (a student's folder) must not shadow our modules
    command = [sys.executable, "-I", "-m", "course.sandbox",
               "--mode", "bwrap" if sandbox_available(config) else "fallback",
               "--workdir", os.path.abspath(workdir)]
    for flag, pairs in (("--ro", _pairs(extra_ro)), ("--rw", _pairs(extra_rw))):
        for source, dest in pairs:
            command += [flag, source, dest]
    for path in hide:
        command += ["--hide", os.path.abspath(path)]
    for fd in keep_fds:
        command += ["--keep-fd", str(int(fd))]
    if gpu:
        command.append("--gpu")
    overrides = {"memory_limit_mb": memory_limit_mb, "file_size_limit_mb": file_size_limit_mb,
                 "disk_limit_mb": disk_limit_mb, "cpu_time_s": cpu_time_s,
                 "wall_time_s": wall_time_s}
    config = replace(config, **{k: int(v) for k, v in overrides.items() if v is not None})
    for name in LIMIT_FIELDS:
        command += [f"--{name.replace('_', '-')}", str(getattr(config, name))]
    if not address_space_limit:
        command.append("--no-address-space-limit")
    return command + ["--", *map(str, argv)]


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
    sys.exit("course.sandbox: cannot set no_new_privs")
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
    except (OSError, subprocess.SubprocessError) as error:
        return f"bwrap cannot run here: {error}"
    finally:
        if uid is not None:
            reap(uid)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- limits, users


def _sandbox_uid() -> int | None:
    """The user a sandbox runs as: None when we are not root (it runs as us)."""
    if os.geteuid() != 0:
        return None
    return UID_BASE + os.getpid()


def _drop_privileges(uid: int) -> None:
    """In the child: become ``uid`` (group too, no supplementary groups)."""
    try:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    except OSError:  # a user namespace that maps few ids: fall back to nobody
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def _tasks_of(uid: int) -> int:
    """Processes and threads of ``uid`` now (what RLIMIT_NPROC counts)."""
    count = 0
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as handle:
                text = handle.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


@dataclass(frozen=True)
class Limits:
    """The rlimits of one sandbox, in bytes / seconds / counts (None: unlimited)."""

    address_space: int | None
    cpu_seconds: int
    file_size: int
    processes: int
    open_files: int

    def apply(self) -> None:
        import resource

        def cap(which, value):
            if value is None:
                return
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass

        cap(resource.RLIMIT_AS, self.address_space)
        cap(resource.RLIMIT_CPU, self.cpu_seconds)
        cap(resource.RLIMIT_FSIZE, self.file_size)
        cap(resource.RLIMIT_NPROC, self.processes)
        cap(resource.RLIMIT_NOFILE, self.open_files)
        cap(resource.RLIMIT_CORE, 0)


def limits_for(spec: Spec, uid: int | None) -> Limits:
    config = spec.limits
    processes = config.max_processes
    if uid is None:  # we share our user's count with everything else it runs
        processes += _tasks_of(os.getuid())
    return Limits(
        address_space=(config.memory_limit_mb * 2**20
                       if spec.address_space_limit and not spec.gpu else None),
        cpu_seconds=config.cpu_time_s, file_size=config.file_size_limit_mb * 2**20,
        processes=processes, open_files=config.max_open_files)


def _unshare_network() -> None:
    """In the child, as root: a network namespace of its own (the fallback's isolation)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.unshare(0x40000000)  # CLONE_NEWNET; failure leaves the network as it is


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child_setup(limits: Limits, uid: int | None, fallback: bool) -> None:
    """Runs in the child between fork and exec (no threads, no logging here)."""
    _die_with_parent()
    if fallback and os.geteuid() == 0:
        _unshare_network()
    limits.apply()
    if uid is not None:
        _drop_privileges(uid)


# --------------------------------------------------------------------------- folders


def _walk(root: str):
    """Every path under ``root`` (itself first), without following symlinks."""
    yield root
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            yield os.path.join(dirpath, name)


def hand_over(root: str, uid: int, gid: int) -> None:
    """Give a folder tree to a user (lchown: symlinks are not followed)."""
    for path in _walk(root):
        try:
            os.chown(path, uid, gid, follow_symlinks=False)
        except OSError:
            pass


def sanitize(root: str, owner: tuple[int, int] | None = None) -> list[str]:
    """Remove what a sandbox left in ``root`` that is not a plain file or folder (symlinks,
    FIFOs, sockets, devices), and give the tree back to ``owner``; returns what was removed.

    Root processes later copy and chmod these folders (nbgrader follows symlinks): a link
    to ``/work/course/source`` left here would otherwise leak it into the feedback.
    """
    removed = []
    for path in list(_walk(root)):
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            try:
                os.unlink(path)
                removed.append(path)
            except OSError:
                pass
        elif owner is not None:
            try:
                os.chown(path, owner[0], owner[1], follow_symlinks=False)
                if stat.S_ISDIR(mode):  # a folder the sandbox made unreadable (chmod 000)
                    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                    try:
                        os.fchmod(fd, stat.S_IMODE(mode) | 0o700)
                    finally:
                        os.close(fd)
            except OSError:
                pass
    return removed


def reap(uid: int, rounds: int = 50) -> int:
    """Kill every process of a sandbox user (root only); returns how many were killed."""
    if uid is None or os.geteuid() != 0 or uid < UID_BASE:
        return 0
    killed = 0
    for _ in range(rounds):
        pids = []
        for status in glob.glob("/proc/[0-9]*/status"):
            try:
                with open(status) as handle:
                    for line in handle:
                        if line.startswith("Uid:"):
                            if str(uid) in line.split()[1:3]:
                                pids.append(int(status.split("/")[2]))
                            break
            except (OSError, ValueError):
                continue
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.02)
    return killed


def folder_bytes(folders, limit: int | None = None) -> int:
    """Disk space that the files and folders under ``folders`` use: their allocated blocks,
    at least :data:`FILE_BLOCK` each (a million empty files fill a disk's inodes), links
    not followed.  The walk stops once it passes ``limit``: a student who made millions of
    files costs the watchdog no more than the limit's worth of them."""
    total = 0
    todo = [str(folder) for folder in folders]
    while todo:
        try:
            entries = os.scandir(todo.pop())
        except OSError:
            continue  # removed meanwhile; or made unreadable, which stops only a non-root TA
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += max(info.st_blocks * 512, FILE_BLOCK)
                if stat.S_ISDIR(info.st_mode):
                    todo.append(entry.path)
        if limit is not None and total > limit:
            break
    return total


def tree_resident_bytes(pid: int, limit: int | None = None) -> int:
    """Resident memory of a process and all its descendants (Linux /proc; 0 elsewhere).

    The sum of their RSS counts memory that forked processes share (copy-on-write) once per
    process; when that sum passes ``limit``, the proportional set sizes (shared pages split
    between their users, /proc/<pid>/smaps_rollup) are added up instead: slower, exact.
    """
    tree = descendants(pid)
    page = os.sysconf("SC_PAGE_SIZE")
    rss = {p: resident_pages(p) * page for p in tree}
    total = sum(rss.values())
    if limit is None or total <= limit:
        return total
    return sum(_proportional_bytes(p, rss[p]) for p in tree)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from each thread's /proc/<pid>/task/<tid>/children
    (a few small reads: the watchdogs call this several times a second).  Without that file
    (kernels built without it) every process's parent is read from /proc instead."""
    if not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        return _descendants_by_scan(pid)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        for children in glob.glob(f"/proc/{current}/task/*/children"):
            try:
                with open(children) as handle:
                    todo += [int(child) for child in handle.read().split()]
            except (OSError, ValueError):
                continue  # the thread or process ended meanwhile
    return tree


def _descendants_by_scan(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as handle:
                text = handle.read()
            parent = int(text[text.rindex(")") + 2:].split()[1])
            children.setdefault(parent, []).append(int(path.split("/")[2]))
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def resident_pages(pid: int) -> int:
    """Resident pages of one process (second field of /proc/<pid>/statm); 0 once it ended."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _proportional_bytes(pid: int, fallback: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return 0  # it has exited since: it holds nothing
    except (OSError, ValueError, IndexError):
        pass
    return fallback


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
    """Start ``spec``: bwrap (``mode`` "bwrap") or the command itself, limits applied."""
    command = bwrap_args(spec, uid) if mode == "bwrap" else spec.command
    env = dict(os.environ if spec.env is None else spec.env)
    env["HOME"] = spec.workdir
    env["TMPDIR"] = "/tmp" if mode == "bwrap" else spec.workdir
    limits = limits_for(spec, uid)
    # bwrap needs root to set up (it drops to uid itself); the fallback drops here
    drop = uid if mode != "bwrap" else None
    return subprocess.Popen(
        command, cwd=spec.workdir, env=env, pass_fds=list(spec.keep_fds),
        preexec_fn=lambda: _child_setup(limits, drop, fallback=(mode != "bwrap")),
        start_new_session=(mode != "bwrap"), **popen)


def run_sandboxed(spec: Spec, mode: str | None = None) -> int:
    """Run ``spec`` (blocking); returns its exit status, negative for a signal, as
    :class:`subprocess.Popen` does.  Signals to this process stop the sandbox."""
    mode = mode or ("bwrap" if sandbox_available(spec.limits) else "fallback")
    uid = _sandbox_uid()
    if uid is not None and mode != "bwrap" and not _reachable_by_others(
            python_dirs() + [os.path.dirname(spec.command[0])]):
        uid = None  # the interpreter is in a folder only we can reach (e.g. /root)
        if not _STATE.get("warned_root"):
            _STATE["warned_root"] = True
            log.warning("WARNING: the sandbox fallback runs student code as root: Python "
                        "is installed where other users cannot reach it")
    writable = [spec.workdir] + [source for source, _ in spec.rw]
    owners = {}
    for folder in writable:
        info = os.stat(folder)
        owners[folder] = (info.st_uid, info.st_gid)
        if uid is not None:
            hand_over(folder, uid, uid)
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
                        help="say whether bubblewrap isolation works here, and exit")
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
        ok = sandbox_available(config)
        print("sandbox: bubblewrap isolation is ON" if ok else
              "sandbox: " + OFF_WARNING.format(why=_STATE.get("why", "")))
        sys.exit(0)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not args.workdir:
        sys.exit("course.sandbox: need --workdir and a command after --")
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
    _exit_like(run_sandboxed(spec, mode), mode)


if __name__ == "__main__":
    main()
