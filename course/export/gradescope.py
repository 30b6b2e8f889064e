"""The Gradescope autograder of an assignment: the zip (``build``) and what runs inside it
(``run``).

One job, Gradescope's autograder, its two halves side by side so that what the zip
carries and what runs from it are read together.

    python -m course.export.gradescope build hw4_pytorch_regularization   # make gradescope
    python -m course.export.gradescope run                                # in Gradescope's container

``build`` writes ``gradescope/<a>-autograder.zip`` in the layout of Gradescope's autograder
specification: at its root ``setup.sh`` (run once when Gradescope builds its image: a Python
at least as new as pyproject.toml's ``requires-python``, from the image or apt; bubblewrap; a
virtual environment with the course's pinned dependencies, CPU torch, and the course's own
``course`` and ``support`` packages installed from the zip) and ``run_autograder`` (run for
every submission; both in ``course/export/autograder_files/``, which say what each
installs and which variables change it), with everything grading needs: the ``course`` and
``support`` packages, the assignment's source folder (the zip stays in Gradescope's private
container; students never see it), ``pyproject.toml`` (the grading limits),
``requirements.txt`` and ``constraints.txt``, and ``gradescope.json`` (the assignment, the
hidden cases' visibility, a fingerprint of the zip's files, the oldest Python allowed).  The
zip is the same bytes for the same files.  ``build`` then checks it: unpacked into a scratch
folder laid out like ``/autograder``, ``run_autograder`` must give the source notebook (the
solutions) full marks.  That check grades with this process's Python and packages (a fresh
virtual environment costs minutes); ``make test-clean-room`` runs the zip's own setup.sh in a
clean environment (tests/test_gradescope_clean_room.py).

``run`` grades ``<root>/submission/<a>.ipynb`` with ``make grade``'s engine: the
:class:`course.grade.grader.Grader`, one warm worker (:func:`course.grade.run.grade_class`), the
sandbox and the limits of the zip's pyproject.toml, seeds drawn for this run (in
``extra_data`` and on stdout, which Gradescope shows the instructor); it writes
``<root>/results/results.json`` (:mod:`course.export.gradescope_results`).  A missing or misnamed
notebook, one that is not JSON, or a crash of the autograder still gives a results.json that
says what went wrong.  ``<root>`` is ``$AUTOGRADER_ROOT``, default ``/autograder``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from course.config import (ROOT, ConfigError, assignments, gradescope_setting, load_grading_config,
                           python_minimum)
from course.export.gradescope_results import VISIBILITIES, autograder_results, failure_results
from course.grade.reports import number, summary_line
from course.release.build import reproducible_zip

SCRIPTS = Path(__file__).resolve().parent / "autograder_files"
EXECUTABLES = ("setup.sh", "run_autograder")
TOP_FILES = ("pyproject.toml", "requirements.txt", "constraints.txt")
SETTINGS = "gradescope.json"
STUDENT = "submission"
CRASH = ("The autograder failed while grading this submission: this is not a problem with "
         "your notebook. Your instructor can see the details; please tell them. "
         "({error})")
INTERNAL = ("The autograder had a problem of its own while running your code (not your "
            "notebook's fault): the checks it could not run score 0. Please tell your "
            "instructor. ({error})")


REFUSED = ("This submission was not graded: the autograder may not run student code here "
           "without the isolation the course requires (not a problem with your notebook). "
           "Your instructor can see the details; please tell them. (sandbox: {level}, "
           "required: {required})")


class AutograderError(Exception):
    """The autograder cannot be built (bad assignment name, bad setting, failed check)."""


@dataclass(frozen=True)
class Settings:
    """What ``run`` needs to know of the build (``gradescope.json`` in the zip)."""

    assignment: str
    hidden_visibility: str
    fingerprint: str
    python: str  # the oldest Python setup.sh accepts (pyproject.toml's requires-python)


# --------------------------------------------------------------------------- build


def build(name: str, root: Path = ROOT, out: Path | None = None,
          visibility: str | None = None, check: bool = True) -> Path:
    """Write ``<out>/<name>-autograder.zip`` (default out: ``<root>/gradescope``) for the
    course at ``root``, checked on the solution notebook unless ``check`` is false; returns
    its path."""
    root = Path(root)
    visibility = hidden_visibility(visibility, root)
    assignment = _assignment(name, root)
    files = autograder_files(name, root)
    settings = Settings(name, visibility, fingerprint(files),
                        ".".join(map(str, python_minimum(root))))
    path = Path(out or root / "gradescope") / f"{name}-autograder.zip"
    write_zip(path, files, settings)
    if check:
        check_autograder(path, assignment.notebook_path, assignment.max_points)
    return path


def hidden_visibility(value: str | None, root: Path = ROOT) -> str:
    """``value``, else pyproject.toml's ``[tool.course.gradescope] hidden_visibility``, else
    ``after_published``; one of Gradescope's visibilities."""
    value = value or gradescope_setting("hidden_visibility", "after_published", root)
    if value not in VISIBILITIES:
        raise AutograderError(f"the hidden cases' visibility must be one of "
                              f"{', '.join(VISIBILITIES)}, not {value!r}")
    return value


def _assignment(name: str, root: Path):
    """The assignment ``name`` of the course at ``root``, or a clear error."""
    from course.notebooks import NotebookError
    from course.grade.plan import load_assignment

    known = assignments(root)
    if known and name not in known:
        raise AutograderError(f"no assignment {name!r} (the course's: {', '.join(known)})")
    try:
        return load_assignment(name, root / "source")
    except NotebookError as error:
        raise AutograderError(f"cannot build an autograder for {name}: {error}") from None


def autograder_files(name: str, root: Path) -> dict[str, Path]:
    """Name in the zip -> file here: the scripts, this ``course`` package (the code that
    builds is the code that grades), and the course's ``support``, source folder and
    settings."""
    files = {script: SCRIPTS / script for script in EXECUTABLES}
    files.update({top: root / top for top in TOP_FILES})
    files.update(_tree(Path(__file__).resolve().parents[1], "course",
                       skip="export/autograder_files"))
    files.update(_tree(root / "support", "support"))
    files.update(_tree(root / "source" / name, f"source/{name}"))
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise AutograderError(f"the autograder needs files that are missing: {missing}")
    return dict(sorted(files.items()))


def _tree(folder: Path, prefix: str, skip: str = "") -> dict[str, Path]:
    """The files under ``folder`` but caches, checkpoints, hidden files and the folder
    ``skip``, named under ``prefix``."""
    found = {}
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_dir() or (skip and path.is_relative_to(folder / skip)) \
                or path.suffix == ".pyc" \
                or any(p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        found[f"{prefix}/{'/'.join(parts)}"] = path
    return found


def fingerprint(files: dict[str, Path]) -> str:
    """A short hash of the zip's files, names and contents (which autograder graded)."""
    digest = hashlib.sha256()
    for arcname, path in sorted(files.items()):
        digest.update(arcname.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def write_zip(path: Path, files: dict[str, Path], settings: Settings) -> Path:
    """The zip: every file at a fixed date, the two scripts executable, and the settings."""
    entries = {**{a: p.read_bytes() for a, p in files.items()},
               SETTINGS: (json.dumps(asdict(settings), indent=2) + "\n").encode()}
    return reproducible_zip(path, entries, executables=EXECUTABLES)


def unpack(zip_path: Path, root: Path) -> Path:
    """Lay out ``root`` as Gradescope lays out ``/autograder``: the zip unpacked in
    ``source/`` (file modes kept, as unzip does), ``run_autograder`` copied to the top, empty
    ``submission/`` and ``results/``; returns ``root``."""
    source = root / "source"
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, source))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    for folder in ("submission", "results"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return root


def run_autograder(root: Path, python: str = sys.executable,
                   timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ``<root>/run_autograder`` as Gradescope does (working directory ``root``), with
    ``python`` for the course's Python (instead of the one setup.sh would have made)."""
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": python}
    return subprocess.run([str(root / "run_autograder")], cwd=root, env=env, text=True,
                          capture_output=True, timeout=timeout)


def check_autograder(zip_path: Path, solution: Path, max_points: float) -> dict:
    """Grade the ``solution`` notebook with the zip's ``run_autograder`` in a scratch
    ``/autograder``; it must get ``max_points``.  Returns its results.json."""
    from course.grade.worker_pool import progress_bar

    config = load_grading_config()
    limit = config.startup_timeout_s + config.student_timeout_s + 120
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        root = unpack(zip_path, Path(scratch))
        shutil.copy2(solution, root / "submission" / solution.name)
        with progress_bar(1, True, "checking the autograder on the solution") as bar:
            result = run_autograder(root, timeout=limit)
            bar.update(1)
        results = read_results(root)
    if results.get("score") != number(max_points):
        raise AutograderError(
            f"{zip_path}: the solution notebook got {results.get('score')}/"
            f"{number(max_points)} from run_autograder:\n{results.get('output', '')}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return results


def read_results(root: Path) -> dict:
    """``<root>/results/results.json`` ({} when missing or not JSON)."""
    try:
        return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------- run


def run(root: Path) -> int:
    """Grade the submission in ``root`` and write ``results/results.json``, whatever
    happens; returns 0 once it is written."""
    try:
        results = grade_submission(root, read_settings(root / "source"))
    except Exception as error:  # noqa: BLE001 - the student must still get a results.json
        traceback.print_exc()
        results = failure_results(CRASH.format(error=f"{type(error).__name__}: {error}"))
    write_results(root / "results" / "results.json", results)
    print(f"wrote {root / 'results' / 'results.json'}: score {results['score']}")
    return 0


def read_settings(source: Path) -> Settings:
    return Settings(**json.loads((source / SETTINGS).read_text(encoding="utf-8")))


def grade_submission(root: Path, settings: Settings) -> dict:
    """The results of grading ``<root>/submission`` (make grade's engine, fresh seeds)."""
    from course.grade.grader import draw_seeds, one_thread_each, resolve_device
    from course.grade.plan import load_assignment

    one_thread_each()  # before torch is imported here: the cores are for the student
    started = time.monotonic()
    source = root / "source"
    found = _isolation(root)
    if not found.enough:
        print(found.refusal())
        return failure_results(REFUSED.format(level=found.level, required=found.required),
                               extra={"isolation": found.as_dict()})
    config = load_grading_config(source / "pyproject.toml")
    assignment = load_assignment(settings.assignment, source / "source")
    device = resolve_device(config.device)
    seeds = draw_seeds(config.fresh_seeds)
    notebook, note = find_notebook(root / "submission", assignment.name)
    print(f"autograder {settings.fingerprint}: {assignment.name} on {device}, "
          f"seeds {','.join(map(str, seeds))}, notebook {notebook}, "
          f"Python {sys.version.split()[0]} {sys.executable}, "
          f"course {Path(__file__).resolve().parents[1]}")
    grade = _grade(assignment, config, device, seeds, notebook)
    print(summary_line(grade))
    print(f"--- what the student's code printed\n{grade.output}")
    if grade.internal_error:
        note = "\n\n".join(p for p in (INTERNAL.format(error=grade.internal_error), note) if p)
    extra = {"assignment": assignment.name, "device": device, "seeds": seeds,
             "reproduce": f"--seeds {','.join(map(str, seeds))}",
             "autograder": settings.fingerprint, "isolation": found.as_dict(),
             "device_regrades": grade.device_regrades}
    results = autograder_results(grade, assignment, seeds, settings.hidden_visibility,
                                 extra, note)
    results["execution_time"] = int(round(time.monotonic() - started))
    return results


def _isolation(root: Path):
    """The sandbox's isolation in this container (:mod:`course.sandbox.isolation`), printed
    for the instructor (stdout is theirs only); in the fallback, the source notebook and
    the results folder, and the zip's other private files, closed to the sandbox's user."""
    from course.config import load_sandbox_config
    from course.sandbox.isolation import close_private_files, isolation

    source = root / "source"
    found = isolation(load_sandbox_config(source / "pyproject.toml"))
    print(found.summary())
    if found.enough:
        close_private_files(found, extra=[source / "source", root / "results"], root=source)
    return found


def _grade(assignment, config, device: str, seeds: list[int], notebook: Path):
    """One StudentGrade: a warm worker that warms up while this process imports the
    checkers, as in make grade (no notebook file: nothing to start)."""
    from course.grade.run import grade_class
    from course.grade.grader import Grader, matplotlib_cache
    from course.grade.worker_pool import WarmPool

    setup = _Setup(assignment, config, device)
    pool = WarmPool(setup, 1, fonts=matplotlib_cache()) if _readable(notebook) else None
    try:
        grader = Grader(assignment, config, device, seeds)
    except Exception:
        if pool is not None:
            pool.remove()
        raise
    if pool is None:
        return grader.grade(STUDENT, notebook)
    grades, _ = grade_class(grader, {STUDENT: notebook}, 1, progress=False, pool=pool)
    return grades[STUDENT]


def _readable(notebook: Path) -> bool:
    """Whether the grader will run code of this notebook (else it answers at once)."""
    from course.notebooks import NotebookError, load_notebook

    try:
        load_notebook(notebook)
    except NotebookError:
        return False
    return True


@dataclass(frozen=True)
class _Setup:
    """What a warm worker's student command depends on (as a Grader has it)."""

    assignment: object
    config: object
    device: str
    sys_path: tuple = ()


def find_notebook(folder: Path, name: str) -> tuple[Path, str]:
    """The submitted ``<name>.ipynb``: at the top of ``folder``, else the shallowest one in
    its folders.  None there: the path it should have had, and a note saying what was
    submitted instead."""
    wanted = f"{name}.ipynb"
    top = folder / wanted
    if top.exists() or top.is_symlink():
        return top, ""
    files = _submitted_files(folder)
    named = [p for p in files if p.name == wanted]
    if named:
        return min(named, key=lambda p: (len(p.parts), str(p))), ""
    if not files:
        return top, f"Nothing was submitted: upload your notebook {wanted} and submit again."
    shown = ", ".join(str(p.relative_to(folder)) for p in files[:8])
    more = f" and {len(files) - 8} more" if len(files) > 8 else ""
    return top, (f"Your submission has no notebook named {wanted} (it has: {shown}{more}). "
                 f"Upload your notebook under exactly that name and submit again.")


def _submitted_files(folder: Path) -> list[Path]:
    """The files of a submission, without macOS's and Jupyter's clutter."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") or part == "__MACOSX" for part in p.relative_to(folder).parts))


def write_results(path: Path, results: dict) -> Path:
    """Write results.json whole or not at all (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


# --------------------------------------------------------------------------- command line


def upload_instructions(path: Path, name: str, visibility: str) -> list[str]:
    """What the instructor does with the zip on Gradescope's page."""
    config = load_grading_config()
    minutes = int((config.startup_timeout_s + config.student_timeout_s) // 60) + 5
    return [
        f"wrote {path}",
        f"on Gradescope: a Programming Assignment for {name}; Configure Autograder -> "
        f"Zip file upload -> {path.name}",
        f"  base image: Ubuntu 22.04 or 24.04; setup.sh installs Python "
        f"{'.'.join(map(str, python_minimum()))}+ (apt's when the image has none), "
        f"bubblewrap, the pinned packages (CPU torch) and the course's packages",
        f"  autograder timeout: at least {minutes} minutes (the course allows "
        f"{config.student_timeout_s:g} s per submission); memory: at least 3 GB",
        f"  students submit one file: {name}.ipynb; hidden cases are {visibility}",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.export.gradescope",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write gradescope/<a>-autograder.zip")
    make.add_argument("assignment")
    make.add_argument("--out", type=Path, default=None, help="folder (default: gradescope)")
    make.add_argument("--hidden-visibility", choices=VISIBILITIES, default=None,
                      help="when students see the hidden cases (default: pyproject.toml's "
                           "[tool.course.gradescope] hidden_visibility, or after_published)")
    make.add_argument("--no-check", action="store_true",
                      help="do not grade the solution notebook with the new zip")
    grade = commands.add_parser("run", help="grade the submission (inside Gradescope)")
    grade.add_argument("--root", type=Path,
                       default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.root)
    try:
        visibility = hidden_visibility(args.hidden_visibility)
        path = build(args.assignment, out=args.out, visibility=visibility,
                     check=not args.no_check)
    except (AutograderError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(upload_instructions(path, args.assignment, visibility)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
