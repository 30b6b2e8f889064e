"""``make bench``: how fast a class is graded, by each path, on this machine (prints figures).

One job (the benchmark, from building its class to printing its figures), in one module.

In a scratch copy of the course it

1. runs ``make release``'s first step, executing every source notebook with its solutions
   (:func:`course.release.execute.execute_notebook`), and prints each notebook's end-to-end time;
2. builds a class of ``--students`` submissions (default 20) of the core assignment from
   its source notebook: every other student correct, the others each with a realistic
   wrong answer (a broadcasting MSE, a variance-scaled init, early stopping on ties, ...,
   the fixture class's wrong code in tests/grading/fixture_class.py), complete notebooks
   with their training runs and plots;
3. grades it with ``nbgrader autograde`` the way it ran before the grading engine: serial,
   every notebook top to bottom in the sandboxed kernel, checks included (the *kernel
   path*, :class:`course.autograde.preprocessors.SandboxedExecute` in place of the course's
   ``EngineExecute``: the baseline every ratio is against); then with the course's
   ``nbgrader autograde`` (the grading engine, demo cells skipped: the default), with
   ``make autograde`` (warm workers grade, nbgrader's step written in the same process),
   and with ``make grade``
   with 1 worker and with one worker per core (same seeds for all), ``--rounds`` times
   each, alternating, each command under a small wrapper that records the peak memory of
   the largest process it started;
4. prints seconds per student for each path, the ratios, peak memory, the targets
   (``make autograde`` against plain ``nbgrader autograde`` and against ``make grade``
   with as many workers), and whether every student's autograded total agrees between
   all the runs.

Two workers are compared with one by their *grading rate*: students per second once the
workers are warm, each worker counted from its warm-up to its last student.  That is the
pace at which a class of hundreds is graded; a run's start-up (Python, pytest, torch in
every process: a few seconds, the same with any number of workers) is printed beside it,
with the end-to-end ratio for the benchmark's class and one projected for a class of 300.

The timings are wall clock on whatever else the machine is doing: the load average at the
start and the end is printed with them.  Ratios are measured in the same run.  A shared
virtual machine's speed drifts from minute to minute, so ``make grade`` is timed in rounds
(1 worker then N, then N then 1, ...).  The table shows each path's best round, as
``timeit`` shows its fastest repeat; the target compares the two paths by the median over
rounds of each round's ratio, whose two runs were made back to back (a drift between
rounds cancels; one odd round does not decide).  Every round's ratio is printed too.

Usage: python -m course.bench [--students N] [--workers N] [--rounds R] [--keep DIR]
[--skip-notebooks] [--skip-stock] [--skip-autograde]
(run from the repository root: it reuses the test suite's submission builder).
``make bench`` passes ``BENCH_N`` as ``--students``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course.config import ROOT

ASSIGNMENT = "hw4_pytorch_regularization"
CLASS_SIZE = 300  # the class a TA grades: the figure the start-up matters least in
COURSE_FILES = ("source", "support", "nbgrader_config.py", "pyproject.toml")
# nbgrader autograde before the grading engine: every cell, checks too, in the kernel
KERNEL_PATH = ["course.autograde.preprocessors.SandboxedExecute", "nbgrader.preprocessors.IgnorePattern",
               "nbconvert.preprocessors.ClearMetadataPreprocessor",
               "nbgrader.preprocessors.LimitOutput", "nbgrader.preprocessors.SaveAutoGrades",
               "nbgrader.preprocessors.AssignLatePenalties",
               "nbgrader.preprocessors.CheckCellMetadata"]


# --------------------------------------------------------------------------- the class


def variants() -> list[tuple[str, dict]]:
    """Realistic wrong answers (name, make_submission patches), one per wrong student."""
    from tests.grading import fixture_class as fc

    return [
        ("mse_broadcast", {"replace": {"mse_loss": fc.MSE_BROADCAST}}),
        ("kaiming_variance", {"replace": {"linear_kaiming": fc.KAIMING_VARIANCE_SQUARED}}),
        ("early_stop_on_ties", {"replace": {
            "gradient_descent_early_stopping": fc.EARLY_STOP_ON_TIES}}),
        ("normal_uniform", {"replace": {"linear_normal": fc.NORMAL_UNIFORM}}),
        ("gd_no_zero_grad", {"replace": {"gradient_descent": fc.GD_WITHOUT_ZERO_GRAD}}),
        ("mse_sum", {"replace": {"mse_loss": fc.MSE_SUM}}),
        ("unanswered", {"stub": True}),
        ("three_wrong", {"replace": {"mse_loss": fc.MSE_BROADCAST,
                                     "linear_kaiming": fc.KAIMING_VARIANCE_SQUARED,
                                     "gradient_descent_early_stopping": fc.EARLY_STOP_ON_TIES}}),
    ]


def build_class(course: Path, count: int) -> dict[str, str]:
    """Write ``count`` submissions into ``course/submitted``; returns student -> variant."""
    from tests.submissions import make_submission, write_submission

    wrong = variants()
    students = {}
    for index in range(count):
        name, patches = ("correct", {}) if index % 2 == 0 else wrong[(index // 2) % len(wrong)]
        student = f"s{index:03d}_{name}"
        nb = make_submission(ASSIGNMENT, source_root=course / "source", **patches)
        write_submission(course / "submitted", student, ASSIGNMENT, nb)
        students[student] = name
    return students


def scratch_course(course: Path) -> Path:
    """A fresh copy of the course's files (:data:`COURSE_FILES`) at ``course``."""
    shutil.rmtree(course, ignore_errors=True)
    course.mkdir(parents=True)
    for name in COURSE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, course / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, course / name)
    return course


# --------------------------------------------------------------------------- measuring


def measured(command: list[str], cwd: Path, log: Path) -> dict:
    """Run ``command`` under this module's ``--measure`` wrapper: wall seconds, exit code,
    and the peak resident memory of its largest process and of all its processes together
    (sampled twice a second from /proc: sandboxed processes live in pid namespaces that
    rusage does not see into)."""
    wrapper = [sys.executable, "-m", "course.bench", "--measure", "--", *command]
    started = time.monotonic()
    with open(log, "w") as handle:
        result = subprocess.run(wrapper, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                env=venv_environment())
    seconds = time.monotonic() - started
    peaks = {"peak_rss_kb": 0, "tree_rss_kb": 0}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("BENCH-PEAK-RSS-KB "):
            _, largest, tree = line.split()
            peaks = {"peak_rss_kb": int(largest), "tree_rss_kb": int(tree)}
    return {"seconds": seconds, "returncode": result.returncode, "log": str(log), **peaks}


def _tree_rss_kb(root: int) -> tuple[int, int]:
    """(largest process, sum over processes) resident KiB of ``root`` and its descendants."""
    from course.sandbox.meters import descendants, resident_pages

    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    sizes = [resident_pages(pid) * page_kb for pid in descendants(root)]
    return max(sizes, default=0), sum(sizes)


def _measure(command: list[str]) -> int:
    proc = subprocess.Popen(command)
    largest = total = 0
    while proc.poll() is None:
        one, every = _tree_rss_kb(proc.pid)
        largest, total = max(largest, one), max(total, every)
        time.sleep(0.5)
    largest = max(largest, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"BENCH-PEAK-RSS-KB {largest} {total}", flush=True)
    return proc.returncode


SPIN = "import time\nt = time.perf_counter()\nfor i in range(15_000_000): pass\n" \
       "print(time.perf_counter() - t)"


def cpu_scaling(count: int, rounds: int = 3) -> float:
    """The most that ``count`` workers can gain over one on this machine now: the throughput
    of ``count`` copies of a CPU-bound loop run at once over that of one copy run alone,
    each the best of ``rounds`` tries (as the grading paths count their best round).  A
    virtual machine's cores are not always whole cores (a host's hyper-threads, other
    tenants), so this ceiling is measured, not assumed."""
    alone, together = [], []
    for _ in range(rounds):
        alone.append(_spin_seconds(1)[0])
        spins = _spin_seconds(count)
        together.append(sum(spins) / count)
    return count * min(alone) / min(together)


def _spin_seconds(count: int) -> list[float]:
    procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True)
             for _ in range(count)]
    return [float(proc.communicate()[0]) for proc in procs]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min: {five:.1f})"


# --------------------------------------------------------------------------- the paths


def execute_sources(course: Path) -> dict[str, dict]:
    """Each source notebook executed end to end (course/release/execute.py): seconds or the error."""
    from course.config import assignments
    from course.release.execute import SourceNotebookError, execute_notebook

    times = {}
    for name in assignments(course):
        path = course / "source" / name / f"{name}.ipynb"
        started = time.monotonic()
        try:
            _, durations = execute_notebook(path)
            times[name] = {"cells": sum(durations.values()),
                           "wall": time.monotonic() - started,
                           "slowest": max(durations.values(), default=0.0)}
        except SourceNotebookError as error:
            times[name] = {"error": str(error)[-300:], "wall": time.monotonic() - started}
        print(f"  {name}: {_format_notebook(times[name])}", flush=True)
    return times


def _format_notebook(entry: dict) -> str:
    if "error" in entry:
        return f"FAILED after {entry['wall']:.1f} s: {entry['error']}"
    return (f"{entry['wall']:.1f} s end to end ({entry['cells']:.1f} s in cells, slowest "
            f"cell {entry['slowest']:.1f} s)")


def generate(course: Path) -> None:
    nbgrader = Path(sys.executable).with_name("nbgrader")
    subprocess.run([str(nbgrader), "generate_assignment", ASSIGNMENT, "--force",
                    "--log-level=WARN"], cwd=course, check=True, env=venv_environment())


def venv_environment() -> dict:
    """This environment with the venv's scripts first on PATH (nbgrader runs ``alembic`` by
    name), as the Makefile sets it: ``python -m course.bench`` works outside ``make`` too."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}


def stock_totals(course: Path) -> dict[str, float]:
    """student -> autograded points in nbgrader's gradebook (test and graded code cells)."""
    from course.config import nbgrader_setting
    from course.autograde.parallel import gradebook_scores

    course_id = nbgrader_setting("CourseDirectory", "course_id", course) or "default_course"
    table = gradebook_scores(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT, course_id)
    # auto_score is set on autograded cells only (None on manually graded answers)
    return {student: sum(values[0] or 0.0 for (_, _, kind), values in cells.items()
                         if kind == "grade")
            for student, cells in table.items()}


def autograde_commands(course: Path, seeds: list[int], cores: int) -> dict[str, list[str]]:
    """The nbgrader paths: the kernel path (the baseline), the engine's ``nbgrader
    autograde`` and ``make autograde``'s program (same seeds)."""
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    same_seeds = f"--EngineExecute.seeds={list(seeds)}"
    return {
        "stock": [nbgrader, "autograde", ASSIGNMENT, "--force",
                  f"--Autograde.autograde_preprocessors={KERNEL_PATH}"],
        "engine": [nbgrader, "autograde", ASSIGNMENT, "--force", same_seeds],
        "parallel": [sys.executable, "-m", "course.autograde", ASSIGNMENT,
                     "--root", str(course), "--workers", str(cores), "--force",
                     "--seeds", ",".join(map(str, seeds))],
    }


def grade_command(course: Path, workers: int, seeds: list[int], device: str,
                  grades: Path) -> list[str]:
    extra = (f"--grades-dir {grades} --source {course / 'source'} "
             f"--seeds {','.join(map(str, seeds))} -q -p no:cacheprovider")
    return ["make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed", "grade",
            f"ASSIGNMENT={ASSIGNMENT}", f"SUBMISSIONS={course / 'submitted'}",
            f"DEVICE={device}", f"WORKERS={workers}", f"GRADE_ARGS={extra}"]


def grade_totals(grades: Path) -> dict[str, float]:
    from course.grade.reports import read_csv

    totals: dict[str, float] = {}
    for row in read_csv(grades / f"{ASSIGNMENT}.csv"):
        totals[row["student_id"]] = totals.get(row["student_id"], 0.0) + float(row["points"])
    return totals


def best(entries: list[dict]) -> dict:
    """The fastest of one path's rounds: by its grading rate, else by wall clock."""
    return max(entries, key=lambda e: (rate(e), -e["seconds"]))


def grading_seconds(entry: dict) -> float:
    """A make grade run's grading phase (first warm worker to last student), or 0."""
    return entry.get("info", {}).get("workers", {}).get("grading_seconds", 0.0)


def run_info(grades: Path) -> dict:
    path = grades / f"{ASSIGNMENT}-run.json"
    return json.loads(path.read_text()) if path.exists() else {}


# --------------------------------------------------------------------------- report


def mib(kb: float) -> str:
    return f"{kb / 1024:.0f} MiB"


def report(n: int, results: dict, totals: dict, notebooks: dict, cores: int) -> list[str]:
    lines = ["", "source notebooks, executed end to end with their solutions "
                 "(course/release/execute.py):"]
    lines += [f"  {name}: {_format_notebook(entry)}" for name, entry in notebooks.items()]
    stock = results.get("stock")
    lines += ["", f"grading {n} submissions of {ASSIGNMENT} (nbgrader with the course's "
                  f"nbgrader_config.py, make grade with its sandbox, as configured):",
              f"  {'path':<34}{'wall s':>9}{'s/student':>11}{'vs kernel':>10}  peak memory"]
    rounds = len((results.get("grade1") or {}).get("rounds", ()))
    if rounds > 1:
        lines.insert(-1, f"  (make grade: the best of {rounds} rounds, by grading rate)")
    for key, label in (("stock", "nbgrader autograde, kernel path"),
                       ("engine", "nbgrader autograde (engine)"),
                       ("parallel", f"make autograde WORKERS={cores}"),
                       ("grade1", "make grade WORKERS=1"),
                       (f"grade{cores}", f"make grade WORKERS={cores}")):
        entry = results.get(key)
        if not entry:
            continue
        per = entry["seconds"] / n
        ratio = f"{stock['seconds'] / entry['seconds']:.1f}x" if stock else "-"
        memory = (f"largest process {mib(entry['peak_rss_kb'])}, all processes "
                  f"{mib(entry['tree_rss_kb'])}")
        workers = entry.get("info", {}).get("workers")
        if workers:
            memory += (f"; per worker: warm worker {mib(workers['zygote_peak_rss_kb'])}, "
                       f"student process {mib(workers['child_peak_rss_kb'])} (most of it "
                       f"shared with the warm worker: RSS counts shared pages in both)")
        status = "" if entry["returncode"] == 0 else f"  (exit {entry['returncode']})"
        lines.append(f"  {label:<34}{entry['seconds']:>9.1f}{per:>11.2f}{ratio:>10}  "
                     f"{memory}{status}")
        for error in (workers or {}).get("prestart_errors", ()):
            lines.append(f"    WARNING: a worker warmed up at its first student, inside the "
                         f"grading phase ({error})")
    one, many = results.get("grade1"), results.get(f"grade{cores}")
    if one and many and rate(one) and rate(many):
        w1, wn = one["info"]["workers"], many["info"]["workers"]
        lines += [
            f"  {cores} workers over 1, end to end: {one['seconds'] / many['seconds']:.2f}x",
            f"  grading phase (first warm worker to last student; pytest start-up, imports "
            f"and warm-up excluded): 1 worker {grading_seconds(one) / n:.3f} s/student, "
            f"{cores} workers {grading_seconds(many) / n:.3f} s/student: "
            f"{grading_seconds(one) / grading_seconds(many):.2f}x; warm-up "
            f"{w1['warmup_seconds']:.1f} s / {wn['warmup_seconds']:.1f} s",
            f"  grading rate (students per second, each worker counted from its warm-up to "
            f"its last student): 1 worker {rate(one):.2f}, {cores} workers {rate(many):.2f}: "
            f"{rate(many) / rate(one):.2f}x (busy seconds: 1 worker {_seconds(w1)}, "
            f"{cores} workers {_seconds(wn)})"]
        if len(one.get("rounds", ())) > 1:
            lines.append(f"  grading rate, {cores} workers over 1, round by round: "
                         + ", ".join(f"{r:.2f}x" for r in round_ratios(one, many)))
        lines.append(f"  a class of {CLASS_SIZE}, projected (start-up + {CLASS_SIZE} students "
                     f"at the grading rate): 1 worker {projected(one) / 60:.1f} min, "
                     f"{cores} workers {projected(many) / 60:.1f} min")
        if stock:
            lines.append(f"  kernel path over make grade's grading phase with {cores} workers: "
                         f"{stock['seconds'] / grading_seconds(many):.1f}x")
    lines += targets(results, cores)
    lines += ["", "autograded totals per student:"]
    students = sorted(set().union(*[set(t) for t in totals.values()])) if totals else []
    disagree = []
    for student in students:
        values = {path: totals[path].get(student) for path in totals}
        if len({v for v in values.values()}) != 1:
            disagree.append(f"  {student}: " + ", ".join(f"{p} {v}" for p, v in values.items()))
    if disagree:
        lines += [f"  DISAGREE for {len(disagree)} of {len(students)} students:"] + disagree
    else:
        lines.append(f"  all {len(students)} students agree between "
                     f"{', '.join(totals)} (total {sum(next(iter(totals.values())).values()):g}"
                     f" points over the class)")
    return lines


def rate(entry: dict) -> float:
    """Students graded per second by a make grade run's workers together, each counted from
    its warm-up to its last student (``busy_seconds``): the pace a class is graded at, without
    the run's start-up, the workers' staggered warm-ups, or the last student's tail (one
    worker idle while another finishes), which a larger class pays no more of.  0 when
    unknown."""
    workers = entry.get("info", {}).get("workers", {})
    busy = workers.get("busy_seconds")
    if not busy or not sum(busy):
        return 0.0
    return workers["students"] / (sum(busy) / len(busy))


def round_ratios(one: dict, many: dict) -> list[float]:
    """Each round's grading rate with many workers over that with 1 (paired in order)."""
    return [rate(b) / rate(a) for a, b in zip(one["rounds"], many["rounds"])
            if rate(a) and rate(b)]


def projected(entry: dict, size: int = CLASS_SIZE) -> float:
    """Seconds to grade ``size`` students: this run's start-up and wrap-up (wall clock minus
    grading phase) plus ``size`` students at its grading rate."""
    return entry["seconds"] - grading_seconds(entry) + size / rate(entry)


def _seconds(workers: dict) -> str:
    return " + ".join(f"{b:.1f}" for b in workers["busy_seconds"])


def targets(results: dict, cores: int) -> list[str]:
    """The issues' targets against this run's figures: the course's nbgrader autograde at
    least 10x faster than the kernel path, make grade with every core at least 30x faster,
    and 2 workers at least 1.8x faster than 1."""
    stock, one, many = results.get("stock"), results.get("grade1"), results.get(f"grade{cores}")
    lines = autograde_targets(results, cores)
    for key, label in (("engine", "nbgrader autograde"),
                       ("parallel", f"make autograde WORKERS={cores}")):
        if stock and results.get(key):
            ratio = stock["seconds"] / results[key]["seconds"]
            lines.append(f"  target: {label} (engine, demo cells skipped) >= 10x faster than "
                         f"the kernel path: {ratio:.1f}x ({'met' if ratio >= 10 else 'NOT met'})")
    if stock and many:
        ratio = stock["seconds"] / many["seconds"]
        lines.append(f"  target: make grade WORKERS={cores} >= 30x faster than the kernel "
                     f"path, end to "
                     f"end: {ratio:.1f}x ({'met' if ratio >= 30 else 'NOT met'})")
    if one and many and cores == 2 and rate(one) and rate(many):
        ratio, how = rate(many) / rate(one), "best rounds"
        if len(round_ratios(one, many)) > 1:  # each round's two runs were made back to back
            ratio = statistics.median(round_ratios(one, many))
            how = f"median of {len(round_ratios(one, many))} rounds"
        lines += [
            f"  target: 2 workers >= 1.8x faster than 1, at the rate a class is graded "
            f"({how}): {ratio:.2f}x ({'met' if ratio >= 1.8 else 'NOT met'})",
            f"    end to end: {one['seconds'] / many['seconds']:.2f}x for these "
            f"{one['info']['workers']['students']} students (a start-up of "
            f"{one['seconds'] - grading_seconds(one):.1f} s / "
            f"{many['seconds'] - grading_seconds(many):.1f} s, paid once per run, does not "
            f"shrink with workers); {projected(one) / projected(many):.2f}x for a class of "
            f"{CLASS_SIZE}, projected"]
        if results.get("ceiling"):
            lines.append(f"  this machine's ceiling now (2 CPU-bound processes at once over "
                         f"1 alone): {results['ceiling']:.2f}x; the grading rate reached "
                         f"{ratio / results['ceiling']:.0%} of it")
    return lines


def autograde_targets(results: dict, cores: int) -> list[str]:
    """Issue 21's targets for ``make autograde`` (end to end, wall clock): at least 1.5x
    faster than plain ``nbgrader autograde`` with the course's configuration, and within
    1.3x of ``make grade`` with as many workers (its best round)."""
    engine, parallel, many = results.get("engine"), results.get("parallel"), \
        results.get(f"grade{cores}")
    lines = []
    if engine and parallel:
        ratio = engine["seconds"] / parallel["seconds"]
        lines.append(f"  target: make autograde WORKERS={cores} >= 1.5x faster than plain "
                     f"nbgrader autograde (the course's config): {ratio:.2f}x "
                     f"({'met' if ratio >= 1.5 else 'NOT met'})")
    if parallel and many:
        ratio = parallel["seconds"] / many["seconds"]
        lines.append(f"  target: make autograde WORKERS={cores} within 1.3x of make grade "
                     f"WORKERS={cores}: {ratio:.2f}x the time "
                     f"({'met' if ratio <= 1.3 else 'NOT met'})")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=int(os.environ.get("BENCH_N", 20)))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="workers of the parallel run (default: the number of cores)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the scratch course here and keep it")
    parser.add_argument("--skip-notebooks", action="store_true",
                        help="do not time the source notebooks")
    parser.add_argument("--skip-stock", action="store_true",
                        help="do not run nbgrader autograde's kernel path (the slow part)")
    parser.add_argument("--skip-autograde", action="store_true",
                        help="do not run the engine's nbgrader autograde and make autograde")
    parser.add_argument("--rounds", type=int, default=5,
                        help="times each make grade path runs, alternating (default 5): "
                             "each counts its best round")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.measure:
        return _measure(rest[1:] if rest[:1] == ["--"] else rest)
    from course.grade.grader import draw_seeds
    import nbgrader  # noqa: F401 - fail early without nbgrader

    scratch = args.keep or Path(tempfile.mkdtemp(prefix="bench-"))
    course = scratch_course(scratch / "course")
    cores, n = args.workers, args.students
    print(f"make bench: {n} submissions of {ASSIGNMENT}, {os.cpu_count()} cores, "
          f"load average {load()} at the start; scratch course {course}", flush=True)
    notebooks = {}
    if not args.skip_notebooks:
        print("executing the source notebooks...", flush=True)
        notebooks = execute_sources(course)
    generate(course)
    released = scratch / "gradebook-released.db"  # the assignment only, as make release leaves it
    shutil.copy2(course / "gradebook.db", released)
    students = build_class(course, n)
    print(f"class: {sum(v == 'correct' for v in students.values())} correct, "
          f"{sum(v != 'correct' for v in students.values())} with wrong answers", flush=True)
    results, totals = {}, {}
    seeds = draw_seeds(2)
    commands = autograde_commands(course, seeds, cores)
    paths = [] if args.skip_autograde else ["engine", "parallel"]
    for key in ([] if args.skip_stock else ["stock"]) + paths:
        print(f"{key} nbgrader autograde...", flush=True)
        results[key] = measured(commands[key], course, scratch / f"{key}.log")
        totals[f"{key} nbgrader"] = stock_totals(course)
        print(f"  {results[key]['seconds']:.1f} s", flush=True)
    runs: dict[int, list] = {workers: [] for workers in dict.fromkeys((1, cores))}
    for round_ in range(1, args.rounds + 1):
        for workers in runs if round_ % 2 else reversed(runs):
            name = f"W={workers}" + (f" #{round_}" if args.rounds > 1 else "")
            print(f"make grade {name}...", flush=True)
            grades = scratch / f"grades-{workers}-{round_}"
            grades.mkdir(parents=True, exist_ok=True)  # make grade records in its gradebook,
            shutil.copy2(released, grades / "gradebook.db")  # as the course's after release
            entry = measured(grade_command(course, workers, seeds, args.device, grades),
                             ROOT, scratch / f"grade-{workers}-{round_}.log")
            entry["info"] = run_info(grades)
            runs[workers].append(entry)
            if (grades / f"{ASSIGNMENT}.csv").exists():
                totals[f"make grade {name}"] = grade_totals(grades)
            print(f"  {entry['seconds']:.1f} s", flush=True)
    for workers, entries in runs.items():
        results[f"grade{workers}"] = {**best(entries), "rounds": entries}
    if cores > 1:
        results["ceiling"] = cpu_scaling(cores)
        print(f"this machine's own scaling, {cores} processes at once: "
              f"{results['ceiling']:.2f}x", flush=True)
    lines = report(n, results, totals, notebooks, cores)
    lines.append(f"\nload average at the end: {load()}; logs in {scratch}")
    print("\n".join(lines), flush=True)
    return 0
