"""hw5 text pipeline as students write it: correct variants and the usual mistakes.

Each WRONG_* list holds (implementation, the prop its CheckFailure must name).
"""

import re
import string
from collections import Counter, defaultdict

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

# ---------------------------------------------------------------------------------------
# tokenize
# ---------------------------------------------------------------------------------------


def tokenize_translate(data_list):
    table = str.maketrans("", "", string.punctuation)
    return [text.translate(table).lower().split() for text in data_list]


def tokenize_regex(data_list):
    pattern = re.compile(f"[{re.escape(string.punctuation)}]")
    return [pattern.sub("", text).casefold().split() for text in data_list]


def tokenize_char_filter(data_list):
    out = []
    for text in data_list:
        kept = "".join(c for c in text.lower() if c not in string.punctuation)
        out.append(kept.split())
    return out


def tokenize_findall(data_list):
    tokens = []
    for text in data_list:
        for mark in string.punctuation:
            text = text.replace(mark, "")
        tokens.append(re.findall(r"\S+", text.lower()))
    return tokens


TOKENIZE_CORRECT = [tokenize_translate, tokenize_regex, tokenize_char_filter, tokenize_findall]


def tokenize_keeps_punctuation(data_list):
    return [text.lower().split() for text in data_list]


def tokenize_keeps_case(data_list):          # the seed's own version
    table = str.maketrans("", "", string.punctuation)
    return [text.translate(table).split() for text in data_list]


def tokenize_punctuation_to_space(data_list):
    table = str.maketrans(string.punctuation, " " * len(string.punctuation))
    return [text.translate(table).lower().split() for text in data_list]


def tokenize_split_on_space(data_list):
    table = str.maketrans("", "", string.punctuation)
    return [text.translate(table).lower().split(" ") for text in data_list]


def tokenize_strip_each_token(data_list):
    return [[t.strip(string.punctuation) for t in text.lower().split()] for text in data_list]


def tokenize_strip_only_ends(data_list):
    out = []
    for text in data_list:
        tokens = [t.strip(string.punctuation) for t in text.lower().split()]
        out.append([t for t in tokens if t])
    return out


def tokenize_in_place(data_list):
    table = str.maketrans("", "", string.punctuation)
    for i, text in enumerate(data_list):
        data_list[i] = text.translate(table).lower()
    return [text.split() for text in data_list]


TOKENIZE_WRONG = [
    (tokenize_keeps_punctuation, "punctuation removed"),
    (tokenize_keeps_case, "lower-case"),
    (tokenize_punctuation_to_space, "punctuation deleted, not replaced by a space"),
    (tokenize_split_on_space, "split on whitespace"),
    (tokenize_strip_each_token, "punctuation removed"),
    (tokenize_strip_only_ends, "punctuation removed"),
    (tokenize_in_place, "input list unchanged"),
]

# ---------------------------------------------------------------------------------------
# CountVectorizer
# ---------------------------------------------------------------------------------------


class VectorizerMostCommon:
    def __init__(self):
        self.vec_to_str_map, self.str_to_vec_map = {}, {}

    def fit(self, token_list):
        ranked = [word for word, _ in Counter(token_list).most_common()]
        self.str_to_vec_map = {w: i + 1 for i, w in enumerate(ranked)}
        self.vec_to_str_map = {i + 1: w for i, w in enumerate(ranked)}

    def transform_to_vec(self, token_list):
        return [self.str_to_vec_map.get(word, 0) for word in token_list]

    def transform_to_str(self, token_list):
        return [self.vec_to_str_map.get(rank, "<unk>") for rank in token_list]


class VectorizerSortedReverse(VectorizerMostCommon):
    """The seed's sort (stable, reverse=True keeps ties in insertion order)."""

    def fit(self, token_list):
        cnt = Counter(token_list)
        ranked = [w for w, _ in sorted(cnt.items(), key=lambda item: item[1], reverse=True)]
        self.str_to_vec_map = {w: i + 1 for i, w in enumerate(ranked)}
        self.vec_to_str_map = {r: w for w, r in self.str_to_vec_map.items()}


class VectorizerFirstIndex:
    def __init__(self):
        self.words = []
        self.rank = {}

    def fit(self, token_list):
        counts, first = defaultdict(int), {}
        for i, word in enumerate(token_list):
            counts[word] += 1
            first.setdefault(word, i)
        self.words = sorted(counts, key=lambda w: (-counts[w], first[w]))
        self.rank = {w: i + 1 for i, w in enumerate(self.words)}

    def transform_to_vec(self, token_list):
        return [self.rank[w] if w in self.rank else 0 for w in token_list]

    def transform_to_str(self, token_list):
        return [self.words[r - 1] if 1 <= r <= len(self.words) else "<unk>" for r in token_list]


class VectorizerNumpy:
    def fit(self, token_list):
        words, first, counts = np.unique(np.array(token_list), return_index=True,
                                         return_counts=True)
        order = np.lexsort((first, -counts))
        self.vocab = [str(words[i]) for i in order]
        self.lookup = {w: i + 1 for i, w in enumerate(self.vocab)}

    def transform_to_vec(self, token_list):
        return np.array([self.lookup.get(w, 0) for w in token_list])

    def transform_to_str(self, token_list):
        return [self.vocab[int(r) - 1] if 0 < int(r) <= len(self.vocab) else "<unk>"
                for r in token_list]


VECTORIZER_CORRECT = [VectorizerMostCommon, VectorizerSortedReverse, VectorizerFirstIndex,
                      VectorizerNumpy]


class VectorizerZeroBased(VectorizerMostCommon):
    def fit(self, token_list):
        ranked = [word for word, _ in Counter(token_list).most_common()]
        self.str_to_vec_map = {w: i for i, w in enumerate(ranked)}
        self.vec_to_str_map = {i: w for i, w in enumerate(ranked)}


class VectorizerLeastFrequentFirst(VectorizerMostCommon):
    def fit(self, token_list):
        ranked = [w for w, _ in sorted(Counter(token_list).items(), key=lambda kv: kv[1])]
        self.str_to_vec_map = {w: i + 1 for i, w in enumerate(ranked)}
        self.vec_to_str_map = {i + 1: w for i, w in enumerate(ranked)}


class VectorizerAlphabeticalTies(VectorizerMostCommon):
    def fit(self, token_list):
        ranked = sorted(Counter(token_list).items(), key=lambda kv: (-kv[1], kv[0]))
        self.str_to_vec_map = {w: i + 1 for i, (w, _) in enumerate(ranked)}
        self.vec_to_str_map = {i + 1: w for i, (w, _) in enumerate(ranked)}


class VectorizerFirstAppearance(VectorizerMostCommon):
    def fit(self, token_list):
        ranked = list(dict.fromkeys(token_list))
        self.str_to_vec_map = {w: i + 1 for i, w in enumerate(ranked)}
        self.vec_to_str_map = {i + 1: w for i, w in enumerate(ranked)}


class VectorizerNoneForUnknown(VectorizerMostCommon):     # the seed's dict.get
    def transform_to_vec(self, token_list):
        return [self.str_to_vec_map.get(word) for word in token_list]


class VectorizerNoneForUnknownRank(VectorizerMostCommon):
    def transform_to_str(self, token_list):
        return [self.vec_to_str_map.get(rank) for rank in token_list]


class VectorizerAccumulates(VectorizerMostCommon):
    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def fit(self, token_list):
        self.counts.update(token_list)
        ranked = [word for word, _ in self.counts.most_common()]
        self.str_to_vec_map = {w: i + 1 for i, w in enumerate(ranked)}
        self.vec_to_str_map = {i + 1: w for i, w in enumerate(ranked)}


class VectorizerSortsInput(VectorizerMostCommon):
    def fit(self, token_list):
        token_list.sort()
        super().fit(token_list)


VECTORIZER_WRONG = [
    (VectorizerZeroBased, "ranks start at 1"),
    (VectorizerLeastFrequentFirst, "most frequent word gets rank 1"),
    (VectorizerAlphabeticalTies, "ties broken by first occurrence"),
    (VectorizerFirstAppearance, "ranks follow counts"),
    (VectorizerNoneForUnknown, "unknown words get index 0"),
    (VectorizerNoneForUnknownRank, "unknown ranks give '<unk>'"),
    (VectorizerAccumulates, "fit replaces the vocabulary"),
    (VectorizerSortsInput, "ties broken by first occurrence"),
]

# ---------------------------------------------------------------------------------------
# get_index_vector
# ---------------------------------------------------------------------------------------


def index_vector_loop(sequence, size=10000):
    out = [0] * size
    for index in sequence:
        if 0 < index < size:
            out[index] = 1
    return out


def index_vector_numpy(sequence, size=10000):
    out = np.zeros(size, dtype=int)
    idx = np.asarray(sequence, dtype=int)
    out[idx[(idx > 0) & (idx < size)]] = 1
    return out.tolist()


def index_vector_torch(sequence, size=10000):
    out = torch.zeros(size)
    kept = [i for i in sequence if i != 0 and i < size]
    out[kept] = 1.0
    return out


def index_vector_set(sequence, size=10000):
    present = {i for i in sequence if 1 <= i <= size - 1}
    return [1 if i in present else 0 for i in range(size)]


INDEX_CORRECT = [index_vector_loop, index_vector_numpy, index_vector_torch, index_vector_set]


def index_vector_counts(sequence, size=10000):
    out = [0] * size
    for index in sequence:
        if 0 < index < size:
            out[index] += 1
    return out


def index_vector_keeps_zero(sequence, size=10000):
    out = [0] * size
    for index in sequence:
        if index <= size - 1:
            out[index] = 1
    return out


def index_vector_off_by_one(sequence, size=10000):
    out = [0] * size
    for index in sequence:
        if 0 < index <= size:
            out[index] = 1
    return out


def index_vector_clamps(sequence, size=10000):
    out = [0] * size
    for index in sequence:
        if index > 0:
            out[min(index, size - 1)] = 1
    return out


def index_vector_small_default(sequence, size=1000):
    return index_vector_loop(sequence, size)


def index_vector_sorts_input(sequence, size=10000):
    sequence.sort()
    return index_vector_loop(sequence, size)


INDEX_WRONG = [
    (index_vector_counts, "entries are 0 or 1"),
    (index_vector_keeps_zero, "index 0 is skipped"),
    (index_vector_off_by_one, "your code raised an exception"),
    (index_vector_clamps, "indices >= size are skipped"),
    (index_vector_small_default, "vector length"),
    (index_vector_sorts_input, "input sequence unchanged"),
]

# ---------------------------------------------------------------------------------------
# encode_labels
# ---------------------------------------------------------------------------------------


def labels_comprehension(labels):
    return [1 if label == "pos" else 0 for label in labels]


def labels_numpy(labels):
    return (np.array(labels) == "pos").astype(int)


def labels_dict(labels):
    mapping = {"neg": 0, "pos": 1}
    return list(map(mapping.get, labels))


def labels_tensor(labels):
    return torch.tensor([label == "pos" for label in labels], dtype=torch.float)


LABELS_CORRECT = [labels_comprehension, labels_numpy, labels_dict, labels_tensor]


def labels_swapped(labels):
    return [1 if label == "neg" else 0 for label in labels]


def labels_compare_list(labels):
    return int(labels == "pos")


def labels_in_place(labels):
    for i, label in enumerate(labels):
        labels[i] = 1 if label == "pos" else 0
    return labels


LABELS_WRONG = [
    (labels_swapped, "pos is 1 and neg is 0"),
    (labels_compare_list, "one number per label"),
    (labels_in_place, "input list unchanged"),
]

# ---------------------------------------------------------------------------------------
# ReviewDataset
# ---------------------------------------------------------------------------------------


class DatasetSeed(Dataset):
    def __init__(self, data, labels, device):
        self.data = torch.tensor(data, dtype=torch.float, device=device)
        self.labels = torch.tensor(labels, dtype=torch.float, device=device)

    @property
    def shape(self):
        return self.data.shape

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.data[idx], self.labels[idx]


class DatasetTensorDataset(TensorDataset):
    def __init__(self, data, labels, device):
        super().__init__(torch.as_tensor(data, dtype=torch.float32).to(device),
                         torch.as_tensor(labels, dtype=torch.float32).to(device))

    @property
    def shape(self):
        return tuple(self.tensors[0].shape)


class DatasetLazy(Dataset):
    def __init__(self, data, labels, device):
        self.rows, self.labels, self.device = data, labels, device

    shape = property(lambda self: (len(self.rows), len(self.rows[0])))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        return (torch.tensor(self.rows[idx], dtype=torch.float32, device=self.device),
                torch.tensor(float(self.labels[idx]), device=self.device))


DATASET_CORRECT = [DatasetSeed, DatasetTensorDataset, DatasetLazy]


class DatasetLongData(DatasetSeed):
    def __init__(self, data, labels, device):
        self.data = torch.tensor(data, device=device)
        self.labels = torch.tensor(labels, dtype=torch.float, device=device)


class DatasetLongLabels(DatasetSeed):
    def __init__(self, data, labels, device):
        self.data = torch.tensor(data, dtype=torch.float, device=device)
        self.labels = torch.tensor(labels, device=device)


class DatasetColumnLabels(DatasetSeed):
    def __init__(self, data, labels, device):
        super().__init__(data, labels, device)
        self.labels = self.labels.unsqueeze(1)


class DatasetLenOfVector(DatasetSeed):
    def __len__(self):
        return self.data.shape[1]


DATASET_WRONG = [
    (DatasetLongData, "review dtype float32"),
    (DatasetLongLabels, "label dtype float32"),
    (DatasetColumnLabels, "label shape"),
    (DatasetLenOfVector, "__len__"),
]
