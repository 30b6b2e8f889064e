"""The shape every checker in this package has: a probe, a verdict, and their parameters.

A check is split in two so that the same definition can run in two places:

* ``probe(params, *student_objects, **options) -> dict`` runs the student's code on inputs
  built from ``params`` and returns *plain data* only (numpy arrays, floats, ints, bools,
  strings, lists of those).  It never decides anything.
* ``verdict(params, data, **plain_options) -> str`` rebuilds the same inputs from ``params``,
  computes its own reference from the maths, and either returns a one-line summary of what
  passed or raises :class:`CheckFailure` naming the property that broke.
* ``make_params(seed, device) -> dict`` draws the inputs' description (seeds, shapes,
  learning rates...) as plain data.  Seed 0 is the canonical case the notebook shows;
  any other seed draws other shapes and rates (hidden tests, the grader).

In a notebook the three run in one process (:meth:`Check.__call__`).  The grader runs the
probe inside the student's process and the verdict in its own, on parameters it drew
itself, so a student who patches torch or forges output only controls data.

How a checker is called is the probe's own signature, less its first parameter ``params``:
``probe_gradient_descent(params, gradient_descent, mse_loss, x, y, xvalid, yvalid, *,
l1: bool = False)`` makes the notebook call ``test_gradient_descent(gradient_descent,
mse_loss, x, y, xvalid, yvalid, l1=False)``.  :meth:`Check.probe` and :meth:`Check.verdict`
hold every call to it, on both paths: a missing or extra argument, an unknown keyword, or a
``bool`` option given anything but ``True``/``False`` (``l1=1``) raises :class:`CallError`,
whose message shows the call to write.  Options are keyword-only, so that the verdict (which
sees only the keywords of the call, as plain literals) always sees every option the probe saw.

What a student sees of a failure: in IPython (Jupyter, VS Code, Colab) a
:class:`CheckFailure` shows its message and, when the student's code raised, that exception
with the student's frames only (:meth:`CheckFailure._render_traceback_`); a stub still
raising NotImplementedError is a :class:`NotWritten` ("LinearNormal is not written yet: its
cell still raises NotImplementedError"), in the notebook and, through the same
:func:`failure_from_exception` and :func:`student_raised`, in graded messages.  Plain Python
and pytest show the full traceback.

Partial credit is declared by the check, in its verdict's docstring: a section
``Partial credit:`` lists the properties the check's points are split over, one line each,
``- name (weight): what it covers`` (weights sum to 1; :func:`declared_properties`).  The
verdict judges each property in its own block (``with judged("name"): ...``, ``judged``
from :meth:`Check.judge`) and ends with ``return judged.verdict(summary)``, which raises a
:class:`PartialFailure` naming what held and what did not when a property failed.  A
failure outside every block (the wrong kind of object, malformed probe data, a wrong call)
fails the whole check.  A check that declares nothing is all or nothing.  Over several
seeds (the grader's), a property holds only if it holds on every seed, and the check scores
the sum of the weights of the properties that hold (:mod:`course.grade.grader`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

PLAIN_TYPES = (str, int, float, bool, type(None))
GIVEN = "<given>"  # how a non-literal option (a class, a function) reaches the verdict


class CheckFailure(AssertionError):
    """A check found a property of the student's code that is wrong.

    ``prop`` is a short, stable name of the property ("output shape", "bias is zero", ...);
    tests assert on it.  The message shows expected vs observed and a hint, never the answer.
    """

    def __init__(self, check: str, prop: str, expected: Any = None, observed: Any = None,
                 hint: str = ""):
        self.check, self.prop = check, prop
        self.expected, self.observed, self.hint = expected, observed, hint
        lines = [f"{check} failed: {prop}"]
        if expected is not None:
            lines.append(f"  expected: {expected}")
        if observed is not None:
            lines.append(f"  observed: {observed}")
        if hint:
            lines.append(f"  hint: {hint}")
        super().__init__("\n".join(lines))

    # The student's exception, when their code raised: its frames are what IPython shows.
    student_error: BaseException | None = None

    def _render_traceback_(self) -> list[str]:
        """What IPython (Jupyter, VS Code, Colab) shows for this failure: the message and,
        when the student's code raised, that exception with the student's frames only; no
        frame of the course's code.  IPython calls this method on any exception that has
        it; plain Python and pytest do not, and show the full traceback."""
        lines = [f"{type(self).__name__}: {self}"]
        if self.student_error is not None:
            frames = student_traceback_lines(self.student_error)
            if frames:
                lines += ["", "Your code raised it here:", *frames]
        return lines


NOT_WRITTEN = "is not written yet: its cell still raises NotImplementedError"
# the checked function called another answer, still the released stub
CALLS_STUB = re.compile(r"(\w+) calls (\w+)(?: \(through [\w, ]+\))?, which is not "
                        r"implemented yet: its cell still raises NotImplementedError")


class NotWritten(CheckFailure):
    """The student's answer is still the released stub (``raise NotImplementedError()``):
    named as such, not as an error of their code."""

    PROP = "not written yet"

    def __init__(self, check: str, headline: str):
        self.check, self.prop, self.headline = check, self.PROP, headline
        self.expected = self.observed = None
        self.hint = ("replace the `raise NotImplementedError()` under YOUR CODE HERE with your "
                     "code, run that cell, then this check again")
        AssertionError.__init__(self, f"{check} failed: {headline}\n  hint: {self.hint}")


PROBE_DATA = "probe data"  # the property of a failure to read probe data (ProbeData)


@dataclass(frozen=True)
class Property:
    """One part of a check's points: its name (as messages show it) and its weight (the
    share of the check's points it is worth)."""

    name: str
    weight: float


PARTIAL_CREDIT = "Partial credit"
_PROPERTY_LINE = re.compile(r"^\s*- (?P<name>[A-Za-z][A-Za-z0-9 ,/=_-]*?) \((?P<weight>[0-9.]+)\)"
                            r"(?::.*)?$")


def declared_properties(doc: str | None) -> tuple[Property, ...]:
    """The properties a verdict's docstring declares: the lines ``- name (weight): ...``
    right after its line ``Partial credit...:``, up to the next blank line (lines in between
    that do not start with ``- `` continue a description).  None declared: ``()``, the check
    is all or nothing.  A section that is there must be right: two properties or more,
    distinct names, positive weights that sum to 1; otherwise ValueError (at import)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    start = next((i for i, line in enumerate(lines)
                  if line.strip().startswith(PARTIAL_CREDIT)), None)
    if start is None:
        return ()
    found = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        match = _PROPERTY_LINE.match(line)
        if match:
            found.append(Property(match["name"], float(match["weight"])))
        elif line.strip().startswith("- "):
            raise ValueError(f"cannot read the partial-credit line {line.strip()!r}: write "
                             "'- name (weight): what it covers'")
    names = [p.name for p in found]
    if len(found) < 2 or len(set(names)) != len(names):
        raise ValueError(f"a Partial credit section needs two or more properties with "
                         f"distinct names, found {names}")
    if any(p.weight <= 0 for p in found) or not math.isclose(sum(p.weight for p in found), 1.0,
                                                               abs_tol=1e-9):
        raise ValueError(f"partial-credit weights must be positive and sum to 1: "
                         f"{[(p.name, p.weight) for p in found]}")
    return tuple(found)


def held_fraction(properties, failed) -> float:
    """The share of the points of the properties whose names are not in ``failed``."""
    return round(sum(p.weight for p in properties if p.name not in failed), 9)


def _amount(value: float) -> str:
    return f"{round(value, 4):g}"


def partial_message(check: str, properties, failed: dict, max_points: float | None = None
                    ) -> str:
    """The message of a check some of whose properties failed: what the properties that
    held give, which passed and which failed (weights in brackets), then each failure's own
    message, in declaration order.  ``failed``: property name -> the failure (or its text);
    ``max_points``: the check's points where the grader knows them (else a share)."""
    fraction = held_fraction(properties, failed)
    worth = (f"{_amount(fraction * max_points)} of {_amount(max_points)} points"
             if max_points is not None else f"{fraction:.0%} of this check's points")
    passed = [f"{p.name} ({p.weight:g})" for p in properties if p.name not in failed]
    lost = [f"{p.name} ({p.weight:g})" for p in properties if p.name in failed]
    lines = [f"{check} failed {len(lost)} of {len(properties)} properties: "
             f"partial credit {worth}",
             f"  passed: {', '.join(passed) or 'none'}",
             f"  failed: {', '.join(lost)}"]
    for p in properties:
        if p.name in failed:
            lines.append(str(failed[p.name]).replace(f"{check} failed: ", f"[{p.name}] ", 1))
    return "\n".join(lines)


class PartialFailure(CheckFailure):
    """Some of a check's declared properties failed (others may have held).

    ``failures``: property name -> its :class:`CheckFailure`, for the properties that
    failed; ``held``: the names of those that held; ``fraction``: the share of the points
    they give.  ``prop``, ``expected``, ``observed``, ``hint`` and ``student_error`` are
    those of the first failure the verdict found (what tests and IPython read of any
    CheckFailure), the one an all-or-nothing verdict would have stopped at."""

    def __init__(self, check: str, properties, failures: dict):
        first = next(iter(failures.values()))  # the first the verdict found
        self.check, self.prop = check, first.prop
        self.expected, self.observed, self.hint = first.expected, first.observed, first.hint
        self.student_error = next((f.student_error for f in failures.values()
                                   if f.student_error is not None), None)
        self.properties, self.failures = tuple(properties), dict(failures)
        self.held = tuple(p.name for p in properties if p.name not in failures)
        self.fraction = held_fraction(properties, failures)
        AssertionError.__init__(self, partial_message(check, properties, failures))


class Judgement:
    """The properties one verdict judges, each in its own block (``with judged(name):``);
    made by :meth:`Check.judge`.  A :class:`CheckFailure` inside a block fails that property
    only (the first one raised is kept) and the verdict goes on; malformed probe data (the
    property "probe data") and a wrong call are not caught: they fail the whole check."""

    def __init__(self, check: str, properties):
        self.check, self.properties = check, tuple(properties)
        self.names = {p.name for p in self.properties}
        self.failures: dict[str, CheckFailure] = {}
        self.judged: set[str] = set()

    @contextlib.contextmanager
    def __call__(self, name: str):
        if name not in self.names:
            raise ValueError(f"{self.check} judges {name!r}, which its docstring does not "
                             f"declare ({sorted(self.names)})")
        self.judged.add(name)
        try:
            yield
        except CallError:
            raise
        except CheckFailure as failure:
            if failure.prop == PROBE_DATA:
                raise
            self.failures.setdefault(name, failure)

    def holds(self, name: str) -> bool:
        """Whether ``name`` has not failed so far (a verdict may skip what depends on it)."""
        return name not in self.failures

    def verdict(self, summary: str) -> str:
        """``summary`` when every property held; a :class:`PartialFailure` otherwise."""
        unjudged = self.names - self.judged
        if unjudged:
            raise RuntimeError(f"{self.check}'s verdict never judged {sorted(unjudged)}")
        if self.failures:
            raise PartialFailure(self.check, self.properties, self.failures)
        return summary


class AllOrNothing:
    """What a helper shared by checks with and without declared properties judges with
    when its check declares none: its blocks catch nothing, the first failure fails the
    check (:data:`ALL_OR_NOTHING`)."""

    def __call__(self, name: str):
        return contextlib.nullcontext()

    def holds(self, name: str) -> bool:
        return True

    def verdict(self, summary: str) -> str:
        return summary


ALL_OR_NOTHING = AllOrNothing()


class CallError(CheckFailure, TypeError):
    """A checker was called with arguments it does not take: the call, not the student's
    code, is wrong.  Also a ``TypeError``, as Python's own "wrong arguments" error is."""

    PROP = "how the checker is called"

    def __init__(self, check: str, usage: str, problem: str, hint: str = ""):
        self.usage = usage
        super().__init__(check, self.PROP, expected=usage, observed=problem,
                         hint=hint or "call it as its test cell does (copy that line); "
                                      "seed=<int> picks another case")


class StudentCodeError(Exception):
    """The student's code raised while a probe was calling it.

    ``error`` is the student's exception; ``stub`` the name of their object (``LinearNormal``)
    when it is the released stub, still raising NotImplementedError, and the message then
    says so (:data:`NOT_WRITTEN`), so that a verdict reading it as text names the stub too.
    """

    def __init__(self, what: str, error: BaseException):
        self.what, self.error = what, error
        self.error_type = type(error).__name__
        self.stub = stub_name(error)
        self.detail = "" if self.stub else _last_student_line(error)
        if self.stub:
            text = stub_headline(error)
        else:
            text = f"{what} raised {self.error_type}: {error}"
            function = _function_of(_innermost_student_frame(error))
            if isinstance(error, NameError) and function:
                text += f" (in {function})"
        super().__init__(text)


@functools.lru_cache(maxsize=1)
def _library_folders() -> tuple[str, ...]:
    """Folders whose code is not the student's: this package, the course's pipeline beside
    it, Python's standard library and installed packages (the same for the whole process:
    computed once, since every frame of every failure asks)."""
    import sysconfig

    here = Path(__file__).resolve().parent
    folders = {str(here), str(here.parent / "course")}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            folders.add(str(Path(sysconfig.get_path(key)).resolve()))
        except (KeyError, TypeError, OSError):
            pass
    return tuple(f + "/" for f in folders)


def is_student_file(filename: str) -> bool:
    """Whether a traceback frame's file is the student's code (a notebook cell, a file of
    theirs), not the course's, Python's or an installed library's."""
    name = filename.replace("\\", "/")
    if name.startswith("<frozen") or "/site-packages/" in name or "/dist-packages/" in name:
        return False
    if not name.startswith("/"):  # "<cell x>" of the grader, "<string>", a relative path
        return "/support/" not in name
    return not name.startswith(_library_folders())


def student_frames(error: BaseException) -> list:
    """The frames of ``error``'s traceback that run the student's code, outermost first."""
    frames, tb = [], error.__traceback__
    while tb is not None:
        if is_student_file(tb.tb_frame.f_code.co_filename):
            frames.append(tb)
        tb = tb.tb_next
    return frames


def student_traceback_lines(error: BaseException) -> list[str]:
    """``error`` as IPython would show it, with only the student's frames (empty when none
    of its frames is theirs): IPython's own layout (``Cell In[4], line 8``) in a kernel,
    Python's elsewhere."""
    import types

    kept = student_frames(error)
    if not kept:
        return []
    tb = None
    for frame in reversed(kept):
        tb = types.TracebackType(tb, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    try:
        shell = get_ipython()  # noqa: F821 - defined in IPython only
        return shell.InteractiveTB.structured_traceback(type(error), error, tb)
    except Exception:  # noqa: BLE001 - not in IPython, or its traceback formatter changed
        return [line.rstrip("\n") for line in
                traceback.format_exception(type(error), error, tb, chain=False)]


def stub_name(error: BaseException) -> str | None:
    """``LinearNormal`` when ``error`` is a NotImplementedError raised by the student's own
    ``raise NotImplementedError()`` (the released stub) in ``LinearNormal.__init__``; None
    otherwise."""
    if not isinstance(error, NotImplementedError):
        return None
    frames = student_frames(error)
    if not frames or frames[-1] is not _last_tb(error):
        return None  # raised by a library the student called, not by their stub
    code = frames[-1].tb_frame.f_code
    name = getattr(code, "co_qualname", code.co_name).split(".")[0]
    return None if name.startswith("<") else name


def stub_headline(error: BaseException) -> str | None:
    """What a failure says when ``error`` is a released stub's NotImplementedError: "LinearNormal
    is not written yet: ..." when the stub is the function the check called, "train_epoch
    calls stable_bce_loss, which is not implemented yet: ..." when the checked function
    called another answer that is still a stub (never blaming the checked function)."""
    stub = stub_name(error)
    if stub is None:
        return None
    chain = list(dict.fromkeys(f for f in map(_function_of, student_frames(error)) if f))
    if chain[:1] in ([], [stub]):
        return f"{stub} {NOT_WRITTEN}"
    through = [f for f in chain[1:] if f != stub]
    return (f"{chain[0]} calls {stub}" + (f" (through {', '.join(through)})" if through else "")
            + ", which is not implemented yet: its cell still raises NotImplementedError")


def _function_of(frame) -> str | None:
    """The student's function (or class, for a method) a traceback entry runs; None at a
    cell's top level."""
    if frame is None:
        return None
    code = frame.tb_frame.f_code
    name = getattr(code, "co_qualname", code.co_name).split(".")[0]
    return None if name.startswith("<") else name


def _innermost_student_frame(error: BaseException):
    frames = student_frames(error)
    return frames[-1] if frames else None


def _last_tb(error: BaseException):
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb


def _last_student_line(error: BaseException) -> str:
    """The innermost traceback line of the student's code, to point them at it."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if is_student_file(f.filename)]
    if not frames:
        return ""
    f = frames[-1]
    return f"line {f.lineno}: {f.line}" if f.line else f"line {f.lineno}"


def call_student(what: str, fn: Callable, *args, **kwargs):
    """Call student code; any exception becomes a :class:`StudentCodeError` saying ``what``."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - anything the student's code raises
        raise StudentCodeError(what, error) from error


@contextlib.contextmanager
def student_output_dropped():
    """The student's prints, progress bars and warnings (stdout and stderr) dropped inside
    the block: a graded cell that writes to stderr scores 0 in nbgrader (a tqdm bar does)."""
    import io

    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield sink


def plain_options(options: dict) -> dict:
    """Options as the verdict sees them: literals as they are, any other object as GIVEN."""
    return {k: (v if isinstance(v, PLAIN_TYPES) else GIVEN) for k, v in options.items()}


RAISED_HINT = "call the function yourself on small inputs and read the traceback"


def student_raised(check: str, observed, hint: str | None = RAISED_HINT) -> CheckFailure:
    """The failure a check reports when the student's code raised instead of returning:
    ``observed`` is the error as text (with the student's line when known), ``hint`` what to
    try (each check says what fits its function).  A stub still raising NotImplementedError
    (:class:`StudentCodeError` says so in its text) is a :class:`NotWritten`."""
    text = str(observed)
    calls = CALLS_STUB.search(text)
    if calls:
        failure = NotWritten(check, calls[0])
        failure.hint = (f"write {calls[2]} first (the check of its own question tells you when "
                        f"it works); this check judges {calls[1]} once it does")
        AssertionError.__init__(failure, f"{check} failed: {calls[0]}\n  hint: {failure.hint}")
        return failure
    if NOT_WRITTEN in text:
        start = text.rfind(" ", 0, text.index(NOT_WRITTEN) - 1) + 1
        return NotWritten(check, text[start:text.index(NOT_WRITTEN) + len(NOT_WRITTEN)])
    return CheckFailure(check, "your code raised an exception", observed=observed, hint=hint)


def failure_from_student_error(check: str, error: StudentCodeError) -> CheckFailure:
    """The failure a check reports when the student's code raised instead of returning."""
    where = f" (at {error.detail})" if error.detail else ""
    failure = student_raised(check, f"{error}{where}")
    if not isinstance(failure, NotWritten):  # a stub's frame says nothing new
        failure.student_error = error.error
    return failure


def failure_from_exception(check: str, error: BaseException) -> CheckFailure:
    """The failure a check reports for any exception its probe let through: the student's
    code raised (:class:`StudentCodeError`), or the object is not what the check needs."""
    if isinstance(error, StudentCodeError):
        return failure_from_student_error(check, error)
    stub = stub_headline(error)
    if stub:
        return student_raised(check, stub)
    failure = student_raised(check, f"{type(error).__name__}: {error}",
                             hint="check that you passed the object the question asks for "
                                  "and that it runs on small inputs")
    failure.student_error = error
    return failure


@contextlib.contextmanager
def preserved_random_state(seed: int | None = None):
    """Run a probe without moving the notebook's random streams (torch, CUDA, numpy, random).

    A student's later results then do not depend on whether they ran the checks.  With
    ``seed``, torch's generators are seeded with it inside the block.
    """
    import random

    import numpy as np
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def default_device() -> str:
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


# ----------------------------------------------------------------------------- calls

STRICT_TYPES = {"bool": bool, "str": str}  # annotations a call's values must match exactly


def call_signature(probe: Callable) -> inspect.Signature:
    """How a check is called: the probe's signature without its first parameter (params)."""
    signature = inspect.signature(probe)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def _strict_type(parameter: inspect.Parameter):
    annotation = parameter.annotation
    if isinstance(annotation, str):
        return STRICT_TYPES.get(annotation)
    return annotation if annotation in STRICT_TYPES.values() else None


def usage_text(name: str, signature: inspect.Signature) -> str:
    """The call to write, e.g. ``test_build(model, layertype, dropout_type=None, type='zeros')``."""
    parts = []
    for p in signature.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.default is p.empty:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={p.default!r}")
    return f"{name}({', '.join(parts)})"


def _describe(value) -> str:
    text = repr(value) if isinstance(value, PLAIN_TYPES) else f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


def check_call(name: str, signature: inspect.Signature, args: tuple, options: dict) -> None:
    """Raise :class:`CallError` unless ``name(*args, **options)`` fits ``signature``: the
    right number of arguments, known keywords, and exact types where an option is annotated
    ``bool`` or ``str`` (``l1=1`` is not ``l1=True``)."""
    usage = usage_text(name, signature)
    try:
        bound = signature.bind(*args, **options)
    except TypeError as error:
        keyword_only = [p.name for p in signature.parameters.values()
                        if p.kind is p.KEYWORD_ONLY]
        hint = (f"give the options by keyword ({', '.join(f'{k}=...' for k in keyword_only)}), "
                "as the test cell does" if keyword_only and "positional" in str(error) else "")
        raise CallError(name, usage, f"{len(args)} positional argument(s)"
                        + (f" and the keyword(s) {', '.join(options)}" if options else "")
                        + f": {error}", hint=hint) from None
    for key, value in bound.arguments.items():
        wanted = _strict_type(signature.parameters[key])
        if wanted is not None and type(value) is not wanted:
            choices = "True or False" if wanted is bool else "a string"
            raise CallError(name, usage, f"{key}={_describe(value)}",
                            hint=f"{key} takes {choices}, written as such "
                                 f"(e.g. {key}={signature.parameters[key].default!r})")


def check_plain_options(name: str, signature: inspect.Signature, options: dict) -> None:
    """The verdict's side of :func:`check_call`: the options of the call as plain literals
    (any other object as GIVEN); an option annotated bool or str must be such a literal."""
    usage = usage_text(name, signature)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    for key, value in options.items():
        parameter = signature.parameters.get(key)
        if parameter is None or parameter.kind in (parameter.VAR_POSITIONAL,
                                                   parameter.VAR_KEYWORD):
            if takes_any:
                continue
            raise CallError(name, usage, f"unknown keyword {key}={_describe(value)}")
        wanted = _strict_type(parameter)
        if wanted is not None and type(value) is not wanted:
            raise CallError(name, usage, f"{key}={_describe(value)}",
                            hint=f"write {key}= with a literal value "
                                 f"(e.g. {key}={parameter.default!r})")


def _accepted(fn: Callable, options: dict) -> dict:
    """The options ``fn`` declares (all of them when it takes ``**kwargs``)."""
    parameters = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return options
    names = {p.name for p in parameters}
    return {k: v for k, v in options.items() if k in names}


@dataclass(frozen=True)
class Check:
    """One check: its name (the notebook function's name), probe, verdict and parameters.

    ``probe_fn`` and ``verdict_fn`` are the functions; call them through :meth:`probe` and
    :meth:`verdict`, which first check the call against the probe's signature.
    """

    name: str
    probe_fn: Callable[..., dict]
    verdict_fn: Callable[..., str]
    make_params: Callable[[int, str], dict]
    doc: str = ""

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """How the checker is called (see :func:`call_signature`)."""
        return call_signature(self.probe_fn)

    @property
    def usage(self) -> str:
        return usage_text(self.name, self.signature)

    def __post_init__(self):
        self.properties  # a wrong Partial credit section fails at import, not when grading

    @functools.cached_property
    def properties(self) -> tuple[Property, ...]:
        """The properties its points are split over (its verdict's docstring, section
        ``Partial credit``); ``()``: all or nothing."""
        return declared_properties(self.verdict_fn.__doc__)

    def judge(self) -> "Judgement | AllOrNothing":
        """A verdict's judgement of this check's declared properties, one block each
        (:data:`ALL_OR_NOTHING` when it declares none: a verdict shared by checks with and
        without properties judges the same way for both)."""
        return Judgement(self.name, self.properties) if self.properties else ALL_OR_NOTHING

    def probe(self, params: dict, *args, **options) -> dict:
        """The probe on the student's objects, after checking the call (CallError)."""
        check_call(self.name, self.signature, args, options)
        return self.probe_fn(params, *args, **options)

    def verdict(self, params: dict, data, **options) -> str:
        """The verdict on probe data; ``options`` as :func:`plain_options` makes them."""
        check_plain_options(self.name, self.signature, options)
        return self.verdict_fn(params, data, **_accepted(self.verdict_fn, options))

    def run(self, *args, seed: int = 0, device: str | None = None, **options) -> str:
        """Probe and verdict in this process; returns the pass summary or raises CheckFailure."""
        if type(seed) is not int or seed < 0:
            raise CallError(self.name, self.usage, f"seed={_describe(seed)}",
                            hint="seed= takes a whole number >= 0 (0 is the notebook's case)")
        if device is not None and not isinstance(device, str):
            raise CallError(self.name, self.usage, f"device={_describe(device)}",
                            hint="device= takes 'cpu' or 'cuda' (or leave it out)")
        check_call(self.name, self.signature, args, options)
        params = self.make_params(seed, device or default_device())
        try:
            with preserved_random_state():
                data = self.probe_fn(params, *args, **options)
        except CheckFailure:
            raise
        except Exception as error:  # noqa: BLE001 - the student's code, or a wrong object
            raise failure_from_exception(self.name, error) from None
        return self.verdict(params, data, **plain_options(options))

    def __call__(self, *args, seed: int = 0, device: str | None = None, **options) -> None:
        summary = self.run(*args, seed=seed, device=device, **options)
        print(f"{self.name} passed: {summary}")


def make_checker(check: Check) -> Callable:
    """The notebook-facing function for a check, with the check's docstring."""

    def checker(*args, **options):
        return check(*args, **options)

    checker.__name__ = checker.__qualname__ = check.name
    checker.__doc__ = (check.doc or check.verdict_fn.__doc__ or "").rstrip() + \
        f"\n\nCall: {check.usage}" + _credit_text(check)
    checker.check = check
    return checker


def _credit_text(check: Check) -> str:
    """How the check's points are split, for ``help(test_...)`` ('' when all or nothing)."""
    if not check.properties or PARTIAL_CREDIT in (check.doc or ""):
        return ""
    return "\n\nPartial credit (shares of the points): " + ", ".join(
        f"{p.name} {p.weight:g}" for p in check.properties)


def export_checks(namespace: dict, checks, helpers=()) -> tuple[dict, list]:
    """A facade's checkers from its one list of checks.

    Defines, in the facade's ``namespace``, the notebook's ``test_<name>`` checker of each
    :class:`Check` in ``checks`` (:func:`make_checker`); returns ``(CHECKS, __all__)``:
    the checks by name (what the grader runs across a process boundary) and the helper names
    followed by the checkers' names (what ``from support.<assignment> import *`` gives).
    """
    table = {check.name: check for check in checks}
    for name, check in table.items():
        namespace[name] = make_checker(check)
    return table, [*helpers, *table]
