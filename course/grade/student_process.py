"""The student process: runs one submission's cells and probes, and reports plain data.

The grader (:mod:`course.grade.grader`) starts ``python -m course.grade.student_process --events-fd N``
once per submission (again after a crash, to resume), with a fresh folder as the working
directory.  Nothing this process reports is trusted: it hands back data, and the grader
judges the data in its own process.

Protocol
--------
* stdin: the plan, one JSON object: ``facade`` (module with ``CHECKS``), ``device``,
  ``outdir``, ``limits``, ``sys_path``, ``skip`` (step ids not to run) and ``steps``
  (see :mod:`course.grade.plan`).
* events, on the inherited pipe ``--events-fd``: JSON lines ``{"event": "ready"}`` (imports
  done), ``{"event": "start", "step": i}``, ``{"event": "done", "step": i}``,
  ``{"event": "finished"}``.  The grader times each step from its ``start``.
* results, in ``outdir``: ``<i>.json`` for a code step (``{"ok": true}`` or
  ``{"error": ...}``) and for a probe that produced no data (``{"failure": ..., "prop": ...}``,
  ``{"undefined": name}`` when a notebook name it needs does not exist); ``<i>.probe`` for a
  probe's data (:func:`course.grade.transport.encode`: arrays and JSON, never pickle).
* stdout and stderr: whatever the student's code prints; the grader keeps it as a log and
  never parses it, so printing "Passed!" changes nothing.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import json
import linecache
import os
import sys


def main(argv=None) -> None:
    """Read the plan, limit this process, import the checks, then run the steps in order."""
    args = _parse(argv)
    plan = json.loads(sys.stdin.read())
    apply_limits(plan.get("limits", {}))
    sys.path[:0] = plan.get("sys_path", [])
    events = Events(args.events_fd)
    checks = dict(importlib.import_module(plan["facade"]).CHECKS)
    configure_torch(plan["device"], plan.get("limits", {}))
    events.emit(event="ready")
    ipython = IPythonStub()
    namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": ipython}
    ipython.namespace = namespace
    skip = set(plan.get("skip", []))
    for step in plan["steps"]:
        if step["id"] in skip:
            continue
        events.emit(event="start", step=step["id"])
        _mark(step)
        run_step(step, namespace, checks, plan["outdir"])
        _flush()
        events.emit(event="done", step=step["id"])
    events.emit(event="finished")
    _flush()
    os._exit(0)  # no atexit handlers or stray threads of the student's keep us alive


def run_step(step: dict, namespace: dict, checks: dict, outdir: str) -> None:
    """Run one step and write its result file, whatever the student's objects do."""
    try:
        if step["kind"] == "code":
            write_json(outdir, step["id"], run_code(step, namespace))
        else:
            write_probe(outdir, step["id"], run_probe(step, namespace, checks))
    except BaseException as error:  # noqa: BLE001 - e.g. an exception whose str() raises
        report = {"error" if step["kind"] == "code" else "failure":
                  f"the step could not be reported ({type(error).__name__})"}
        write_json(outdir, step["id"], report)


def _parse(argv):
    parser = argparse.ArgumentParser(description="run one submission's steps (internal)")
    parser.add_argument("--events-fd", type=int, required=True)
    return parser.parse_args(argv)


def _describe(step: dict) -> str:
    if step.get("origin") == "added":
        return f"added {step['label']}"
    if step["kind"] == "code":
        return f"cell {step['cell']} ({step['origin']})"
    return f"{step['checker']} for {step['check']}, seed {step['seed']}"


def _mark(step: dict) -> None:
    """A line in the student's output log saying which step runs (for the TA)."""
    try:
        print(f"\n[grader] step {step['id']}: {_describe(step)}", flush=True)
    except Exception:  # noqa: BLE001 - the student replaced or closed stdout
        pass


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - the student may have replaced or closed it
            pass


# --------------------------------------------------------------------------- setup


def apply_limits(limits: dict) -> None:
    """Limit this process before any student code runs (address space, file size, cores)."""
    try:
        import resource
    except ImportError:  # not on a POSIX system: the grader's watchdog still applies
        return

    def cap(which, value):
        if value:
            try:
                resource.setrlimit(which, (int(value), int(value)))
            except (ValueError, OSError):
                pass  # e.g. macOS refuses RLIMIT_AS: the grader's watchdog still applies

    cap(resource.RLIMIT_AS, limits.get("address_space_bytes"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_size_bytes"))
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass


def configure_torch(device: str, limits: dict) -> None:
    """One CPU thread; on CUDA full float32 precision (no TF32) and a GPU memory cap."""
    if "torch" not in sys.modules and device == "cpu":
        return
    import torch

    torch.set_num_threads(1)
    warm_up(torch)
    if device.startswith("cuda"):
        # float32 as on a CPU (no TF32), so the checkers' float32 tolerances hold on both
        torch.set_float32_matmul_precision("highest")
        torch.backends.cudnn.allow_tf32 = False
        gpu_bytes = limits.get("gpu_memory_bytes")
        if gpu_bytes and torch.cuda.is_available():
            total = torch.cuda.get_device_properties(0).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, gpu_bytes / total))


def warm_up(torch) -> None:
    """Pay torch's one-time lazy start-up before the first timed step: the first optimizer
    imports torch._dynamo (seconds on a slow machine), which no check should be charged."""
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    (2 * parameter).sum().backward()
    optimizer.step()


class Events:
    """The event pipe to the grader (JSON lines; each one a single atomic write)."""

    def __init__(self, fd: int):
        self.fd = fd

    def emit(self, **event) -> None:
        try:
            os.write(self.fd, (json.dumps(event) + "\n").encode())
        except OSError:
            pass  # the student closed it: the grader sees the pipe end and says so


class IPythonStub:
    """What ``get_ipython()`` returns for cells with magics: magics and shell commands are
    not run.  ``%%time`` and ``%%capture`` cells still run their body (students wrap
    definitions in them); other cell magics (``%%bash``, ``%%writefile``...) are skipped.
    """

    def __init__(self):
        self.namespace: dict = {}

    def __call__(self):
        return self

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, name, line, body):
        if name in ("time", "capture"):
            exec(compile(body, "<cell magic>", "exec"), self.namespace)

    def system(self, *args, **kwargs):
        return None

    getoutput = system


# --------------------------------------------------------------------------- steps


def compile_cell(source: str, filename: str):
    """Compile a cell; IPython syntax (``%magic``, ``!cmd``) is translated first if needed."""
    try:
        return compile(source, filename, "exec")
    except SyntaxError as original:
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            return compile(TransformerManager().transform_cell(source), filename, "exec")
        except Exception:  # noqa: BLE001 - not IPython syntax either: the student's error
            raise original from None


def run_code(step: dict, namespace: dict) -> dict:
    """Execute one cell in the shared namespace; report ok or the error, never raise."""
    filename = f"<cell {step['cell']}>"
    source = step["source"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        code = compile_cell(source, filename)
    except SyntaxError as error:
        return {"error": f"SyntaxError: {error.msg} (line {error.lineno})"}
    except Exception as error:  # noqa: BLE001 - e.g. ValueError for a null byte
        return {"error": f"{type(error).__name__}: {error}"}
    try:
        exec(code, namespace)
    except BaseException as error:  # noqa: BLE001 - SystemExit too: the cell just failed
        return {"error": describe_error(error, filename)}
    return {"ok": True}


def describe_error(error: BaseException, filename: str) -> str:
    """'NameError: name 'x' is not defined (line 3: y = x)' for the cell's own line."""
    import traceback

    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    if frames:
        line = frames[-1]
        text += f" (line {line.lineno}: {line.line.strip()})" if line.line else \
            f" (line {line.lineno})"
    return text


class Undefined(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def resolve(arg: dict, namespace: dict):
    """A probe argument: a notebook name looked up now, or a literal from the source."""
    if "name" in arg:
        if arg["name"] not in namespace:
            raise Undefined(arg["name"])
        return namespace[arg["name"]]
    return arg["literal"]


def run_probe(step: dict, namespace: dict, checks: dict) -> dict:
    """Run one check's probe on the student's objects; plain data, or a failure report."""
    from support.checking import CheckFailure, failure_from_exception

    check = checks.get(step["checker"])
    if check is None:
        return {"__report__": {"failure": f"no check named {step['checker']}"}}
    try:
        args = [resolve(a, namespace) for a in step["args"]]
        kwargs = {k: resolve(v, namespace) for k, v in step["kwargs"].items()}
    except Undefined as missing:
        return {"__report__": {"undefined": missing.name}}
    try:
        return check.probe(step["params"], *args, **kwargs)
    except CheckFailure as failure:
        return {"__report__": {"failure": str(failure), "prop": failure.prop}}
    except BaseException as error:  # noqa: BLE001 - the student's code, or a wrong object
        failure = failure_from_exception(check.name, error)
        return {"__report__": {"failure": str(failure), "prop": failure.prop}}


def write_probe(outdir: str, index: int, data) -> None:
    """Probe data as ``<index>.probe`` (:mod:`course.grade.transport`), or a report as
    ``<index>.json``."""
    from course.grade.transport import SUFFIX, encode

    if isinstance(data, dict) and "__report__" in data:
        write_json(outdir, index, data["__report__"])
        return
    try:
        blob = encode(data)
    except BaseException as error:  # noqa: BLE001 - data the transport cannot carry
        write_json(outdir, index, {"failure": f"the probe's data could not be sent "
                                              f"({type(error).__name__}: {error})"})
        return
    _write_atomic(os.path.join(outdir, f"{index}{SUFFIX}"), blob)


MAX_MESSAGE = 10_000


def write_json(outdir: str, index: int, report: dict) -> None:
    report = {k: (v[:MAX_MESSAGE] if isinstance(v, str) else v) for k, v in report.items()}
    _write_atomic(os.path.join(outdir, f"{index}.json"), json.dumps(report).encode())


def _write_atomic(path: str, blob: bytes) -> None:
    with open(path + ".part", "wb") as handle:
        handle.write(blob)
    os.replace(path + ".part", path)


if __name__ == "__main__":
    main()
