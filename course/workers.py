"""Warm workers for ``make grade``: torch imported once per worker, one fork per submission.

A cold student process pays Python's start, ``import torch`` (2-3 s) and torch's first
optimizer step (~1 s) before it runs a single cell (and, sandboxed, the sandbox's start);
grading itself then takes about a second.  A warm worker pays that once:

* the *zygote* (``python -m course.workers``, one per worker) imports torch and the
  assignment's checker facade, runs one optimizer step (:func:`course.student_process.warm_up`),
  and then only forks;
* for every student process the grader would start (:class:`course.supervisor.ChildProcess`
  with :attr:`course.supervisor.StepRunner.launcher` set to :meth:`Zygote.launch`), the
  zygote forks a child that becomes exactly that process: its own session, the pipes the
  grader made as stdin / stdout+stderr / event pipe, the grader's working folder and
  environment, then ``course.student_process.main`` with the grader's arguments.  The
  protocol, the limits (memory, file size, per-step wall clock), the restart after a crash
  and the verdicts are the grader's, unchanged: :class:`WarmChild` behaves like the
  ``subprocess.Popen`` it replaces.

The sandbox (:mod:`course.sandbox`) holds at speed: when the grader's student command is
wrapped in ``python -m course.sandbox`` (:func:`course.supervisor.wrap_command`), the zygote
itself runs in a sandbox with the same options (mode, read-only paths, limits) whose one
writable folder is the zygote's root, where the grader makes each submission's folders
(:attr:`course.grading.Grader.scratch`), and the forks inherit it: bubblewrap's namespaces
(no network, own pid namespace), its user (as root: a uid of its own per worker), the
rlimits.  Between students, in that sandbox: the finished student's processes are all
killed (the zygote is their subreaper, and ``kill(-1)`` reaches only the sandbox's own), the
private ``/tmp`` and ``/dev/shm`` are emptied, what it wrote in the root outside its folder
is removed, and its folder is cleaned of links (:func:`course.sandbox.sanitize`), as after a
cold sandboxed run.  Students of one worker run one after the other, each in a fresh fork:
nothing of one is in the next one's memory.  The zygote never sees a submission (the plan
reaches the child on its own stdin) and is non-dumpable (no ptrace or /proc/<pid>/mem by its
students); a student who kills it dies with it (that step is charged, as for a crash) and
the next student gets a new zygote.  Any other command is started cold, as given.

:class:`WarmPool` starts the zygotes, in the background, as soon as a grading run knows what
it grades; :func:`grade_all` grades a class with one thread per zygote, and a
progress bar with an ETA on stderr; the grades do not depend on the number of workers (the
seeds and parameters are the grader's, drawn once).  :func:`grade_class` picks that or a
Dask cluster (:mod:`course.distributed_grading`).
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

MODULE = "course.student_process"
MAX_MESSAGE = 2**20
_ZYGOTES: "weakref.WeakSet[Zygote]" = weakref.WeakSet()  # removed at exit (a Dask worker's)


@atexit.register
def _stop_all() -> None:
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
            from .sandbox import sanitize  # root to follow, and the folder back to its owner

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
        self.sandbox: dict | None = None  # options of the sandbox it runs in (None: none)
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
              sandbox: dict | None = None) -> None:
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
        isolated = ["-P"] if sys.version_info >= (3, 11) else []
        command = [sys.executable, *isolated, "-m", "course.workers", "--control-fd",
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

    def _sandboxed(self, command: list[str], sandbox: dict, control_fd: int) -> list[str]:
        """The zygote's command in the sandbox the student command asked for (same mode,
        read-only paths, limits), with the zygote's root as its one writable folder."""
        command = command + ["--sandboxed"] + (["--bwrap"] if sandbox["mode"] == "bwrap"
                                               else [])
        return [*sandbox["prefix"], *sandbox["options"], "--workdir", str(self.root),
                "--keep-fd", str(control_fd), "--wall-time-s", str(7 * 24 * 3600),
                "--", *command]

    def prestart(self, fonts: str | None = None, command=None) -> None:
        """Start now (not at the first student), with a student process's environment;
        ``command(work, out)`` gives the student command the grader would run there (to
        start in the same sandbox)."""
        template = self.root / "template"
        sandbox = None
        if command is not None:
            kind, _, sandbox = _classify(command(template, self.root / "template-out"))
            if kind is None:
                return  # started cold anyway
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
                from .sandbox import UID_BASE, reap

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

    def launch(self, argv: list[str], cwd, env: dict, pass_fds=()):
        """Start ``argv`` (the grader's student command) as a fork of the warm worker.

        The plain student command, or the same wrapped in :mod:`course.sandbox`
        (:func:`course.supervisor.wrap_command`) with its folders inside :attr:`root`: the
        zygote then runs in that sandbox (same mode, read-only paths, limits) and the fork
        inherits it.  Anything else is started cold with ``Popen``, as given.
        """
        kind, inner, sandbox = _classify(argv)
        if kind == "sandboxed" and not self._inside_root(sandbox):
            kind = None
        if kind is not None and self.killed_by is not None \
                and self.killed_by == _folder_of(cwd, sandbox):
            kind = None  # this student killed its warm worker: its restarts start cold
        if kind is None:
            self.cold_fallbacks += 1
            from .supervisor import popen_student

            return popen_student(argv, cwd, env, pass_fds)
        if not self.alive() or _same_sandbox(self.sandbox) != _same_sandbox(sandbox):
            self.start(env, Path(cwd), sandbox=sandbox)
        folder, owner = None, None
        env = dict(env)
        if sandbox is not None:
            folder = self._student_folder(Path(sandbox["workdir"]))
            self._clean_root(keep=folder)
            info = os.stat(folder)
            owner = (info.st_uid, info.st_gid)
            if os.geteuid() == 0 and self.uid not in (None, 0):
                from .sandbox import hand_over

                hand_over(str(folder), self.uid, self.uid)
            env["HOME"] = sandbox["workdir"]  # as course.sandbox sets them
            env["TMPDIR"] = "/tmp" if sandbox["mode"] == "bwrap" else sandbox["workdir"]
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

    def _inside_root(self, sandbox: dict) -> bool:
        folders = [sandbox["workdir"]] + [source for source, _ in sandbox["rw"]]
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
        from .sandbox import stop_reason

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


def _folder_of(cwd, sandbox: dict | None) -> str:
    """The submission a student process belongs to: its work folder's parent (Grader.grade
    makes <folder>/work and <folder>/out per submission)."""
    return str(Path(sandbox["workdir"] if sandbox else cwd).resolve().parent)


def _same_sandbox(sandbox: dict | None):
    """What must not change for a zygote to serve a student command (not its folders)."""
    return None if sandbox is None else (tuple(sandbox["prefix"]), tuple(sandbox["options"]))


PER_RUN_OPTIONS = {"--workdir": 1, "--rw": 2, "--keep-fd": 1, "--wall-time-s": 1}


def _classify(argv) -> tuple[str | None, list[str], dict | None]:
    """("plain", argv, None) for the student command; ("sandboxed", student command,
    sandbox) for it wrapped by ``python -m course.sandbox``: ``sandbox`` has the wrapper's
    ``prefix`` (the interpreter and its flags), its ``options`` but those of one run
    (folders, kept descriptors, wall clock), ``mode``, ``workdir`` and ``rw``;
    (None, argv, None) for anything else (started cold)."""
    argv = [str(a) for a in argv]
    isolated = ["-P"] if sys.version_info >= (3, 11) else []
    student = [sys.executable, *isolated, "-m", MODULE]
    if argv[:len(student)] == student:
        return "plain", argv, None
    try:
        at = next(i for i in range(1, min(len(argv), 6))
                  if argv[i - 1] == "-m" and argv[i] == "course.sandbox")
        end = argv.index("--", at)
    except (StopIteration, ValueError):
        return None, argv, None
    if argv[0] != sys.executable or argv[end + 1:end + 1 + len(student)] != student:
        return None, argv, None
    from .sandbox import _parse

    try:
        parsed = _parse(argv[at + 1:])
    except SystemExit:
        return None, argv, None
    if parsed.check or not parsed.workdir or parsed.mode is None:
        return None, argv, None
    options, tokens = [], argv[at + 1:end]
    index = 0
    while index < len(tokens):
        width = PER_RUN_OPTIONS.get(tokens[index])
        if width is None:
            options.append(tokens[index])
            index += 1
        else:
            index += 1 + width
    return "sandboxed", argv[end + 1:], {
        "prefix": argv[:at + 1], "options": options, "mode": parsed.mode,
        "workdir": parsed.workdir, "rw": [list(p) for p in parsed.rw]}


def _pid_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _find_pid(local_pid: int, ancestor: int) -> int | None:
    """The pid (here) of the process below ``ancestor`` whose innermost pid (its pid in its
    own pid namespace) is ``local_pid``: a walk of a few processes, not of all of /proc."""
    from .sandbox import descendants

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

    from .supervisor import ChildProcess

    return ChildProcess.environment(SimpleNamespace(runner=SimpleNamespace(work=Path(work))))


def student_command(grader, work: Path, out: Path) -> list[str]:
    """The command the grader runs for a student process working in ``work`` / ``out``
    (sandboxed or not, as :func:`course.supervisor.wrap_command` decides); ``grader`` is a
    :class:`course.grading.Grader`, or anything with its ``config``, ``device`` and
    ``sys_path``."""
    from types import SimpleNamespace

    from .supervisor import ChildProcess

    runner = SimpleNamespace(work=Path(work), out=Path(out), sys_path=grader.sys_path,
                             device=grader.device)
    return ChildProcess.command(SimpleNamespace(runner=runner, config=grader.config), 3)


class WarmPool:
    """``count`` warm workers, each starting (importing torch, warming up) in the background
    from the moment the pool is made: a grading run makes it first, and the workers warm up
    while the grader itself imports torch and the checkers.

    ``setup`` gives what a student command depends on: ``config`` (a GradingConfig),
    ``device``, ``sys_path``, and ``assignment.facade`` (a :class:`course.grading.Grader`
    has them all).  A worker that fails to start here is started again, and reported, at its
    first student.
    """

    def __init__(self, setup, count: int, fonts: str | None = None):
        self.zygotes = [Zygote(setup.assignment.facade, setup.sys_path,
                               setup.config.startup_timeout_s) for _ in range(count)]
        self.started = time.monotonic()

        def command(work, out):
            return student_command(setup, work, out)

        def prestart(zygote: Zygote) -> None:
            try:
                zygote.prestart(fonts, command=command)
            except ZygoteError:
                pass

        self._threads = [threading.Thread(target=prestart, args=(z,), daemon=True,
                                          name=f"warm-worker-{i}")
                         for i, z in enumerate(self.zygotes)]
        for thread in self._threads:
            thread.start()

    def wait_ready(self, index: int) -> float:
        """Wait until worker ``index`` started (or failed to); seconds since the pool was
        made."""
        self._threads[index].join()
        return time.monotonic() - self.started

    def remove(self) -> None:
        """Stop every worker and remove its folder."""
        for thread in self._threads:
            thread.join()
        for zygote in self.zygotes:
            zygote.remove()


def grade_class(grader, notebooks: dict, workers: int = 0, scheduler: str | None = None,
                progress: bool = True, on_grade=None,
                pool: WarmPool | None = None, tls: dict | None = None) -> tuple[dict, dict]:
    """Grade ``notebooks`` (student -> notebook path): on a Dask cluster when ``scheduler``
    is given (:mod:`course.distributed_grading`; ``tls``: its certificate files), else with
    ``workers`` warm workers here (0: one per core; or those of ``pool``, already warming
    up).  Returns (student -> StudentGrade, statistics of the run)."""
    stats: dict = {}
    if scheduler:
        from .distributed_grading import grade_on_cluster

        started = time.monotonic()
        grades = grade_on_cluster(grader, notebooks, scheduler, progress, on_grade, tls=tls)
        stats.update(scheduler=scheduler, seconds=time.monotonic() - started)
        return grades, stats
    grades = grade_all(grader, notebooks, workers or os.cpu_count() or 1, progress, on_grade,
                       stats, pool)
    return grades, stats


def grade_all(grader, notebooks: dict, workers: int, progress: bool = True,
              on_grade=None, stats: dict | None = None, pool: WarmPool | None = None) -> dict:
    """Grade ``notebooks`` (student -> notebook path) with ``workers`` warm workers (those of
    ``pool`` when given: it is used up, its workers removed at the end).

    Returns student -> StudentGrade, in the order given.  ``on_grade(grade)`` is called as
    each student finishes (from a worker thread, one at a time).  A grader error for one
    student becomes that student's rows (status error) and the class goes on.  ``stats``
    (a dict) receives the run's figures: warm-up and grading seconds, peak memory.
    """
    from .grading import StudentGrade

    students = list(notebooks)
    if pool is None:
        workers = max(1, min(workers, len(students) or 1))
        pool = WarmPool(grader, workers, getattr(grader, "_mpl_cache", None))
    todo: queue.Queue = queue.Queue()
    for student in students:
        todo.put(student)
    results: dict = {}
    lock = threading.Lock()
    bar = progress_bar(len(students), progress, f"grading {grader.assignment.name}")

    warm: list[float] = []  # when each worker was ready, in seconds since the pool was made
    busy: list[float] = []  # each worker's seconds from ready to its last student graded

    def work(index: int, zygote: Zygote) -> None:
        mine = copy.copy(grader)
        mine.launcher, mine.scratch = zygote.launch, zygote.root
        ready = pool.wait_ready(index)  # each worker starts grading as soon as it is warm
        with lock:
            if not warm:
                bar.reset()  # the ETA counts from the first warm worker, not the warm-up
            warm.append(ready)
        while True:
            try:
                student = todo.get_nowait()
            except queue.Empty:
                with lock:
                    busy.append(time.monotonic() - pool.started - ready)
                return
            try:
                grade = mine.grade(student, notebooks[student])
            except Exception as error:  # noqa: BLE001 - a grader bug must not stop the class
                message = f"internal grader error: {type(error).__name__}: {error}"
                grade = StudentGrade(student, grader.all_rows(student, "error", message))
                grade.internal_error = message
            with lock:
                results[student] = grade
                if on_grade is not None:
                    on_grade(grade)
                bar.set_postfix_str(f"{student}: {grade.points:g}/{grade.max_points:g}",
                                    refresh=False)
                bar.update(1)

    threads = [threading.Thread(target=work, args=(i, z), daemon=True,
                                name=f"grading-worker-{i}")
               for i, z in enumerate(pool.zygotes[:max(1, len(students))])]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        bar.close()
        pool.remove()
    ended = time.monotonic() - pool.started
    zygotes = pool.zygotes
    if stats is not None:
        # grading: from the first worker ready to the last student graded (a worker that
        # is ready later joins in then); warm-up: until the last worker was ready
        stats.update({
            "workers": len(threads), "students": len(students),
            "warmup_seconds": max(warm, default=0.0),
            "grading_seconds": ended - min(warm, default=0.0),
            "busy_seconds": sorted(busy),
            "zygote_peak_rss_kb": max(z.peak_rss_kb for z in zygotes),
            "child_peak_rss_kb": max(z.child_peak_rss_kb for z in zygotes),
            "zygote_starts": sum(z.starts for z in zygotes),
            "cold_fallbacks": sum(z.cold_fallbacks for z in zygotes),
        })
    return {student: results[student] for student in students}


def progress_bar(total: int, enabled: bool, description: str):
    """A tqdm bar on stderr (students per second and ETA), or one that prints nothing."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="student", file=sys.stderr,
                disable=not enabled, dynamic_ncols=True)


# --------------------------------------------------------------------------- zygote side


def _zygote_main(argv=None) -> None:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(description="warm grading worker (internal)")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--facade", required=True)
    parser.add_argument("--sys-path", default="[]")
    parser.add_argument("--sandboxed", action="store_true",
                        help="in course.sandbox: after each student, stop all it left")
    parser.add_argument("--bwrap", action="store_true",
                        help="in bubblewrap: a pid namespace, a private /tmp and /dev/shm")
    args = parser.parse_args(argv)
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the worker that started us
    _prctl(4, 0)               # PR_SET_DUMPABLE 0: no ptrace / /proc/<pid>/mem by students
    if args.sandboxed:
        _prctl(36, 1)          # PR_SET_CHILD_SUBREAPER: what students leave comes to us
    sock = socket.socket(fileno=args.control_fd)
    sys.path[:0] = json.loads(args.sys_path)
    import torch

    from course import student_process

    torch.set_num_threads(1)  # before any parallel region: no OpenMP pool to break in forks
    importlib.import_module(args.facade)
    student_process.warm_up(torch)
    if torch.cuda.is_initialized():  # (is_available() itself could touch the driver)
        raise SystemExit("CUDA was initialised before forking; children could not use it")
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    _send(sock, event="ready", max_rss_kb=_max_rss_kb(), uid=os.getuid(), pid=os.getpid())
    children: set[int] = set()
    # after a student, stop everything it left: possible where every process we can signal
    # is the sandbox's (a pid namespace of its own, or a user of its own)
    from .sandbox import UID_BASE

    sweep = args.sandboxed and (args.bwrap or os.getuid() >= UID_BASE)
    while True:
        readable = select.select([sock, wake_r], [], [])[0]
        if wake_r in readable:
            os.read(wake_r, 4096)
        _reap(sock, children, sweep, args.bwrap)
        if sock in readable:
            try:
                data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 16)
            except OSError:
                data, fds = b"", []
            if not data:
                break  # the grader closed the control socket
            request = json.loads(data)
            pid = _fork_child(request, fds, sock, (wake_r, wake_w))
            children.add(pid)
            for fd in fds:
                os.close(fd)
            _send(sock, event="started", pid=pid)
            _reap(sock, children, sweep, args.bwrap)
    os._exit(0)


def _fork_child(request: dict, fds: list[int], sock, own_fds) -> int:
    """Fork; the child becomes the student process of ``request`` and never returns."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    request["_zygote"] = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        _become_student(request, fds, sock, own_fds)
        code = 0
    except SystemExit as leaving:
        code = leaving.code if isinstance(leaving.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then leave: never back into the loop
        import traceback

        try:
            traceback.print_exc()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        code = 70
    finally:
        os._exit(code)


def _become_student(request: dict, fds: list[int], sock, own_fds) -> None:
    import random
    import tempfile as tempfile_module

    parent = int(request.get("_zygote", 0))
    os.setsid()
    _prctl(1, signal.SIGKILL)  # dies with the zygote: a student who kills it loses this step
    if parent and os.getppid() != parent:
        os._exit(70)  # the zygote died between fork() and prctl()
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    sock.close()
    for fd in own_fds:
        os.close(fd)
    # stdin, stdout+stderr, then the inherited fds at the numbers the grader gave them
    import fcntl

    targets = [0, 1, 2, *request["fds"]]
    sources = [fds[0], fds[1], fds[1], *fds[2:]]
    base = max(targets + fds) + 1  # copies above every target number, then into place
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, base) for fd in sources]
    for src, dst in zip(high, targets):
        os.dup2(src, dst)
    keep = set(targets)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile_module.tempdir = None
    random.seed()  # a fresh process's state, not the zygote's
    try:
        import numpy

        numpy.random.seed()
    except ImportError:
        pass
    import torch

    torch.manual_seed(torch.initial_seed())  # the default generator as a fresh process has it
    argv = request["argv"]
    isolated = ["-P"] if sys.version_info >= (3, 11) else []
    args = argv[len([sys.executable, *isolated, "-m", MODULE]):]
    sys.argv = [MODULE, *args]
    from course import student_process

    student_process.main(args)


def _reap(sock, children: set, sweep: bool, private_tmp: bool) -> None:
    """Report every student process that ended (exit code as Popen gives it, peak memory);
    with ``sweep``, first stop and reap everything else it left running, and empty the
    private /tmp and /dev/shm, so that the next student finds what the first one did."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid not in children:
            continue  # an orphan a student left (we are its subreaper): reaped
        children.discard(pid)
        if sweep:
            _sweep(private_tmp)
        _send(sock, event="exit", pid=pid, returncode=os.waitstatus_to_exitcode(status),
              max_rss_kb=usage.ru_maxrss, zygote_max_rss_kb=_max_rss_kb())


def _sweep(private_tmp: bool) -> None:
    """Kill every process we may signal but ourselves (in a sandbox: what the student left),
    reap them, and empty the sandbox's private /tmp and /dev/shm."""
    for _ in range(100):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        except PermissionError:
            break
        time.sleep(0.005)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
    if private_tmp:
        home = os.path.realpath(os.getcwd())  # the zygote's root, bound from outside
        for folder in ("/tmp", "/dev/shm"):
            try:
                entries = os.listdir(folder)
            except OSError:
                continue
            for name in entries:
                path = os.path.join(folder, name)
                if os.path.ismount(path) or home == path or home.startswith(path + "/"):
                    continue  # the way to (or a mount of) the grader's folders: not ours
                try:
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        os.unlink(path)
                except OSError:
                    pass


def _send(sock, **message) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        os._exit(0)  # the grader is gone


def _max_rss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the grader's watchdog still applies


if __name__ == "__main__":
    _zygote_main()
