"""Grading is the same on every run: five runs, each with its own fresh seeds, give the same
verdict for every (student, check).

The students are those whose verdicts could drift between seeds: the correct one (random
properties must not be falsely rejected on any seed) and the partially wrong one (each bug
must be caught on every seed, not only on the notebook's).  The full class is graded once in
test_grading_fixture_class.py; its failure modes do not depend on seeds.
"""

from course.config import load_grading_config
from course.grade.grader import Grader, draw_seeds
from course.grade.plan import load_assignment
from tests.grading.fixture_class import ASSIGNMENT, build_class, checks, expected_status

STUDENTS = ("correct", "partial")
RUNS = 5


def test_five_runs_give_identical_verdicts(tmp_path):
    build_class(tmp_path, STUDENTS)
    assignment = load_assignment(ASSIGNMENT)
    config = load_grading_config().replace(check_timeout_s=30, cell_timeout_s=30)
    runs, seeds = [], []
    for _ in range(RUNS):
        grader = Grader(assignment, config, "cpu", draw_seeds(config.fresh_seeds))
        seeds.append(grader.seeds)
        runs.append({(s, r.check): (r.status, r.points)
                     for s in STUDENTS
                     for r in grader.grade(s, tmp_path / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
                     .results})
    assert len({tuple(s) for s in seeds}) == RUNS  # every run drew its own seeds
    expected = {(s, c.grade_id): expected_status(s, c.grade_id) for s in STUDENTS
                for c in checks()}
    for run, run_seeds in zip(runs, seeds):
        differing = {k: v for k, v in run.items() if v[0] != expected[k]}
        assert not differing, (run_seeds, differing)
    assert all(run == runs[0] for run in runs)
