"""course.grade.reports: the CSV grade sheet, Gradescope's results.json, the summary lines."""

import csv
import json

from course.grade.grader import CheckResult, StudentGrade
from course.grade.reports import (CSV_COLUMNS, gradescope_results, read_csv, summary_line,
                            write_reports)


def grade(student="ada", internal_error=None):
    rows = [CheckResult(student, "loss_tests", 2, 2, "passed", "loss matches"),
            CheckResult(student, "build_tests", 0, 3, "failed",
                        "test_build failed: output shape\n  expected: (5, 1)\n  observed: (5,)",
                        verdict_at="support.hw.build_checks.judge_build"),
            CheckResult(student, "loop_tests", 0, 1.5, "timeout", "did not finish within 60 s")]
    return StudentGrade(student, rows, seconds=12.4, output="hello\n",
                        internal_error=internal_error)


def test_csv_rows(tmp_path):
    paths = write_reports(tmp_path, "hw", [grade("ada"), grade("bo")], {"seeds": [0, 5]})
    assert paths[0] == tmp_path / "hw.csv"
    with open(paths[0], newline="") as handle:
        assert tuple(next(csv.reader(handle))) == CSV_COLUMNS
    rows = read_csv(paths[0])
    assert len(rows) == 6
    assert rows[1] == {"student_id": "ada", "check": "build_tests", "points": "0",
                       "max_points": "3", "status": "failed",
                       "message": "test_build failed: output shape | expected: (5, 1) | "
                                  "observed: (5,)",
                       "verdict": "support.hw.build_checks.judge_build",
                       "case": "", "engine_points": "0", "graded_by": ""}
    assert rows[2]["max_points"] == "1.5"
    assert json.loads((tmp_path / "hw-run.json").read_text())["seeds"] == [0, 5]
    assert (tmp_path / "hw" / "bo" / "student_output.txt").read_text() == "hello\n"


def test_gradescope_format(tmp_path):
    write_reports(tmp_path, "hw", [grade()], {}, labels={"loss_tests": "loss_tests: f(x)"})
    results = json.loads((tmp_path / "hw" / "ada" / "results.json").read_text())
    assert results["score"] == 2 and results["visibility"] == "visible"
    assert results["execution_time"] == 12
    assert [t["name"] for t in results["tests"]] == ["loss_tests: f(x)", "build_tests",
                                                    "loop_tests"]
    for test in results["tests"]:
        assert set(test) - {"extra_data"} == {"name", "number", "score", "max_score",
                                              "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
    assert results["tests"][1]["output"].startswith("failed: test_build failed: output shape\n")
    assert results["tests"][2]["output"].startswith("timeout: ")
    assert sum(t["score"] for t in results["tests"]) == results["score"]


def test_summary_line():
    assert summary_line(grade()) == "ada: 2/6.5 points (1 passed, 1 failed, 1 timeout)"
    assert "GRADER ERROR: boom" in summary_line(grade(internal_error="boom"))
    assert gradescope_results(grade())["output"] == summary_line(grade())


def test_a_partial_run_replaces_its_students_and_keeps_the_others(tmp_path):
    (tmp_path / "hw-run.json").write_text(json.dumps({"seeds": [0, 1]}))  # an older record
    write_reports(tmp_path, "hw", [grade("ada"), grade("cy")], {"seeds": [0, 2]})
    regraded = grade("bo")
    regraded.results[0].message = "regraded"
    paths = write_reports(tmp_path, "hw", [regraded], {"seeds": [0, 3]}, partial=True)
    rows = read_csv(paths[0])
    assert [r["student_id"] for r in rows] == ["ada"] * 3 + ["bo"] * 3 + ["cy"] * 3
    assert rows[3]["message"] == "regraded" and rows[2]["message"] == rows[8]["message"]
    record = json.loads((tmp_path / "hw-run.json").read_text())
    assert [run["seeds"] for run in record["runs"]] == [[0, 1], [0, 2], [0, 3]]
    assert record["seeds"] == [0, 3] and record["graded"] == ["bo"]
    assert record["graded_by_run"] == {"ada": 1, "bo": 2, "cy": 1}
    write_reports(tmp_path, "hw", [grade("ada")], {"seeds": [0, 4]})  # a whole class again
    assert {r["student_id"] for r in read_csv(paths[0])} == {"ada"}
    assert json.loads((tmp_path / "hw-run.json").read_text())["graded_by_run"] == {"ada": 3}


def test_a_lost_point_names_where_its_verdict_is_defined(tmp_path):
    """The sheet and results.json carry the verdict's location, and it reads back."""
    from course.grade.reports import read_grades

    write_reports(tmp_path, "hw", [grade()], {})
    assert read_grades(tmp_path / "hw.csv")[0].results[1].verdict_at == \
        "support.hw.build_checks.judge_build"
    tests = json.loads((tmp_path / "hw" / "ada" / "results.json").read_text())["tests"]
    assert tests[1]["extra_data"] == {"verdict": "support.hw.build_checks.judge_build"}
    assert "extra_data" not in tests[0]  # no location known: nothing claimed


def test_verdict_locations_are_read_from_the_checks_and_resolve():
    """Every checker's location is derived from its verdict function (not written down), so
    it follows the support modules wherever they move; importing it finds that function."""
    import importlib

    from course.config import assignments
    from course.grade.grader import function_location

    for name in assignments():
        facade = importlib.import_module(f"support.{name}")
        for check in facade.CHECKS.values():
            where = function_location(check.verdict_fn)
            module, _, qualname = where.rpartition(".")
            while module not in __import__("sys").modules and "." in module:
                module, _, outer = module.rpartition(".")
                qualname = f"{outer}.{qualname}"
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
            assert target is check.verdict_fn, (name, check.name, where)


def test_every_check_names_its_probe_and_verdict_one_way():
    """``probe_<name>`` and ``verdict_<name>`` (``<name>``: the checker's name without
    ``test_``), module-level in ``support/<a>/*_checks.py``: the verdict column points a TA
    straight at the function.  One verdict judges hw3's three update rules: ``verdict_update``
    (``verdict_stateful_update``, for momentum and RMSProp, only adds their partial credit)."""
    import importlib

    from course.config import assignments

    shared = {"verdict_update": {"test_gradient_update", "test_momentum_update",
                                 "test_rmsprop_update"},
              "verdict_stateful_update": {"test_momentum_update", "test_rmsprop_update"}}
    for name in assignments():
        for check in importlib.import_module(f"support.{name}").CHECKS.values():
            short = check.name.removeprefix("test_")
            verdict = check.verdict_fn.__name__
            assert check.probe_fn.__name__ == f"probe_{short}", (name, check.name)
            assert verdict == f"verdict_{short}" or check.name in shared.get(verdict, ()), \
                (name, check.name, verdict)
            assert check.verdict_fn.__module__.startswith(f"support.{name}.") \
                and check.verdict_fn.__module__.endswith("_checks"), check.verdict_fn.__module__
