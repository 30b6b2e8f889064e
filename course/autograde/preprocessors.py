"""nbgrader, hardened for hostile notebooks: an Execute that survives, feedback that hides,
and a check of the test cells that warns about edits only.

All are nbgrader preprocessors, selected in nbgrader_config.py.

:class:`OverwriteReleasedCells` replaces nbgrader's ``OverwriteCells`` in ``nbgrader
autograde``.  nbgrader records each read-only cell's checksum in the gradebook *before* it
removes the hidden tests (``generate_assignment`` runs ``SaveCells``, then
``ClearHiddenTests``), and autograde compares the submitted cell with that checksum: every
test cell with hidden tests "has changed!" in every honest submission (nbgrader issue
#1961), about 14 warnings per hw4 student that read like tampering.  Here a test cell
exactly as released (the gradebook's source with its hidden region removed) gets its hidden
tests back silently; any other difference still gets nbgrader's warning and the cell
restored, as before.

:class:`SandboxedExecute` replaces nbgrader's ``Execute`` in ``nbgrader autograde``.  Stock
nbgrader loses a student's whole notebook, and exits 1, when the kernel dies (``os._exit``,
a segfault, running out of memory) or hangs past an interrupt (``nbclient`` raises out of
the notebook).  Here such a cell is charged instead, with a reason in its outputs, the
kernel is restarted, the earlier cells that define things (setup, solution and plain code
cells, not the test cells nor the cells that killed a kernel) are re-run silently, and
grading goes on with the next cell; after ``max_kernel_restarts`` restarts the remaining
cells are marked as not run.  Other students are never affected, and the command's exit
status stays 0 when every notebook was graded (as ``grader_tests``: a student's crash is
a grade, not a grading failure).  Afterwards the student's autograded folder is cleaned of
what the sandboxed kernel may have left there for root to trip on (see
:func:`course.sandbox.files.sanitize`).

:class:`HideHiddenTests` runs in ``nbgrader generate_feedback``: test cells keep their
visible call but lose their hidden region (replaced by one comment line), error outputs of
test cells keep only the error's name and message (a traceback quotes the failing hidden
line), and any hidden-test line that still appears in another cell or output (a student
who printed it) is redacted.
"""

from __future__ import annotations

import copy
import os
import re
import uuid
import warnings

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Integer, List, Unicode, default

from course.notebooks import BEGIN_HIDDEN, END_HIDDEN, nbgrader_meta, remove_hidden_tests
from course.sandbox.files import sanitize
from course.sandbox.limits import UID_BASE, reap

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) \
        and not meta.get("solution")


class OverwriteReleasedCells(OverwriteCells):
    """nbgrader's OverwriteCells that knows a released test cell lacks its hidden tests (see
    the module's docstring); configured as ``OverwriteCells`` (``add_missing_cells``)."""

    def preprocess_cell(self, cell, resources, cell_index):
        recorded = self._recorded_source(cell)
        if recorded is not None and recorded != cell.source \
                and remove_hidden_tests(recorded) == cell.source:
            cell.source = recorded  # as released: what nbgrader restores, minus the alarm
        return super().preprocess_cell(cell, resources, cell_index)

    def _recorded_source(self, cell) -> str | None:
        """The gradebook's source of a read-only cell (hidden tests included), or None."""
        gid = nbgrader_meta(cell).get("grade_id")
        if not gid:
            return None
        try:
            source = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
        except MissingEntry:
            return None
        return source.source if source.locked else None


class SandboxKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager with ZMQ over IPC sockets at an absolute path of the
    kernel's own, ``<runtime dir>/kernel-<random>-ipc-<port>`` (the sandboxed kernel has no
    network).  jupyter_client's own default for IPC is a relative path, which the kernel
    and nbgrader would resolve in two different working directories; and a path unique to
    each kernel keeps kernels started side by side (``make autograde WORKERS=n``) apart."""

    @default("transport")
    def _default_transport(self):
        return "ipc"

    @default("ip")
    def _default_ip(self):
        if self.transport == "ipc":
            return os.path.join(jupyter_runtime_dir(), f"kernel-{uuid.uuid4().hex[:12]}-ipc")
        return super()._ip_default()


class SandboxedExecute(Execute):
    """nbgrader's Execute that charges a dead or hung kernel to the cell, not the notebook."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    max_kernel_restarts = Integer(
        3, help="Kernel restarts per notebook after a cell killed or hung the kernel; "
                "after that the remaining cells are not run (and score 0)").tag(config=True)
    iopub_timeout = Integer(
        15, help="Seconds to wait for a cell's last outputs, also after the interrupt that "
                 "follows a timeout; then the kernel counts as hung and is restarted"
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._ran: list[int] = []
        self._killers: set[int] = set()
        path = (resources or {}).get("metadata", {}).get("path")
        restarts, start = 0, 0
        try:
            while start is not None and start < len(self.nb.cells):
                if restarts > self.max_kernel_restarts:
                    self._not_run(start, restarts - 1)
                    break
                start = self._run_from(start, resources, replay=restarts > 0)
                restarts += start is not None
        finally:
            if path:
                clean_workdir(path)
        self.set_widgets_metadata()
        return self.nb, self.resources

    # ------------------------------------------------------------------ one kernel

    def _run_from(self, start: int, resources, replay: bool) -> int | None:
        """Run cells from ``start`` in a new kernel; the index to resume at after this
        kernel died or hung, or None when the notebook is done."""
        with self.setup_kernel():
            info_msg = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
            if replay:
                failed = self._replay(start)
                if failed is not None:
                    return start
            for index in range(start, len(self.nb.cells)):
                code = self.nb.cells[index].cell_type == "code"
                if code and self._ran and not run_sync(self.km.is_alive)():
                    return self._charge_previous(index)
                try:
                    self.preprocess_cell(self.nb.cells[index], resources, index)
                except (DeadKernelError, CellTimeoutError) as error:
                    return self._charge(index, error)
                if code:
                    self._ran.append(index)
        return None

    def _charge(self, index: int, error: Exception) -> int:
        """Record why the kernel stopped in the cell responsible; where to resume."""
        cell = self.nb.cells[index]
        who = self._who()
        if isinstance(error, CellTimeoutError):
            self._killers.add(index)
            cell.outputs.append(_error(
                "CellTimeoutError", f"this cell did not finish within {self.timeout} s and "
                "could not be interrupted; the kernel was restarted and the earlier cells "
                "re-run, then grading went on after this cell"))
            self.log.warning("%s: cell %d hung the kernel; restarted it", who, index)
            return index + 1
        self._killers.add(index)
        cell.outputs.append(_error(
            "DeadKernelError", "the kernel died while this cell ran (os._exit(), a crash "
            "such as a segmentation fault, or too much memory); the kernel was restarted "
            "and the earlier cells re-run, then grading went on after this cell"))
        self.log.warning("%s: cell %d killed the kernel; restarted it", who, index)
        return index + 1

    def _charge_previous(self, index: int) -> int:
        """The kernel was dead before cell ``index`` started: the cell before did it (a
        thread of its own, say, after it returned); ``index`` runs in the new kernel."""
        previous = self._ran[-1]
        self._killers.add(previous)
        self.nb.cells[previous].outputs.append(_error(
            "DeadKernelError", "the kernel died after this cell returned (code it left "
                               "running); it was restarted"))
        self.log.warning("%s: cell %d stopped the kernel; restarted it", self._who(), previous)
        return index

    def _replay(self, upto: int) -> int | None:
        """Re-run, silently, the cells before ``upto`` that define things; the index of a
        cell that killed this kernel again, or None."""
        for index in range(upto):
            cell = self.nb.cells[index]
            if cell.cell_type != "code" or index in self._killers or is_test_cell(cell) \
                    or index not in self._ran:
                continue
            clone = copy.deepcopy(cell)
            try:
                self.execute_cell(clone, index, store_history=False)
            except (DeadKernelError, CellTimeoutError):
                self._killers.add(index)
                cell.outputs.append(_error(
                    "DeadKernelError", "the kernel died when this cell was run again "
                                       "after a restart"))
                return index
            finally:
                self.nb.cells[index] = cell
        return None

    def _not_run(self, start: int, restarts: int) -> None:
        for cell in self.nb.cells[start:]:
            if cell.cell_type == "code":
                cell.outputs = [_error(
                    "NotRun", f"not run: the kernel died or hung {restarts} times in this "
                              f"notebook, and grading stopped restarting it")]
        self.log.warning("%s: stopped after %d kernel restarts", self._who(), restarts)

    def _who(self) -> str:
        info = (self.resources or {}).get("nbgrader", {})
        return f"{info.get('student', '?')}/{info.get('notebook', '?')}"


def clean_workdir(path: str) -> list[str]:
    """After a sandboxed kernel: stop what is left of its user, and remove what it left in
    its folder that is not a plain file or folder (the kernel's launcher does this too,
    unless it was killed first)."""
    try:
        owner = os.stat(path).st_uid
    except OSError:
        return []
    if os.geteuid() == 0 and owner >= UID_BASE:
        reap(owner)
        return sanitize(path, (os.getuid(), os.getgid()))
    return sanitize(path)


def drop_submitted_links(assignment: str, student: str, notebooks=(), root: str = ".",
                         **_) -> list[str]:
    """nbgrader pre-convert hook (autograde): remove symlinks, FIFOs and other special files
    from ``submitted/<student>/<assignment>`` before nbgrader copies the folder as root.

    nbgrader copies a submission with ``shutil.copy``, which follows symlinks: a submitted
    ``notes.txt -> /course/source/<a>/<a>.ipynb`` (or a notebook that is such a link) would
    bring the solutions into the student's autograded folder and feedback; a FIFO would
    block the copy forever.  (nbgrader runs hooks in the course root.)
    """
    folder = os.path.join(root, "submitted", student, assignment)
    if not os.path.isdir(folder) or os.path.islink(folder):
        return []
    removed = sanitize(folder)
    if removed:
        import logging

        logging.getLogger("course.autograde.preprocessors").warning(
            "%s: removed from the submission (not plain files): %s", student,
            ", ".join(os.path.relpath(p, folder) for p in removed))
    return removed


# SQLAlchemy 2 no longer adds an object to the session through a backref.  nbgrader's
# Gradebook.add_submission (nbgrader/api.py, 0.9.6) builds the new SubmittedAssignment and its
# SubmittedNotebooks, reads a lazy relationship before it calls ``db.add(submission)`` (the
# read autoflushes, and SQLAlchemy warns that the not-yet-added objects are not flushed *in
# that autoflush*), then adds and commits them: everything is saved.  Three harmless
# warnings per new submission, which a TA reads as a database error.
GRADEBOOK_AUTOFLUSH_WARNING = (r"Object of type <Submitted(Assignment|Notebook)> not in session, "
                               r"add operation along '(Assignment|Student|Notebook)\.submissions' "
                               r"will not proceed")


def ignore_gradebook_autoflush_warnings() -> None:
    """Silence exactly those SQLAlchemy warnings of nbgrader's add_submission (above)."""
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", message=GRADEBOOK_AUTOFLUSH_WARNING, category=SAWarning,
                            module=r"nbgrader\.api")


# --------------------------------------------------------------------------- feedback


def split_hidden(source: str, placeholder: str) -> tuple[str, list[str]]:
    """(the source with each hidden region replaced by ``placeholder``, the hidden lines),
    with nbgrader's rule: a marker anywhere in a line, an open region runs to the end."""
    kept, hidden, inside = [], [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            inside = True
            kept.append(placeholder)
        elif END_HIDDEN in line:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            kept.append(line)
    return "\n".join(kept), hidden


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback without the hidden tests' source (see the module's docstring)."""

    # nbconvert's HTML exporter configures this for every preprocessor (as in GetGrades)
    display_data_priority = List(NbGraderPreprocessor.display_data_priority.default_value,
                                 config=True)
    placeholder = Unicode("# (hidden tests: not shown)").tag(config=True)
    redacted = Unicode("[hidden test]").tag(config=True)
    min_length = Integer(8, help="Hidden lines shorter than this are not searched for in "
                                 "outputs (a bare ')' is no secret)").tag(config=True)

    def preprocess(self, nb, resources):
        hidden: set[str] = set()
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.source, lines = split_hidden(cell.source, self.placeholder)
                hidden.update(line.strip() for line in lines
                              if len(line.strip()) >= self.min_length)
        hidden.update(line.strip() for line in self._recorded_hidden(nb, resources)
                      if len(line.strip()) >= self.min_length)
        secrets = sorted(hidden, key=len, reverse=True)
        for cell in nb.cells:
            if not is_test_cell(cell):
                cell.source = self._redact(cell.source, secrets)
            for output in cell.get("outputs", []):
                self._clean_output(output, secrets, is_test_cell(cell))
        return nb, resources

    @staticmethod
    def _recorded_hidden(nb, resources) -> list[str]:
        """The source's hidden-test lines of the notebook's test cells, from the gradebook
        (an autograded test cell shows the cases that ran instead: course.autograde.cases),
        so that a student's output quoting them is still redacted; none without one."""
        from nbgrader.api import Gradebook

        info = (resources or {}).get("nbgrader", {})
        if not info.get("db_url"):
            return []
        lines = []
        with Gradebook(info["db_url"]) as gradebook:
            for cell in nb.cells:
                gid = nbgrader_meta(cell).get("grade_id")
                if not is_test_cell(cell) or not gid:
                    continue
                try:
                    source = gradebook.find_source_cell(gid, info["notebook"],
                                                        info["assignment"]).source
                except MissingEntry:
                    continue
                lines += split_hidden(source or "", "")[1]
        return lines

    def _redact(self, text, secrets):
        if isinstance(text, list):
            return [self._redact(t, secrets) for t in text]
        if not isinstance(text, str):
            return text
        for secret in secrets:
            text = text.replace(secret, self.redacted)
        return text

    def _clean_output(self, output, secrets, in_test_cell: bool) -> None:
        kind = output.get("output_type")
        if kind == "stream":
            output["text"] = self._redact(output.get("text", ""), secrets)
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            for mime in list(data):
                data[mime] = self._redact(data[mime], secrets)
        elif kind == "error":
            output["evalue"] = self._redact(str(output.get("evalue", "")), secrets)
            if in_test_cell:  # a traceback quotes the failing (hidden) line
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}"]
            else:
                output["traceback"] = [self._redact(ANSI.sub("", line), secrets)
                                       for line in output.get("traceback", [])]
