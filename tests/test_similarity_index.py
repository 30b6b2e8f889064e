"""``make similarity``'s fingerprint index (course/similarity/index.py) against comparing every
pair, on the synthetic class of ``make bench-scale`` (course/bench/synthetic.py: honest and
wrong answers, names and layouts varied, students who copied an earlier one), and the rule
that what most of the class wrote is no evidence of copying.
"""

from __future__ import annotations

import pytest

from course.bench import synthetic
from course.similarity.compare import similarity
from tests.grading.honest_answers import CARA
from tests.submissions import REPO, make_submission, write_submission

A = "hw4_pytorch_regularization"
SIZE = 80
TOP = 40


def report(questions) -> list[tuple]:
    """What a TA sees: per question, the reported pairs with their similarities, and the
    median."""
    return [(q.name, round(q.median, 9), [(p.a.student, p.b.student, round(p.similarity, 9))
                                          for p in q.pairs]) for q in questions]


def copy_groups(plan: list[dict]) -> dict[str, str]:
    """student -> the first student of their copy chain (themselves when they copied no one)."""
    root: dict[str, str] = {}
    for student in plan:
        kind = student["kind"]
        source = kind.removeprefix("copy of ") if kind.startswith("copy of ") else None
        root[student["student"]] = root[source] if source else student["student"]
    return root


@pytest.fixture(scope="module")
def synthetic_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic") / "submitted"
    synthetic.build(folder, SIZE, REPO / "source")
    plan = synthetic.class_plan(SIZE)
    found = {method: similarity(A, folder, REPO / "release", top=TOP, progress=False,
                                method=method)[0]
             for method in ("index", "all-pairs")}
    return plan, found


def test_the_index_reports_what_comparing_every_pair_reports(synthetic_class):
    _, found = synthetic_class
    assert report(found["index"]) == report(found["all-pairs"])
    compared = {m: sum(q.compared for q in qs) for m, qs in found.items()}
    assert compared["index"] < compared["all-pairs"] / 3, compared  # and far fewer pairs


def test_copied_answers_rank_first_and_nothing_else_looks_copied(synthetic_class):
    plan, found = synthetic_class
    group = copy_groups(plan)
    answered = {s["student"] for s in plan if not s["stub"]}
    copies = {(min(s, c), max(s, c)) for s, c in
              ((s["kind"].removeprefix("copy of "), s["student"]) for s in plan
               if s["kind"].startswith("copy of ")) if s in answered}
    assert copies, "the synthetic class has students who copied"
    for question in found["index"]:
        reported = {(p.a.student, p.b.student): p.similarity for p in question.pairs}
        for pair in copies:
            assert reported.get(pair, 0) > 0.99, (question.name, pair)
        for (a, b), value in reported.items():
            if value > 0.99:
                assert group[a] == group[b], (question.name, a, b, value)


def test_an_answer_most_of_the_class_wrote_is_not_evidence(tmp_path):
    """Twelve students hand in the course's own solution; two others share CARA's answers.
    Only the two are flagged, and the twelve are counted as the common answer."""
    folder = tmp_path / "submitted"
    for index in range(12):
        write_submission(folder, f"same{index:02d}", A, make_submission(A))
    for student in ("cara", "cara_copy"):
        write_submission(folder, student, A, make_submission(A, replace=CARA))
    questions = {q.name: q for q in similarity(A, folder, REPO / "release",
                                               progress=False)[0]}
    for name in CARA:
        question = questions[name]
        assert len(question.answers) == 14 and question.distinct == 2, name
        assert [(p.a.student, p.b.student) for p in question.pairs] == [("cara", "cara_copy")]
    unanswered_by_cara = set(questions) - set(CARA)
    assert all(not questions[q].pairs for q in unanswered_by_cara)
