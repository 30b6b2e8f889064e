"""``make bench-scale``: every TA command on a synthetic class of 20, 200 and 1,000 students,
in seconds per student, with the grader's peak memory (prints figures; a benchmark, not a
test).

    python -m course.bench.scale --sizes 20,200,1000 [--max "nbgrader autograde=200" ...]

It builds the largest class once (:mod:`course.bench.synthetic`: honest and wrong answers,
copied pairs, names and layouts varied) and, for each size, a scratch copy of the course
whose ``submitted/`` holds that many of its students (the class of 200 is the first 200 of
the class of 1,000).  On each it runs, as a TA would and in this order, with the same seeds:

==================== ============================================================
``make grade``       ``pytest grader_tests`` (make grade's command), one warm
                     worker per core
``make export``      ``python -m course.export``: the grade sheet and gradebook.db
                     -> the LMS and Canvas files
``nbgrader autograde`` the course's nbgrader autograde (the engine), --force
``make feedback``    ``nbgrader generate_feedback`` (after nbgrader autograde)
``make autograde``   ``python -m course.autograde`` (make autograde's program)
``make similarity``  ``python -m course.similarity`` (the fingerprint index); at
                     ``--pairs-check`` students (200) also ``--method all-pairs``,
                     and whether both report the same pairs
==================== ============================================================

A command runs only at the sizes up to its ``--max`` (``--max "make autograde=1000"``); a
size it skips is shown as ``-``.  By default (:data:`DEFAULT_MAX`) nbgrader autograde,
make feedback and make autograde stop at 200: at their 1.3, 0.4 and 2.6 s a student they
alone would take 75 minutes at 1,000, where the default run takes about 25 minutes on an
idle 2-core machine (the run prints its own estimate first).  ``--commands`` runs some of
the commands only: their 1,000-student figures are a second run,
``--sizes 200,1000 --commands "nbgrader autograde,make feedback" --max "nbgrader
autograde=1000" --max "make feedback=1000"`` (about 35 minutes).  Each command's wall
clock is divided by the class size.  Memory is read from ``/proc`` five times a second over the command's process tree:
*grader* is the peak resident memory (``VmHWM``, the kernel's own high-water mark, so no
peak between two readings is missed) of the grading process itself, the outermost Python
process of the command (pytest for make grade, nbgrader, the autograde or similarity
program), not its warm workers or student processes; *all* is the largest sum of resident
memory over every process of the tree at one reading (shared pages counted once per
process).

The targets (on the 2-core machine): per student, the largest class within 1.25x of the
next size for every grading and export command (linear); the grader's peak memory within
1.5x between them; make similarity on the largest class under 2 minutes; the same pairs as
the all-pairs method at ``--pairs-check`` students.  Every student's autograded total must
agree between make grade, nbgrader autograde and make autograde.  Timings are wall clock
on whatever else the machine does: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from course.bench import grading_speed as speed
from course.bench import synthetic
from course.config import ROOT

ASSIGNMENT = synthetic.ASSIGNMENT
SIZES = (20, 200, 1000)
PAIRS_CHECK = 200
COMMANDS = ("make grade", "make export", "nbgrader autograde", "make feedback",
            "make autograde", "make similarity")
LINEAR = ("make grade", "make export", "nbgrader autograde", "make feedback",
          "make autograde")  # grading and export commands: per student flat
GRADERS = ("make grade", "nbgrader autograde", "make autograde")  # memory flat
SAMPLE_S = 0.2
DEFAULT_MAX = {"nbgrader autograde": 200, "make feedback": 200, "make autograde": 200}


# --------------------------------------------------------------------------- measuring


def _children(pid: int) -> list[int]:
    found = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as handle:
                found += [int(child) for child in handle.read().split()]
        except (OSError, ValueError):
            continue
    return found


def process_tree(root: int) -> list[tuple[int, int]]:
    """(pid, depth) of ``root`` and every process below it."""
    tree, todo = [], [(root, 0)]
    while todo:
        pid, depth = todo.pop()
        tree.append((pid, depth))
        todo += [(child, depth + 1) for child in _children(pid)]
    return tree


def memory_kb(pid: int) -> tuple[int, int]:
    """(resident, peak resident) KiB of ``pid`` from /proc/<pid>/status; (0, 0) when gone."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key = line.split(maxsplit=1)[0] if line.strip() else ""
                if key in values:
                    values[key] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return values["VmRSS:"], values["VmHWM:"]


def is_python(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            first = handle.read().split(b"\0", 1)[0]
    except OSError:
        return False
    return os.path.basename(first).startswith(b"python")


class Sampler:
    """Samples a process tree's memory until stopped: the grader's (outermost Python
    process) peak and the tree's largest total."""

    def __init__(self, root: int):
        self.root, self.tree_kb = root, 0
        self.seen: dict[int, tuple[int, int]] = {}  # python pid -> (depth, peak KiB)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for pid, depth in process_tree(self.root):
                rss, peak = memory_kb(pid)
                total += rss
                if pid in self.seen or is_python(pid):
                    self.seen[pid] = (depth, max(peak, self.seen.get(pid, (0, 0))[1]))
            self.tree_kb = max(self.tree_kb, total)
            self.stop.wait(SAMPLE_S)

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join()
        if not self.seen:
            return {"grader_kb": 0, "tree_kb": self.tree_kb}
        top = min(depth for depth, _ in self.seen.values())
        grader = max(peak for depth, peak in self.seen.values() if depth == top)
        return {"grader_kb": grader, "tree_kb": self.tree_kb}


def timed(command: list[str], cwd: Path, log: Path) -> dict:
    """Run ``command`` (output to ``log``): wall seconds, exit status, memory."""
    started = time.monotonic()
    with open(log, "w") as handle:
        handle.write(f"$ {' '.join(map(str, command))}  (in {cwd})\n")
        handle.flush()
        proc = subprocess.Popen(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                env=speed.venv_environment())
        sampler = Sampler(proc.pid)
        proc.wait()
    return {"seconds": time.monotonic() - started, "returncode": proc.returncode,
            "log": str(log), **sampler.finish()}


# --------------------------------------------------------------------------- the commands


def commands(course: Path, n: int, seeds: list[int], workers: int) -> dict[str, tuple]:
    """command name -> (argv, cwd) on the scratch course of ``n`` students."""
    python, nbgrader = sys.executable, str(Path(sys.executable).with_name("nbgrader"))
    grades = course / "grades"
    autograde = speed.autograde_commands(course, seeds, workers)
    return {
        "make grade": (speed.grade_command(course, workers, seeds, "cpu", grades), ROOT),
        "make export": ([python, "-m", "course.export", ASSIGNMENT, "--grades-dir", str(grades),
                         "--source", str(course / "source"),
                         # make grade's gradebook: with a --grades-dir of its own, the
                         # run records in that folder's gradebook.db (course.grade.run)
                         "--gradebook", str(grades / "gradebook.db")], course),
        "nbgrader autograde": (autograde["engine"], course),
        "make feedback": ([nbgrader, "generate_feedback", ASSIGNMENT, "--force"], course),
        "make autograde": (autograde["parallel"], course),
        "make similarity": (similarity_command(course, "index"), course),
    }


def similarity_command(course: Path, method: str) -> list[str]:
    return [sys.executable, "-m", "course.similarity", ASSIGNMENT,
            "--submissions", str(course / "submitted"), "--release", str(ROOT / "release"),
            "--out", str(course / f"similarity-{method}"), "--method", method, "--no-progress"]


def top_pairs(folder: Path) -> list[tuple]:
    """The rows of a similarity CSV: question, rank, the pair, its similarity."""
    with open(folder / f"{ASSIGNMENT}.csv", newline="") as handle:
        return [(r["question"], r["rank"], r["student_a"], r["student_b"], r["similarity"])
                for r in csv.DictReader(handle)]


def totals_after(name: str, course: Path) -> dict | None:
    """student -> autograded total, as grading command ``name`` just left them on disk
    (None for the other commands)."""
    if name == "make grade":
        return speed.grade_totals(course / "grades")
    if name in ("nbgrader autograde", "make autograde"):
        return speed.stock_totals(course)
    return None


def run_size(course: Path, n: int, seeds: list[int], workers: int, caps: dict,
             pairs_check: int, chosen=COMMANDS) -> tuple[dict, list[str]]:
    """Every command on the scratch course of ``n`` students: name -> figures; and
    what the checks found (the paths' totals, the all-pairs comparison)."""
    results, notes, found = {}, [], {}
    for name, (argv, cwd) in commands(course, n, seeds, workers).items():
        if n > caps.get(name, n) or name not in chosen:
            continue
        if name == "make feedback" and "nbgrader autograde" not in results:
            continue  # feedback is made from nbgrader autograde's notebooks
        results[name] = timed(argv, cwd, course / f"{name.replace(' ', '-')}.log")
        entry = results[name]
        status = ("" if entry["returncode"] == 0
                  else f"  EXIT {entry['returncode']}: see {entry['log']}")
        print(f"  [{n}] {name}: {entry['seconds']:.1f} s "
              f"({entry['seconds'] / n:.3f} s/student){status}", flush=True)
        if entry["returncode"] == 0 and totals_after(name, course) is not None:
            found[name] = totals_after(name, course)
    if n == pairs_check and "make similarity" in results:
        entry = timed(similarity_command(course, "all-pairs"), course,
                      course / "make-similarity-all-pairs.log")
        same = (top_pairs(course / "similarity-index")
                == top_pairs(course / "similarity-all-pairs"))
        results["all-pairs similarity"] = entry
        notes.append(f"make similarity at {n}: the index "
                     f"{results['make similarity']['seconds']:.1f} s, all pairs "
                     f"{entry['seconds']:.1f} s; the same pairs reported: "
                     f"{'yes' if same else 'NO'}")
        print(f"  [{n}] all-pairs similarity: {entry['seconds']:.1f} s; same pairs: {same}",
              flush=True)
    notes.append(agreement(n, found))
    return results, notes


def agreement(n: int, found: dict) -> str:
    """Whether every student's total is the same from every grading command that ran."""
    if len(found) < 2:
        return f"class of {n}: one grading command ran; no totals to compare"
    students = sorted(set().union(*found.values()))
    differ = [s for s in students if len({paths.get(s) for paths in found.values()}) != 1]
    if differ:
        return (f"class of {n}: totals DISAGREE for {len(differ)} students between "
                f"{', '.join(found)} (e.g. {differ[:3]})")
    return f"class of {n}: all {len(students)} students' totals agree between {', '.join(found)}"


# --------------------------------------------------------------------------- report


def table(sizes: list[int], results: dict) -> list[str]:
    """Command x class size: seconds per student, the grader's peak memory, all processes."""
    head = "".join(f"{f'{n} students':>30}" for n in sizes)
    lines = [f"{'command':<22}{head}",
             f"{'':<22}" + "".join(f"{'s/student  grader / all MiB':>30}" for _ in sizes)]
    for name in (*COMMANDS, "all-pairs similarity"):
        cells = []
        for n in sizes:
            entry = results.get(n, {}).get(name)
            if entry is None:
                cells.append(f"{'-':>30}")
                continue
            flag = "" if entry["returncode"] == 0 else "!"
            cells.append(f"{entry['seconds'] / n:>11.3f}{flag:1}"
                         f"{entry['grader_kb'] / 1024:>9.0f} / {entry['tree_kb'] / 1024:<6.0f}")
        if any(c.strip() != "-" for c in cells):
            lines.append(f"{name:<22}" + "".join(cells))
    return lines


def targets(sizes: list[int], results: dict) -> list[str]:
    """The issue's targets against these figures."""
    lines = []
    for name in COMMANDS:
        ran = [n for n in sizes if name in results.get(n, {})]
        if len(ran) < 2:
            continue
        small, large = ran[-2], ran[-1]
        a, b = results[small][name], results[large][name]
        if name in LINEAR:
            ratio = (b["seconds"] / large) / (a["seconds"] / small)
            lines.append(f"  {name}: per student at {large} over {small}: {ratio:.2f}x "
                         f"(target <= 1.25: {'met' if ratio <= 1.25 else 'NOT met'})")
        if name in GRADERS and a["grader_kb"]:
            ratio = b["grader_kb"] / a["grader_kb"]
            lines.append(f"  {name}: grader's peak memory at {large} over {small}: "
                         f"{ratio:.2f}x (target <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})")
    largest = max((n for n in sizes if "make similarity" in results.get(n, {})), default=None)
    if largest:
        seconds = results[largest]["make similarity"]["seconds"]
        lines.append(f"  make similarity at {largest}: {seconds:.1f} s (target < 120 s: "
                     f"{'met' if seconds < 120 else 'NOT met'})")
    return lines


def estimate(sizes: list[int], caps: dict, chosen=COMMANDS) -> str:
    """A rough run time on the 2-core development machine, idle: seconds per student each
    command took there (make grade 0.2, nbgrader autograde 1.3, make autograde 2.6,
    feedback 0.4, export and similarity a few hundredths), plus start-up."""
    per = {"make grade": 0.2, "make export": 0.01, "nbgrader autograde": 1.3,
           "make feedback": 0.4, "make autograde": 2.6, "make similarity": 0.05}
    seconds = sum(per[name] * n + 10 for name in chosen for n in sizes
                  if n <= caps.get(name, n))
    return f"{seconds / 60:.0f} min"


# --------------------------------------------------------------------------- command


def parse_caps(values: list[str]) -> dict:
    """["nbgrader autograde=1000", ...] -> :data:`DEFAULT_MAX` with
    {"nbgrader autograde": 1000}."""
    caps = dict(DEFAULT_MAX)
    for value in values:
        name, _, size = value.rpartition("=")
        if name.strip() not in COMMANDS or not size.strip().isdigit():
            raise SystemExit(f"--max {value!r}: expected COMMAND=SIZE, COMMAND one of "
                             f"{', '.join(COMMANDS)}")
        caps[name.strip()] = int(size)
    return caps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.bench.scale",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="class sizes, comma-separated (default 20,200,1000)")
    parser.add_argument("--max", action="append", default=[], metavar="COMMAND=SIZE",
                        help="the largest class COMMAND runs on, e.g. 'make autograde=1000' "
                             "(repeatable; default: 200 for nbgrader autograde, make "
                             "feedback and make autograde)")
    parser.add_argument("--commands", default=",".join(COMMANDS),
                        help="the commands to time, comma-separated (default: all)")
    parser.add_argument("--pairs-check", type=int, default=PAIRS_CHECK,
                        help="the size at which make similarity is checked against all "
                             "pairs (default 200; 0: never)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the scratch courses here and keep them")
    args = parser.parse_args(argv)
    from course.grade.grader import draw_seeds

    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    caps = parse_caps(args.max)
    chosen = [c.strip() for c in args.commands.split(",") if c.strip()]
    if set(chosen) - set(COMMANDS):
        parser.error(f"--commands: unknown {sorted(set(chosen) - set(COMMANDS))}; the "
                     f"commands are {', '.join(COMMANDS)}")
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    print(f"make bench-scale: classes of {', '.join(map(str, sizes))} students of "
          f"{ASSIGNMENT}, {os.cpu_count()} cores, {args.workers} workers, load average "
          f"{speed.load()} at the start; about {estimate(sizes, caps, chosen)} on an idle 2-core "
          f"machine; scratch {scratch}", flush=True)
    started = time.monotonic()
    pool = scratch / "pool"
    kinds = synthetic.build(pool, max(sizes), ROOT / "source")
    print(f"built the class of {len(kinds)} in {time.monotonic() - started:.0f} s: "
          f"{sum(k == 'honest' for k in kinds.values())} honest, "
          f"{sum(k.startswith('copy of') for k in kinds.values())} copies of another "
          f"student, the others with wrong or missing answers", flush=True)
    seeds = draw_seeds(2)
    results, notes = {}, []
    for n in sizes:
        course = speed.scratch_course(scratch / f"course-{n}")
        speed.generate(course)
        synthetic.subset(pool, course / "submitted", list(kinds)[:n])
        results[n], found = run_size(course, n, seeds, args.workers, caps, args.pairs_check,
                                     chosen)
        notes += found
    lines = ["", f"seconds per student and peak memory (MiB: the grader process / all its "
                 f"processes), seeds {seeds}:"]
    lines += table(sizes, results)
    lines += ["", "targets:"] + targets(sizes, results) + ["", "checks:"]
    lines += [f"  {note}" for note in notes]
    lines.append(f"\ndone in {(time.monotonic() - started) / 60:.1f} min; load average at "
                 f"the end: {speed.load()}; logs in {scratch}/course-<n>/")
    print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
