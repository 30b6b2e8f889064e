"""``make gpu-check``: the CUDA path, run on a GPU machine; prints the device, each step's
time and whether every grade equals the CPU's.

In a scratch folder (``--keep DIR`` keeps it) it runs

1. the suite's CUDA tests: ``pytest -m cuda tests`` (tests/grading/test_grading_cuda.py and
   every test marked ``cuda``);
2. on two classes, the fixture class (tests/grading/fixture_class.py: one student per way a
   submission goes wrong) and the device class (tests/grading/device_class.py: the device
   mistakes students make, their real code): ``make grade DEVICE=cuda``, and for reference
   ``make grade DEVICE=cpu`` with every GPU hidden (``CUDA_VISIBLE_DEVICES=""``: a CPU
   machine), on the same seeds;
3. ``nbgrader autograde`` of each class in a copy of the course (``device = "auto"``: the
   GPU), on the same seeds;
4. ``make bench DEVICE=cuda`` (``--bench-students``, one round, without nbgrader's old
   kernel path, which alone takes minutes per student);

then a table: for each student the CPU's points, make grade's and nbgrader autograde's on
the GPU, the checks the device policy graded again on the CPU, and whether the grades equal
the CPU's check by check.  A difference the fixture class expects (``cuda_hardcoded``:
``.cuda()`` runs only where there is a GPU) is named as expected.

Exit status: 0 when every step passed and every grade equals the CPU's (but the expected
ones); 1 otherwise; 2 when torch sees no CUDA device: nothing is run then, but for
``--dry-run`` (the steps, printed) and ``--rehearse`` (every step with the CPU standing in
for the GPU and the device class's mistakes rehearsed as tests/grading/device_class.py
explains: it checks this script, never the GPU, and still exits 2 without one).

Usage: python -m course.bench.gpu_check [--dry-run] [--rehearse] [--keep DIR]
[--bench-students N] (from the repository root: it builds its classes with the test
suite's submission builder).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course.bench.grading_speed import scratch_course
from course.config import ROOT

ASSIGNMENT = "hw4_pytorch_regularization"
SEEDS = [0, 1234, 98765]
CHECK_TIMEOUT_S = 20  # the fixture class's infinite loop costs this much per run
# fixture students nbgrader itself cannot process (no notebook, not JSON): make grade only
NOT_FOR_NBGRADER = ("missing_notebook", "not_json")
NO_CUDA = ("make gpu-check: torch {version} sees no CUDA device on this machine, so nothing "
           "of the GPU path can be checked here.  Run it on a machine with an NVIDIA GPU "
           "and a CUDA build of torch in .venv (the pinned torch is the CPU build: install "
           "the CUDA build of the same version from https://download.pytorch.org/whl/).  "
           "--dry-run shows the steps; --rehearse runs them with the CPU standing in.")


@dataclass
class Step:
    """One command of the check, and what became of it."""

    name: str
    argv: list[str]
    cwd: Path = ROOT
    env: dict = field(default_factory=dict)
    students: int = 0
    seconds: float = 0.0
    returncode: int | None = None
    tail: str = ""

    def shown(self) -> str:
        env = " ".join(f"{k}={v!r}" for k, v in self.env.items())
        return f"{env + ' ' if env else ''}{' '.join(map(str, self.argv))}  (in {self.cwd})"

    def run(self) -> bool:
        print(f"--- {self.name}: {self.shown()}", flush=True)
        started = time.monotonic()
        result = subprocess.run([str(a) for a in self.argv], cwd=self.cwd, text=True,
                                env={**os.environ, "PATH": f"{Path(sys.executable).parent}"
                                     f"{os.pathsep}{os.environ.get('PATH', '')}", **self.env},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.seconds, self.returncode = time.monotonic() - started, result.returncode
        self.tail = "\n".join(result.stdout.splitlines()[-25:])
        print(f"    exit {self.returncode} after {self.seconds:.1f} s", flush=True)
        if self.returncode != 0 or self.name.startswith("make bench"):
            print("    " + self.tail.replace("\n", "\n    "), flush=True)
        return self.returncode == 0


# --------------------------------------------------------------------------- the steps


def cuda_device() -> str | None:
    """The GPU torch sees, in words, or None."""
    import torch

    if not torch.cuda.is_available():
        return None
    return (f"{torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA "
            f"{torch.version.cuda}, {torch.cuda.device_count()} device(s))")


def build_classes(scratch: Path, rehearse: bool) -> dict[str, Path]:
    """The two classes' folders (each with ``submitted/``), built from the source notebook."""
    sys.path.insert(0, str(ROOT))
    from tests.grading import device_class, fixture_class

    folders = {"fixture": scratch / "fixture", "device": scratch / "device"}
    fixture_class.build_class(folders["fixture"] / "submitted")
    device_class.build_class(folders["device"] / "submitted", rehearse_students=rehearse)
    return folders


def grade_step(klass: str, folder: Path, device: str, gpu: dict, label: str) -> Step:
    """make grade of one class on ``device`` (``gpu``: the environment that decides what the
    student processes see), its sheet in ``<folder>/grades-<label>``."""
    extra = (f"--grades-dir {folder / f'grades-{label}'} --seeds {','.join(map(str, SEEDS))} "
             f"--check-timeout {CHECK_TIMEOUT_S} -q -p no:cacheprovider")
    students = len(list((folder / "submitted").iterdir()))
    return Step(f"make grade DEVICE={device}, {klass} class ({label})",
                ["make", "--no-print-directory", "-C", ROOT, "-o", ".venv/.installed",
                 "grade", f"ASSIGNMENT={ASSIGNMENT}", f"SUBMISSIONS={folder / 'submitted'}",
                 f"DEVICE={device}", f"GRADE_ARGS={extra}"], env=gpu, students=students)


def autograde_step(klass: str, folder: Path, gpu: dict) -> Step:
    """nbgrader autograde of one class in a fresh copy of the course under ``folder``."""
    course = scratch_course(folder / "course")
    shutil.copytree(folder / "submitted", course / "submitted",
                    ignore=lambda at, names: [n for n in names if n in NOT_FOR_NBGRADER])
    nbgrader = Path(sys.executable).with_name("nbgrader")
    return Step(f"nbgrader autograde, {klass} class",
                [nbgrader, "autograde", ASSIGNMENT, "--force",
                 f"--EngineExecute.seeds={SEEDS}"], cwd=course, env=gpu,
                students=len(list((course / "submitted").iterdir())))


def steps_for(folders: dict, device: str, gpu: dict, bench_students: int,
              scratch: Path) -> list[Step]:
    """Every step, in order (``device``/``gpu``: the GPU's side, or its stand-in)."""
    steps = [Step("pytest -m cuda (the suite's CUDA tests)",
                  [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider",
                   "tests"])]
    for klass, folder in folders.items():
        steps += [grade_step(klass, folder, device, gpu, "gpu"),
                  grade_step(klass, folder, "cpu", {"CUDA_VISIBLE_DEVICES": ""}, "cpu"),
                  autograde_step(klass, folder, gpu)]
    if bench_students:
        bench_args = f"--skip-stock --rounds 1 --keep {scratch / 'bench'}"
        steps.append(Step(f"make bench DEVICE={device}",
                          ["make", "--no-print-directory", "-C", ROOT, "-o", ".venv/.installed",
                           "bench", f"BENCH_N={bench_students}", f"DEVICE={device}",
                           f"BENCH_ARGS={bench_args}"], env=gpu, students=bench_students))
    return steps


# --------------------------------------------------------------------------- the grades


def sheet(grades: Path) -> dict:
    """student -> {check: points} of a make grade sheet ({} when there is none)."""
    from course.grade.reports import read_csv

    path = grades / f"{ASSIGNMENT}.csv"
    table: dict = {}
    for row in read_csv(path) if path.exists() else []:
        table.setdefault(row["student_id"], {})[row["check"]] = float(row["points"])
    return table


def gradebook(course: Path) -> dict:
    """student -> {check: points} of the autograded test cells in ``gradebook.db``."""
    from course.gradebook.views import check_points

    return check_points(course / "gradebook.db", ASSIGNMENT)


def regraded(grades: Path) -> dict:
    """student -> the checks the device policy settled in that run."""
    path = grades / f"{ASSIGNMENT}-run.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    return {s: [r["check"] for r in rs] for s, rs in record.get("device_regrades", {}).items()}


def compare(cpu: dict, gpu: dict, autograded: dict, expected: set = frozenset(),
            skipped: tuple = NOT_FOR_NBGRADER) -> list[dict]:
    """One row per student of the CPU sheet: totals, and whether make grade's and nbgrader
    autograde's grades on the GPU equal the CPU's check by check (``expected``: students
    whose difference the class expects; ``skipped``: students not given to nbgrader)."""
    rows = []
    for student in sorted(cpu):
        wanted = cpu[student]
        theirs = [gpu.get(student, {})]
        if student not in skipped:
            theirs.append(autograded.get(student, {}))
        differing = sorted({c for c in wanted for other in theirs
                            if other.get(c) != wanted[c]})
        rows.append({"student": student, "cpu": sum(wanted.values()),
                     "gpu": sum(gpu.get(student, {}).values()) if student in gpu else None,
                     "autograde": (sum(autograded[student].get(c) or 0 for c in wanted)
                                   if student in autograded else None),
                     "equal": not differing and gpu.get(student) == wanted,
                     "differing": differing,
                     "expected": student in expected})
    return rows


def expected_differences(klass: str) -> set:
    """Students of a class whose GPU grade differs from the CPU's by design."""
    if klass != "fixture":
        return set()
    from tests.grading.fixture_class import STUDENTS, expected_points

    return {s for s in STUDENTS if expected_points(s, "cuda") != expected_points(s, "cpu")}


def table(klass: str, rows: list[dict], policy: dict) -> list[str]:
    def points(value):
        return "-" if value is None else f"{value:g}"

    lines = [f"{klass} class: points per student (CPU = make grade DEVICE=cpu, no GPU visible)",
             f"  {'student':<26}{'CPU':>6}{'make grade':>12}{'autograde':>11}  equal  "
             f"graded again on the CPU"]
    for row in rows:
        verdict = "yes" if row["equal"] else ("no (expected)" if row["expected"] else
                                              f"NO: {', '.join(row['differing'])}")
        lines.append(f"  {row['student']:<26}{points(row['cpu']):>6}{points(row['gpu']):>12}"
                     f"{points(row['autograde']):>11}  {verdict:<5}  "
                     f"{', '.join(policy.get(row['student'], [])) or '-'}")
    return lines


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make gpu-check", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the steps, run nothing")
    parser.add_argument("--rehearse", action="store_true",
                        help="without a GPU: every step with the CPU standing in (checks this "
                             "script, not the GPU)")
    parser.add_argument("--keep", type=Path, default=None, help="scratch folder, kept")
    parser.add_argument("--bench-students", type=int, default=int(os.environ.get("BENCH_N", 20)),
                        help="make bench's class size (0: no bench)")
    args = parser.parse_args(argv)
    import torch

    device_name = cuda_device()
    print(f"make gpu-check: device {device_name or 'none: no CUDA device'}; torch "
          f"{torch.__version__}; {os.cpu_count()} cores", flush=True)
    if device_name is None and not (args.dry_run or args.rehearse):
        print(NO_CUDA.format(version=torch.__version__), file=sys.stderr)
        return 2
    stand_in = device_name is None  # --rehearse or --dry-run without a GPU
    device = "cpu" if stand_in and args.rehearse else "cuda"
    gpu = {"CUDA_VISIBLE_DEVICES": "0"} if device == "cpu" else {}
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    scratch.mkdir(parents=True, exist_ok=True)
    folders = build_classes(scratch, rehearse=device == "cpu")
    steps = steps_for(folders, device, gpu, args.bench_students, scratch)
    if args.dry_run:
        print("the steps (scratch folder " + str(scratch) + "):")
        for number, step in enumerate(steps, 1):
            print(f"  {number}. {step.name}: {step.shown()}")
        return 0 if device_name else 2
    ok = all([step.run() for step in steps])  # every step, even after a failure
    lines, equal = report(folders, steps, device_name, device)
    print("\n".join(lines))
    if stand_in:
        print("REHEARSAL: the CPU stood in for the GPU; the GPU path was NOT checked.")
        return 2
    return 0 if ok and equal else 1


def report(folders: dict, steps: list[Step], device_name: str | None,
           device: str) -> tuple[list[str], bool]:
    """The closing report: the device, each step's time, each class's table; and whether
    every grade equals the CPU's (but the expected differences)."""
    lines = ["", f"make gpu-check on {device_name or 'the CPU (rehearsal)'}",
             f"  {'step':<58}{'exit':>5}{'seconds':>9}{'s/student':>10}"]
    for step in steps:
        per = f"{step.seconds / step.students:.2f}" if step.students else "-"
        lines.append(f"  {step.name[:57]:<58}{step.returncode!s:>5}{step.seconds:>9.1f}"
                     f"{per:>10}")
    equal = True
    for klass, folder in folders.items():
        rows = compare(sheet(folder / "grades-cpu"), sheet(folder / "grades-gpu"),
                       gradebook(folder / "course"), expected_differences(klass))
        equal = equal and bool(rows) and all(r["equal"] or r["expected"] for r in rows)
        lines += [""] + table(klass, rows, regraded(folder / "grades-gpu"))
    lines += ["", "every grade on the GPU equals the CPU grade (but the expected ones)"
              if equal else "SOME GRADES DIFFER FROM THE CPU GRADE (or a class was not graded)"]
    return lines, equal


if __name__ == "__main__":
    sys.exit(main())
