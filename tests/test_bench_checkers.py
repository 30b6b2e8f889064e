"""make bench-checkers times every autograded test cell's check, on the solved notebook."""

from course.bench.checkers import time_checks
from course.notebooks import cell_kind, grade_id, load_notebook
from tests.conftest import REPO


def test_bench_times_every_test_cell_and_the_solutions_pass():
    assignment = "hw5_overfitting"
    nb = load_notebook(REPO / "source" / assignment / f"{assignment}.ipynb")
    rows = time_checks(assignment)  # raises CheckFailure if a solution failed its check
    assert [row[0] for row in rows] == [grade_id(c) for c in nb.cells if cell_kind(c) == "test"]
    assert all(0 < median <= slowest for _, _, median, slowest in rows)
