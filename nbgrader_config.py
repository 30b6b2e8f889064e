"""nbgrader configuration for the course.  Every setting here has a test in
tests/test_nbgrader_config.py that shows what goes wrong without it."""

import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
                                    DeduplicateIds, GetGrades, IgnorePattern, LimitOutput,
                                    OverwriteKernelspec)

from course.autograde.preprocessors import (HideHiddenTests, OverwriteReleasedCells,
                                            ignore_gradebook_autoflush_warnings)
from course.autograde.engine import EngineExecute, SaveEngineGrades
from course.autograde.gradebook import prepare_autograde
from course.autograde.progress import FeedbackProgress

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# nbgrader creates gradebook.db by running `alembic` by name, found on PATH: the scripts of the
# Python that runs nbgrader (.venv/bin) come first, so `.venv/bin/nbgrader ...` and the
# formgrader work from a shell without the venv on PATH (a new TA's), not only under make.
_scripts = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _scripts:
    os.environ["PATH"] = os.pathsep.join([_scripts, os.environ.get("PATH", "")])

# The course does not use nbgrader's exchange (students download release/<a>.zip, TAs put
# submissions in submitted/).  Its default root, /usr/local/share/nbgrader/exchange, does not
# exist, and the formgrader then shows a warning on every page and logs "Unwritable
# directory" on every action: the exchange is a folder of this environment instead
# (.venv/share/nbgrader/exchange; the formgrader's Release/Collect buttons reach no student).
c.Exchange.root = os.path.join(sys.prefix, "share", "nbgrader", "exchange")
try:
    os.makedirs(c.Exchange.root, exist_ok=True)
except OSError:  # a read-only environment: only the formgrader's warning comes back
    pass

# Every plug-in below comes from course/autograde/ (nbgrader's side of the course).
#
# Student code runs in the sandbox (course/sandbox/): autograde executes every notebook in
# the "course-sandbox" kernel (course/autograde/kernel.py; `make venv` installs its
# kernelspec into .venv), whatever kernel the notebook's metadata names (they all keep
# "python3", which `make release` uses to run the source notebooks).  The sandbox has no
# network, so the kernel talks over ZMQ IPC sockets, at a path of its own in the Jupyter
# runtime folder (course.autograde.preprocessors.SandboxKernelManager; `make autograde`
# gives each run a private runtime folder).
c.Execute.kernel_name = "course-sandbox"
c.KernelManager.transport = "ipc"

# One engine, two front ends (course/autograde/engine.py): nbgrader's Execute step is done by
# the grading engine of `make grade`.  Student code runs in a sandboxed student process that
# returns only probe data; every verdict runs here, in nbgrader's process, on inputs drawn
# here.  Its message lands in its test cell's output (what feedback shows), and
# SaveEngineGrades, in place of nbgrader's SaveAutoGrades, writes the engine's points
# (partial credit included) and messages into gradebook.db, where make grade writes them
# too (course/gradebook/): points, not error outputs; a TA's manual score always wins
# (tests/test_gradebook_record.py shows what stock SaveAutoGrades makes of the outputs).
# Nothing the student's code does (patch torch, replace a checker, print "Passed!", hand
# in a support/ folder) changes a verdict, and both commands give the same points.
# The rest of the list is nbgrader's default.
c.Autograde.autograde_preprocessors = [
    EngineExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveEngineGrades,
    AssignLatePenalties, CheckCellMetadata,
]

# Demo cells (training runs, plots, printing): "skip" runs no kernel at all, so a student
# costs what its checks cost (about a second instead of half a minute on hw4); "run" also
# executes them in the sandboxed kernel, for feedback with the student's numbers and plots.
# Grades are the same either way: no test cell depends on a demo cell.
c.EngineExecute.demo_cells = "skip"

# Before each student (course/autograde/gradebook.py): the assignment recorded in gradebook.db
# from source/ when the gradebook lacks it (a clone that never ran `make release` has no
# gradebook: it is git-ignored; release/ is not touched), then the submission cleared of
# links and special files (nbgrader copies it as root, following symlinks: a submitted link
# to source/ would bring the solutions along).
c.Autograde.pre_convert_hook = prepare_autograde

# Feedback shows scores, outputs and failure messages, but not the hidden tests' source
# (stock nbgrader renders test cells in full, and a traceback quotes the failing line).
# FeedbackProgress: a log line per student with an ETA (course/autograde/progress.py).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor,
                                    FeedbackProgress]

# Per-cell timeout of the sandboxed kernel (demo_cells = "run"; the checks have their own
# limits, [tool.course.grading] in pyproject.toml).  The slowest training cell takes about
# 5 s alone on a 2-core CPU; a grading machine under load can be several times slower, and
# nbgrader's default (30 s) then zeroes a correct notebook.  Large enough for that, small enough that an infinite loop
# costs a submission a few minutes rather than an hour.
c.Execute.timeout = 180

# Any stderr output in a test cell scores it 0.  Benign noise is removed before grading:
# tqdm progress bars (and the bare newline tqdm writes when it closes), and warnings
# (torch UserWarnings, matplotlib, tqdm's "IProgress not found").
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"^\s*$|\d+it \[|it/s\]|s/it\]|\d+%\||Warning"

# A student who deletes a test cell still gets it graded (nbgrader restores it).
c.OverwriteCells.add_missing_cells = True

# An honest submission is graded without alarms: stock OverwriteCells warns "Attribute
# 'checksum' ... has changed!" on every test cell with hidden tests (the gradebook's checksum
# is taken before they are removed); OverwriteReleasedCells warns only when a read-only cell
# differs from the released one, and restores it as before.  The rest is nbgrader's default.
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteReleasedCells, CheckCellMetadata,
]
# ... and without SQLAlchemy's harmless autoflush warnings from nbgrader's add_submission.
ignore_gradebook_autoflush_warnings()

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
