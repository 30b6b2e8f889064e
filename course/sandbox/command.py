"""The command that runs something in the sandbox, built by its callers (the grader's
student processes, :func:`course.grade.supervisor.wrap_command`; tests): ``python -m
course.sandbox [options] -- argv`` (:mod:`course.sandbox.launcher`), kept in its parts
(:class:`Wrapped`) so that a warm worker can start a sandbox with the same options without
parsing a command line back."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace

from course.config import SandboxConfig, load_sandbox_config
from course.sandbox.launcher import LIMIT_FIELDS, sandbox_available


def _pairs(paths) -> list[tuple[str, str]]:
    """Paths or (source, destination) pairs, as absolute (source, destination) pairs."""
    pairs = []
    for item in paths:
        source, dest = (item, item) if isinstance(item, (str, os.PathLike)) else item
        pairs.append((os.path.abspath(source), os.path.abspath(dest)))
    return pairs


@dataclass
class Wrapped:
    """A command wrapped in ``python -m course.sandbox``, kept in its parts: :attr:`argv`
    runs it; a warm worker (:mod:`course.grade.warm_worker`) starts a sandbox of its own with the
    same ``prefix`` and ``shared`` options (all but this run's folders, descriptors and wall
    clock), and forks ``command`` inside it."""

    prefix: list[str]   # the interpreter and its flags, up to ``-m course.sandbox``
    mode: str           # bwrap / fallback
    workdir: str
    rw: list[tuple[str, str]]
    shared: list[str]   # --mode, read-only paths, hidden files, GPU, limits
    per_run: list[str]  # --workdir, --rw, --keep-fd, --wall-time-s
    command: list[str]  # what runs inside

    @property
    def argv(self) -> list[str]:
        return [*self.prefix, *self.shared, *self.per_run, "--", *self.command]


def sandbox_argv(argv, workdir, extra_ro=(), extra_rw=(), **options) -> list[str]:
    """The command that runs ``argv`` sandboxed (:func:`sandbox_wrap`'s, as a list)."""
    return sandbox_wrap(argv, workdir, extra_ro, extra_rw, **options).argv


def sandbox_wrap(argv, workdir, extra_ro=(), extra_rw=(), *, hide=(), keep_fds=(),
                 gpu=False, memory_limit_mb=None, address_space_limit=True,
                 file_size_limit_mb=None, disk_limit_mb=None, cpu_time_s=None,
                 wall_time_s=None, config: SandboxConfig | None = None) -> Wrapped:
    """``argv`` run sandboxed, with ``workdir`` as its writable home.

    ``extra_ro`` / ``extra_rw``: more paths it sees read-only / writable (a path, or a
    ``(source, destination)`` pair); ``hide``: files it cannot read; ``keep_fds``:
    inherited descriptors it keeps (e.g. a pipe); ``gpu``: the NVIDIA devices are visible
    and there is no address-space limit.  The limit arguments override the configuration
    (``address_space_limit=False``: no RLIMIT_AS).
    """
    config = config or load_sandbox_config()
    mode = "bwrap" if sandbox_available(config) else "fallback"
    # -I: the caller's working directory (a student's folder) must not shadow our modules
    prefix = [sys.executable, "-I", "-m", "course.sandbox"]
    workdir, rw = os.path.abspath(workdir), _pairs(extra_rw)
    shared, per_run = ["--mode", mode], ["--workdir", workdir]
    for source, dest in _pairs(extra_ro):
        shared += ["--ro", source, dest]
    for source, dest in rw:
        per_run += ["--rw", source, dest]
    for path in hide:
        shared += ["--hide", os.path.abspath(path)]
    for fd in keep_fds:
        per_run += ["--keep-fd", str(int(fd))]
    if gpu:
        shared.append("--gpu")
    overrides = {"memory_limit_mb": memory_limit_mb, "file_size_limit_mb": file_size_limit_mb,
                 "disk_limit_mb": disk_limit_mb, "cpu_time_s": cpu_time_s,
                 "wall_time_s": wall_time_s}
    config = replace(config, **{k: int(v) for k, v in overrides.items() if v is not None})
    for name in LIMIT_FIELDS:
        option = [f"--{name.replace('_', '-')}", str(getattr(config, name))]
        (per_run if name == "wall_time_s" else shared).extend(option)
    if not address_space_limit:
        shared.append("--no-address-space-limit")
    return Wrapped(prefix, mode, workdir, rw, shared, per_run, [str(a) for a in argv])
