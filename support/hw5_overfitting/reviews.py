"""Offline movie reviews for hw5_overfitting: a synthetic labelled corpus and an IMDB loader.

No review corpus ships with the packages the course uses and nothing may be downloaded, so
:func:`make_review_corpus` *generates* short English movie reviews, deterministically from a
seed.  How a review is made (this is what a bag-of-words model can and cannot learn):

* Its label, ``"pos"`` or ``"neg"``, is drawn first; both splits are exactly balanced.
* It has 4 to 9 sentences.  About 60 % of them state an opinion about an aspect of the film
  ("The soundtrack is wonderful.", "I hated the ending.", "What a clumsy script!").
  An opinion agrees with the review's label with probability 0.9 (mixed reviews exist),
  and a tenth of opinions are *negated* ("The plot is not boring."), which puts a word of
  the opposite polarity into the text: word counts alone cannot read those correctly.
* The other sentences are neutral: who plays whom, where and when it was shot, how long it
  runs, with whom the reviewer watched it.  They bring thousands of rare words (invented
  surnames, places, film titles, years) that carry no sentiment at all.
* Finally ``label_noise`` (10 % by default) of the labels are flipped at random, as if the
  reviewer had clicked the wrong star rating.

So the task is learnable (the opinion words carry the signal) but no model can be right
about the flipped labels, and the rare neutral words let a large network memorise the
training reviews one by one: its training loss keeps falling while its validation loss
turns up.  The generator uses only ``random.Random(seed).random()``, whose sequence Python
guarantees across versions and platforms, so every student gets the same corpus.

:func:`load_imdb` reads the real Large Movie Review Dataset when its files are already on
disk (folder layout ``aclImdb/{train,test}/{pos,neg}/*.txt``); it never downloads anything.
:func:`load_reviews` picks one of the two.
"""

from __future__ import annotations

import bisect
import random
from pathlib import Path

__all__ = ["make_review_corpus", "load_imdb", "load_reviews", "LABELS"]

LABELS = ("neg", "pos")

# Opinion vocabulary, most common first (drawn with weights 1/rank, so some are rare).
POSITIVE_ADJECTIVES = (
    "great", "good", "wonderful", "beautiful", "funny", "brilliant", "excellent", "moving",
    "charming", "clever", "enjoyable", "gripping", "superb", "touching", "delightful",
    "stunning", "memorable", "powerful", "witty", "engaging", "fresh", "solid", "likeable",
    "inventive", "heartfelt", "elegant", "thrilling", "masterful", "tender", "vivid",
    "luminous", "sublime", "riveting", "poignant", "dazzling", "graceful",
)
NEGATIVE_ADJECTIVES = (
    "bad", "boring", "awful", "terrible", "dull", "predictable", "weak", "silly", "bland",
    "tedious", "clumsy", "messy", "forgettable", "painful", "shallow", "confusing",
    "annoying", "flat", "cheap", "pointless", "lifeless", "wooden", "sloppy", "clunky",
    "hollow", "stale", "dreary", "laughable", "muddled", "tiresome", "grating", "leaden",
    "insipid", "plodding", "vapid", "turgid",
)
POSITIVE_VERBS = (("loved", "love"), ("enjoyed", "enjoy"), ("liked", "like"),
                  ("admired", "admire"), ("adored", "adore"), ("cherished", "cherish"))
NEGATIVE_VERBS = (("hated", "hate"), ("disliked", "dislike"), ("regretted", "regret"),
                  ("loathed", "loathe"), ("resented", "resent"), ("despised", "despise"))
INTENSIFIERS = ("", "", "", "very ", "really ", "quite ", "rather ", "truly ", "so ")
ASPECTS = (
    "plot", "acting", "script", "soundtrack", "ending", "cast", "dialogue", "pacing",
    "camera work", "story", "characters", "direction", "humour", "effects", "score",
    "editing", "villain", "lead", "opening", "finale", "premise", "photography",
    "costumes", "set design", "twist", "romance",
)
ROLES = (
    "detective", "teacher", "widow", "soldier", "nurse", "thief", "journalist", "farmer",
    "painter", "boxer", "priest", "pilot", "chef", "lawyer", "sailor", "banker", "student",
    "mayor", "doctor", "singer", "miner", "twin", "ghost", "robot", "spy", "king",
)
FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Hugo", "Ines", "Jack",
    "Karen", "Luis", "Maria", "Nils", "Olga", "Peter", "Rosa", "Sam", "Tina", "Victor",
    "Wendy", "Yusuf", "Zoe", "Omar", "Lena", "Marco", "Nadia", "Paul", "Rita", "Tom",
)
TITLE_WORDS = (
    "night", "river", "shadow", "summer", "house", "road", "winter", "silver", "storm",
    "garden", "last", "empty", "iron", "glass", "long", "quiet", "red", "lost", "broken",
    "hidden", "city", "island", "letter", "stranger", "mirror", "harbour", "frontier",
)
COMPANIONS = ("my sister", "my brother", "a friend", "my parents", "my kids", "my partner",
              "colleagues", "my neighbour", "nobody", "my grandmother")
OCCASIONS = ("last week", "on a plane", "at a festival", "on television", "at home",
             "in a small cinema", "on a rainy sunday", "years ago", "twice", "last night")
OBJECTS = ("a horse", "a train", "a letter", "a piano", "a storm", "a dog", "a wedding",
           "a car chase", "a funeral", "a lighthouse", "a mirror", "a fire")
SYLLABLES = ("ka", "lo", "mi", "ver", "tan", "bro", "del", "sha", "rin", "gor", "pel",
             "vu", "zan", "mor", "qui", "ste", "dra", "fen", "hal", "jor", "nes", "tru",
             "wil", "xa", "bel", "cor", "dun", "ek", "fa", "gri")

PLURAL_ASPECTS = {"characters", "costumes", "effects"}
NO_ARTICLE = PLURAL_ASPECTS | {"acting", "dialogue", "pacing", "camera work", "direction",
                               "humour", "editing", "photography", "set design"}

N_SURNAMES = 2400
N_PLACES = 400


class _Draw:
    """Random draws built only on ``random.Random(seed).random()`` (stable across Pythons)."""

    def __init__(self, seed: int):
        self._random = random.Random(seed).random

    def below(self, n: int) -> int:
        return min(int(self._random() * n), n - 1)

    def choice(self, options):
        return options[self.below(len(options))]

    def chance(self, p: float) -> bool:
        return self._random() < p

    def weighted_index(self, cumulative: list[float]) -> int:
        return min(bisect.bisect_right(cumulative, self._random() * cumulative[-1]),
                   len(cumulative) - 1)


def _zipf_cumulative(n: int, exponent: float = 1.0) -> list[float]:
    """Cumulative weights 1/rank**exponent for ranks 1..n."""
    total, out = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / rank ** exponent
        out.append(total)
    return out


def _invented_words(draw: _Draw, count: int, syllables: tuple[int, int]) -> list[str]:
    """``count`` distinct pronounceable invented words (surnames, places)."""
    words, seen = [], set()
    while len(words) < count:
        n = syllables[0] + draw.below(syllables[1] - syllables[0] + 1)
        word = "".join(draw.choice(SYLLABLES) for _ in range(n))
        if word not in seen:
            seen.add(word)
            words.append(word.capitalize())
    return words


def _article(adjective: str, noun: str) -> str:
    """'a dull plot', 'an awful plot', 'dull effects', 'dull acting'."""
    if noun in NO_ARTICLE:
        return f"{adjective} {noun}"
    return f"{'an' if adjective[0] in 'aeiou' else 'a'} {adjective} {noun}"


class _ReviewWriter:
    """Writes one review at a time; all randomness comes from one :class:`_Draw`."""

    P_OPINION = 0.6       # share of sentences that state an opinion
    P_AGREE = 0.9         # an opinion agrees with the review's label
    P_NEGATED = 0.1       # an opinion is phrased with "not" and an opposite-polarity word

    def __init__(self, draw: _Draw, surnames: list[str], places: list[str]):
        self.draw, self.surnames, self.places = draw, surnames, places
        self.adjective_weights = _zipf_cumulative(len(POSITIVE_ADJECTIVES))
        self.surname_weights = _zipf_cumulative(len(surnames), 0.8)
        self.place_weights = _zipf_cumulative(len(places), 0.8)

    # ---- words ------------------------------------------------------------------------
    def adjective(self, positive: bool) -> str:
        words = POSITIVE_ADJECTIVES if positive else NEGATIVE_ADJECTIVES
        return words[self.draw.weighted_index(self.adjective_weights)]

    def verb(self, positive: bool) -> tuple[str, str]:
        return self.draw.choice(POSITIVE_VERBS if positive else NEGATIVE_VERBS)

    def name(self) -> str:
        surname = self.surnames[self.draw.weighted_index(self.surname_weights)]
        return f"{self.draw.choice(FIRST_NAMES)} {surname}"

    def place(self) -> str:
        return self.places[self.draw.weighted_index(self.place_weights)]

    def title(self) -> str:
        return f"The {self.draw.choice(TITLE_WORDS).capitalize()} " \
               f"{self.draw.choice(TITLE_WORDS).capitalize()}"

    # ---- sentences --------------------------------------------------------------------
    def opinion(self, positive: bool) -> str:
        d, aspect = self.draw, self.draw.choice(ASPECTS)
        verb = "are" if aspect in PLURAL_ASPECTS else "is"
        if d.chance(self.P_NEGATED):
            form = d.below(3)
            if form == 0:
                return f"The {aspect} {verb} not {self.adjective(not positive)}."
            if form == 1:
                return f"I did not {self.verb(not positive)[1]} the {aspect}."
            return f"Nobody could call the {aspect} {self.adjective(not positive)}."
        form = d.below(5)
        if form == 0:
            return f"The {aspect} {verb} {d.choice(INTENSIFIERS)}{self.adjective(positive)}."
        if form == 1:
            return f"I {self.verb(positive)[0]} the {aspect}."
        if form == 2:
            return f"What {_article(self.adjective(positive), aspect)}!"
        if form == 3:
            return f"{self.name()} gives {_article(self.adjective(positive), 'performance')}."
        return f"Overall, {d.choice(INTENSIFIERS)}{self.adjective(positive)}."

    def neutral(self) -> str:
        d, form = self.draw, self.draw.below(7)
        if form == 0:
            return f"{self.name()} plays the {d.choice(ROLES)}."
        if form == 1:
            return f"It was shot in {self.place()} in {1950 + d.below(74)}."
        if form == 2:
            return f"The film runs {80 + d.below(100)} minutes."
        if form == 3:
            return f"I watched it {d.choice(OCCASIONS)} with {d.choice(COMPANIONS)}."
        if form == 4:
            return f"The story follows a {d.choice(ROLES)} from {self.place()}."
        if form == 5:
            return f"{self.name()} directed it after \"{self.title()}\"."
        return f"There is a scene with {d.choice(OBJECTS)} near {self.place()}."

    def review(self, positive: bool) -> str:
        d = self.draw
        sentences = []
        for _ in range(4 + d.below(6)):
            if d.chance(self.P_OPINION):
                agrees = d.chance(self.P_AGREE)
                sentences.append(self.opinion(positive if agrees else not positive))
            else:
                sentences.append(self.neutral())
        return " ".join(sentences)


def _split(writer: _ReviewWriter, draw: _Draw, n: int, label_noise: float):
    """n reviews (half positive, in random order) and their labels after label noise."""
    polarity = [i % 2 == 1 for i in range(n)]
    for i in range(n - 1, 0, -1):  # Fisher-Yates with our own draws
        j = draw.below(i + 1)
        polarity[i], polarity[j] = polarity[j], polarity[i]
    texts, labels = [], []
    for positive in polarity:
        texts.append(writer.review(positive))
        flipped = draw.chance(label_noise)
        labels.append(LABELS[int(positive != flipped)])
    return texts, labels


def make_review_corpus(n_train: int = 2500, n_test: int = 2500, seed: int = 0,
                       label_noise: float = 0.1):
    """A synthetic labelled review corpus: ``(train_texts, train_labels, test_texts, test_labels)``.

    Texts are strings; labels are ``"pos"`` or ``"neg"``.  The same arguments always give the
    same corpus.  ``label_noise`` is the probability that a review's label was flipped.
    """
    if n_train < 0 or n_test < 0 or not 0.0 <= label_noise <= 1.0:
        raise ValueError("n_train and n_test must be >= 0 and 0 <= label_noise <= 1")
    draw = _Draw(seed)
    surnames = _invented_words(draw, N_SURNAMES, (2, 3))
    places = _invented_words(draw, N_PLACES, (2, 3))
    writer = _ReviewWriter(draw, surnames, places)
    train_texts, train_labels = _split(writer, draw, n_train, label_noise)
    test_texts, test_labels = _split(writer, draw, n_test, label_noise)
    return train_texts, train_labels, test_texts, test_labels


def _imdb_root(path) -> Path:
    """The folder holding train/ and test/: ``path`` itself or ``path/aclImdb``."""
    path = Path(path).expanduser()
    for root in (path, path / "aclImdb"):
        if all((root / split / label).is_dir() for split in ("train", "test") for label in LABELS):
            return root
    raise FileNotFoundError(
        f"no IMDB reviews under {path}: expected the folders "
        "aclImdb/train/pos, aclImdb/train/neg, aclImdb/test/pos and aclImdb/test/neg "
        "(give the path of aclImdb or of the folder containing it)")


def _read_split(root: Path, split: str, limit: int | None):
    texts, labels = [], []
    for label in LABELS:
        files = sorted((root / split / label).glob("*.txt"))
        for file in files[:limit] if limit is not None else files:
            text = file.read_text(encoding="utf-8", errors="replace")
            texts.append(text.replace("<br />", " ").replace("<br/>", " "))
            labels.append(label)
    return texts, labels


def load_imdb(path, max_per_label: int | None = None):
    """The Large Movie Review Dataset from disk, as ``(train_texts, train_labels, test_texts,
    test_labels)``.

    ``path`` is the ``aclImdb`` folder or the folder containing it; inside, reviews are the
    files ``{train,test}/{pos,neg}/*.txt``.  Within a split the negative reviews come first,
    then the positive ones, each in file-name order; HTML line breaks (``<br />``) become
    spaces.  ``max_per_label`` keeps only the first reviews of each label and split (the full
    set, 25,000 reviews per split, is slow to train on without a GPU).  Nothing is downloaded.
    """
    root = _imdb_root(path)
    train_texts, train_labels = _read_split(root, "train", max_per_label)
    test_texts, test_labels = _read_split(root, "test", max_per_label)
    return train_texts, train_labels, test_texts, test_labels


def load_reviews(path=None, **options):
    """IMDB from ``path`` when one is given, else the synthetic corpus (offline, seeded).

    ``options`` go to :func:`load_imdb` (``max_per_label``) or :func:`make_review_corpus`
    (``n_train``, ``n_test``, ``seed``, ``label_noise``).
    """
    if path is not None:
        return load_imdb(path, **options)
    return make_review_corpus(**options)
