"""The fork server of a warm worker (``python -m course.grade.fork_server``; internal): it imports
torch and the assignment's checker facade once, warms up, then only forks, one child per
student process the grader asks for (:class:`course.grade.warm_worker.Zygote` is its client, which
documents the protocol and the sandbox it runs in).  A child becomes exactly that student
process: its own session, the grader's pipes, folder and environment, then
``course.grade.student_process.main``.  In a sandbox, after each student it stops everything the
student left and empties the private ``/tmp`` and ``/dev/shm``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import sys
import time

MODULE = "course.grade.student_process"
MAX_MESSAGE = 2**20


def main(argv=None) -> None:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(description="warm grading worker (internal)")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--facade", required=True)
    parser.add_argument("--sys-path", default="[]")
    parser.add_argument("--sandboxed", action="store_true",
                        help="in course.sandbox.launcher: after each student, stop all it left")
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

    from course.grade import student_process

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
    from course.sandbox.limits import UID_BASE

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
    argv = request["argv"]  # the student process's command: python -P -m MODULE ARGS
    args = argv[argv.index(MODULE) + 1:]
    sys.argv = [MODULE, *args]
    from course.grade import student_process

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
    main()
