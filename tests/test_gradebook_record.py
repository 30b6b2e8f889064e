"""course/gradebook: a run's grades written into nbgrader's gradebook with nbgrader's API, and
read back by every view.  A real gradebook (nbgrader's schema), the hw4 assignment's graded
cells; grades are constructed (fractional points included: a check's partial credit is
carried exactly), a TA's scores are written as the formgrader writes them
(``Grade.manual_score``, ``Comment.manual_comment`` through ``nbgrader.api.Gradebook``)."""

from __future__ import annotations

import copy
import shutil

import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from course.autograde.engine import RECORD_KEY, SaveEngineGrades
from course.export.lms import export
from course.grade.grader import CheckResult, StudentGrade
from course.grade.reports import gradescope_results, read_csv, write_csv
from course.gradebook.record import RunInfo, record_run
from course.gradebook.views import read_class, student_grade
from tests.test_export import ASSIGNMENT, COURSE_ID, graded_cells
from tests.submissions import REPO, make_submission

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
CHECKS = [gid for gid, _, kind in graded_cells() if kind == "code"]
MAX = {gid: points for gid, points, _ in graded_cells()}


def a_grade(student: str, points: dict, message: str = "") -> StudentGrade:
    """Full points on every check but those of ``points`` (failed, on hidden seed 7)."""
    rows = []
    for gid in CHECKS:
        if gid in points:
            rows.append(CheckResult(student, gid, points[gid], MAX[gid], "failed",
                                    message or f"{gid}: partly right", 7, "support.x.verdict"))
        else:
            rows.append(CheckResult(student, gid, MAX[gid], MAX[gid], "passed", "passed"))
    return StudentGrade(student, rows, seconds=1.5)


def run(db, student_points: dict, seeds=(0, 5, 6)) -> int:
    grades = [a_grade(s, p) for s, p in student_points.items()]
    return record_run(f"sqlite:///{db}", COURSE_ID,
                      RunInfo(ASSIGNMENT, "make grade", list(seeds), "cpu"), grades)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A gradebook holding the assignment as ``nbgrader generate_assignment`` records it."""
    from course.autograde.gradebook import ensure_assignment

    path = tmp_path_factory.mktemp("recorded") / "gradebook.db"
    assert ensure_assignment(REPO, ASSIGNMENT, f"sqlite:///{path}")
    return path


@pytest.fixture
def gradebook(recorded, tmp_path):
    shutil.copy2(recorded, tmp_path / "gradebook.db")
    return tmp_path / "gradebook.db"


def test_fractional_points_reach_the_gradebook_and_every_view(gradebook, tmp_path):
    run(gradebook, {"ada": {"dropout_tests": 1.25}, "bo": {}})
    with Gradebook(f"sqlite:///{gradebook}", COURSE_ID) as gb:
        grade = gb.find_grade("dropout_tests", ASSIGNMENT, ASSIGNMENT, "ada")
        assert grade.auto_score == 1.25 and grade.manual_score is None
        assert not grade.needs_manual_grade
    record = read_class(f"sqlite:///{gradebook}", COURSE_ID, ASSIGNMENT)
    cell = record.students["ada"].cells["dropout_tests"]
    assert (cell.points, cell.status, cell.case_seed) == (1.25, "failed", 7)
    assert cell.message == "dropout_tests: partly right"
    sheet = student_grade(record.students["ada"], CHECKS)
    write_csv(tmp_path / "sheet.csv", [sheet])
    row = next(r for r in read_csv(tmp_path / "sheet.csv") if r["check"] == "dropout_tests")
    assert (row["points"], row["status"], row["case"]) == ("1.25", "failed", "hidden, seed 7")
    results = gradescope_results(sheet)
    assert results["score"] == sum(MAX[c] for c in CHECKS) - 0.75
    test = next(t for t in results["tests"] if t["name"] == "dropout_tests")
    assert test["score"] == 1.25 and test["extra_data"]["case"] == "hidden, seed 7"
    lines = export(ASSIGNMENT, tmp_path, REPO / "source", gradebook, COURSE_ID)
    lms = {r["student_id"]: r for r in read_csv(tmp_path / f"{ASSIGNMENT}-lms.csv")}
    assert lms["ada"]["dropout_tests"] == "1.25"
    assert float(lms["ada"]["autograded"]) == sum(MAX[c] for c in CHECKS) - 0.75
    assert any(line.startswith("graded by run 1 (make grade,") for line in lines), lines


def test_a_regrade_replaces_autograded_scores_and_keeps_what_the_ta_wrote(gradebook):
    run(gradebook, {"ada": {"dropout_tests": 0}, "bo": {"mse_loss_tests": 0}})
    with Gradebook(f"sqlite:///{gradebook}", COURSE_ID) as gb:  # the formgrader's writes
        gb.find_grade("dropout_tests", ASSIGNMENT, ASSIGNMENT, "ada").manual_score = 1
        gb.find_grade("q4_answer", ASSIGNMENT, ASSIGNMENT, "ada").manual_score = 1.5
        gb.find_comment("q4_answer", ASSIGNMENT, ASSIGNMENT, "ada").manual_comment = "half"
        gb.find_grade("q6_answer", ASSIGNMENT, ASSIGNMENT, "ada").extra_credit = 0.5
        gb.find_grade("q6_answer", ASSIGNMENT, ASSIGNMENT, "ada").manual_score = 1
        gb.db.commit()
    second = run(gradebook, {"ada": {"dropout_tests": 0.5, "mse_loss_tests": 0}},
                 seeds=(0, 8, 9))
    with Gradebook(f"sqlite:///{gradebook}", COURSE_ID) as gb:
        dropout = gb.find_grade("dropout_tests", ASSIGNMENT, ASSIGNMENT, "ada")
        assert (dropout.auto_score, dropout.manual_score) == (0.5, 1)  # replaced, kept
        assert dropout.needs_manual_grade  # as nbgrader's SaveAutoGrades marks an override
        assert gb.find_grade("mse_loss_tests", ASSIGNMENT, ASSIGNMENT, "ada").auto_score == 0
        assert gb.find_grade("q4_answer", ASSIGNMENT, ASSIGNMENT, "ada").manual_score == 1.5
        assert gb.find_comment("q4_answer", ASSIGNMENT, ASSIGNMENT,
                               "ada").manual_comment == "half"
        assert gb.find_grade("q6_answer", ASSIGNMENT, ASSIGNMENT, "ada").extra_credit == 0.5
        assert gb.find_grade("mse_loss_tests", ASSIGNMENT, ASSIGNMENT, "bo").auto_score == 0
    record = read_class(f"sqlite:///{gradebook}", COURSE_ID, ASSIGNMENT)
    ada, bo = record.students["ada"], record.students["bo"]
    assert ada.cells["dropout_tests"].points == 1 and ada.cells["dropout_tests"].overridden
    assert ada.cells["dropout_tests"].auto_points == 0.5
    assert ada.cells["q6_answer"].points == 1.5 and ada.cells["q4_answer"].points == 1.5
    assert (ada.run_id, bo.run_id) == (second, second - 1)  # bo keeps the first run's grade
    assert record.runs[second]["seeds"] == [0, 8, 9]
    assert "run 2 (make grade, " in record.run_label(second)


def test_nbgrader_autograde_saves_the_engines_points_not_the_outputs(gradebook):
    """SaveEngineGrades (nbgrader_config.py's, in place of SaveAutoGrades): a check's points
    are the engine's, whatever the test cell's outputs say; a TA's override is kept; the
    run is recorded once per nbgrader process."""
    import nbformat

    with Gradebook(f"sqlite:///{gradebook}", COURSE_ID) as gb:
        gb.add_student("ada")
        gb.add_submission(ASSIGNMENT, "ada")
        gb.find_grade("mse_loss_tests", ASSIGNMENT, ASSIGNMENT, "ada").manual_score = 1
        gb.db.commit()
    nb = nbformat.reads(nbformat.writes(make_submission(ASSIGNMENT)), 4)
    grade = a_grade("ada", {"dropout_tests": 0.75, "mse_loss_tests": 0})
    for cell in nb.cells:  # outputs that stock SaveAutoGrades would score 0
        cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue="x",
                                               traceback=[])] if cell.cell_type == "code" \
            else cell.get("outputs")
    resources = {"nbgrader": {"student": "ada", "assignment": ASSIGNMENT,
                              "notebook": ASSIGNMENT, "db_url": f"sqlite:///{gradebook}"},
                 RECORD_KEY: {"grade": grade, "seeds": [0, 3, 4], "device": "cpu",
                              "run_id": None, "course_id": COURSE_ID}}
    stock = copy.deepcopy(nb)  # what nbgrader's own SaveAutoGrades makes of those outputs
    SaveAutoGrades().preprocess(stock, {**resources, RECORD_KEY: None})
    with Gradebook(f"sqlite:///{gradebook}", COURSE_ID) as gb:
        assert gb.find_grade("linear_zeros_tests", ASSIGNMENT, ASSIGNMENT, "ada").auto_score == 0
    SaveEngineGrades().preprocess(nb, resources)
    record = read_class(f"sqlite:///{gradebook}", COURSE_ID, ASSIGNMENT)
    ada = record.students["ada"]
    assert ada.cells["dropout_tests"].auto_points == 0.75
    assert ada.cells["linear_zeros_tests"].auto_points == MAX["linear_zeros_tests"]
    assert (ada.cells["mse_loss_tests"].auto_points, ada.cells["mse_loss_tests"].points) == (0, 1)
    assert [r["command"] for r in record.runs.values()] == ["nbgrader autograde"]
    assert record.runs[ada.run_id]["seeds"] == [0, 3, 4]


def test_the_gradescope_results_carry_fractional_points():
    """The Gradescope zip's results.json (course/export/gradescope_results.py): a check's
    partial credit is its hidden-cases test's score, and the total is the engine's."""
    from course.export.gradescope_results import autograder_results
    from course.grade.plan import load_assignment

    assignment = load_assignment(ASSIGNMENT, REPO / "source")
    grade = a_grade("ada", {"dropout_tests": 0.5, "mse_loss_tests": 0.25})
    grade.results[[r.check for r in grade.results].index("dropout_tests")].case_seed = 0
    results = autograder_results(grade, assignment, [0, 5, 6], "after_published")
    scored = {t["name"].split(":")[0]: t["score"] for t in results["tests"] if "score" in t}
    assert scored["dropout_tests"] == 0.5 and scored["mse_loss_tests"] == 0.25
    assert results["score"] == grade.points == sum(scored.values())
