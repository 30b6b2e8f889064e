"""Which isolation student code gets on this machine, what it lacks, and whether a grading run
may go on with it (``[tool.course.sandbox] require``, read by :mod:`course.config`).

Levels, strongest first:

* ``namespaces``: bubblewrap (:mod:`course.sandbox.launcher`): its own mount, pid, network,
  IPC namespaces; it sees the system, Python and the course's packages read-only, and its
  own folders;
* ``fallback``: where bubblewrap cannot make namespaces (Docker's default seccomp profile,
  e.g. on Gradescope; no bubblewrap; ``enabled = false``): a user of its own (we are root),
  the same rlimits and watchdogs, and a seccomp filter that refuses new sockets
  (:mod:`course.sandbox.network`); the course's private folders are closed to other users
  (:func:`close_private_files`), so that user cannot read them;
* ``none``: not even that (not root, so no user of its own; or no libseccomp).

:func:`isolation` builds the record, once per process; everything that reports it (the
grade sheet's run record ``grades/<a>-run.json``, Gradescope's results.json ``extra_data``
and the instructor's output, nbgrader's log, ``python -m course.sandbox --check``) prints
:meth:`Isolation.as_dict`.  :func:`require_isolation` refuses a run whose isolation is
below ``require``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course.config import ISOLATION_LEVELS, ROOT, SandboxConfig, load_sandbox_config
from course.sandbox import launcher
from course.sandbox.files import close_to_others, hand_over
from course.sandbox.limits import reap

FALLBACK_LACKS = (
    "a private view of the files: it can read what any user of the machine may read (the "
    "course's private folders are closed to other users)",
    "a network namespace: a seccomp filter refuses new sockets instead",
    "a pid namespace: it sees the machine's processes (it cannot signal them)",
    "a private /tmp and /dev/shm",
)
NO_USER = ("a user of its own: it runs as the grader's user and can read and write what the "
           "grader can")
# run in the fallback by the probe: both sockets must be refused, and it prints its uid
_PROBE = """import os, socket
for family in (socket.AF_INET, socket.AF_UNIX):
    try:
        socket.socket(family, socket.SOCK_STREAM)
        print("open", family.name)
    except PermissionError:
        pass
print("uid", os.getuid())
"""
_CACHE: dict = {}


class IsolationRefused(RuntimeError):
    """The sandbox cannot give what ``[tool.course.sandbox] require`` asks for: no grading."""


@dataclass(frozen=True)
class Isolation:
    """What student code runs in here: ``level`` (namespaces / fallback / none), what it
    ``lacks`` (short sentences), ``why`` bubblewrap is not used ('' when it is), and the
    ``required`` level (the configuration's)."""

    level: str
    lacks: list[str] = field(default_factory=list)
    why: str = ""
    required: str = "fallback"

    @property
    def enough(self) -> bool:
        return ISOLATION_LEVELS.index(self.level) >= ISOLATION_LEVELS.index(self.required)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """One line for a log or a terminal."""
        line = f"sandbox isolation: {self.level} (required: {self.required})"
        if self.why:
            line += f"; bubblewrap not used: {self.why}"
        return line + "".join(f"\n  lacks {item}" for item in self.lacks)

    def refusal(self) -> str:
        """Why a run that requires more refuses to grade, and what to do."""
        return (f"refusing to grade: student code would run with '{self.level}' isolation "
                f"here, and [tool.course.sandbox] require = '{self.required}' in "
                f"pyproject.toml" + (f" (bubblewrap not used: {self.why})" if self.why else "")
                + (f"; it would lack {'; '.join(self.lacks)}" if self.lacks else "")
                + ". Nobody was graded. Grade where the sandbox can do more (README: "
                  "\"Student code runs in a sandbox\"), or lower require.")


def isolation(config: SandboxConfig | None = None) -> Isolation:
    """The isolation a sandboxed command gets here with ``config`` (default: the
    repository's), probed once per process: bubblewrap (as the sandbox runs it), else the
    fallback run once with a probe that tries to open sockets."""
    config = config or load_sandbox_config()
    key = (config.enabled, config.require)
    if key not in _CACHE:
        _CACHE[key] = _measure(config)
    return _CACHE[key]


def _measure(config: SandboxConfig) -> Isolation:
    if launcher.sandbox_available(config):
        lacks = [] if os.geteuid() == 0 else [
            "a user of its own: it runs as the grader's user in a user namespace "
            "(RLIMIT_NPROC counts all that user's processes)"]
        return Isolation("namespaces", lacks, "", config.require)
    why = launcher._STATE.get("why", "")
    missing = _fallback_problems(config)
    return Isolation("none" if missing else "fallback", [*FALLBACK_LACKS, *missing], why,
                     config.require)


def _fallback_problems(config: SandboxConfig) -> list[str]:
    """What the fallback lacks here beyond :data:`FALLBACK_LACKS`: a user of its own, the
    network filter (run once, for real, with :data:`_PROBE`)."""
    folder = tempfile.mkdtemp(prefix="sandbox-probe-")
    uid = launcher.fallback_uid(sys.executable)
    problems = [] if uid is not None else [NO_USER]
    try:
        if uid is not None:
            hand_over(folder, uid, uid)
        spec = launcher.Spec([sys.executable, "-I", "-S", "-c", _PROBE], workdir=folder,
                             limits=config)
        proc = launcher._start(spec, "fallback", uid, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        out = proc.communicate(timeout=60)[0].decode(errors="replace")
        if proc.returncode != 0 or "open" in out.split():
            problems.append("a network cut: it can open sockets ("
                            + " ".join(out.split())[:300] + ")")
    except launcher.SandboxRefused as error:
        problems.append(f"a network cut: {error}")
    except (OSError, subprocess.SubprocessError) as error:
        problems.append(f"a network cut: the probe did not run ({error})")
    finally:
        if uid is not None:
            reap(uid)
        shutil.rmtree(folder, ignore_errors=True)
    return problems


def require_isolation(config: SandboxConfig | None = None) -> Isolation:
    """The isolation here (:func:`isolation`); IsolationRefused (its
    :meth:`~Isolation.refusal`) when it is below ``require``."""
    found = isolation(config)
    if not found.enough:
        raise IsolationRefused(found.refusal())
    return found


def close_private_files(found: Isolation, extra=(), keep=(), root: Path = ROOT) -> list[str]:
    """In the fallback as root: take every other user's access away (``o-rwx``) from the
    course's private files, so that the sandbox's user cannot read them: the folders at the
    top of ``root`` (the course) but those student code needs (the course's packages, the
    Python installation, virtual environment and everything on ``sys.path``, ``release/``, and ``keep``: a grader's
    extra ``sys_path``), its ``*.db`` files (gradebook.db), and ``extra`` (a run's source,
    submissions and grades folders).
    Returns what it changed; nothing with bubblewrap (which shows none of it)."""
    if found.level != "fallback" or os.geteuid() != 0:
        return []
    needed = [Path(p).resolve() for p in launcher.python_dirs() + launcher.course_packages()
              + [p for p in sys.path if p and os.path.isdir(p)]]  # site dirs, .pth's too
    needed += [Path(root) / "release", *(Path(p) for p in keep)]
    private = []
    for entry in sorted(Path(root).iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_dir() and not any(n == entry or entry in n.parents for n in needed):
            private.append(entry)
        elif entry.is_file() and entry.suffix == ".db":
            private.append(entry)
    return close_to_others([*private, *(Path(p) for p in extra if Path(p).exists())])
