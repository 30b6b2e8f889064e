"""Run a source notebook, with its solutions, in a real kernel and say which cell broke.

``make release`` refuses to publish an assignment whose own solutions do not pass its own
tests: every cell must run, and every autograded test cell must end as nbgrader would give
it full points (no error, no stderr left after the course's IgnorePattern, no value that
nbgrader would read as partial credit).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from course.config import nbgrader_setting
from course.notebooks import grade_id, nbgrader_meta


class SourceNotebookError(Exception):
    """A source notebook failed with its own solutions; the message names the cell."""


def cell_label(nb, index: int) -> str:
    """'cell 7 (grade_id mse_loss_tests)' or 'cell 7 (first line ...)' for messages."""
    cell = nb.cells[index]
    gid = grade_id(cell)
    if gid:
        return f"cell {index} (grade_id {gid})"
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return f"cell {index} ({first[:60]!r})"


def cell_bar(nb, description: str | None):
    """A tqdm bar on stderr over the notebook's code cells (``description`` first, the
    running cell last), or None without a description.  It runs here, in the process that
    drives the kernel: nothing of it reaches a cell's outputs."""
    if description is None:
        return None
    from tqdm import tqdm

    code = sum(1 for cell in nb.cells if cell.cell_type == "code" and cell.source.strip())
    return tqdm(total=code, desc=description, unit="cell", file=sys.stderr, mininterval=0.5,
                dynamic_ncols=True, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} cells "
                                               "[{elapsed}<{remaining}{postfix}]")


def execute_notebook(path: Path, timeout: int | None = None, progress: str | None = None):
    """Execute ``path`` in its own folder; return the executed notebook and seconds per cell.

    With ``progress`` (a description), a bar over its code cells runs on stderr
    (:func:`cell_bar`).  Raises SourceNotebookError naming the failing cell.
    """
    nb = nbformat.read(str(path), as_version=4)
    bar = cell_bar(nb, progress)
    timeout = timeout or nbgrader_setting("Execute", "timeout")
    sockets = tempfile.TemporaryDirectory(prefix="kernel-")  # short: a socket path is short
    # the kernel talks over local sockets in a private folder, not TCP on the loopback
    kernel = KernelManager(kernel_name=nb.metadata.kernelspec.name, transport="ipc",
                           ip=os.path.join(sockets.name, "ipc"))
    client = NotebookClient(nb, km=kernel, timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    durations: dict[int, float] = {}
    current = {"index": 0, "started": time.perf_counter()}

    def on_cell_start(cell, cell_index):
        current.update(index=cell_index, started=time.perf_counter())
        if bar is not None and cell.cell_type == "code" and cell.source.strip():
            bar.set_postfix_str(cell_label(nb, cell_index))

    def on_cell_executed(cell, cell_index, execute_reply):
        durations[cell_index] = time.perf_counter() - current["started"]
        if bar is not None:
            bar.update(1)

    client.on_cell_start = on_cell_start
    client.on_cell_executed = on_cell_executed
    try:
        with sockets:
            try:
                client.execute()
            finally:  # a kernel manager given to nbclient is ours to stop
                if bar is not None:
                    bar.set_postfix_str("")
                    bar.close()
                if kernel.has_kernel:
                    kernel.shutdown_kernel(now=True)
    except (CellExecutionError, CellTimeoutError) as error:
        if getattr(error, "ename", None):
            summary = f"{error.ename}: {error.evalue}"
        else:
            summary = str(error).strip() or repr(error)
        label = cell_label(nb, current["index"])
        raise SourceNotebookError(f"{path}: {label} failed: {summary}") from None
    return nb, durations


def test_cell_problems(nb) -> list[str]:
    """Why nbgrader would not give an autograded test cell full points, one line per cell."""
    ignore = re.compile(nbgrader_setting("IgnorePattern", "pattern"))
    problems = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                problems.append(f"{cell_label(nb, index)}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr" \
                    and not ignore.search(output.text):
                problems.append(f"{cell_label(nb, index)}: writes to stderr: "
                                f"{output.text.strip()[:200]!r}")
            elif output.output_type == "execute_result":
                problems.append(f"{cell_label(nb, index)}: ends with a value, which nbgrader "
                                "reads as partial credit; end test cells with a call that "
                                "returns None")
    return problems
