"""``make bench-scale`` (course/bench/scale.py) runs end to end on tiny classes and prints its
table: every TA command's seconds per student and the grader's peak memory at each size,
the targets, and whether the commands agree.  (The real run, 20/200/1000 students, is a
benchmark run by hand; its figures are never asserted.)"""

import os
import re
import subprocess
import sys

from course.bench.scale import COMMANDS
from tests.conftest import REPO


def test_bench_scale_prints_the_table_for_small_classes(tmp_path):
    capped = ("nbgrader autograde", "make feedback", "make autograde")
    result = subprocess.run(
        [sys.executable, "-m", "course.bench.scale", "--sizes", "2,4", "--pairs-check", "4",
         "--keep", str(tmp_path), *[f"--max={name}=2" for name in capped]],
        cwd=REPO, capture_output=True, text=True, timeout=900,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")})
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"command\s+2 students\s+4 students", out), out
    number = r"\d+\.\d{3}\s+\d+ / \d+"  # s/student, grader / all MiB
    for name in COMMANDS:
        row = re.search(rf"^{name}\s+(.*)$", out, re.MULTILINE)
        assert row, (name, out)
        cells = re.findall(rf"{number}|-", row.group(1))
        expected = 1 if name in capped else 2  # capped: the class of 4 is '-'
        assert len([c for c in cells if c != "-"]) == expected, (name, row.group(0))
    assert re.search(r"^all-pairs similarity\s+-\s+" + number, out, re.MULTILINE), out
    assert "make grade: per student at 4 over 2" in out and "grader's peak memory" in out, out
    assert "make similarity at 4: the index" in out, out
    assert "the same pairs reported: yes" in out, out
    assert ("class of 2: all 2 students' totals agree between make grade, nbgrader "
            "autograde, make autograde") in out, out
    assert "class of 4: one grading command ran" in out, out  # the others capped at 2
