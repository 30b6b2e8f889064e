"""The journal of a grading run: each student's grade on disk the moment it is graded, so
that a run stopped half-way (Ctrl-C, a lost Dask client, the machine rebooting) resumes
without grading anyone twice.

``grades/<a>-journal.jsonl`` holds one JSON object per line: first the run's *header*
(the seeds, the device, what the grades depend on: :func:`grading_key`), then one line per
graded student (the grade, and the SHA-256 of the notebook it was given), written and
flushed to disk (``fsync``) as each student finishes.  A line cut short by a crash is
ignored.  A run that completes writes its reports (:mod:`course.grade.reports`) and
removes the journal: a journal on disk means a run that did not finish, or one in which
the grader failed some students (an internal error, a Dask cluster lost): the next run
grades just those.

The next run of the same assignment (``make grade``, ``python -m course.grade``) resumes
it by default when it would grade the same way: same assignment, submissions folder,
source notebook, checkers (``support/``), limits and device, and ``--seeds`` absent or the
journal's.  It takes the journal's seeds, keeps the grade of every student whose notebook
is unchanged (a grader error is graded again), and grades the others; the grade sheet it
writes is the one an uninterrupted run with those seeds writes.  ``--fresh``
(``make grade FRESH=1``) starts over; a journal that does not match is set aside, with a
line that says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from course.config import ROOT


def journal_path(grades_dir: Path, assignment: str) -> Path:
    return Path(grades_dir) / f"{assignment}-journal.jsonl"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes; '' when it cannot be read (a student without a notebook)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def grading_key(assignment: str, source: Path, submissions: Path, settings: dict,
                device: str, support: Path = ROOT / "support") -> dict:
    """What a student's grade depends on besides their notebook and the seeds: the
    assignment, the submissions folder, the source notebook, every file of the checkers
    (``support/``), the limits and the device."""
    code = hashlib.sha256()
    for path in sorted(Path(support).rglob("*.py")):
        code.update(str(path.relative_to(support)).encode() + b"\0" + path.read_bytes())
    notebook = Path(source) / assignment / f"{assignment}.ipynb"
    key = {"assignment": assignment, "submissions": str(Path(submissions).resolve()),
           "source": file_digest(notebook), "support": code.hexdigest(),
           "settings": settings, "device": device}
    return json.loads(json.dumps(key, default=str))  # as the journal gives it back


def read_journal(path: Path) -> tuple[dict, dict]:
    """(header, student -> their line) of the journal at ``path``; ({}, {}) when there is
    none.  Unreadable lines (one cut short by a crash) are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}, {}
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    if not entries or entries[0].get("kind") != "header":
        return {}, {}
    done = {e["student"]: e for e in entries[1:] if e.get("kind") == "graded"}
    return entries[0], done


def mismatch(header: dict, key: dict, seeds: list[int] | None) -> str:
    """Why an interrupted run (``header``) cannot be resumed with ``key`` and ``seeds``
    (None: fresh ones would be drawn); '' when it can."""
    names = {"assignment": "assignment", "submissions": "submissions folder",
             "source": "source notebook", "support": "checkers (support/)",
             "settings": "limits", "device": "device"}
    changed = [label for field, label in names.items() if header["key"].get(field) != key[field]]
    if seeds is not None and list(seeds) != header["seeds"]:
        changed.append("seeds")
    return ", ".join(changed) and f"its {', '.join(changed)} changed"


class Journal:
    """The journal of this run (a file opened for appending)."""

    def __init__(self, path: Path, key: dict, seeds: list[int], done: dict | None = None):
        """``done``: the graded students of the interrupted run this one resumes (None:
        a new run, whose journal is written at its first student)."""
        self.path, self.done = Path(path), dict(done or {})
        self.recorded: list[str] = []  # the students this run added
        self.header = None if done is not None else \
            {"kind": "header", "key": key, "seeds": list(seeds)}
        if done is not None and not self.path.read_bytes().endswith(b"\n"):
            self._write([], "a", b"\n")  # after a line a crash cut short

    def grades(self, students: list[str], notebook) -> dict:
        """student -> StudentGrade for the ``students`` this journal has graded already,
        from the same notebook (``notebook(student)`` is its path), and without a grader
        error."""
        kept = {}
        for student in students:
            entry = self.done.get(student)
            if entry and entry["notebook"] == file_digest(notebook(student)):
                grade = grade_from_dict(entry["grade"])
                if not grade.internal_error:
                    kept[student] = grade
        return kept

    def record(self, grade, notebook: Path) -> None:
        """Add ``grade`` (of the notebook at ``notebook``), on disk before this returns."""
        if self.header is not None:  # a new run's first student: a new journal
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._write([self.header], "w")
            self.header = None
        self._write([{"kind": "graded", "student": grade.student,
                      "notebook": file_digest(notebook),
                      "grade": dataclasses.asdict(grade)}], "a")
        self.recorded.append(grade.student)

    @property
    def graded(self) -> set:
        """Every student in the journal: the interrupted run's and this one's."""
        return set(self.done) | set(self.recorded)

    def _write(self, entries: list[dict], mode: str, raw: bytes = b"") -> None:
        with open(self.path, mode + "b") as handle:
            handle.write(raw)
            for entry in entries:
                handle.write((json.dumps(entry, default=str) + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> None:
        """The run completed and wrote its reports: no journal any more."""
        self.path.unlink(missing_ok=True)


def grade_from_dict(data: dict):
    """A StudentGrade from :func:`dataclasses.asdict`'s dict of one."""
    from course.grade.grader import CheckResult, StudentGrade

    def build(cls, values: dict):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    grade = build(StudentGrade, {**data, "results": []})
    grade.results = [build(CheckResult, row) for row in data["results"]]
    return grade


def open_journal(path: Path, key: dict, seeds: list[int] | None, fresh: bool,
                 draw) -> tuple[Journal, list[int], str]:
    """(the run's journal, its seeds, a line for the TA or '').  Resumes the interrupted
    run at ``path`` when it matches ``key`` and ``seeds`` (None: ``draw()`` draws fresh
    ones) and ``fresh`` is false; otherwise starts a new journal."""
    header, done = read_journal(path)
    note = ""
    if header and not fresh:
        why = mismatch(header, key, seeds)
        if not why:
            note = (f"resuming the interrupted run in {path}: {len(done)} students graded "
                    f"already, seeds {header['seeds']} (FRESH=1 or --fresh starts over)")
            return Journal(path, key, header["seeds"], done), header["seeds"], note
        note = f"not resuming the interrupted run in {path}: {why}; starting over"
    elif header:
        note = f"--fresh: the interrupted run in {path} is discarded"
    seeds = list(seeds) if seeds is not None else draw()
    return Journal(path, key, seeds), seeds, note
