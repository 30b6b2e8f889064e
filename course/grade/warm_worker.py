"""Warm workers for ``make grade``: torch imported once per worker, one fork per submission.

A cold student process pays Python's start, ``import torch`` (2-3 s) and torch's first
optimizer step (~1 s) before it runs a single cell (and, sandboxed, the sandbox's start);
grading itself then takes about a second.  A warm worker pays that once:

* the *zygote* (``python -m course.grade.fork_server``, one per worker) imports torch and the
  assignment's checker facade, runs one optimizer step (:func:`course.grade.student_process.warm_up`),
  and then only forks;
* for every student process the grader would start (:class:`course.grade.supervisor.ChildProcess`
  with :attr:`course.grade.supervisor.StepRunner.launcher` set to :meth:`Zygote.launch`), the
  zygote forks a child that becomes exactly that process: its own session, the pipes the
  grader made as stdin / stdout+stderr / event pipe, the grader's working folder and
  environment, then ``course.grade.student_process.main`` with the grader's arguments.  The
  protocol, the limits (memory, file size, per-step wall clock), the restart after a crash
  and the verdicts are the grader's, unchanged: :class:`WarmChild` behaves like the
  ``subprocess.Popen`` it replaces.

The sandbox (:mod:`course.sandbox.launcher`) holds at speed: when the grader's student command is
wrapped in ``python -m course.sandbox`` (:func:`course.grade.supervisor.wrap_command`), the zygote
itself runs in a sandbox with the same options (mode, read-only paths, limits) whose one
writable folder is the zygote's root, where the grader makes each submission's folders
(:attr:`course.grade.grader.Grader.scratch`), and the forks inherit it: bubblewrap's namespaces
(no network, own pid namespace), its user (as root: a uid of its own per worker), the
rlimits.  Between students, in that sandbox: the finished student's processes are all
killed (the zygote is their subreaper, and ``kill(-1)`` reaches only the sandbox's own), the
private ``/tmp`` and ``/dev/shm`` are emptied, what it wrote in the root outside its folder
is removed, and its folder is cleaned of links (:func:`course.sandbox.files.sanitize`), as after a
cold sandboxed run.  Students of one worker run one after the other, each in a fresh fork:
nothing of one is in the next one's memory.  The zygote never sees a submission (the plan
reaches the child on its own stdin) and is non-dumpable (no ptrace or /proc/<pid>/mem by its
students); a student who kills it dies with it (that step is charged, as for a crash) and
the next student gets a new zygote.  Any other command is started cold, as given.

One job, the grader's side of a warm worker (the client: start, launch, follow, stop),
which is why it is long; the zygote's side is :mod:`course.grade.fork_server`, and
:mod:`course.grade.worker_pool` runs a class over several zygotes.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

from course.grade.fork_server import MAX_MESSAGE

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from course.sandbox.command import Wrapped
    from course.grade.supervisor import StudentCommand

_ZYGOTES: "weakref.WeakSet[Zygote]" = weakref.WeakSet()  # removed at exit (a Dask worker's)


@atexit.register
def stop_all() -> None:
    for zygote in list(_ZYGOTES):
        zygote.remove()


# --------------------------------------------------------------------------- grader side


class ZygoteError(Exception):
    """The warm worker could not be started or stopped answering."""


class WarmChild:
    """A student process forked by a zygote, with the part of ``Popen``'s interface the
    grader uses: ``pid`` (as this process sees it), ``stdin``, ``stdout``, ``poll()``,
    ``wait()``, ``returncode``."""

    def __init__(self, zygote: "Zygote", stdin, stdout):
        self.zygote, self.stdin, self.stdout = zygote, stdin, stdout
        self.pid = NO_PID
        self.local_pid = 0  # the pid the zygote sees (another one inside a pid namespace)
        self.returncode: int | None = None
        self.max_rss_kb = 0
        self.key: str | None = None  # which submission it belongs to (its folder)
        self.folder: Path | None = None  # the student's folder, handed to the sandbox's user
        self.owner: tuple[int, int] | None = None
        self.stopped_for: str | None = None  # memory / disk: the zygote's sandbox stopped it

    def poll(self) -> int | None:
        if self.returncode is None:
            self.zygote.pump(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired("warm student process", timeout)
            self.zygote.pump(0.5 if left is None else min(0.5, left))
        return self.returncode

    def ended(self, returncode: int, max_rss_kb: int) -> None:
        """The zygote reaped it (and, in a sandbox, everything it left running)."""
        self.returncode, self.max_rss_kb = returncode, max_rss_kb
        if self.folder is not None:  # as the sandbox does after a run: no links left for
            from course.sandbox.files import sanitize  # root to follow, and the folder back to its owner

            sanitize(str(self.folder), self.owner)


class Zygote:
    """One warm worker: started at the first launch (or :meth:`prestart`), restarted when
    it dies or when the sandbox options of the student command change."""

    def __init__(self, facade: str, sys_path=(), startup_timeout: float = 300):
        self.facade, self.sys_path = facade, [str(p) for p in sys_path]
        self.startup_timeout = startup_timeout
        # the zygote's home; with a sandbox, every student folder must be inside it (the
        # only folder of the grader's that the zygote's sandbox sees): Grader.scratch
        self.root = Path(tempfile.mkdtemp(prefix="grading-worker-"))
        _ZYGOTES.add(self)
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.log = None
        self.sandbox: Wrapped | None = None  # the sandbox it runs in (None: none)
        self.uid: int | None = None       # the user it runs as
        self.own_pid_ns = False  # it runs in a pid namespace of its own (bubblewrap)
        self.children: dict[int, WarmChild] = {}  # by the zygote's pid
        self.starts = 0            # zygotes started (1, unless one died)
        self.peak_rss_kb = 0       # the zygote's own peak resident memory
        self.child_peak_rss_kb = 0  # the largest student process it forked
        self.cold_fallbacks = 0
        self.startup_seconds = 0.0
        self.killed_by: str | None = None  # the student (folder) whose process killed it

    # ----------------------------------------------------------------- life cycle

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.sock is not None

    def start(self, env: dict, cwd: Path, fonts: str | None = None,
              sandbox: Wrapped | None = None) -> None:
        """Start the zygote with the environment a student process in ``cwd`` gets (``cwd``
        in any value becomes the zygote's root), in the sandbox ``sandbox`` describes."""
        self.close()
        started = time.monotonic()
        self.root.mkdir(mode=0o700, exist_ok=True)  # again after remove()
        mpl = self.root / ".matplotlib"
        if not mpl.exists():
            if (Path(cwd) / ".matplotlib").is_dir():
                shutil.copytree(Path(cwd) / ".matplotlib", mpl)
            else:
                mpl.mkdir()
                for font_list in Path(fonts).glob("fontlist-*.json") if fonts else ():
                    shutil.copy2(font_list, mpl / font_list.name)
        zygote_env = {k: v.replace(str(cwd), str(self.root)) for k, v in env.items()}
        # torch.cuda.is_available() by NVML, which does not initialise CUDA: a CUDA context
        # made before fork() is unusable in the children
        zygote_env["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = tempfile.TemporaryFile()
        command = [sys.executable, "-P", "-m", "course.grade.fork_server", "--control-fd",
                   str(theirs.fileno()), "--facade", self.facade, "--sys-path",
                   json.dumps(self.sys_path)]
        if sandbox is not None:
            command = self._sandboxed(command, sandbox, theirs.fileno())
        try:
            self.proc = subprocess.Popen(command, cwd=self.root, env=zygote_env,
                                         pass_fds=(theirs.fileno(),),
                                         stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            theirs.close()
        self.sock, self.starts, self.sandbox = ours, self.starts + 1, sandbox
        message = self._receive(self.startup_timeout)
        if not message or message.get("event") != "ready":
            error = self._stderr_tail()
            self.close()
            raise ZygoteError(f"the warm worker did not start ({message or 'no answer'})"
                              + (f": {error}" if error else ""))
        self.uid = int(message.get("uid", os.getuid()))
        global_pid = _find_pid(int(message["pid"]), ancestor=self.proc.pid)
        self.own_pid_ns = global_pid is not None and _pid_ns(global_pid) != _pid_ns(os.getpid())
        self.peak_rss_kb = max(self.peak_rss_kb, int(message.get("max_rss_kb", 0)))
        self.startup_seconds += time.monotonic() - started

    def _sandboxed(self, command: list[str], sandbox: Wrapped, control_fd: int) -> list[str]:
        """The zygote's command in the sandbox the student command asked for (same mode,
        read-only paths, limits), with the zygote's root as its one writable folder."""
        command = command + ["--sandboxed"] + (["--bwrap"] if sandbox.mode == "bwrap"
                                               else [])
        return [*sandbox.prefix, *sandbox.shared, "--workdir", str(self.root),
                "--keep-fd", str(control_fd), "--wall-time-s", str(7 * 24 * 3600),
                "--", *command]

    def prestart(self, fonts: str | None = None, command=None) -> None:
        """Start now (not at the first student), with a student process's environment;
        ``command(work, out)`` gives the student command the grader would run there (to
        start in the same sandbox)."""
        template = self.root / "template"
        sandbox = None
        if command is not None:
            student = command(template, self.root / "template-out")
            if student.student is None:
                return  # started cold anyway
            sandbox = student.sandbox
        self.start(student_environment(template), template, fonts, sandbox)

    def close(self) -> None:
        """Stop the zygote (its children are stopped by the grader, or die with it)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()  # the sandbox's launcher: gone, it cleans nothing up later
            self.proc = None
            if self.sandbox is not None and self.uid is not None and os.geteuid() == 0:
                from course.sandbox.limits import UID_BASE, reap

                if self.uid >= UID_BASE:
                    reap(self.uid)  # whatever the sandbox's user still runs
        if self.log is not None:
            self.log.close()
            self.log = None
        for child in self.children.values():
            if child.returncode is None:
                child.ended(-signal.SIGKILL, 0)
        self.children.clear()

    def remove(self) -> None:
        """Stop it and remove its folder (the end of a grading run)."""
        self.close()
        shutil.rmtree(self.root, ignore_errors=True)
        _ZYGOTES.discard(self)

    def _stderr_tail(self) -> str:
        """The end of what the zygote and its sandbox printed (why it did not start, or why
        its sandbox stopped it)."""
        if self.log is None:
            return ""
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.log.seek(0)
        return self.log.read()[-2000:].decode("utf-8", "replace").strip()

    # ----------------------------------------------------------------- launching

    def launch(self, command: StudentCommand, cwd, env: dict, pass_fds=()):
        """Start ``command`` (a :class:`course.grade.supervisor.StudentCommand`) as a fork of the
        warm worker: the student process, plain or in :mod:`course.sandbox.launcher` with its folders
        inside :attr:`root` (the zygote then runs in that sandbox: same mode, read-only
        paths, limits, and the fork inherits it).  Anything else is started cold, as given.
        """
        inner, sandbox = command.student, command.sandbox
        warm = inner is not None and (sandbox is None or self._inside_root(sandbox))
        if warm and self.killed_by is not None and self.killed_by == _folder_of(cwd, sandbox):
            warm = False  # this student killed its warm worker: its restarts start cold
        if not warm:
            self.cold_fallbacks += 1
            from course.grade.supervisor import popen_student

            return popen_student(command, cwd, env, pass_fds)
        if not self.alive() or _same_sandbox(self.sandbox) != _same_sandbox(sandbox):
            self.start(env, Path(cwd), sandbox=sandbox)
        folder, owner = None, None
        env = dict(env)
        if sandbox is not None:
            folder = self._student_folder(Path(sandbox.workdir))
            self._clean_root(keep=folder)
            info = os.stat(folder)
            owner = (info.st_uid, info.st_gid)
            if os.geteuid() == 0 and self.uid not in (None, 0):
                from course.sandbox.files import hand_over

                hand_over(str(folder), self.uid, self.uid)
            env["HOME"] = sandbox.workdir  # as course.sandbox.launcher sets them
            env["TMPDIR"] = "/tmp" if sandbox.mode == "bwrap" else sandbox.workdir
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            request = {"op": "launch", "argv": list(inner), "cwd": str(cwd), "env": env,
                       "fds": list(pass_fds)}
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()],
                                [stdin_r, out_w, *pass_fds])
            except OSError as error:
                self.close()
                raise ZygoteError(f"the warm worker is gone ({error})") from None
        finally:
            os.close(stdin_r)
            os.close(out_w)
        child = WarmChild(self, os.fdopen(stdin_w, "wb"), os.fdopen(out_r, "rb"))
        child.folder, child.owner = folder, owner
        child.key = _folder_of(cwd, sandbox)
        message = self._receive(30, until="started")
        if not message:
            child.stdin.close()
            child.stdout.close()
            self.close()
            raise ZygoteError("the warm worker did not fork")
        child.local_pid = int(message["pid"])
        child.pid = self._global(child.local_pid)
        self.children[child.local_pid] = child
        self.pump(0)  # an exit reported together with the start
        return child

    def _inside_root(self, sandbox: Wrapped) -> bool:
        folders = [sandbox.workdir] + [source for source, _ in sandbox.rw]
        return all(Path(f).resolve().is_relative_to(self.root.resolve()) and
                   Path(f).resolve() != self.root.resolve() for f in folders)

    def _student_folder(self, workdir: Path) -> Path:
        """The folder of ``root`` that holds this student's folders (Grader.scratch)."""
        relative = workdir.resolve().relative_to(self.root.resolve())
        return self.root / relative.parts[0]

    def _clean_root(self, keep: Path) -> None:
        """Remove what earlier students left in ``root`` (outside their own folders)."""
        for item in self.root.iterdir():
            if item.name in (".matplotlib", "template") or item == keep:
                continue
            try:
                if item.is_symlink() or not item.is_dir():
                    item.unlink()
                else:
                    shutil.rmtree(item, ignore_errors=True)
            except OSError:
                pass

    def _global(self, local_pid: int) -> int:
        """The pid of a child as this process sees it (another one in a pid namespace)."""
        if not self.own_pid_ns:
            return local_pid
        for _ in range(50 if self.proc is not None else 0):
            found = _find_pid(local_pid, ancestor=self.proc.pid)
            if found is not None:
                return found
            time.sleep(0.01)
        return NO_PID  # it ended already: its exit message follows

    # ----------------------------------------------------------------- messages

    def pump(self, timeout: float) -> None:
        """Handle the zygote's messages (children's exits) for up to ``timeout`` seconds."""
        message = self._receive(timeout)
        while message:
            message = self._receive(0)

    def _receive(self, timeout: float, until: str | None = None) -> dict | None:
        """The next message (or, with ``until``, the next one of that kind); exits are
        recorded on the way.  None on timeout; the zygote's end closes it."""
        deadline = time.monotonic() + timeout
        while self.sock is not None:
            left = max(0.0, deadline - time.monotonic())
            if not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:  # the zygote ended (killed, or crashed)
                self._lost()
                return None
            message = json.loads(data)
            if message.get("event") == "exit":
                self._exited(message)
            if until is None or message.get("event") == until:
                return message
        return None

    def _exited(self, message: dict) -> None:
        child = self.children.pop(int(message["pid"]), None)
        rss = int(message.get("max_rss_kb", 0))
        self.child_peak_rss_kb = max(self.child_peak_rss_kb, rss)
        self.peak_rss_kb = max(self.peak_rss_kb, int(message.get("zygote_max_rss_kb", 0)))
        if child is not None:
            child.ended(int(message["returncode"]), rss)

    def _lost(self) -> None:
        """The zygote died: its children are stopped and count as killed.  A student process
        that was running is taken to be the cause (a student can kill its warm worker): its
        later restarts start cold, so that it cannot cost one warm-up per step.  When the
        zygote's sandbox stopped it for memory or disk (its launcher's last line says so),
        the student is told that, not that its process died."""
        from course.sandbox.launcher import stop_reason

        stopped_for = stop_reason(self._stderr_tail().encode()) if self.children else None
        for child in self.children.values():
            self.killed_by, child.stopped_for = child.key, stopped_for
            if child.pid != NO_PID:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.close()


NO_PID = 2**31 - 1  # a pid no process has: signals to it and its group find nothing


def _folder_of(cwd, sandbox: Wrapped | None) -> str:
    """The submission a student process belongs to: its work folder's parent (Grader.grade
    makes <folder>/work and <folder>/out per submission)."""
    return str(Path(sandbox.workdir if sandbox else cwd).resolve().parent)


def _same_sandbox(sandbox: Wrapped | None):
    """What must not change for a zygote to serve a student command (not its folders)."""
    return None if sandbox is None else (tuple(sandbox.prefix), tuple(sandbox.shared))


def _pid_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _find_pid(local_pid: int, ancestor: int) -> int | None:
    """The pid (here) of the process below ``ancestor`` whose innermost pid (its pid in its
    own pid namespace) is ``local_pid``: a walk of a few processes, not of all of /proc."""
    from course.sandbox.meters import descendants

    for pid in descendants(ancestor):
        try:
            with open(f"/proc/{pid}/status") as handle:
                nspid = next((line.split()[1:] for line in handle
                              if line.startswith("NSpid:")), [])
        except OSError:
            continue
        if nspid and int(nspid[-1]) == local_pid:
            return pid
    return None


def student_environment(work: Path) -> dict:
    """The environment the grader gives a student process working in ``work``."""
    from types import SimpleNamespace

    from course.grade.supervisor import ChildProcess

    return ChildProcess.environment(SimpleNamespace(runner=SimpleNamespace(work=Path(work))))


def student_command(grader, work: Path, out: Path) -> StudentCommand:
    """The command the grader runs for a student process working in ``work`` / ``out``
    (sandboxed or not, as :func:`course.grade.supervisor.wrap_command` decides); ``grader`` is a
    :class:`course.grade.grader.Grader`, or anything with its ``config``, ``device`` and
    ``sys_path``."""
    from types import SimpleNamespace

    from course.grade.supervisor import ChildProcess

    runner = SimpleNamespace(work=Path(work), out=Path(out), sys_path=grader.sys_path,
                             device=grader.device, sandboxed=True)
    return ChildProcess.command(SimpleNamespace(runner=runner, config=grader.config), 3)
