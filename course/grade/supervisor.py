"""Run one submission's steps in student processes, within limits, and collect the results.

:class:`StepRunner` starts ``python -m course.grade.student_process`` (:func:`wrap_command` is the
one place a sandbox wraps that command) in the submission's work folder, sends it the plan,
and follows its events (:mod:`course.grade.student_process` documents the protocol):

* each step has a wall-clock limit from its ``start`` event (:func:`step_limit`: a cell:
  ``cell_timeout_s``, a cell the student added: ``added_cell_timeout_s``, a probe:
  ``check_timeout_s``); the whole submission has ``student_timeout_s``;
* memory: RLIMIT_AS set by the process itself on CPU runs, and here a watchdog on its
  resident memory on every device (CUDA needs far more address space than memory);
* disk: RLIMIT_FSIZE bounds each file; a watchdog here adds up what its work and results
  folders hold (many files would fill the disk under the rest of the class);
* what the process prints is kept, bounded (:class:`OutputLog`), never parsed;
* when the process hangs, dies or passes a limit in a step, the step is charged (a probe
  also costs that check's other seeds) and a new process resumes after it: the code cells
  run again, the probes already done do not.

The result of each step is a :class:`StepOutcome`, read from the files the process wrote,
as untrusted data (size limits, plain arrays and JSON, never pickle).

One job, running one submission's steps within limits (:class:`StepRunner`, one
:class:`ChildProcess` per student process); how a process starts is its launcher's
(:class:`StudentCommand`: cold here, a fork of :mod:`course.grade.warm_worker`).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from course.config import ROOT, THREAD_VARIABLES, GradingConfig
from course.sandbox.meters import folder_bytes, tree_resident_bytes
from course.sandbox.launcher import stop_reason
from course.sandbox.command import Wrapped, sandbox_wrap

MAX_REPORT_BYTES = 2**20
MAX_LOG_BYTES = 2**18  # output kept per student (then only its last 64 KiB)
# How often the watchdog reads the student's memory (its tree of processes in /proc).  A
# process grows at most a few GiB/s, and RLIMIT_AS stops CPU runs at the limit anyway.
MEMORY_CHECK_INTERVAL_S = 0.25
# How often it adds up the files in the student's folders (a few, unless it makes many).
DISK_CHECK_INTERVAL_S = 0.5


@dataclass
class StudentCommand:
    """How to start a student process, as objects: ``argv`` starts it cold; ``student`` is
    the student process's own command (None: not a student process, always started cold)
    and ``sandbox`` the :class:`course.sandbox.launcher.Wrapped` around it (None: no sandbox).  A
    warm worker (:mod:`course.grade.warm_worker`) forks ``student`` in a sandbox like ``sandbox``."""

    argv: list[str]
    student: list[str] | None = None
    sandbox: Wrapped | None = None


def student_argv(events_fd: int) -> list[str]:
    """The plain command of a student process that writes its events to ``events_fd``."""
    return [sys.executable, "-P", "-m", "course.grade.student_process",
            "--events-fd", str(events_fd)]


def wrap_command(argv: list[str], *, work=None, out=None, read_only=(), keep_fds=(),
                 device: str = "cpu", config: GradingConfig | None = None) -> StudentCommand:
    """The command that starts a student process; the one place a sandbox plugs in.

    The process runs in :mod:`course.sandbox.launcher` (bubblewrap: no network, a read-only view of
    the system, the Python installation and the course's packages, nothing else of the
    course; as root, a user of its own), where only its work folder ``work`` and its
    results folder ``out`` are writable and ``read_only`` (the grader's extra ``sys_path``)
    is visible; ``keep_fds`` (the event pipe) stays open.  The grading limits are the
    sandbox's outer limits too: memory (RLIMIT_AS on CPU runs), file size, and a wall
    clock of the submission's time; on CUDA the GPU devices are visible.  The process
    still sets its own limits, and this process still enforces the per-step wall clocks
    and watches its memory.  Without ``work``, ``argv`` as it is.
    """
    if work is None:
        return StudentCommand(list(argv), list(argv))
    config = config or GradingConfig()
    wrapped = sandbox_wrap(
        argv, work, extra_ro=[p for p in read_only if os.path.exists(p)],
        extra_rw=[out] if out is not None else [], keep_fds=keep_fds,
        gpu=device.startswith("cuda"), memory_limit_mb=config.memory_limit_mb,
        address_space_limit=device == "cpu" and config.address_space_limit,
        file_size_limit_mb=config.file_size_limit_mb, disk_limit_mb=config.disk_limit_mb,
        wall_time_s=int(config.student_timeout_s + config.startup_timeout_s))
    return StudentCommand(wrapped.argv, wrapped.command, wrapped)


@dataclass
class StepOutcome:
    """What became of one step: ok / error (code), data / report / malformed (probe),
    or timeout / died / memory / disk / total (the process was stopped during it)."""

    kind: str
    message: str = ""
    data: dict = field(default_factory=dict)
    blob: bytes = b""  # a probe's data as the student process wrote it (decoded: ``data``)


class StepRunner:
    """Runs a submission's steps in student processes, restarting after a crash or hang."""

    # Starts a student process: ``launcher(command, cwd, env, pass_fds)`` (a StudentCommand)
    # returns a Popen-like object.  None: a new process (:func:`popen_student`);
    # course.grade.warm_worker forks warm ones.
    launcher = None
    # False: student processes run as plain processes, without the sandbox (check_my_work,
    # course.check: the student's own code on the student's own machine, where there may be
    # no bubblewrap and no pyproject.toml with the sandbox's settings)
    sandboxed = True
    # True: the process sees no GPU (CUDA_VISIBLE_DEVICES=""), as on a CPU machine: the CPU
    # pass of course.grade.device_policy
    hide_gpus = False

    def __init__(self, steps: list[dict], work: Path, out: Path, config: GradingConfig,
                 device: str, facade: str, sys_path=()):
        self.config, self.device, self.facade = config, device, facade
        self.sys_path = [str(p) for p in sys_path]
        self.steps = {step["id"]: step for step in steps}
        self.order = [step["id"] for step in steps]
        self.work, self.out, self.output = work, out, OutputLog()
        self.prepared = set(os.listdir(work))  # what the grader put there (data files...)
        self.outcomes: dict[int, StepOutcome] = {}
        self.startup_failure: str | None = None
        self.deadline = time.monotonic() + self.config.student_timeout_s

    def pending_probes(self) -> list[int]:
        return [i for i in self.order
                if self.steps[i]["kind"] == "probe" and i not in self.outcomes]

    def run(self) -> dict[int, StepOutcome]:
        """Run until every probe has an outcome; returns the outcome of each step that ran."""
        first = True
        while self.pending_probes():
            child = ChildProcess(self, self._plan())
            child.run()
            for index in child.done:
                self.outcomes.setdefault(index, self._read_result(index))
            if child.end == "disk":
                self._remove_written()  # room for the next process to resume in
            if child.end == "finished":
                self._charge_pending(StepOutcome("malformed", "the probe left no result"))
            elif child.end == "total":
                self._charge_pending(StepOutcome("total", child.describe_end()))
            elif child.current is not None:  # stopped in a step: charge it, then resume
                self._charge(child.current, StepOutcome(child.end, child.describe_end()))
                first = False
                continue
            elif child.ready and child.done:  # stopped between steps after some progress
                continue
            else:  # stopped before running any step
                why = f"the student process {child.describe_end()}"
                if first and not child.ready:
                    self.startup_failure = why  # no student code ran yet: the grader's fault
                self._charge_pending(StepOutcome("died", why))
            break
        return self.outcomes

    def _remove_written(self) -> None:
        """Remove what the student's processes wrote: everything in ``out`` (its results
        are read) and what ``work`` holds that the grader did not put there."""
        for folder, keep in ((self.out, set()), (self.work, self.prepared)):
            for name in set(os.listdir(folder)) - keep:
                path = folder / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    def _charge_pending(self, outcome: StepOutcome) -> None:
        for index in self.pending_probes():
            self.outcomes[index] = StepOutcome(outcome.kind, outcome.message)

    def _charge(self, index: int, outcome: StepOutcome) -> None:
        """Record the step the process stopped in; a stopped probe costs its other seeds."""
        self.outcomes[index] = outcome
        step = self.steps[index]
        if step["kind"] == "probe":
            for other in self.pending_probes():
                if self.steps[other].get("check") == step["check"]:
                    self.outcomes[other] = StepOutcome(outcome.kind, outcome.message)

    def _plan(self) -> dict:
        config = self.config
        skip = [i for i, o in self.outcomes.items()
                if self.steps[i]["kind"] == "probe" or o.kind not in ("ok", "error")]
        device = self.device
        return {
            "facade": self.facade,
            "device": device,
            "outdir": str(self.out),
            "sys_path": self.sys_path,
            "skip": skip,
            "limits": {
                "address_space_bytes": (config.memory_limit_mb * 2**20
                                        if device == "cpu" and config.address_space_limit
                                        else None),
                "gpu_memory_bytes": config.memory_limit_mb * 2**20,
                "file_size_bytes": config.file_size_limit_mb * 2**20,
            },
            "steps": [self.steps[i] for i in self.order],
        }

    def _read_result(self, index: int) -> StepOutcome:
        """A step's result file, read as untrusted data."""
        step = self.steps[index]
        from course.grade.transport import SUFFIX

        report_path, data_path = self.out / f"{index}.json", self.out / f"{index}{SUFFIX}"
        if step["kind"] == "probe" and os.path.lexists(data_path):
            try:
                blob, data = read_probe_file(data_path, self.config.file_size_limit_mb * 2**20)
                return StepOutcome("data", data=data, blob=blob)
            except Exception as error:  # noqa: BLE001 - a forged or broken file
                return StepOutcome("malformed", f"{type(error).__name__}: {error}")
        try:
            report = json.loads(_read_plain_file(report_path, MAX_REPORT_BYTES))
            if not isinstance(report, dict):
                raise ValueError("report is not an object")
        except Exception as error:  # noqa: BLE001
            kind = "error" if step["kind"] == "code" else "malformed"
            return StepOutcome(kind, f"no readable result ({type(error).__name__})")
        if step["kind"] == "code":
            return StepOutcome("ok") if report.get("ok") is True else \
                StepOutcome("error", str(report.get("error", "unknown error")))
        return StepOutcome("report", data=report)


def _read_plain_file(path: Path, max_bytes: int) -> bytes:
    """A result file's bytes: a regular file, not a link (the student process wrote this
    folder and may have left a link to a file only the grader can read), bounded."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a plain file")
        if info.st_size > max_bytes:
            raise ValueError(f"larger than {max_bytes} bytes")
        return handle.read(max_bytes + 1)[:max_bytes]


def read_probe_file(path: Path, max_bytes: int) -> tuple[bytes, dict]:
    """A probe's data file, a plain file (not a link) of at most ``max_bytes``: its bytes
    and what they decode to."""
    blob = _read_plain_file(path, max_bytes)
    return blob, probe_data(blob, max_bytes)


def probe_data(blob: bytes, max_bytes: int) -> dict:
    """Decode a probe's bytes (:func:`course.grade.transport.decode`: plain arrays and JSON, every
    size checked, never pickle), refusing more than ``max_bytes``."""
    from course.grade.transport import decode

    if len(blob) > max_bytes:
        raise ValueError(f"probe data larger than {max_bytes} bytes")
    return decode(blob)


class ChildProcess:
    """One student process: start it, follow its events, stop it at a limit."""

    def __init__(self, runner: StepRunner, plan: dict):
        self.runner, self.config, self.plan = runner, runner.config, plan
        self.ready, self.finished = False, False
        self.current: int | None = None
        self.done: list[int] = []
        self.end = ""  # finished / timeout / total / memory / died
        self.returncode: int | None = None
        self._recent_output = b""  # this process's last output (the sandbox's last words)

    def command(self, events_fd: int) -> StudentCommand:
        runner = self.runner
        return wrap_command(student_argv(events_fd),
                            work=runner.work if runner.sandboxed else None, out=runner.out,
                            read_only=runner.sys_path,
                            keep_fds=(events_fd,), device=runner.device, config=self.config)

    def environment(self) -> dict:
        """A small, fixed environment: nothing of the TA's (tokens, keys) leaks in."""
        work = str(self.runner.work)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "TMPDIR": work,
            "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(self.runner.work / ".matplotlib"), "TQDM_DISABLE": "1",
            **{name: "1" for name in THREAD_VARIABLES},
        }
        for name in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "SYSTEMROOT"):
            if name in os.environ:
                env[name] = os.environ[name]
        if getattr(self.runner, "hide_gpus", False):
            env["CUDA_VISIBLE_DEVICES"] = ""
        return env

    def run(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            launch = self.runner.launcher or popen_student
            proc = launch(self.command(write_fd), cwd=self.runner.work,
                          env=self.environment(), pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        threading.Thread(target=_feed, args=(proc.stdin, json.dumps(self.plan).encode()),
                         daemon=True).start()
        try:
            self._follow(proc, read_fd, proc.stdout.fileno())
        finally:
            os.close(read_fd)
            _kill_group(proc)
            proc.stdout.close()
            self.returncode = proc.returncode
        if self.end == "died":  # the sandbox's own watchdog may have stopped it first (a
            # warm worker's sandbox: course.grade.warm_worker reads its launcher's last line)
            self.end = (stop_reason(self._recent_output) or getattr(proc, "stopped_for", None)
                        or self.end)

    def _follow(self, proc: subprocess.Popen, events_fd: int, output_fd: int) -> None:
        """Read events and output until the process ends or passes a limit."""
        config, runner = self.config, self.runner
        limit = time.monotonic() + config.startup_timeout_s
        self._buffer, open_fds, exited_at = b"", {events_fd, output_fd}, None
        limit_bytes, next_memory_check = config.memory_limit_mb * 2**20, 0.0
        disk_bytes, next_disk_check = config.disk_limit_mb * 2**20, 0.0
        while True:
            exited = proc.poll() is not None
            now = time.monotonic()
            exited_at = exited_at or (now if exited else None)
            if not exited and now >= min(limit, runner.deadline):
                self.end = "total" if runner.deadline <= limit else "timeout"
                return
            if not exited and now >= next_memory_check:
                next_memory_check = now + MEMORY_CHECK_INTERVAL_S
                # the student process and all it started (forks' shared pages count once)
                if tree_resident_bytes(proc.pid, limit_bytes) > limit_bytes:
                    self.end = "memory"
                    return
            if not exited and now >= next_disk_check:
                next_disk_check = now + DISK_CHECK_INTERVAL_S
                if folder_bytes([runner.work, runner.out], disk_bytes) > disk_bytes:
                    self.end = "disk"
                    return
            wait = 0 if exited else min(0.2, limit - now)
            readable = select.select(list(open_fds), [], [], wait)[0] if open_fds else []
            for fd in readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.discard(fd)
                elif fd == output_fd:
                    runner.output.add(chunk)
                    self._recent_output = (self._recent_output + chunk)[-1024:]
                else:
                    limit = self._events(chunk, limit)
            if exited and (not readable or now - exited_at > 1):  # 1 s: what it left
                self.end = "finished" if self.finished else "died"
                return
            if not open_fds and not exited:  # its pipes are closed: wait for its exit
                try:
                    proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass

    def _events(self, chunk: bytes, limit: float) -> float:
        """Handle the complete event lines received so far; returns the new deadline."""
        *lines, rest = (self._buffer + chunk).split(b"\n")
        self._buffer = rest[-65536:]
        for line in lines:
            limit = self._event(line, limit)
        return limit

    def _event(self, line: bytes, limit: float) -> float:
        """Update the state from one event line; returns the new deadline."""
        config, steps = self.config, self.runner.steps
        try:
            event = json.loads(line)
            kind, index = event.get("event"), event.get("step")
        except (ValueError, AttributeError):
            return limit  # not ours: the student wrote to the pipe
        now = time.monotonic()
        if kind == "ready":
            self.ready = True
            return now + config.cell_timeout_s
        if kind == "start" and index in steps:
            self.current = index
            return now + step_limit(steps[index], config)
        if kind == "done" and index == self.current:
            self.done.append(index)
            self.current = None
            return now + config.cell_timeout_s
        if kind == "finished" and self.current is None:
            self.finished = True
            return now + config.cell_timeout_s
        return limit

    def describe_end(self) -> str:
        if self.end == "timeout":
            phase = "step" if self.ready else "start-up (imports)"
            return f"did not finish its {phase} in time"
        if self.end == "total":
            return f"used up the submission's {self.config.student_timeout_s:g} s"
        if self.end == "memory":
            return f"used more than {self.config.memory_limit_mb} MiB of memory"
        if self.end == "disk":
            return f"wrote more than {self.config.disk_limit_mb} MiB of files"
        code = self.returncode
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        tail = self.runner.output.last_lines(300)
        return how + (f"; its last output: {tail}" if tail else "")


def step_limit(step: dict, config: GradingConfig) -> float:
    """A step's wall clock in seconds: a probe's, an added cell's budget, or a cell's."""
    if step["kind"] == "probe":
        return config.check_timeout_s
    return config.added_cell_timeout_s if step.get("origin") == "added" \
        else config.cell_timeout_s


def popen_student(command: StudentCommand, cwd, env: dict, pass_fds=()) -> subprocess.Popen:
    """Start a student process cold: plan on stdin, output on stdout, in its own session."""
    return subprocess.Popen(command.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=cwd, env=env, pass_fds=pass_fds,
                            start_new_session=True)


def _feed(stream, blob: bytes) -> None:
    try:
        stream.write(blob)
        stream.close()
    except OSError:
        pass  # the process ended before reading its plan; the grader sees it end


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop the student process and anything it started (its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


class OutputLog:
    """What the student's processes printed: the start, and the end, of bounded size."""

    def __init__(self, head_bytes: int = MAX_LOG_BYTES, tail_bytes: int = 2**16):
        self.head, self.tail, self.dropped = bytearray(), bytearray(), 0
        self.head_bytes, self.tail_bytes = head_bytes, tail_bytes

    def add(self, chunk: bytes) -> None:
        room = max(0, self.head_bytes - len(self.head))
        self.head += chunk[:room]
        self.tail += chunk[room:]
        extra = len(self.tail) - self.tail_bytes
        if extra > 0:
            del self.tail[:extra]
            self.dropped += extra

    def text(self) -> str:
        cut = f"\n[... {self.dropped} bytes of output not kept ...]\n" if self.dropped else ""
        return (bytes(self.head).decode("utf-8", "replace") + cut
                + bytes(self.tail).decode("utf-8", "replace"))

    def last_lines(self, chars: int) -> str:
        """The end of the output, on one line, without the grader's step markers."""
        text = bytes((self.head + self.tail)[-4 * chars:]).decode("utf-8", "replace")
        lines = [line.strip() for line in text.splitlines()
                 if line.strip() and not line.startswith("[grader]")]
        return " | ".join(lines)[-chars:]
