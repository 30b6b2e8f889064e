"""The grading verb as a pytest run (``make grade``): one test item per student per check.

    pytest grader_tests --submissions submitted --assignment hw4_pytorch_regularization \\
        --device auto

A thin front end of :class:`course.grade.run.GradingRun` (``python -m course.grade`` grades the
same without pytest; its docstring says what is graded and written): the options are
:data:`course.grade.run.OPTIONS`, each student is graded once, when its first item runs (the
selected students all at once, with a progress bar), and each item reports one check's row.
pytest adds ``-k`` selection and the JUnit report ``grades/<a>-junit.xml`` (unless
``--junitxml`` says otherwise).

Exit status: 0 when grading completed, whatever the students scored; non-zero only when the
grader could not grade (bad options, no source notebook, an internal error).
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from course.grade.overview import PER_STUDENT_UP_TO
from course.grade.run import OPTIONS, GradingRun, GradingSetupError

RUN = pytest.StashKey["GradingRun"]()


def pytest_addoption(parser):
    group = parser.getgroup("grading", "grading submissions (grader_tests)")
    for flag, kwargs in OPTIONS:
        group.addoption(flag, **kwargs)


def _capture_off(config: pytest.Config):
    """A context in which the progress bar reaches the terminal."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        import contextlib

        return contextlib.nullcontext
    return capture.global_and_fixture_disabled


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        raise pytest.UsageError("grader_tests grades in one process: drop -n")
    try:
        run = GradingRun(config.option, start_workers=not config.option.collectonly,
                         quiet_output=_capture_off(config))
    except GradingSetupError as error:
        raise pytest.UsageError(str(error)) from None
    run.student_failures = 0
    config.stash[RUN] = run
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(run.grades_dir / f"{run.name}-junit.xml")
    if config.option.tbstyle == "auto":
        config.option.tbstyle = "no"  # the short summary and the grade lines say it all
    if len(run.students) > PER_STUDENT_UP_TO:  # a large class: its overview, not a line
        config.option.reportchars = "E"     # per failed check in the short summary


def pytest_collection_finish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None:
        run.selected = sorted({item.callspec.params["submission_check"][0]
                               for item in session.items if hasattr(item, "callspec")
                               and "submission_check" in item.callspec.params})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "submission_check" not in metafunc.fixturenames:
        return
    run = metafunc.config.stash[RUN]
    pairs = [(s, c.grade_id) for s in run.students for c in run.assignment.checks]
    metafunc.parametrize("submission_check", pairs, ids=[f"{s}-{c}" for s, c in pairs])


@pytest.fixture(scope="session")
def grading_run(pytestconfig, record_testsuite_property) -> GradingRun:
    run = pytestconfig.stash[RUN]
    record_testsuite_property("assignment", run.name)
    record_testsuite_property("device", run.grader.device)
    record_testsuite_property("seeds", ",".join(map(str, run.grader.seeds)))
    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None or not run.grades:
        return  # nothing graded (e.g. --collect-only): leave earlier reports alone
    run.write()
    # The grading is over: what this process made lives until it exits.  Python's last
    # garbage collections would walk all of it (torch's and the checkers' objects too), a
    # quarter of a second or more of every run; frozen objects are left to the exit.
    gc.freeze()
    only_students_failed = session.testsfailed == run.student_failures
    if exitstatus == pytest.ExitCode.TESTS_FAILED and only_students_failed \
            and not run.internal_errors:
        session.exitstatus = pytest.ExitCode.OK


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        run.stop_workers()  # started but never used (nothing selected, or interrupted)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    run = config.stash.get(RUN, None)
    if run is None:
        return
    terminalreporter.section(f"grades: {run.name} on {run.grader.device}, "
                             f"seeds {run.grader.seeds}")
    for line, colour in run.summary(also_written=[Path(config.option.xmlpath)]):
        terminalreporter.write_line(line, **({colour: True} if colour else {}))
