"""The fingerprint index of ``make similarity``: which pairs of answers are worth comparing.

Comparing every pair of a question's answers grows with the square of the class (278,600
pairs for 200 students and 14 questions; about 7 million for 1,000).  MOSS-style detectors
index instead: each fingerprint (a winnowed k-gram hash of the normalised code,
:func:`course.similarity.compare.fingerprint`) points to the answers that have it, and only
answers that share a fingerprint are compared.  A pair that shares none has similarity 0
whichever way it is computed, so the pairs this finds, scored as every pair is scored,
rank exactly as all pairs would.

A fingerprint that most of the class has is no evidence of copying: it is the common way to
write that line (``super().__init__()``, the one natural answer to a short question).
:func:`drop_common` removes a fingerprint from every answer when more than a share
``common`` (default one half) of the question's answers have it, and more than
:data:`COMMON_MIN` of them do (in a class of a handful, "most of the class" may be two
copies).  In a large class, a fingerprint also goes when more than ``most`` answers
(default :data:`MOST`, 20) have it, as MOSS ignores a passage found in more than ``-m``
programs (default 10): twenty-one students with the same line wrote the course's idiom, or
took it from the same place, and twenty-one students all copying one answer are not a pair
for a TA to read side by side.  That cap is also what keeps the work linear: each
fingerprint brings at most ``most * (most - 1) / 2`` pairs, whatever the size of the class,
where a share would bring a number that grows with its square.  Both are part of how a pair
is scored, so the all-pairs method (``--method all-pairs``, kept to check this one) applies
them too.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

COMMON = 0.5     # a fingerprint more than this share of the answers has is ignored ...
COMMON_MIN = 10  # ... when more than this many answers have it;
MOST = 20        # and so is one that more than this many answers have


def common_fingerprints(answers: list, common: float = COMMON, most: int = MOST,
                        minimum: int = COMMON_MIN) -> set:
    """The fingerprints that more than ``common`` of ``answers`` (and more than ``minimum``
    of them) have, or more than ``most`` of them."""
    counts: dict = defaultdict(int)
    for answer in answers:
        for value in answer.fingerprint.hashes:
            counts[value] += 1
    bar = min(max(common * len(answers), minimum), most)
    return {value for value, count in counts.items() if count > bar}


def drop_common(answers: list, common: float = COMMON, most: int = MOST,
                minimum: int = COMMON_MIN) -> list:
    """``answers`` with the class's common fingerprints removed from each; an answer left
    with no fingerprint (it is the common answer through and through) is left out."""
    from copydetect.utils import get_token_coverage

    shared = common_fingerprints(answers, common, most, minimum)
    if not shared:
        return answers
    kept = []
    for answer in answers:
        prints = answer.fingerprint
        if prints.hashes & shared:
            prints.hashes = prints.hashes - shared
            prints.hash_idx = {h: i for h, i in prints.hash_idx.items() if h not in shared}
            prints.token_coverage = get_token_coverage(prints.hash_idx, prints.k,
                                                       len(prints.filtered_code))
        if prints.token_coverage > 0:
            kept.append(answer)
    return kept


def candidate_pairs(answers: list) -> list[tuple[int, int]]:
    """The pairs (i, j), i < j, of ``answers`` that share at least one fingerprint, sorted."""
    postings: dict = defaultdict(list)
    for position, answer in enumerate(answers):
        for value in answer.fingerprint.hashes:
            postings[value].append(position)
    pairs: set = set()
    for holders in postings.values():
        if len(holders) > 1:
            pairs.update(combinations(holders, 2))  # holders are in increasing order
    return sorted(pairs)


def all_pairs(answers: list) -> list[tuple[int, int]]:
    """Every pair (i, j), i < j, of ``answers``: the method the index is checked against."""
    return list(combinations(range(len(answers)), 2))


def median_with_zeros(values: list[float], zeros: int) -> float:
    """The median of ``values`` together with ``zeros`` more zeros (the pairs the index did
    not compare, which share nothing): the median over every pair, as all pairs give it."""
    total = len(values) + zeros
    if total == 0:
        return 0.0
    ordered = sorted(values)

    def at(position: int) -> float:
        return 0.0 if position < zeros else ordered[position - zeros]

    middle = total // 2
    return at(middle) if total % 2 else (at(middle - 1) + at(middle)) / 2
