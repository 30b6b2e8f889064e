"""``make release``: source/<a>/ -> release/<a>/ for every assignment.

For each assignment, in order:
1. execute the source notebook with its solutions; stop, naming the cell, if a cell fails or
   an autograded test cell would not get full points;
2. run ``nbgrader generate_assignment`` to write the student stub into release/<a>/;
3. write next to it the support code its notebook imports (``support/__init__.py``, the core
   modules it uses and ``support/<a>/``) and the course code its last cell, check_my_work(),
   runs (``course/check/`` and the grading engine, with a copy of the released notebook in
   ``course/check/released/`` for its plan), so the release folder is all a student needs,
   and ``release/<a>.zip`` (notebook + that code) to hand out; all generated, never
   committed (.gitignore);
4. verify the stub carries no solution or hidden-test text;
5. print a summary: graded cells, autograded and manual points, number of stubs.

While it works it says so on stderr: a line per assignment and step
(``make release: [2/5] hw2_mlp_training: running the source notebook ...``) and a progress
bar over the source notebook's cells, with the running cell and an ETA; the summary rows
are the only lines on stdout.

Usage: python -m course.release [ASSIGNMENT ...] [--root DIR] [--no-execute] [--keep-executed DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

from course.config import ROOT, assignments
from course.notebooks import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, cell_kind,
                              cell_points, nbgrader_meta)
from course.release.execute import SourceNotebookError, execute_notebook, test_cell_problems

MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
STUBS = ("YOUR CODE HERE", "YOUR ANSWER HERE")


def say(text: str) -> None:
    """A progress line of ``make release``, on stderr (the summary rows go to stdout)."""
    print(f"make release: {text}", file=sys.stderr, flush=True)


def check_source(root: Path, assignment: str, keep: Path | None = None,
                 progress: str | None = None) -> float:
    """Run the solved source notebook; raise SourceNotebookError if it would not score fully.

    With ``keep``, the executed notebook is written there (for tests and timing reports);
    with ``progress``, a bar over its cells runs on stderr with that description.
    """
    path = root / "source" / assignment / f"{assignment}.ipynb"
    nb, durations = execute_notebook(path, progress=progress)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        for index, seconds in durations.items():
            nb.cells[index].metadata["seconds"] = round(seconds, 3)
        nbformat.write(nb, str(keep / f"{assignment}.ipynb"))
    problems = test_cell_problems(nb)
    if problems:
        raise SourceNotebookError(f"{path}: test cells would lose points:\n  "
                                  + "\n  ".join(problems))
    return sum(durations.values())


def venv_bin() -> Path:
    """The folder of this interpreter's scripts (nbgrader, alembic, jupyter)."""
    return Path(sys.executable).parent


def venv_env() -> dict:
    """The environment with the venv's scripts first on PATH: nbgrader runs alembic by name."""
    return {**os.environ, "PATH": f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}"}


# What the student's folder needs of the course's pipeline: check_my_work() (course.check)
# and the grading engine it runs (course.grade's plan, student process and verdicts), and
# where check_my_work finds the notebook its plan is built from (course/check/my_work.py).
CHECK_MODULES = ("course.check", "course.check.__main__", "course.grade.student_process",
                 "course.grade.transport")
RELEASED_PLAN = "course/check/released"


def generate_assignment(root: Path, assignment: str, release_dir: Path | None = None,
                        db_url: str | None = None, source_dir: str | None = None) -> None:
    """``nbgrader generate_assignment``: the assignment's notebooks and cells recorded in the
    course's gradebook (nbgrader's SaveCells; ``db_url``: another gradebook), and the stub
    written to ``release_dir/<a>/`` (default: the course's release/).  With a scratch
    ``release_dir`` it only records the assignment, as autograde needs
    (:mod:`course.autograde.gradebook`); ``source_dir``: the source folder's name in
    ``root``, when it is not ``source``."""
    script = venv_bin() / "nbgrader"  # an environment without it: the module
    command = [*([str(script)] if script.is_file() else [sys.executable, "-m", "nbgrader"]),
               "generate_assignment", assignment, "--force", "--log-level=WARN"]
    if release_dir is not None:
        command.append(f"--CourseDirectory.release_directory={release_dir}")
    if db_url is not None:
        command.append(f"--CourseDirectory.db_url={db_url}")
    if source_dir is not None:
        command.append(f"--CourseDirectory.source_directory={source_dir}")
    subprocess.run(command, cwd=root, check=True, env=venv_env())


def generate(root: Path, assignment: str) -> Path:
    """nbgrader generate_assignment, then beside the stub the support code the notebook
    imports and the course code check_my_work() runs, and the folder zipped to
    release/<assignment>.zip with a copy of the released notebook for check_my_work's plan."""
    generate_assignment(root, assignment)
    target = root / "release" / assignment
    for package in ("support", "course"):
        shutil.rmtree(target / package, ignore_errors=True)
    modules = student_modules(root, assignment)
    for name, path in modules.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / name)
    notebook = f"{assignment}.ipynb"
    plan_copy = f"{RELEASED_PLAN}/{assignment}/{notebook}"
    (target / plan_copy).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target / notebook, target / plan_copy)
    # release/<assignment>.zip: the folder's notebook and code, under <assignment>/
    reproducible_zip(target.parent / f"{assignment}.zip",
                     {f"{assignment}/{name}": (target / name).read_bytes()
                      for name in [notebook, plan_copy, *modules]})
    return target


def student_modules(root: Path, assignment: str) -> dict[str, Path]:
    """The files of ``support`` and ``course`` the student's folder needs (path in the folder
    -> the file), found by importing them in a fresh interpreter in ``root``: ``support``'s
    ``__init__``, the core modules the facade uses and its own ``support/<assignment>/``
    package, and the modules of :data:`CHECK_MODULES` with every ``course`` module they
    import."""
    imports = ", ".join(["support", f"support.{assignment}", *CHECK_MODULES])
    code = (f"import sys, pathlib, {imports}\n"
            "for n, m in sorted(sys.modules.items()):\n"
            "    top = n.split('.')[0]\n"
            "    if top in ('support', 'course'):\n"
            "        base = pathlib.Path(sys.modules[top].__file__).resolve().parents[1]\n"
            "        path = pathlib.Path(m.__file__).resolve()\n"
            "        print(path.relative_to(base).as_posix(), path, sep='\\t')")
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, check=True, env=venv_env())
    return dict(sorted(tuple(line.split("\t")) for line in result.stdout.splitlines()))


ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # every entry's date: the same files give the same zip


def reproducible_zip(path: Path, entries: dict[str, bytes], executables=()) -> Path:
    """A reproducible zip at ``path`` (written beside it, then moved into place): ``entries``
    (name in the zip -> contents) in sorted order at :data:`ZIP_TIME`, mode 644, or 755 for
    the names in ``executables``.  The release's zip and the Gradescope autograder's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = (0o100755 if name in executables else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    partial.replace(path)
    return path


def leaks(release_dir: Path) -> list[str]:
    """Files under release_dir that contain solution or hidden-test markers (every file, the
    course code copied for check_my_work included: course.notebooks spells the markers in
    two parts)."""
    found = []
    for path in sorted(release_dir.rglob("*")):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".md", ".txt"):
            text = path.read_text(errors="replace")
            found += [f"{path}: {m}" for m in MARKERS if m in text]
    return found


def summary(release_dir: Path, assignment: str) -> dict:
    """Graded cells, autograded points, manual points and stubs of a released notebook."""
    nb = nbformat.read(str(release_dir / f"{assignment}.ipynb"), as_version=4)
    auto = manual = graded = stubs = 0
    for cell in nb.cells:
        stubs += sum(cell.source.count(s) for s in STUBS)
        meta = nbgrader_meta(cell)
        if not (meta.get("grade") or meta.get("task")):
            continue
        graded += 1
        if cell_kind(cell) == "test":
            auto += cell_points(cell)
        else:
            manual += cell_points(cell)
    return {"assignment": assignment, "graded_cells": graded, "autograded_points": auto,
            "manual_points": manual, "stubs": stubs}


def release(root: Path, names: list[str], execute: bool = True,
            keep: Path | None = None) -> list[dict]:
    """Release each assignment in ``names``; returns the summary rows."""
    rows = []
    for number, assignment in enumerate(names, 1):
        step = f"[{number}/{len(names)}] {assignment}"
        seconds = None
        if execute:
            say(f"{step}: running the source notebook with its solutions")
            seconds = check_source(root, assignment, keep, progress=step)
        say(f"{step}: nbgrader generate_assignment, the support code beside the stub, the zip")
        target = generate(root, assignment)
        found = leaks(target)
        if found:
            raise SourceNotebookError("release leaks solutions:\n  " + "\n  ".join(found))
        row = summary(target, assignment)
        row["source_seconds"] = seconds
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def format_row(row: dict) -> str:
    ran = "" if row["source_seconds"] is None else f", source ran in {row['source_seconds']:.0f} s"
    return (f"{row['assignment']}: {row['graded_cells']} graded cells, "
            f"{row['autograded_points']:g} autograded + {row['manual_points']:g} manual points, "
            f"{row['stubs']} stubs{ran}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--no-execute", action="store_true",
                        help="skip running the source notebooks (for quick iterations only)")
    parser.add_argument("--keep-executed", type=Path, default=None,
                        help="also write the executed source notebooks (with cell timings) here")
    args = parser.parse_args(argv)
    names = args.assignments or assignments(args.root)
    try:
        release(args.root.resolve(), names, execute=not args.no_execute, keep=args.keep_executed)
    except SourceNotebookError as error:
        print(f"make release: FAILED\n{error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"make release: nbgrader failed: {error}", file=sys.stderr)
        return 1
    return 0
