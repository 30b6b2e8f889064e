"""The course's settings, each read from one place.

* ``assignments()``: the assignments, in release order (``[tool.course]`` in pyproject.toml);
* ``gradescope_setting(key, default)``: the Gradescope autograder's settings
  (``[tool.course.gradescope]``, read by :mod:`course.export.gradescope`);
* ``python_minimum()``: the oldest Python the course runs on (``[project]
  requires-python``), which the Gradescope autograder's setup.sh demands and every pin of
  constraints.txt must install on;
* ``nbgrader_setting(section, key)``: a value from nbgrader_config.py;
* ``load_grading_config()``: the grader's limits (``[tool.course.grading]``) and
  ``load_sandbox_config()``: the sandbox's (``[tool.course.sandbox]``), each with the limits
  both share (memory, file size, disk: ``[tool.course.limits]``), read by one reader
  (:func:`load_table`).  Every limit applied to a submission lives there, with its default
  and meaning below.  The command line (``pytest grader_tests --device ... --check-timeout
  ...``) may override some of them for one run; nothing else in the package hard-codes a
  limit.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info < (3, 11):  # pyproject.toml: requires-python >= 3.11
    raise ImportError(f"the course needs Python 3.11 or newer (for tomllib), not "
                      f"{sys.version.split()[0]}")
import tomllib  # noqa: E402 - after the version check, which explains its absence

ROOT = Path(__file__).resolve().parents[1]
DEVICES = ("auto", "cpu", "cuda")
# what a check that failed on a GPU because of where the student put a tensor counts for
# (course.grade.device_policy): its result graded again on the CPU, or the failure
DEVICE_ERROR_POLICIES = ("cpu", "fail")
# the variables that size numpy's and torch's thread pools (OpenMP, MKL, OpenBLAS)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# what the sandbox can give student code, weakest first (course.sandbox.isolation)
ISOLATION_LEVELS = ("none", "fallback", "namespaces")


class ConfigError(ValueError):
    """pyproject.toml is missing or unreadable, or lacks a table or key the course needs."""


def _pyproject(path: Path) -> dict:
    """The parsed pyproject.toml at ``path``; ConfigError when it is missing or unreadable."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: the course's settings ([tool.course]) "
                          f"live there") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None


def course_table(path: str | Path, name: str | None = None) -> dict:
    """The ``[tool.course]`` table of the pyproject.toml at ``path`` (with ``name``: its
    ``[tool.course.<name>]`` table); ConfigError when the file or the table is missing."""
    path = Path(path)
    table = _pyproject(path).get("tool", {}).get("course")
    heading = "[tool.course]"
    if name is not None and isinstance(table, dict):
        table, heading = table.get(name), f"[tool.course.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{path} has no {heading} table (see the repository's "
                          f"pyproject.toml for every setting and its meaning)")
    return table


def assignments(root: str | Path | None = None) -> list[str]:
    """The course's assignments, in release order (``[tool.course] assignments`` of
    ``root``'s pyproject.toml, default the repository's); ConfigError when it is missing."""
    path = Path(root or ROOT) / "pyproject.toml"
    names = course_table(path).get("assignments")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{path}: [tool.course] needs assignments = [\"name\", ...] "
                          f"(a list of assignment names), not {names!r}")
    return list(names)


def gradescope_setting(key: str, default, root: str | Path | None = None):
    """A value of ``[tool.course.gradescope]`` in pyproject.toml (``default`` when unset)."""
    table = course_table(Path(root or ROOT) / "pyproject.toml").get("gradescope", {})
    return table.get(key, default)


def python_minimum(root: str | Path | None = None) -> tuple[int, ...]:
    """The oldest Python the course allows, e.g. (3, 11): ``[project] requires-python`` of
    ``root``'s pyproject.toml (default the repository's), which must read ``">=X.Y"`` (or
    ``">=X.Y.Z"``); ConfigError otherwise."""
    path = Path(root or ROOT) / "pyproject.toml"
    spec = _pyproject(path).get("project", {}).get("requires-python")
    version = spec[2:].strip() if isinstance(spec, str) and spec.startswith(">=") else ""
    parts = version.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ConfigError(f'{path}: [project] requires-python must read ">=X.Y" (the oldest '
                          f"Python the course allows; setup.sh and the pins follow it), "
                          f"not {spec!r}")
    return tuple(int(p) for p in parts)


def nbgrader_setting(section: str, key: str, root: str | Path | None = None):
    """The value nbgrader_config.py gives ``c.<section>.<key>`` (None when unset)."""
    from traitlets.config.loader import PyFileConfigLoader

    loader = PyFileConfigLoader("nbgrader_config.py", path=str(Path(root or ROOT)))
    config = loader.load_config()
    return config[section][key] if key in config.get(section, {}) else None


@dataclass(frozen=True)
class GradingConfig:
    """Limits and choices for one grading run (units in the names: seconds, MiB)."""

    device: str = "auto"            # auto = cuda when available, else cpu
    device_errors: str = "cpu"      # a check that failed on the GPU because of where the
    #                                 student put a tensor: "cpu", graded again on the CPU
    #                                 (that result counts); "fail": it stays failed
    #                                 (course.grade.device_policy)
    fresh_seeds: int = 2            # seeds drawn per run, on top of the canonical seed 0
    check_timeout_s: float = 60     # wall clock for one probe (one check at one seed)
    cell_timeout_s: float = 60      # wall clock for one setup/solution cell
    added_cell_timeout_s: float = 10  # wall clock for what grading runs of a cell the
    #                                 student added (course.notebooks.graded_part): past
    #                                 it that cell is stopped and grading goes on without it
    startup_timeout_s: float = 120  # wall clock for the student process to import torch etc.
    student_timeout_s: float = 900  # wall clock for one submission, restarts included
    memory_limit_mb: int = 6144     # memory of the student process (resident, and on CPU
    #                                 also its address space: torch's import needs ~0.7 GiB)
    address_space_limit: bool = True  # RLIMIT_AS on CPU runs; never on CUDA, which reserves
    #                                 far more address space than memory (the resident-memory
    #                                 watchdog applies on every device)
    file_size_limit_mb: int = 256   # largest file the student process may write
    disk_limit_mb: int = 1024       # what its work and results folders may hold together
    message_limit_chars: int = 1500  # longest message kept per check

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {self.device!r}")
        if self.device_errors not in DEVICE_ERROR_POLICIES:
            raise ValueError(f"[tool.course.grading] device_errors must be one of "
                             f"{', '.join(DEVICE_ERROR_POLICIES)}, not {self.device_errors!r}")
        if self.fresh_seeds < 0:
            raise ValueError("fresh_seeds must be >= 0")
        for name in ("check_timeout_s", "cell_timeout_s", "added_cell_timeout_s",
                     "startup_timeout_s", "student_timeout_s", "memory_limit_mb",
                     "file_size_limit_mb", "disk_limit_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")

    def replace(self, **changes) -> "GradingConfig":
        """A copy with some settings changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_grading_config(pyproject: str | Path | None = None) -> GradingConfig:
    """The grader's settings: ``[tool.course.grading]`` and the shared
    ``[tool.course.limits]`` of ``pyproject`` (default: the repository's); see
    :func:`load_table`."""
    return load_table(GradingConfig, "grading", pyproject)


# --------------------------------------------------------------------------- sandbox


@dataclass(frozen=True)
class SandboxConfig:
    """Limits of the sandbox around student code (``[tool.course.sandbox]``; units in the
    names).  :mod:`course.sandbox.launcher` applies them to every sandboxed process: nbgrader
    autograde's kernel and the grader's student processes (whose own, tighter per-check
    limits from ``[tool.course.grading]`` apply inside)."""

    enabled: bool = True            # bubblewrap when it can run; false: the fallback only
    require: str = "fallback"       # the least isolation a grading run accepts, else it
    #                                 refuses to grade: namespaces / fallback / none
    #                                 (course.sandbox.isolation)
    memory_limit_mb: int = 6144     # address space (RLIMIT_AS) of each process, CPU runs only
    cpu_time_s: int = 3600          # CPU seconds per process (RLIMIT_CPU)
    wall_time_s: int = 7200         # wall clock of a sandboxed command (a kernel: a notebook)
    file_size_limit_mb: int = 256   # largest file a process may write (RLIMIT_FSIZE)
    disk_limit_mb: int = 1024       # what its writable folders may hold together: stopped at
    #                                 1.25 x this (course.sandbox.launcher.TREE_DISK_FACTOR)
    max_processes: int = 256        # processes + threads of one sandbox (RLIMIT_NPROC)
    max_open_files: int = 1024      # open files per process (RLIMIT_NOFILE)
    tmp_size_mb: int = 256          # size of the private /tmp and of /dev/shm (each)

    def __post_init__(self):
        if self.require not in ISOLATION_LEVELS:
            raise ValueError(f"[tool.course.sandbox] require must be one of "
                             f"{', '.join(ISOLATION_LEVELS)}, not {self.require!r}")
        for f in dataclasses.fields(self):
            if f.name not in ("enabled", "require") and not getattr(self, f.name) > 0:
                table = "limits" if f.name in LIMIT_KEYS else "sandbox"
                raise ValueError(f"[tool.course.{table}] {f.name} must be positive")


def load_sandbox_config(pyproject: str | Path | None = None) -> SandboxConfig:
    """The sandbox's settings: ``[tool.course.sandbox]`` and the shared
    ``[tool.course.limits]`` of ``pyproject`` (default: the repository's); see
    :func:`load_table`."""
    return load_table(SandboxConfig, "sandbox", pyproject)


# --------------------------------------------------------------------------- the reader

# The limits every process that runs student code has, the grader's student processes and
# nbgrader's sandboxed kernel alike: ``[tool.course.limits]``, set once for both.
LIMIT_KEYS = ("memory_limit_mb", "file_size_limit_mb", "disk_limit_mb")


def load_table(kind: type, name: str, pyproject: str | Path | None = None):
    """``kind`` (a settings dataclass) from ``[tool.course.<name>]`` and
    ``[tool.course.limits]`` (:data:`LIMIT_KEYS`) of ``pyproject`` (default: the
    repository's).

    A key the tables leave out keeps its default.  A missing or unreadable file, a missing
    table, an unknown key (a limit set in the wrong table too) or a value of the wrong type
    is an error (ConfigError) that names the file, the table and the key: a typo must not
    silently leave a default limit in place.
    """
    import typing

    path = Path(pyproject) if pyproject else ROOT / "pyproject.toml"
    own, limits = course_table(path, name), course_table(path, "limits")
    types = typing.get_type_hints(kind)
    for table, heading, allowed in ((own, name, set(types) - set(LIMIT_KEYS)),
                                    (limits, "limits", set(LIMIT_KEYS))):
        unknown = set(table) - allowed
        if unknown:
            moved = sorted(unknown & set(LIMIT_KEYS))
            raise ConfigError(f"{path}: unknown [tool.course.{heading}] keys: "
                              f"{sorted(unknown)}" + (f" ({', '.join(moved)} belong in "
                                                      f"[tool.course.limits], set once for "
                                                      f"the grader and the sandbox)"
                                                      if moved else ""))
        for key, value in table.items():
            expected = types[key]
            accepted = (int, float) if expected is float else expected
            if not isinstance(value, accepted) or (expected is not bool
                                                   and isinstance(value, bool)):
                raise ConfigError(f"{path}: [tool.course.{heading}] {key} must be a "
                                  f"{expected.__name__}, not {value!r}")
    return kind(**own, **limits)
