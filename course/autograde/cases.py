"""What ran, in the autograded notebook's test cells (what a TA sees in the formgrader).

The source notebook's hidden tests (``test_dropout(Dropout, seed=11)`` ...) are not what
grading ran: the engine runs each check at seed 0 (the notebook's visible call) and at the
run's fresh seeds.  :func:`show_cases` replaces each checker test cell's hidden region by
the cases that ran, each with its outcome, the one that decided a check that did not pass
(``visible`` or ``hidden, seed S``), and the command that reruns exactly that case for the
student, into a scratch grades folder (its own gradebook: the course's record is not
touched).  The list stays inside the hidden-test markers, so feedback
(:class:`course.autograde.preprocessors.HideHiddenTests`) shows none of it, and every line
is a comment (nothing in it runs, and no bare call is redacted from a message).
"""

from __future__ import annotations

from course.notebooks import BEGIN_HIDDEN, END_HIDDEN, grade_id
from course.autograde.preprocessors import is_test_cell, split_hidden

PLACEHOLDER = "\0cases\0"


def seeded_call(check, seed: int) -> str:
    """The check's call at ``seed`` (the visible call itself at seed 0)."""
    call = check.call_text()
    return call if seed == 0 else f"{call[:-1]}, seed={seed})"


def rerun_command(assignment: str, student: str, seed: int) -> str:
    """The command that grades exactly one case of ``student`` again (every check at
    ``seed``), into a scratch folder."""
    return (f"python -m course.grade {assignment} --students {student} --seeds {seed} "
            f"--grades-dir rerun-{student}")


def case_lines(check, row, seeds: list[int], assignment: str) -> list[str]:
    """The comment lines listing the cases that ran for one check and their outcomes."""
    decided = None if row.status == "passed" else row.case_seed
    lines = [f"# What grading ran (seeds {', '.join(map(str, seeds))}), in place of the "
             f"source's hidden tests:"]
    judged = True
    for seed in seeds:
        name = "visible" if seed == 0 else f"hidden, seed {seed}"
        if not judged:
            outcome = "not judged (an earlier case decided)"
        elif seed == decided:
            outcome, judged = f"{row.status.upper()}: this case decided the check", False
        else:
            outcome = "passed" if row.status == "passed" or decided is not None else "ran"
        lines.append(f"#   {name}: {seeded_call(check, seed)}  -> {outcome}")
    if decided is not None:
        lines.append(f"# rerun exactly that case: "
                     f"{rerun_command(assignment, row.student, decided)}")
    return lines


def show_cases(nb, grade, checks, seeds: list[int], assignment: str) -> None:
    """Each checker test cell of ``nb``: its visible part, then the cases that ran
    (:func:`case_lines`) between the hidden-test markers."""
    rows = {row.check: row for row in grade.results}
    by_id = {check.grade_id: check for check in checks}
    for cell in nb.cells:
        check = by_id.get(grade_id(cell))
        if not is_test_cell(cell) or check is None or check.checker is None \
                or check.grade_id not in rows:
            continue
        block = "\n".join([f"### {BEGIN_HIDDEN}",
                           *case_lines(check, rows[check.grade_id], seeds, assignment),
                           f"### {END_HIDDEN}"])
        kept, _ = split_hidden(cell.source, PLACEHOLDER)
        cell.source = kept.replace(PLACEHOLDER, block) if PLACEHOLDER in kept \
            else kept.rstrip("\n") + "\n" + block
