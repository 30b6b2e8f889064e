"""nbgrader configuration for the course.  Every setting here has a test in
tests/test_nbgrader_config.py that shows what goes wrong without it."""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)

from course.autograde import HideHiddenTests, SandboxedExecute, drop_submitted_links

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# Student code runs in the sandbox (course/sandbox.py): autograde executes every notebook
# in the "course-sandbox" kernel (course/sandbox_kernel.py; `make venv` installs its
# kernelspec into .venv), whatever kernel the notebook's metadata names (they all keep
# "python3", which `make release` uses to run the source notebooks).  The sandbox has no
# network, so the kernel talks over ZMQ IPC sockets, at a path of its own in the Jupyter
# runtime folder (course.autograde.SandboxKernelManager; `make autograde` gives each run a
# private runtime folder).
c.Execute.kernel_name = "course-sandbox"
c.KernelManager.transport = "ipc"

# nbgrader's Execute, hardened (course/autograde.py): a cell that kills or hangs the kernel
# (os._exit, a segfault, an infinite loop that ignores interrupts) scores 0 with the reason
# in its output, the kernel is restarted and grading goes on; stock nbgrader zeroes the
# whole notebook instead, and exits 1.  The rest of the list is nbgrader's default.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]

# nbgrader copies a submission as root, following symlinks (a submitted link to
# source/ would bring the solutions along): remove links and special files first.
c.Autograde.pre_convert_hook = drop_submitted_links

# Feedback shows scores, outputs and failure messages, but not the hidden tests' source
# (stock nbgrader renders test cells in full, and a traceback quotes the failing line).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# Per-cell timeout.  The slowest training cell takes about 5 s alone on a 2-core CPU; a
# grading machine under load can be several times slower, and nbgrader's default (30 s)
# then zeroes a correct notebook.  Large enough for that, small enough that an infinite loop
# costs a submission a few minutes rather than an hour.
c.Execute.timeout = 180

# Any stderr output in a test cell scores it 0.  Benign noise is removed before grading:
# tqdm progress bars (and the bare newline tqdm writes when it closes), and warnings
# (torch UserWarnings, matplotlib, tqdm's "IProgress not found").
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"^\s*$|\d+it \[|it/s\]|s/it\]|\d+%\||Warning"

# A student who deletes a test cell still gets it graded (nbgrader restores it).
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
