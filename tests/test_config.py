"""course/config.py: a missing or unreadable pyproject.toml, or a missing table, is an error
that names the file and the table, never a silent fall-back to default settings."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from course.config import (ROOT, ConfigError, SandboxConfig, assignments,
                           load_grading_config, load_sandbox_config, python_minimum)

COMPLETE = """[tool.course]
assignments = ["hw_a", "hw_b"]

[tool.course.grading]
check_timeout_s = 5

[tool.course.limits]
memory_limit_mb = 2048

[tool.course.sandbox]
cpu_time_s = 60
"""


def write(folder, text: str):
    path = folder / "pyproject.toml"
    path.write_text(text)
    return path


def test_a_complete_file_is_read(tmp_path):
    path = write(tmp_path, COMPLETE)
    assert assignments(tmp_path) == ["hw_a", "hw_b"]
    assert load_grading_config(path).check_timeout_s == 5
    sandbox = load_sandbox_config(path)
    assert sandbox.cpu_time_s == 60 and sandbox.max_processes == SandboxConfig().max_processes
    # the shared limits: one table, read into both
    assert sandbox.memory_limit_mb == load_grading_config(path).memory_limit_mb == 2048


@pytest.mark.parametrize("load, table", [(load_grading_config, "grading"),
                                         (load_sandbox_config, "sandbox")])
def test_a_shared_limit_in_its_old_table_is_an_error_that_says_where_it_goes(tmp_path, load,
                                                                            table):
    path = write(tmp_path, COMPLETE.replace(f"[tool.course.{table}]\n",
                                            f"[tool.course.{table}]\ndisk_limit_mb = 10\n"))
    with pytest.raises(ConfigError, match=r"disk_limit_mb belong in \[tool\.course\.limits\]"):
        load(path)


def test_the_required_isolation_is_read_and_checked(tmp_path):
    assert SandboxConfig().require == "fallback"  # the default: Gradescope's Docker grades
    path = write(tmp_path, COMPLETE.replace("cpu_time_s = 60", 'require = "namespaces"'))
    assert load_sandbox_config(path).require == "namespaces"
    write(tmp_path, COMPLETE.replace("cpu_time_s = 60", 'require = "bubblewrap"'))
    with pytest.raises(ValueError, match=r"require must be one of none, fallback, namespaces"):
        load_sandbox_config(path)


@pytest.mark.parametrize("load", [load_grading_config, load_sandbox_config])
def test_a_value_of_the_wrong_type_is_an_error_that_names_it(tmp_path, load):
    path = write(tmp_path, COMPLETE.replace("memory_limit_mb = 2048", "memory_limit_mb = true"))
    with pytest.raises(ConfigError, match=r"\[tool\.course\.limits\] memory_limit_mb must be"):
        load(path)


@pytest.mark.parametrize("load", [lambda p: assignments(p.parent), load_grading_config,
                                  load_sandbox_config])
def test_a_missing_file_is_an_error(tmp_path, load):
    with pytest.raises(ConfigError, match=r"pyproject\.toml not found"):
        load(tmp_path / "pyproject.toml")


@pytest.mark.parametrize("load", [lambda p: assignments(p.parent), load_grading_config,
                                  load_sandbox_config])
def test_an_unreadable_file_is_an_error(tmp_path, load):
    path = write(tmp_path, COMPLETE + "\n[tool.course\n")
    with pytest.raises(ConfigError, match="cannot read .*pyproject.toml"):
        load(path)
    path.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ConfigError, match="cannot read"):
        load(path)


@pytest.mark.parametrize("table, load", [
    ("[tool.course]", lambda p: assignments(p.parent)),
    ("[tool.course.grading]", load_grading_config),
    ("[tool.course.sandbox]", load_sandbox_config),
    ("[tool.course.limits]", load_grading_config),
    ("[tool.course.limits]", load_sandbox_config)])
def test_a_missing_table_is_an_error_that_names_it(tmp_path, table, load):
    kept = "\n\n".join(part for part in COMPLETE.split("\n\n")
                       if not part.startswith(table + "\n"))
    path = write(tmp_path, kept)
    # without its own lines, [tool.course] still exists (its sub-tables) but names nothing
    expected = "needs assignments" if table == "[tool.course]" else re.escape(table)
    with pytest.raises(ConfigError, match=expected):
        load(path)


def test_a_file_without_any_course_table_is_an_error(tmp_path):
    path = write(tmp_path, '[project]\nname = "x"\n')
    for load in (lambda: assignments(tmp_path), lambda: load_grading_config(path),
                 lambda: load_sandbox_config(path)):
        with pytest.raises(ConfigError, match=r"has no \[tool\.course"):
            load()


def test_assignments_must_be_a_list_of_names(tmp_path):
    write(tmp_path, '[tool.course]\nassignments = "hw_a"\n')
    with pytest.raises(ConfigError, match="list of assignment names"):
        assignments(tmp_path)


def test_a_config_error_is_a_value_error():
    """Callers that turn a bad setting into a usage error (grader_tests) catch ValueError."""
    assert issubclass(ConfigError, ValueError)


def test_the_python_version_gate_matches_pyproject():
    """pyproject.toml declares the Python that course/config.py checks for (tomllib)."""
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'(?m)^requires-python = ">=3\.11"$', text)
    source = (ROOT / "course" / "config.py").read_text()
    assert "sys.version_info < (3, 11)" in source


def test_the_repository_settings_load_in_a_fresh_interpreter():
    code = ("from course.config import assignments, load_grading_config, load_sandbox_config\n"
            "print(len(assignments()), load_grading_config().device, "
            "load_sandbox_config().enabled)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    count, device, enabled = result.stdout.split()
    assert int(count) >= 1 and device in ("auto", "cpu", "cuda") and enabled in ("True",
                                                                                 "False")


def test_the_oldest_python_is_requires_pythons(tmp_path):
    assert python_minimum() == (3, 11)  # the repository's; setup.sh and the pins follow it
    write(tmp_path, '[project]\nrequires-python = ">=3.12.1"\n')
    assert python_minimum(tmp_path) == (3, 12, 1)
    for spec in ('"~=3.11"', '">=3"', '">=3.11,<4"'):
        write(tmp_path, f"[project]\nrequires-python = {spec}\n")
        with pytest.raises(ConfigError, match='requires-python must read ">=X.Y"'):
            python_minimum(tmp_path)
