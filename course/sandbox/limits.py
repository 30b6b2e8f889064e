"""The user and the resource limits of one sandbox (:mod:`course.sandbox.launcher`): as root, a user
of its own (``UID_BASE + launcher pid``, which owns nothing outside its folders, so that
``RLIMIT_NPROC`` counts the sandbox's processes), the rlimits set in the child between fork
and exec, and :func:`reap`, which stops whatever such a user still runs."""

from __future__ import annotations

import ctypes
import glob
import os
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from course.sandbox.network import load as load_network_filter

if TYPE_CHECKING:
    from course.sandbox.launcher import Spec

UID_BASE = 2_000_000_000  # + the launcher's pid: a user no file outside the sandbox belongs to
NOBODY = 65534


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


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child_setup(limits: Limits, uid: int | None, network=None) -> None:
    """Runs in the child between fork and exec (no threads, no logging here): the limits,
    the sandbox's user, then (the fallback) ``network``, a seccomp filter that refuses new
    sockets (:mod:`course.sandbox.network`), loaded last: it holds for everything the
    command runs."""
    _die_with_parent()
    limits.apply()
    if uid is not None:
        _drop_privileges(uid)
    if network is not None:
        load_network_filter(network)


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
