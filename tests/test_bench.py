"""``make bench`` runs end to end on a tiny class and says whether the paths agree."""

import os
import subprocess
import sys

from tests.conftest import REPO


def test_bench_grades_a_tiny_class_and_compares_the_paths(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "course.bench", "--students", "2", "--workers", "2",
         "--skip-stock", "--skip-notebooks", "--rounds", "2", "--keep", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")})
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "make grade WORKERS=1" in out and "make grade WORKERS=2" in out, out
    assert ("all 2 students agree between engine nbgrader, parallel nbgrader, "
            "make grade W=1 #1, make grade W=2 #1, make grade W=2 #2, make grade W=1 #2"
            ) in out, out  # rounds alternate
    assert "nbgrader autograde (engine)" in out and "make autograde WORKERS=2" in out, out
    assert "the best of 2 rounds" in out and "round by round" in out, out
    assert "this machine's ceiling now" in out and "target: 2 workers" in out, out
    assert "target: make autograde WORKERS=2 >= 1.5x faster than plain nbgrader " \
        "autograde (the course's config): " in out, out
    assert "target: make autograde WORKERS=2 within 1.3x of make grade WORKERS=2: " in out, out
