"""``nbgrader autograde``'s and ``make feedback``'s progress: one log line per student, with a
count and an ETA.

:class:`course.autograde.engine.EngineExecute` logs, as each student is graded::

    [3/20] alice  graded 18/21  1.2 s  ETA 20 s
    ...
    [20/20] zoe  graded 21/21  1.1 s  done in 26 s

The class is the folders nbgrader goes through, in its order: every
``submitted/<student>/<assignment>/`` holding a notebook, after ``--student`` and
``--CourseDirectory.student_id_exclude``; a student nbgrader skips (already autograded,
without ``--force``) keeps its place in the count.  The seconds are the wall time since the
previous line (the first student's include nbgrader's start and the warm worker's); the ETA
is the remaining students times the mean time of the students graded since the first.  The
lines go to nbgrader's log (stderr), never into a notebook.

``make feedback`` (``nbgrader generate_feedback``, :class:`FeedbackProgress` last in its
preprocessors) logs the same kind of line over the ``autograded/<student>/<assignment>/``
folders: ``[3/200] alice  feedback  0.4 s  ETA 1 min``.
"""

from __future__ import annotations

import glob
import os
import time

from nbgrader.preprocessors import NbGraderPreprocessor

STARTED = time.monotonic()  # nbgrader imports this when it loads nbgrader_config.py


def class_folders(course, assignment: str, directory: str = "submitted_directory") -> list[str]:
    """The submission folders ``nbgrader autograde`` grades (``directory``: the
    CourseDirectory attribute of their folder; ``autograded_directory`` for feedback),
    sorted as nbgrader sorts them; ``course`` is nbgrader's CourseDirectory."""
    pattern = course.format_path(getattr(course, directory), course.student_id, assignment)
    excluded = {s for s in course.student_id_exclude.split(",") if s}
    return sorted(folder for folder in glob.glob(pattern)
                  if os.path.basename(os.path.dirname(folder)) not in excluded
                  and glob.glob(os.path.join(folder, f"{course.notebook_id}.ipynb")))


def duration(seconds: float) -> str:
    """'12 s', '4 min', '1.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class ClassProgress:
    """The progress of one ``nbgrader autograde`` run over one assignment's class."""

    def __init__(self, folders: list[str], started: float = STARTED):
        self.folders = folders
        self.started = self.last = started
        self.first_done: float | None = None
        self.done = 0

    def line(self, folder: str, student: str, points: float, max_points: float) -> str:
        """The line for ``student`` (submission ``folder``), graded just now."""
        return self.done_line(folder, student, f"graded {points:g}/{max_points:g}")

    def done_line(self, folder: str, student: str, what: str) -> str:
        """The line for ``student`` (``folder``), of whom ``what`` was done just now."""
        now = time.monotonic()
        self.done += 1
        position = self.folders.index(folder) + 1 if folder in self.folders else self.done
        total = max(len(self.folders), position)
        seconds, self.last = now - self.last, now
        text = f"[{position}/{total}] {student}  {what}  {seconds:.1f} s"
        if position == total:
            return f"{text}  done in {duration(now - self.started)}"
        if self.first_done is None:
            self.first_done, mean = now, seconds
        else:
            mean = (now - self.first_done) / (self.done - 1)
        return f"{text}  ETA {duration(mean * (total - position))}"


_RUNS: dict[tuple, ClassProgress] = {}


def progress_for(course, assignment: str,
                 directory: str = "submitted_directory") -> ClassProgress:
    """This process's progress over ``assignment`` (its class listed at the first student,
    from the folders of ``directory``)."""
    key = (course.root, assignment, directory)
    if key not in _RUNS:
        _RUNS[key] = ClassProgress(class_folders(course, assignment, directory))
    return _RUNS[key]


class FeedbackProgress(NbGraderPreprocessor):
    """``make feedback``'s progress line per student (last of GenerateFeedback's
    preprocessors: the student's feedback is ready)."""

    def preprocess(self, nb, resources):
        from nbgrader.coursedir import CourseDirectory

        info = resources["nbgrader"]
        course = CourseDirectory(config=self.config)
        folder = course.format_path(course.autograded_directory, info["student"],
                                    info["assignment"])
        self.log.info("%s", progress_for(course, info["assignment"], "autograded_directory")
                      .done_line(folder, info["student"], "feedback"))
        return nb, resources
