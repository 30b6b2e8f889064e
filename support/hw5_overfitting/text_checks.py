"""Checks for the text pipeline of hw5_overfitting: tokens, ranks, multi-hot vectors, labels.

Every expected answer here is known *by construction*: make_params first draws the answer
(the lower-case words, the ranking, the set of indices) and then writes an input that must
produce it (capitals and punctuation added around the words, a token list whose counts and
first occurrences give that ranking, a sequence that repeats and pads those indices).  So
the checker never contains a tokenizer or a vectorizer of its own.

The conventions, as the notebook states them:

* ``tokenize(data_list)``: for each string, delete every character of
  ``string.punctuation`` (deleted, not replaced by a space: "didn't" -> "didnt"), lower-case,
  and split on whitespace.  One list of tokens per string; the input list is left as it is.
* ``CountVectorizer``: ``fit(token_list)`` ranks the distinct words by count, rank 1 = most
  frequent; words with the same count are ranked in the order of their first occurrence in
  the list; fitting again replaces the old vocabulary.  ``transform_to_vec`` maps words to
  ranks, unknown words to 0; ``transform_to_str`` maps ranks to words, and 0 or any rank it
  does not know to ``"<unk>"``.
* ``get_index_vector(sequence, size=10000)``: a list of ``size`` zeros with a 1 at every index
  of the sequence; index 0 (unknown word) and indices >= size are skipped.
* ``encode_labels(labels)``: ``"pos"`` -> 1, ``"neg"`` -> 0.
"""

from __future__ import annotations

import string

import numpy as np

from ..checking import Check, CheckFailure, call_student, preserved_random_state
from .common import rng, to_array, to_plain_list
from ..probe_data import ProbeData

UNKNOWN_TOKEN = "<unk>"
PUNCTUATION = set(string.punctuation)

# ---------------------------------------------------------------------------------------
# tokenize
# ---------------------------------------------------------------------------------------
BASE_WORDS = (
    "camera", "popcorn", "sequel", "matinee", "trailer", "usher", "subtitles", "projector",
    "ticket", "dont", "wont", "isnt", "couldnt", "youre", "1999", "2nd", "3d", "rewatch",
    "cut", "reel", "frame", "lens", "credits", "remake", "cameo", "stunt", "dub", "encore",
)
BEFORE = ('"', "(", "[", "'", "*")
AFTER = (".", ",", "!", "?", "...", ";", ":", ")", '"', "?!", "!!")
SEPARATORS = (" ", " ", " ", " ", "  ", "\t", "\n", " -- ", " & ", " ... ", " / ")
PUNCTUATION_ONLY = ("?! ... --", "", "(!)")


def _render_word(word: str, r) -> str:
    """The word with capitals and punctuation around and inside it (deleting restores it)."""
    case = r.random()
    shown = word.upper() if case < 0.2 else word.capitalize() if case < 0.5 else word
    if shown.lower().endswith("nt") and r.random() < 0.7:
        shown = shown[:-1] + "'" + shown[-1]          # dont -> don't
    elif len(shown) >= 6 and r.random() < 0.25:
        middle = len(shown) // 2
        shown = shown[:middle] + "-" + shown[middle:]   # popcorn -> pop-corn
    if r.random() < 0.15:
        shown = BEFORE[int(r.random() * len(BEFORE))] + shown
    if r.random() < 0.35:
        shown = shown + AFTER[int(r.random() * len(AFTER))]
    return shown


def _tokenize_params(seed: int, device: str) -> dict:
    r = rng(seed, 1)
    texts, expected = [], []
    for _ in range(4 + int(r.random() * 3)):
        words = [BASE_WORDS[int(r.random() * len(BASE_WORDS))]
                 for _ in range(3 + int(r.random() * 6))]
        text = _render_word(words[0], r)
        for word in words[1:]:
            text += SEPARATORS[int(r.random() * len(SEPARATORS))] + _render_word(word, r)
        texts.append(text)
        expected.append(words)
    for special in PUNCTUATION_ONLY[:2]:           # a punctuation-only string, an empty one
        at = int(r.random() * (len(texts) + 1))
        texts.insert(at, special)
        expected.insert(at, [])
    return {"seed": seed, "device": device, "texts": texts, "expected": expected}


def probe_tokenize(params: dict, tokenize) -> dict:
    texts = list(params["texts"])
    result = call_student("tokenize(data_list)", tokenize, texts)
    rows = list(result) if isinstance(result, (list, tuple)) else None
    tokens = None if rows is None else [to_plain_list(row) for row in rows]
    return {"tokens": tokens, "result_type": type(result).__name__,
            "input_unchanged": texts == params["texts"]}


def verdict_tokenize(params: dict, data: dict) -> str:
    """Tokens of strings with capitals, punctuation around/inside words and odd whitespace.

    Deterministic: the expected tokens are the words the strings were written from.
    """
    name, d = "test_tokenize", ProbeData("test_tokenize", data, ("tokens", "input_unchanged"))
    texts, expected = params["texts"], params["expected"]
    tokens = d.items("tokens")
    if tokens is None or any(not isinstance(row, list) for row in tokens):
        raise CheckFailure(name, "returns a list of token lists",
                           expected="a list with one list of strings per input string",
                           observed=d.data.get("result_type"),
                           hint="build a list and append one list of tokens per string")
    if len(tokens) != len(texts):
        raise CheckFailure(name, "one token list per string", expected=len(texts),
                           observed=len(tokens),
                           hint="append exactly one list per input string, also for an empty "
                                "string (its list is empty)")
    wrong = [i for i, (o, e) in enumerate(zip(tokens, expected)) if o != e]
    if wrong:
        _explain_tokens(name, [(texts[i], tokens[i], expected[i]) for i in wrong])
    if not d.flag("input_unchanged"):
        raise CheckFailure(name, "input list unchanged", expected="data_list as it was",
                           observed="your function changed the list it was given",
                           hint="build a new list of token lists instead of overwriting "
                                "data_list's entries")
    return f"{len(texts)} strings tokenized (punctuation, capitals, tabs and newlines)"


TOKEN_MISTAKES = (
    ("tokens are strings", lambda obs, exp: any(not isinstance(t, str) for t in obs),
     "each token is a str (a piece of the string)"),
    ("punctuation removed", lambda obs, exp: any(PUNCTUATION & set(t) for t in obs),
     "every character of string.punctuation must go, also inside words "
     "(str.maketrans / translate helps)"),
    ("lower-case", lambda obs, exp: any(t != t.lower() for t in obs),
     "lower-case the text so that 'Great' and 'great' are one word"),
    ("split on whitespace",
     lambda obs, exp: any(t == "" or any(c.isspace() for c in t) for t in obs),
     "str.split() without an argument splits on any run of spaces, tabs and newlines and "
     "never returns empty tokens"),
    ("punctuation deleted, not replaced by a space",
     lambda obs, exp: "".join(obs) == "".join(exp),
     "delete punctuation characters: \"didn't\" becomes 'didnt' and 'pop-corn' becomes "
     "'popcorn'"),
)


def _explain_tokens(name, rows):
    """Raise the most specific failure over the strings whose tokens are wrong.

    ``rows`` holds (text, observed tokens, expected tokens) for every wrong string; the
    mistakes are tried in a fixed order, each over all those strings.
    """
    for prop, applies, hint in TOKEN_MISTAKES:
        for text, observed, expected in rows:
            if applies(observed, expected):
                raise CheckFailure(name, prop, expected=expected, observed=observed,
                                   hint=f"for {text!r}: {hint}")
    text, observed, expected = rows[0]
    raise CheckFailure(name, "tokens", expected=expected, observed=observed,
                       hint=f"for the string {text!r}")


TOKENIZE = Check("test_tokenize", probe_tokenize, verdict_tokenize, _tokenize_params,
                 doc="test_tokenize(tokenize): strings with capitals, punctuation (also inside "
                     "words), tabs and newlines; deterministic.")

# ---------------------------------------------------------------------------------------
# CountVectorizer
# ---------------------------------------------------------------------------------------
ANIMALS = ("zebra", "yak", "walrus", "vole", "urchin", "tapir", "stoat", "raven", "quail",
           "puffin", "otter", "newt", "moose", "lynx", "koala", "jackal", "ibis", "heron",
           "gecko", "ferret", "egret", "dingo", "crane", "bison", "alpaca")
NEVER_SEEN = ("unicorn", "dragon", "griffin", "kraken")


def _shuffled(items, r):
    items = list(items)
    for i in range(len(items) - 1, 0, -1):
        j = int(r.random() * (i + 1))
        items[i], items[j] = items[j], items[i]
    return items


def _descending_counts(k: int, r) -> list[int]:
    """Counts for ranks 1..k: non-increasing, the top one unique, at least one tie."""
    while True:
        counts = [1 + int(r.random() * 2)]
        for _ in range(k - 1):
            counts.insert(0, counts[0] + (0, 1, 2)[int(r.random() * 3)])
        ties = sum(a == b for a, b in zip(counts, counts[1:]))
        if counts[0] > counts[1] and 1 <= ties <= k // 2:
            return counts


def _ranked_words(counts, r) -> list[str]:
    """Words for ranks 1..k; inside a group of equal counts, reverse alphabetical order."""
    words = _shuffled(ANIMALS, r)[:len(counts)]
    start = 0
    while start < len(counts):
        end = start
        while end + 1 < len(counts) and counts[end + 1] == counts[start]:
            end += 1
        words[start:end + 1] = sorted(words[start:end + 1], reverse=True)
        start = end + 1
    return words


def _first_occurrence_order(words, counts, r) -> list[str]:
    """A shuffled order of first occurrences that keeps tied words in rank order."""
    while True:
        order = _shuffled(words, r)
        slots = {}
        for word, count in zip(words, counts):
            slots.setdefault(count, []).append(word)          # tied words, in rank order
        positions = {c: sorted(order.index(w) for w in group) for c, group in slots.items()}
        for count, group in slots.items():
            for position, word in zip(positions[count], group):
                order[position] = word
        if order[0] != words[0] and order != list(words):
            return order


def _vectorizer_params(seed: int, device: str) -> dict:
    r = rng(seed, 2)
    k = 6 + int(r.random() * 4)
    counts = _descending_counts(k, r)
    words = _ranked_words(counts, r)
    order = _first_occurrence_order(words, counts, r)
    rest = [w for w, c in zip(words, counts) for _ in range(c - 1)]
    tokens = order + _shuffled(rest, r)
    unknown = _shuffled(NEVER_SEEN, r)[:2]
    vocab_query = _shuffled(words, r) + [words[int(r.random() * k)]]
    unknown_query = [words[0], unknown[0], words[-1], unknown[1], words[1]]
    rank_query = [0, k + 1] + _shuffled(range(1, k + 1), r) + [k + 5]
    # A second fit on another vocabulary: two old words, two new ones, distinct counts.
    new_words = [w for w in _shuffled(ANIMALS, r) if w not in words][:2]
    refit_words = _shuffled(words[:2] + new_words, r)
    refit_tokens = _shuffled([w for i, w in enumerate(refit_words)
                              for _ in range(len(refit_words) - i)], r)
    return {"seed": seed, "device": device, "tokens": tokens, "words": words,
            "counts": counts, "first_order": order,
            "vocab_query": vocab_query, "unknown_query": unknown_query,
            "rank_query": rank_query, "refit_tokens": refit_tokens,
            "refit_query": refit_words + [words[-1]],
            "refit_expected": list(range(1, len(refit_words) + 1)) + [0]}


def probe_count_vectorizer(params: dict, CountVectorizer) -> dict:
    vectorizer = call_student("CountVectorizer()", CountVectorizer)
    tokens = list(params["tokens"])
    call_student("fit(token_list)", vectorizer.fit, tokens)
    ranks = call_student("transform_to_vec(tokens)", vectorizer.transform_to_vec,
                         list(params["vocab_query"]))
    unknown = call_student("transform_to_vec(tokens with unknown words)",
                           vectorizer.transform_to_vec, list(params["unknown_query"]))
    words = call_student("transform_to_str(ranks)", vectorizer.transform_to_str,
                         list(params["rank_query"]))
    call_student("fit(another token_list)", vectorizer.fit, list(params["refit_tokens"]))
    refit = call_student("transform_to_vec after a second fit", vectorizer.transform_to_vec,
                         list(params["refit_query"]))
    return {"ranks": to_plain_list(ranks), "unknown": to_plain_list(unknown),
            "words": to_plain_list(words), "refit": to_plain_list(refit),
            "input_unchanged": tokens == params["tokens"]}


def verdict_count_vectorizer(params: dict, data: dict) -> str:
    """Ranks by count (1 = most frequent, ties by first occurrence), unknowns, round trip, refit.

    Deterministic: the ranking is drawn first and the token list written to produce it;
    tied words are named in reverse alphabetical order and the most frequent word never
    comes first, so alphabetical tie-breaking and first-occurrence ranking both show.
    """
    name, d = "test_count_vectorizer", ProbeData("test_count_vectorizer", data, (
        "ranks", "unknown", "words", "refit", "input_unchanged"))
    words = params["words"]
    rank_of = {w: i + 1 for i, w in enumerate(words)}
    expected = [rank_of[w] for w in params["vocab_query"]]
    observed = _sequence(name, d, "ranks", "transform_to_vec", len(expected))
    if observed != expected:
        _explain_ranks(name, params, observed, expected)
    unknown_expected = [rank_of.get(w, 0) for w in params["unknown_query"]]
    observed = _sequence(name, d, "unknown", "transform_to_vec", len(unknown_expected))
    if observed != unknown_expected:
        raise CheckFailure(name, "unknown words get index 0",
                           expected=f"{unknown_expected} for {params['unknown_query']}",
                           observed=observed,
                           hint="a word that fit() never saw maps to 0 (no word has rank 0); "
                                "dict.get(word, 0) does it")
    words_expected = [words[q - 1] if 1 <= q <= len(words) else UNKNOWN_TOKEN
                      for q in params["rank_query"]]
    observed = _sequence(name, d, "words", "transform_to_str", len(words_expected))
    if observed != words_expected:
        known = [i for i, q in enumerate(params["rank_query"]) if 1 <= q <= len(words)]
        prop = "transform_to_str inverts transform_to_vec" \
            if any(observed[i] != words_expected[i] for i in known) \
            else "unknown ranks give '<unk>'"
        raise CheckFailure(name, prop, expected=f"{words_expected} for {params['rank_query']}",
                           observed=observed,
                           hint="rank r maps back to the word of rank r; 0 and ranks no word "
                                "has map to '<unk>'")
    observed = _sequence(name, d, "refit", "transform_to_vec", len(params["refit_expected"]))
    if observed != params["refit_expected"]:
        raise CheckFailure(name, "fit replaces the vocabulary",
                           expected=f"{params['refit_expected']} for {params['refit_query']} "
                                    f"after fitting on {params['refit_tokens']}",
                           observed=observed,
                           hint="fit() builds new dictionaries from scratch, it does not "
                                "add to what an earlier fit() learned")
    if not d.flag("input_unchanged"):
        raise CheckFailure(name, "input list unchanged", expected="token_list as it was",
                           observed="fit() changed the list it was given",
                           hint="count the tokens without sorting or editing the list")
    return f"{len(words)} words ranked (with ties), unknown words/ranks, round trip, refit"


def _sequence(name, d: ProbeData, key, method, length):
    observed = d.items(key)
    if observed is None:
        raise CheckFailure(name, f"{method} returns a list",
                           expected=f"a list of {length} items", observed=d.get(key),
                           hint=f"{method} returns one item per input item, in order")
    if len(observed) != length:
        raise CheckFailure(name, f"{method} returns one item per input",
                           expected=length, observed=len(observed),
                           hint=f"{method} maps each item of the list it is given")
    return observed


def _ascending_by_count(query, observed, words, counts) -> bool:
    """The observed ranks order the words by increasing count."""
    count_of = dict(zip(words, counts))
    rank_of = dict(zip(query, observed))
    if sorted(rank_of.values(), key=str) != sorted(range(1, len(words) + 1), key=str):
        return False
    ordered = [count_of[w] for w in sorted(rank_of, key=rank_of.get)]
    return ordered == sorted(ordered) and ordered != sorted(ordered, reverse=True)


def _explain_ranks(name, params, observed, expected):
    """Raise the most specific failure for wrong ranks of known words."""
    words, counts, query = params["words"], params["counts"], params["vocab_query"]
    table = ", ".join(f"{w}: count {c}" for w, c in zip(words, counts))
    shown = dict(expected=f"{expected} for {query}", observed=observed)
    if observed == [e - 1 for e in expected]:
        raise CheckFailure(name, "ranks start at 1", **shown,
                           hint="the most frequent word has rank 1, not 0 (0 is kept for "
                                "unknown words)")
    if _ascending_by_count(query, observed, words, counts):
        raise CheckFailure(name, "most frequent word gets rank 1", **shown,
                           hint=f"sort by decreasing count ({table})")
    by_first = {w: i + 1 for i, w in enumerate(params["first_order"])}
    if observed == [by_first[w] for w in query]:
        raise CheckFailure(name, "ranks follow counts", **shown,
                           hint=f"rank by how often a word occurs, not by where it first "
                                f"appears ({table})")
    wrong = {w for w, o, e in zip(query, observed, expected) if o != e}
    tied = {w for w, c in zip(words, counts) if counts.count(c) > 1}
    if wrong <= tied:
        raise CheckFailure(name, "ties broken by first occurrence", **shown,
                           hint="words with the same count keep the order in which they first "
                                "appear in the token list (a stable sort on the count, or "
                                "Counter.most_common(), does that; alphabetical order does not)")
    raise CheckFailure(name, "ranks", **shown, hint=f"counts: {table}")


COUNT_VECTORIZER = Check("test_count_vectorizer", probe_count_vectorizer, verdict_count_vectorizer,
                         _vectorizer_params,
                         doc="test_count_vectorizer(CountVectorizer): ranks by count with ties, "
                             "unknown words and ranks, round trip and refit; deterministic.")

# ---------------------------------------------------------------------------------------
# get_index_vector
# ---------------------------------------------------------------------------------------
DEFAULT_SIZE = 10000


def _index_sequence(positions, size, r, zeros=1, out_of_range=2):
    """The positions repeated 1-3 times, plus zeros and indices >= size, shuffled."""
    sequence = [p for p in positions for _ in range(1 + int(r.random() * 3))]
    sequence += [0] * zeros
    sequence += [size + int(r.random() * 3 * size) for _ in range(out_of_range - 1)] + [size]
    return _shuffled(sequence, r)


def _index_params(seed: int, device: str) -> dict:
    r = rng(seed, 3)
    if seed == 0:      # the notebook's example: (3, 5, 9) in a vector of size 10
        size, positions, sequence = 10, [3, 5, 9], [5, 3, 0, 9, 12, 5, 10]
    else:
        size = 8 + int(r.random() * 9)
        positions = sorted(_shuffled(range(1, size), r)[:2 + int(r.random() * (size // 2))])
        if size - 1 not in positions:
            positions.append(size - 1)          # the last valid index is kept
        sequence = _index_sequence(positions, size, r, zeros=1 + int(r.random() * 2))
    default_positions = sorted({1 + int(r.random() * 200), 9000 + int(r.random() * 998),
                                DEFAULT_SIZE - 1})
    low = 1 + int(r.random() * (size - 2))
    cases = [
        {"sequence": sequence, "size": size, "positions": positions},
        {"sequence": _index_sequence(default_positions, DEFAULT_SIZE, r), "size": None,
         "positions": default_positions},
        {"sequence": [], "size": size, "positions": []},
        {"sequence": [size + 3, low, size, 2 * size + 1], "size": size, "positions": [low]},
    ]
    return {"seed": seed, "device": device, "size": size, "cases": cases}


def _vector_data(result):
    array = to_array(result)
    if array is None:
        return None, type(result).__name__
    return array, type(result).__name__


def _index_call(case) -> str:
    shown = case["sequence"] if len(case["sequence"]) < 12 else "[...]"
    return f"get_index_vector({shown}" + \
        (f", size={case['size']})" if case["size"] is not None else ")")


def probe_get_index_vector(params: dict, get_index_vector) -> dict:
    out, unchanged = {}, True
    for i, case in enumerate(params["cases"]):
        sequence = list(case["sequence"])
        kwargs = {"size": case["size"]} if case["size"] is not None else {}
        result = call_student(_index_call(case), get_index_vector, sequence, **kwargs)
        unchanged = unchanged and sequence == case["sequence"]
        out[f"vector_{i}"], out[f"type_{i}"] = _vector_data(result)
    out["input_unchanged"] = unchanged
    return out


def verdict_get_index_vector(params: dict, data: dict) -> str:
    """Multi-hot vectors: 1 at each index once, 0 and indices >= size skipped; default size.

    Deterministic: the expected positions are drawn first and the sequence written from them.
    """
    cases = params["cases"]
    keys = [f"vector_{i}" for i in range(len(cases))] + ["input_unchanged"]
    name, d = "test_get_index_vector", ProbeData("test_get_index_vector", data, keys)
    for i, case in enumerate(cases):
        _check_vector(name, d, i, case)
    if not d.flag("input_unchanged"):
        raise CheckFailure(name, "input sequence unchanged", expected="sequence as it was",
                           observed="get_index_vector changed the list it was given",
                           hint="read the sequence, write only into the new vector")
    return (f"multi-hot vectors of size {params['size']} and the default {DEFAULT_SIZE} "
            "(repeats, index 0, indices >= size)")


def _check_vector(name, d: ProbeData, i, case):
    value = d.get(f"vector_{i}")
    vector = to_array(value) if value is not None else None
    length = case["size"] or DEFAULT_SIZE
    positions, call = case["positions"], _index_call(case)
    if vector is None or vector.ndim != 1:
        raise CheckFailure(name, "returns a vector", expected=f"a list of {length} numbers",
                           observed=d.data.get(f"type_{i}") if vector is None else
                           f"shape {vector.shape}", hint=f"for {call}")
    if vector.shape[0] != length:
        hint = "the default size is 10000" if case["size"] is None else f"for {call}"
        raise CheckFailure(name, "vector length", expected=length, observed=vector.shape[0],
                           hint=hint)
    if not np.all(np.isin(vector, (0.0, 1.0))):
        raise CheckFailure(name, "entries are 0 or 1", expected="only 0s and 1s",
                           observed=f"values {sorted(set(vector[vector != 0].tolist()))[:5]}",
                           hint=f"for {call}: an index that occurs twice still gives a 1 "
                                "(set the entry, do not add to it)")
    found = np.flatnonzero(vector).tolist()
    if found == positions:
        return
    shown = dict(expected=f"ones at {positions}", observed=f"ones at {found}")
    if 0 in found and 0 not in positions:
        raise CheckFailure(name, "index 0 is skipped", **shown,
                           hint=f"for {call}: 0 is the index of unknown words; skip it")
    if length - 1 in found and length - 1 not in positions:
        raise CheckFailure(name, "indices >= size are skipped", **shown,
                           hint=f"for {call}: skip an index that does not fit in the vector, "
                                "do not move it to the last position")
    raise CheckFailure(name, "ones at the word indices", **shown, hint=f"for {call}")


INDEX_VECTOR = Check("test_get_index_vector", probe_get_index_vector, verdict_get_index_vector,
                     _index_params,
                     doc="test_get_index_vector(get_index_vector): multi-hot vectors with "
                         "repeats, index 0 and out-of-range indices; deterministic.")

# ---------------------------------------------------------------------------------------
# encode_labels
# ---------------------------------------------------------------------------------------


def _labels_params(seed: int, device: str) -> dict:
    r = rng(seed, 4)
    n = 6 + int(r.random() * 7)
    while True:
        labels = ["pos" if r.random() < 0.5 else "neg" for _ in range(n)]
        alternating = all(a != b for a, b in zip(labels, labels[1:]))
        if 2 <= labels.count("pos") <= n - 2 and not alternating:
            return {"seed": seed, "device": device, "labels": labels}


def probe_encode_labels(params: dict, encode_labels) -> dict:
    labels = list(params["labels"])
    result = call_student("encode_labels(labels)", encode_labels, labels)
    array, kind = _vector_data(result)
    return {"encoded": array, "result_type": kind,
            "input_unchanged": labels == params["labels"]}


def verdict_encode_labels(params: dict, data: dict) -> str:
    """'pos' -> 1 and 'neg' -> 0, one number per label; deterministic."""
    name, d = "test_encode_labels", ProbeData("test_encode_labels", data, ("encoded", "input_unchanged"))
    labels = params["labels"]
    expected = [1 if label == "pos" else 0 for label in labels]
    value = d.get("encoded")
    encoded = to_array(value) if value is not None else None
    if encoded is None or encoded.ndim != 1 or len(encoded) != len(labels):
        raise CheckFailure(name, "one number per label", expected=f"{len(labels)} numbers",
                           observed=d.data.get("result_type") if encoded is None
                           else f"shape {encoded.shape}",
                           hint="return a list with one 0/1 number per label")
    observed = encoded.tolist()
    if observed == [1 - e for e in expected]:
        raise CheckFailure(name, "pos is 1 and neg is 0", expected=expected, observed=observed,
                           hint="the network's output is the probability of 'pos'")
    if observed != expected:
        raise CheckFailure(name, "labels", expected=f"{expected} for {labels}",
                           observed=observed, hint="'pos' -> 1, 'neg' -> 0")
    if not d.flag("input_unchanged"):
        raise CheckFailure(name, "input list unchanged", expected="labels as they were",
                           observed="encode_labels changed the list it was given",
                           hint="return a new list")
    return f"{len(labels)} labels encoded"


ENCODE_LABELS = Check("test_encode_labels", probe_encode_labels, verdict_encode_labels,
                      _labels_params,
                      doc="test_encode_labels(encode_labels): 'pos' -> 1, 'neg' -> 0.")

# ---------------------------------------------------------------------------------------
# ReviewDataset
# ---------------------------------------------------------------------------------------
LOADER_BATCH = 3


def _dataset_params(seed: int, device: str) -> dict:
    r = rng(seed, 5)
    n = 5 + int(r.random() * 5)
    d = 3 + int(r.random() * 6)
    if d == n:
        d += 1
    data = [[int(r.random() < 0.4) for _ in range(d)] for _ in range(n)]
    labels = [int(r.random() < 0.5) for _ in range(n)]
    labels[0], labels[-1] = 0, 1
    return {"seed": seed, "device": device, "data": data, "labels": labels,
            "items": sorted({0, n - 1, 1 + int(r.random() * (n - 2))})}


def _tensor_facts(value) -> dict:
    """Values, dtype, device type and shape of a tensor (or the type name of a non-tensor)."""
    import torch
    if not isinstance(value, torch.Tensor):
        return {"type": type(value).__name__}
    return {"type": "Tensor", "dtype": str(value.dtype).replace("torch.", ""),
            "device": value.device.type, "shape": list(value.shape),
            "values": value.detach().cpu().double().reshape(-1).tolist()}


def probe_review_dataset(params: dict, ReviewDataset) -> dict:
    data = [list(row) for row in params["data"]]
    labels = list(params["labels"])
    with preserved_random_state():
        return _dataset_facts(params, ReviewDataset, data, labels)


def _dataset_facts(params, ReviewDataset, data, labels) -> dict:
    import torch
    from torch.utils.data import DataLoader
    dataset = call_student("ReviewDataset(data, labels, device)", ReviewDataset, data, labels,
                           torch.device(params["device"]))
    length = call_student("len(dataset)", len, dataset)
    shape = call_student("dataset.shape", lambda: dataset.shape)
    items = []
    for index in params["items"]:
        item = call_student(f"dataset[{index}]", dataset.__getitem__, index)
        pair = isinstance(item, (tuple, list)) and len(item) == 2
        items.append({"pair": pair, "x": _tensor_facts(item[0]) if pair else {},
                      "y": _tensor_facts(item[1]) if pair else {}})
    batch = call_student(f"next(iter(DataLoader(dataset, batch_size={LOADER_BATCH})))",
                         lambda: next(iter(DataLoader(dataset, batch_size=LOADER_BATCH))))
    shapes = [list(b.shape) if isinstance(b, torch.Tensor) else None for b in batch]
    return {"length": int(length), "shape": to_plain_list(tuple(shape)), "items": items,
            "batch_shapes": shapes}


def verdict_review_dataset(params: dict, data: dict) -> str:
    """len, shape, items (float32 tensors on the device), and DataLoader batches; deterministic."""
    name, d = "test_review_dataset", ProbeData("test_review_dataset", data, (
        "length", "shape", "items", "batch_shapes"))
    rows = params["data"]
    n, width = len(rows), len(rows[0])
    if d.integer("length") != n:
        raise CheckFailure(name, "__len__", expected=n, observed=d.get("length"),
                           hint="len(dataset) is the number of reviews")
    if d.items("shape") != [n, width]:
        raise CheckFailure(name, "shape property", expected=[n, width], observed=d.get("shape"),
                           hint="shape is the shape of the data tensor: (reviews, vector size)")
    items = d.items("items") or []
    if len(items) != len(params["items"]):
        raise CheckFailure(name, "probe data", expected=len(params["items"]),
                           observed=len(items))
    for index, item in zip(params["items"], items):
        _check_item(name, params, index, item)
    shapes = d.items("batch_shapes")
    if shapes != [[LOADER_BATCH, width], [LOADER_BATCH]]:
        raise CheckFailure(name, "DataLoader batches", expected=[[LOADER_BATCH, width],
                                                                  [LOADER_BATCH]],
                           observed=shapes,
                           hint="a batch of reviews has shape (batch, vector size) and its "
                                "labels shape (batch,): each label is a 0-dim tensor")
    return f"{n} reviews of size {width}: len, shape, items, batches on {params['device']}"


def _check_item(name, params, index, item):
    if not isinstance(item, dict) or not item.get("pair"):
        raise CheckFailure(name, "item is (review, label)", expected="a tuple (x, y)",
                           observed=f"dataset[{index}] is something else",
                           hint="__getitem__ returns the review's vector and its label")
    expected_x, expected_y = params["data"][index], float(params["labels"][index])
    device = params["device"].split(":")[0]
    for part, facts, values, shape in (("review", item.get("x"), expected_x, [len(expected_x)]),
                                       ("label", item.get("y"), [expected_y], [])):
        if not isinstance(facts, dict) or facts.get("type") != "Tensor":
            raise CheckFailure(name, f"{part} is a tensor", expected="a torch.Tensor",
                               observed=(facts or {}).get("type"),
                               hint="convert the lists to tensors once, in __init__")
        if facts.get("shape") != shape:
            raise CheckFailure(name, f"{part} shape", expected=shape,
                               observed=facts.get("shape"),
                               hint=f"dataset[{index}] returns row {index} of the data and "
                                    "its label as a 0-dim tensor")
        if facts.get("dtype") != "float32":
            raise CheckFailure(name, f"{part} dtype float32", expected="float32",
                               observed=facts.get("dtype"),
                               hint="store data and labels with dtype=torch.float (BCELoss "
                                    "needs float labels)")
        if facts.get("device") != device:
            raise CheckFailure(name, "tensors on the given device", expected=device,
                               observed=facts.get("device"),
                               hint="create the tensors with device=device")
        if facts.get("values") != [float(v) for v in values]:
            raise CheckFailure(name, f"{part} values", expected=values,
                               observed=facts.get("values"),
                               hint=f"dataset[{index}] is item {index} of the data and labels, "
                                    "in the order given")


REVIEW_DATASET = Check("test_review_dataset", probe_review_dataset, verdict_review_dataset,
                       _dataset_params,
                       doc="test_review_dataset(ReviewDataset): len, shape, float32 items on "
                           "the device, DataLoader batches; deterministic.")
