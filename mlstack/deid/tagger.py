"""A learned tagger for names and places in clinical text: an averaged structured perceptron over tokens,
decoded with Viterbi in numpy (no other dependency, so every Lambda package can carry it).

Patterns find what has a form (dates, phones, IDs); names and places have none, and lists miss most of them.
The tagger decides from context and form instead: the words around a token (titles, "with", "lives in", a
verb after it), its shape (capitalized, upper case, hyphenated, an initial), its prefixes and suffixes
("-ez", "-ski", "-ova" versus "-pril", "-olol"), and whether the shipped lists know it. It is trained on
notes generated with Faker's many locales (mlstack/deid/train.py, `make deid-model`), never on the project's
evaluation corpus, which scores it (cross-generator). Only candidate windows are tagged, runs of capitalized
tokens with their context, so plain lower-case prose costs nothing.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mlstack.linear_chain import emissions, shape, train_perceptron, viterbi

DATA = Path(__file__).resolve().parent / "data" / "tagger.npz"
TAGS = ("O", "B-NAME", "I-NAME", "B-LOCATION", "I-LOCATION")
BUCKETS = 1 << 18  # hashed feature space
TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*\.?|\d+|[^\w\s]", re.UNICODE)
_SENTENCE_END = frozenset(".!?:;\n")
# Words that join the parts of one name or place ("Anne de la Cruz", "Ludwig van Beethoven").
PARTICLES = frozenset({"de", "del", "la", "da", "das", "do", "dos", "van", "von", "der", "den", "di", "du",
                       "le", "bin", "ibn", "al", "el", "ter", "y"})


class Token(NamedTuple):  # a tuple: tens of thousands per document are made, a frozen dataclass costs 3x more
    start: int
    end: int
    text: str


def tokenize(text: str) -> list[Token]:
    make = Token._make
    return [make((m.start(), m.end(), m.group(0))) for m in TOKEN.finditer(text)]


def _is_candidate(word: str) -> bool:
    """Capitalized, and not a short upper-case abbreviation (MA, DEA, COPD: the reading view has already put
    upper-case names in title case)."""
    return word[:1].isupper() and not (word.isupper() and len(word.rstrip(".")) <= 4)


def windows(tokens: Sequence[Token]) -> Iterator[tuple[int, int]]:
    """(first, last + 1) token indexes of each run of capitalized tokens (joined by particles, hyphens,
    apostrophes, commas of "Last, First" and initials): the only tokens the tagger labels."""
    index, count = 0, len(tokens)
    while index < count:
        if not _is_candidate(tokens[index].text):
            index += 1
            continue
        end = index + 1
        while end < count:
            if _is_candidate(tokens[end].text):
                end += 1
                continue
            joined = end
            while joined < count and tokens[joined].text.lower() in PARTICLES:  # "de la", "van der"
                joined += 1
            if joined == end and tokens[end].text == "," and end - index <= 2:  # "Last, First"
                joined += 1
            if joined == end or joined >= count or not _is_candidate(tokens[joined].text):
                break
            end = joined + 1
        yield index, end
        index = end


class Features:
    """Hashed feature ids of a token in its context; the lists are the shipped dictionaries."""

    def __init__(self, firsts: frozenset[str], lasts: frozenset[str], places: frozenset[str],
                 regions: frozenset[str]) -> None:
        self.firsts, self.lasts, self.places, self.regions = firsts, lasts, places, regions

    def of(self, tokens: Sequence[Token], index: int, text: str) -> list[int]:
        word = tokens[index].text
        before = tokens[index - 1].text.lower() if index else "<s>"
        before2 = tokens[index - 2].text.lower() if index > 1 else "<s>"
        after = tokens[index + 1].text.lower() if index + 1 < len(tokens) else "</s>"
        after2 = tokens[index + 2].text.lower() if index + 2 < len(tokens) else "</s>"
        previous = tokens[index - 1].text if index else ""
        start_of_sentence = not index or previous in _SENTENCE_END or (
            previous.endswith(".") and len(previous) > 3) or "\n" in text[tokens[index - 1].end:tokens[index].start]
        own, flags = self._own(word)
        names = [
            f"w-1={before}", f"w-2={before2}", f"w+1={after}", f"w+2={after2}", f"w-1w+1={before}|{after}",
            f"w-2w-1={before2}|{before}", f"sh-1={shape(tokens[index - 1].text) if index else '<s>'}",
            f"sh+1={shape(tokens[index + 1].text) if index + 1 < len(tokens) else '</s>'}",
            f"sos={start_of_sentence}", f"sos|sh={start_of_sentence}|{shape(word)}",
            *(f"in={flag}|w-1={before}" for flag in flags),
        ]
        return own + [_hashed(name) for name in names]

    @lru_cache(maxsize=1 << 16)  # noqa: B019 - one Features per process (cached _features)
    def _own(self, word: str) -> tuple[list[int], tuple[str, ...]]:
        """The features of the word itself (its context aside), and the lists it is in: computed once per word."""
        lower, bare = word.lower(), word.rstrip(".")
        title = bare[:1].upper() + bare[1:].lower()
        flags = tuple(flag for flag, known in (("first", title in self.firsts), ("last", title in self.lasts),
                                               ("place", title in self.places), ("region", title in self.regions))
                      if known)
        names = ["bias", f"w={lower}", f"p2={lower[:2]}", f"p3={lower[:3]}", f"s2={lower[-2:]}", f"s3={lower[-3:]}",
                 f"s4={lower[-4:]}", f"sh={shape(word)}", f"len={min(len(bare), 8)}", *(f"in={f}" for f in flags)]
        return [_hashed(name) for name in names], flags


@lru_cache(maxsize=1 << 18)
def _hashed(name: str) -> int:
    return zlib.crc32(name.encode()) % BUCKETS


@cache
def _features() -> Features:
    from mlstack.deid import recognizers

    return Features(recognizers.first_names(), recognizers.last_names(), recognizers.cities(), recognizers.regions())


class Tagger:
    """Weights (BUCKETS, tags) and tag-to-tag transitions (tags + start, tags). One zero row is appended to the
    weights: the padding of feature-id rows, so a document's windows are scored in one gather."""

    def __init__(self, weights: np.ndarray, transitions: np.ndarray) -> None:
        self.weights = np.vstack([weights[:BUCKETS], np.zeros((1, weights.shape[1]), dtype=weights.dtype)])
        self.transitions = transitions

    @classmethod
    def load(cls, path: Path = DATA) -> Tagger:
        with np.load(path) as data:
            weights = np.zeros((BUCKETS, len(TAGS)), dtype=np.float32)
            weights[data["rows"]] = data["values"]
            return cls(weights, data["transitions"])

    def save(self, path: Path = DATA) -> None:
        rows = np.flatnonzero(np.abs(self.weights[:BUCKETS]).sum(axis=1) > 1e-6)
        np.savez_compressed(path, rows=rows.astype(np.int32), values=self.weights[rows].astype(np.float16),
                            transitions=self.transitions.astype(np.float32))

    def decode(self, feature_ids: list[list[int]]) -> list[int]:
        """The best tag sequence (Viterbi) for one window's tokens."""
        return viterbi(emissions(self.weights, feature_ids), self.transitions)

    def spans(self, text: str, covered: Callable[[int, int], bool] = lambda start, end: False
              ) -> Iterator[tuple[int, int, str]]:
        """(start, end, NAME | LOCATION) in the text. Every window's tokens are scored in one gather of their
        padded feature ids; each window is then decoded on its own. A window `covered` reports as already found
        whole (by the patterns) is not tagged: whatever the tagger found there would be dropped."""
        tokens = tokenize(text)
        found = [(first, last) for first, last in windows(tokens)
                 if not covered(tokens[first].start, tokens[last - 1].end)]
        if not found:
            return
        features = _features()
        rows = [features.of(tokens, index, text) for first, last in found for index in range(first, last)]
        width = max(map(len, rows))
        padded = np.full((len(rows), width), BUCKETS, dtype=np.int64)
        for position, ids in enumerate(rows):
            padded[position, :len(ids)] = ids
        scores = self.weights[padded].sum(axis=1)
        offset = 0
        for first, last in found:  # context features read the neighbours; only the window is tagged
            tags = viterbi(scores[offset:offset + last - first], self.transitions)
            offset += last - first
            yield from _spans_of(tokens[first:last], tags)


def _spans_of(tokens: Sequence[Token], tags: Sequence[int]) -> Iterator[tuple[int, int, str]]:
    start = kind = end = None
    for token, tag in zip(tokens, tags, strict=True):
        label = TAGS[tag]
        if label.startswith("B-") or (label.startswith("I-") and kind != label[2:]):
            if kind:
                yield start, end, kind
            start, kind = token.start, label[2:]
        elif label == "O":
            if kind:
                yield start, end, kind
            kind = None
        # a sentence's full stop is not part of a name ("... Garcia."); an initial's is ("J.")
        end = token.end - 1 if token.text.endswith(".") and len(token.text) > 2 else token.end
    if kind:
        yield start, end, kind


@cache
def shipped() -> Tagger | None:
    """The committed model, or None before `make deid-model` has made one."""
    return Tagger.load() if DATA.is_file() else None


def train(examples: Sequence[tuple[str, list[tuple[int, int, str]]]], epochs: int = 8, seed: int = 0) -> Tagger:
    """Averaged structured perceptron on (text, [(start, end, NAME|LOCATION)]) examples, windows only."""
    features = _features()
    sequences = []
    for text, spans in examples:
        tokens = tokenize(text)
        gold = _bio(tokens, spans)
        for first, last in windows(tokens):
            sequences.append(([features.of(tokens, i, text) for i in range(first, last)], gold[first:last]))
    return Tagger(*train_perceptron(sequences, tags=len(TAGS), buckets=BUCKETS, epochs=epochs, seed=seed))


def _bio(tokens: Sequence[Token], spans: list[tuple[int, int, str]]) -> list[int]:
    tags = [0] * len(tokens)
    for start, end, kind in spans:
        inside = [i for i, token in enumerate(tokens) if token.start >= start and token.end <= end]
        for position, index in enumerate(inside):
            tags[index] = TAGS.index(("B-" if position == 0 else "I-") + kind)
    return tags
