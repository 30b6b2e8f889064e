"""A class graded here by warm workers: :class:`WarmPool` starts the zygotes
(:mod:`course.grade.warm_worker`) in the background as soon as a grading run knows what it grades;
:func:`grade_all` grades a class with one thread per zygote and a progress bar with an ETA
on stderr.  The grades do not depend on the number of workers (the seeds and parameters are
the grader's, drawn once)."""

from __future__ import annotations

import copy
import queue
import sys
import threading
import time

from course.grade.warm_worker import Zygote, student_command


class WarmPool:
    """``count`` warm workers, each starting (importing torch, warming up) in the background
    from the moment the pool is made: a grading run makes it first, and the workers warm up
    while the grader itself imports torch and the checkers.

    ``setup`` gives what a student command depends on: ``config`` (a GradingConfig),
    ``device``, ``sys_path``, and ``assignment.facade`` (a :class:`course.grade.grader.Grader`
    has them all).  A worker that fails to start here is started again, and reported, at its
    first student.
    """

    def __init__(self, setup, count: int, fonts: str | None = None):
        self.zygotes = [Zygote(setup.assignment.facade, setup.sys_path,
                               setup.config.startup_timeout_s) for _ in range(count)]
        self.started = time.monotonic()

        def command(work, out):
            return student_command(setup, work, out)

        def prestart(zygote: Zygote) -> None:
            try:
                zygote.prestart(fonts, command=command)
            except Exception as error:  # noqa: BLE001 - started again at its first student
                zygote.prestart_error = f"{type(error).__name__}: {error}"

        self._threads = [threading.Thread(target=prestart, args=(z,), daemon=True,
                                          name=f"warm-worker-{i}")
                         for i, z in enumerate(self.zygotes)]
        for thread in self._threads:
            thread.start()

    def wait_ready(self, index: int) -> float:
        """Wait until worker ``index`` started (or failed to); seconds since the pool was
        made."""
        self._threads[index].join()
        return time.monotonic() - self.started

    def remove(self) -> None:
        """Stop every worker and remove its folder."""
        for thread in self._threads:
            thread.join()
        for zygote in self.zygotes:
            zygote.remove()


def grade_all(grader, notebooks: dict, workers: int, progress: bool = True,
              on_grade=None, stats: dict | None = None, pool: WarmPool | None = None) -> dict:
    """Grade ``notebooks`` (student -> notebook path) with ``workers`` warm workers (those of
    ``pool`` when given: it is used up, its workers removed at the end).

    Returns student -> StudentGrade, in the order given.  ``on_grade(grade)`` is called as
    each student finishes (from a worker thread, one at a time).  A grader error for one
    student becomes that student's rows (status error) and the class goes on.  ``stats``
    (a dict) receives the run's figures: warm-up and grading seconds, peak memory.
    """
    students = list(notebooks)
    if pool is None:
        workers = max(1, min(workers, len(students) or 1))
        pool = WarmPool(grader, workers, grader.mpl_cache)
    todo: queue.Queue = queue.Queue()
    for student in students:
        todo.put(student)
    results: dict = {}
    lock = threading.Lock()
    stopping = threading.Event()  # interrupted: a student whose workers are being
    #                               stopped under them must not be reported as graded
    bar = progress_bar(len(students), progress, f"grading {grader.assignment.name}")

    warm: list[float] = []  # when each worker was ready, in seconds since the pool was made
    busy: list[float] = []  # each worker's seconds from ready to its last student graded

    def work(index: int, zygote: Zygote) -> None:
        mine = copy.copy(grader)
        mine.launcher, mine.scratch = zygote.launch, zygote.root
        ready = pool.wait_ready(index)  # each worker starts grading as soon as it is warm
        with lock:
            if not warm:
                bar.reset()  # the ETA counts from the first warm worker, not the warm-up
            warm.append(ready)
        while True:
            try:
                student = todo.get_nowait()
            except queue.Empty:
                with lock:
                    busy.append(time.monotonic() - pool.started - ready)
                return
            try:
                grade = mine.grade(student, notebooks[student])
            except Exception as error:  # noqa: BLE001 - a grader bug must not stop the class
                grade = grader.internal_error(student, error)
            with lock:
                if stopping.is_set():
                    return
                results[student] = grade
                if on_grade is not None:
                    on_grade(grade)
                bar.set_postfix_str(f"{student}: {grade.points:g}/{grade.max_points:g}",
                                    refresh=False)
                bar.update(1)

    threads = [threading.Thread(target=work, args=(i, z), daemon=True,
                                name=f"grading-worker-{i}")
               for i, z in enumerate(pool.zygotes[:max(1, len(students))])]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except BaseException:  # Ctrl-C: what is graded is reported; nothing after
        with lock:
            stopping.set()
        raise
    finally:
        bar.close()
        pool.remove()
    ended = time.monotonic() - pool.started
    zygotes = pool.zygotes
    if stats is not None:
        # grading: from the first worker ready to the last student graded (a worker that
        # is ready later joins in then); warm-up: until the last worker was ready
        stats.update({
            "workers": len(threads), "students": len(students),
            "warmup_seconds": max(warm, default=0.0),
            "grading_seconds": ended - min(warm, default=0.0),
            "busy_seconds": sorted(busy),
            "zygote_peak_rss_kb": max(z.peak_rss_kb for z in zygotes),
            "child_peak_rss_kb": max(z.child_peak_rss_kb for z in zygotes),
            "zygote_starts": sum(z.starts for z in zygotes),
            "cold_fallbacks": sum(z.cold_fallbacks for z in zygotes),
            # a worker that could not warm up beforehand warmed up at its first student,
            # inside the grading phase (correct grades, a slower run)
            "prestart_errors": [z.prestart_error for z in zygotes if z.prestart_error],
        })
    return {student: results[student] for student in students}


def progress_bar(total: int, enabled: bool, description: str):
    """A tqdm bar on stderr (students per second and ETA), or one that prints nothing."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="student", file=sys.stderr,
                disable=not enabled, dynamic_ncols=True)
