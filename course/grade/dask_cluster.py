"""``make grade SCHEDULER=tls://host:8786``: grade a class over a Dask distributed cluster.

The grading run stays where pytest runs (the *centre*): it reads every notebook, draws the
seeds and each probe's parameters, builds each submission's steps (:mod:`course.grade.plan`),
and afterwards judges every probe's data and writes the grade sheet.  Only the part that
runs student code moves: one ``Client.submit`` per student sends the steps (plain JSON)
to a Dask worker, where :func:`run_steps` runs them exactly as a local run does, in the
same student process (:class:`course.grade.supervisor.StepRunner`, forked from a warm worker of
:mod:`course.grade.warm_worker`, with the same limits and, where configured, the same sandbox), and
returns plain data: each step's outcome, a probe's data as the bytes the student process
wrote (:mod:`course.grade.transport`'s format), and the student's output.  The centre checks
those bytes as it checks a local probe's file (bounded size, plain arrays and JSON, never
pickle) before a verdict sees them.  A submission the device policy grades again on the CPU
(:mod:`course.grade.device_policy`) is one more task, run in a fresh student process that
sees no GPU.

Every worker needs the same virtual environment and the repository at the same path as the
centre (the steps name the checker facade, and the setup cells may read data files next to
the source notebook).  Dask itself runs only the grader's own code on the workers, but a
Dask scheduler runs whatever its clients submit: the cluster talks ``tls://`` with
certificates of the course's own certificate authority (:func:`cluster_security`; mutual
TLS: scheduler, workers and this client each prove they hold one), and a plain ``tcp://``
address gets a warning.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path

_LOCAL = threading.local()  # one warm worker per Dask worker thread


def job_for(grader) -> dict:
    """What every remote task of this run needs besides its steps (plain data)."""
    import dataclasses

    return {
        "config": dataclasses.asdict(grader.config),
        "device": grader.device,
        "hide_gpus": grader.hide_gpus,  # a CPU pass (course.grade.device_policy): cold
        "facade": grader.assignment.facade,
        "sys_path": list(grader.sys_path),
        "source_dir": str(Path(grader.assignment.notebook_path).resolve().parent),
    }


# --------------------------------------------------------------------------- on a worker


def run_steps(job: dict, steps: list[dict]) -> dict:
    """Run one submission's steps in a student process on this machine; plain data back."""
    from course.config import GradingConfig
    from course.grade.grader import matplotlib_cache, run_steps_in_folder

    started = time.monotonic()
    cpu_pass = bool(job.get("hide_gpus"))  # a fresh process that sees no GPU, not a fork
    zygote = None if cpu_pass else _zygote(job)
    run = run_steps_in_folder(steps, GradingConfig(**job["config"]), job["device"],
                              job["facade"], job["sys_path"], Path(job["source_dir"]),
                              matplotlib_cache(), zygote and zygote.launch,
                              zygote and zygote.root, hide_gpus=cpu_pass)
    plain = {}
    for index, outcome in run.outcomes.items():
        entry = {"kind": outcome.kind, "message": outcome.message}
        if outcome.kind == "data":
            entry["data"] = outcome.blob  # as the student process wrote it
        elif outcome.kind == "report":
            entry["report"] = outcome.data  # decoded from JSON by the runner: plain
        plain[str(index)] = entry
    return {"outcomes": plain, "output": run.output, "startup_failure": run.startup_failure,
            "seconds": time.monotonic() - started}


def _zygote(job: dict):
    """This thread's warm worker (started on its first student, kept for the next ones)."""
    from course.grade.warm_worker import Zygote

    key = (job["facade"], tuple(job["sys_path"]))
    zygote = getattr(_LOCAL, "zygote", None)
    if zygote is None or getattr(_LOCAL, "key", None) != key:
        if zygote is not None:
            zygote.remove()
        zygote = Zygote(job["facade"], job["sys_path"], job["config"]["startup_timeout_s"])
        _LOCAL.zygote, _LOCAL.key = zygote, key
    zygote.root.mkdir(mode=0o700, exist_ok=True)  # removed at the end of the last run
    return zygote


# --------------------------------------------------------------------------- at the centre

TLS_OPTIONS = {"ca_file": "--tls-ca-file", "cert": "--tls-cert", "key": "--tls-key"}
PLAIN_WARNING = ("WARNING: {scheduler} is a plain connection: anyone who can reach the "
                 "scheduler can run code on every worker.  Use tls:// with the course's "
                 "certificates (README: 'On a cluster of machines').")


def cluster_security(scheduler: str, ca_file=None, cert=None, key=None):
    """The TLS settings (a ``distributed.Security``) for this client of ``scheduler``.

    ``tls://``: from the three files given (CA certificate, this machine's certificate and
    its key; all three or none), else from Dask's own configuration
    (``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``, ``..._TLS__CLIENT__CERT``,
    ``..._TLS__CLIENT__KEY``); a file that is missing, or no certificate at all, is a
    ValueError saying so.  Any other address: None, after a warning on stderr.
    """
    from distributed.security import Security

    files = {"ca_file": ca_file, "cert": cert, "key": key}
    given = {name: str(path) for name, path in files.items() if path}
    if not scheduler.startswith("tls://"):
        if given:
            raise ValueError(f"TLS certificates given, but the scheduler {scheduler} is not "
                             f"a tls:// address")
        print(PLAIN_WARNING.format(scheduler=scheduler), file=sys.stderr, flush=True)
        return None
    if not given:
        return _configured_security(scheduler)
    _check_tls_files(files)
    return Security(tls_ca_file=given["ca_file"], tls_client_cert=given["cert"],
                    tls_client_key=given["key"], require_encryption=True)


def _configured_security(scheduler: str):
    """The TLS settings of Dask's own configuration; a ValueError when it names none."""
    from distributed.security import Security

    security = Security(require_encryption=True)
    if not (security.tls_ca_file and security.tls_client_cert):
        raise ValueError(f"{scheduler} needs certificates: give "
                         f"{', '.join(TLS_OPTIONS.values())} (make grade TLS_CA=... "
                         f"TLS_CERT=... TLS_KEY=...) or set them in Dask's configuration")
    return security


def _check_tls_files(files: dict) -> None:
    """All three TLS files named, and each one a file; else a ValueError naming them."""
    missing = [TLS_OPTIONS[name] for name, path in files.items() if not path]
    if missing:
        raise ValueError(f"TLS needs all of {', '.join(TLS_OPTIONS.values())}; missing: "
                         f"{', '.join(missing)}")
    for name, path in files.items():
        if not Path(path).is_file():
            raise ValueError(f"{TLS_OPTIONS[name]}: no such file {path}")


def outcomes_from(plain: dict, max_bytes: int) -> dict:
    """The remote outcomes as the grader's StepOutcome objects; probe bytes are checked and
    decoded here, as a local probe file is."""
    from course.grade.supervisor import StepOutcome, probe_data

    outcomes = {}
    for key, entry in plain.items():
        index, kind = int(key), str(entry.get("kind"))
        if kind == "data":
            try:
                outcomes[index] = StepOutcome("data", data=probe_data(
                    bytes(entry.get("data", b"")), max_bytes))
            except Exception as error:  # noqa: BLE001 - broken or forged bytes
                outcomes[index] = StepOutcome("malformed", f"{type(error).__name__}: {error}")
        elif kind == "report":
            report = entry.get("report")
            outcomes[index] = StepOutcome("report", data=report if isinstance(report, dict)
                                          else {"failure": "malformed report"})
        else:
            outcomes[index] = StepOutcome(kind, str(entry.get("message", "")))
    return outcomes


def grade_on_cluster(grader, notebooks: dict, scheduler: str, progress: bool = True,
                     on_grade=None, client=None, tls: dict | None = None) -> dict:
    """Grade ``notebooks`` (student -> path) on the Dask cluster at ``scheduler``.

    ``tls``: the files :func:`cluster_security` takes (``ca_file``, ``cert``, ``key``).
    Returns student -> StudentGrade in the order given.  A student whose task fails on the
    cluster (a worker lost more often than Dask retries) gets rows with status error and
    the reason, as an internal grader error.
    """
    from distributed import Client, as_completed

    from course.grade.grader import StudentGrade
    from course.grade.worker_pool import progress_bar

    own_client = client is None
    if client is None:
        client = Client(scheduler, timeout="60s",
                        security=cluster_security(scheduler, **(tls or {})))
    job = job_for(grader)
    max_bytes = grader.config.file_size_limit_mb * 2**20
    results, pending = {}, {}
    bar = progress_bar(len(notebooks), progress, f"grading {grader.assignment.name} on "
                                                 f"{scheduler}")
    run_id = uuid.uuid4().hex[:8]

    def finish(grade) -> None:
        results[grade.student] = grade
        if on_grade is not None:
            on_grade(grade)
        bar.set_postfix_str(f"{grade.student}: {grade.points:g}/{grade.max_points:g}",
                            refresh=False)
        bar.update(1)

    try:
        for student, path in notebooks.items():
            plan = grader.plan(student, path)  # here: only the steps travel
            if isinstance(plan, StudentGrade):
                finish(plan)  # no readable notebook
                continue
            future = client.submit(run_steps, job, plan.steps, pure=False,
                                   key=f"grade-{run_id}-{len(pending)}")
            pending[future] = plan
        for future in as_completed(list(pending)):
            plan = pending.pop(future)
            try:
                grade = _judged(grader, plan, future.result(), max_bytes)
                grade = grader.settle_devices(grade, lambda cpu: _graded_again(
                    client, cpu, plan.student, notebooks[plan.student], max_bytes,
                    f"grade-{run_id}-cpu-{plan.student}"))
            except Exception as error:  # noqa: BLE001 - the cluster failed, not the student
                grade = grader.internal_error(plan.student, error, "cluster")
            finish(grade)
    finally:
        bar.close()
        try:  # the warm workers this run started on the cluster: stopped, folders removed
            from course.grade.warm_worker import stop_all

            client.run(stop_all)
        except Exception:  # noqa: BLE001 - a worker that is gone has nothing left to stop
            pass
        if own_client:
            client.close()
    return {student: results[student] for student in notebooks}


def _judged(grader, plan, remote: dict, max_bytes: int):
    """The grade of one submission from what its task on the cluster returned."""
    return grader.judge(plan, outcomes_from(remote["outcomes"], max_bytes),
                        float(remote.get("seconds", 0.0)), str(remote.get("output", "")),
                        remote.get("startup_failure") and str(remote["startup_failure"]))


def _graded_again(client, grader, student: str, path, max_bytes: int, key: str):
    """``student`` graded by ``grader`` (the device policy's CPU pass) on the cluster, in a
    fresh student process there; waits for it."""
    from course.grade.grader import StudentGrade

    plan = grader.plan(student, path)
    if isinstance(plan, StudentGrade):
        return plan
    future = client.submit(run_steps, job_for(grader), plan.steps, pure=False, key=key)
    return _judged(grader, plan, future.result(), max_bytes)
