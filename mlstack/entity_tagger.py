"""The `ner` recipe's model: a linear-chain entity tagger over tokens, trained with the averaged perceptron.

Why this model: it trains in seconds on a CPU, needs no pretrained embeddings (none are on the package
index offline), and serves with numpy and onnxruntime alone, inside the inference Lambda.
- Tokens are words (letters and digits, with inner hyphens and apostrophes) and single other characters.
- Each token has FEATURES_PER_TOKEN hashed features: the word, its affixes and shape, and its neighbours.
  Hashing keeps the vocabulary open: an unseen word still has a shape and affixes.
- Tags are BIO over the data set's entity types. Decoding is Viterbi (mlstack/linear_chain.py). A span's
  score is the mean marginal probability of its tokens' tags (forward-backward).

Export (pipelines/recipes.py, training side: the onnx package is not in the inference function): the emission
scorer as an ONNX graph (Gather the weight rows of the feature ids, ReduceSum per token), with the transitions
as a second output and the tags, bucket count and feature version as METADATA. `OnnxEntityTagger` serves
it: features in Python, one onnxruntime call per request for every token of every instance, then the numpy
decode. The pipeline's evaluate step checks that the trained and the exported models give the same spans and
scores before a version can be registered.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from mlstack.linear_chain import marginals, shape, train_perceptron, viterbi

TOKEN = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*|\S")
FEATURES_PER_TOKEN = 16
FEATURE_VERSION = 1  # bump when the features change: an exported model records the version it was trained with
METADATA = ("mlstack.tags", "mlstack.buckets", "mlstack.feature_version")  # the exported model's properties
Span = dict[str, Any]  # {"type", "start", "end"} (+ "score" when predicted)


def tokenize(text: str) -> list[tuple[int, int, str]]:
    return [(match.start(), match.end(), match.group(0)) for match in TOKEN.finditer(text)]


@lru_cache(maxsize=1 << 17)
def _hashed(name: str, buckets: int) -> int:
    return zlib.crc32(name.encode()) % buckets


@lru_cache(maxsize=1 << 16)
def _word_features(word: str) -> tuple[str, ...]:
    lower = word.lower()
    return (lower, lower[:3], lower[-4:], lower[-3:], lower[-2:], shape(word), f"{min(len(word), 10)}|{word.isdigit()}")


def feature_ids(tokens: Sequence[tuple[int, int, str]], text: str, buckets: int) -> np.ndarray:
    """(tokens, FEATURES_PER_TOKEN) int64 hashed feature ids."""
    words = [token[2] for token in tokens]
    lowers = ["<s2>", "<s>", *(word.lower() for word in words), "</s>", "</s2>"]
    shapes = ["<s>", *(shape(word) for word in words), "</s>"]
    ids = np.empty((len(tokens), FEATURES_PER_TOKEN), dtype=np.int64)
    for index, (start, _, word) in enumerate(tokens):
        at = index + 2
        line_start = index == 0 or "\n" in text[tokens[index - 1][1]:start] or words[index - 1] in ".:;"
        names = ("bias", *_word_features(word), lowers[at - 1], lowers[at + 1], lowers[at - 2], lowers[at + 2],
                 f"{lowers[at - 1]}|{lowers[at]}", f"{lowers[at]}|{lowers[at + 1]}",
                 f"{shapes[index]}|{shapes[index + 1]}|{shapes[index + 2]}", str(line_start))
        ids[index] = [_hashed(f"{slot}\x1f{name}", buckets) for slot, name in enumerate(names)]
    return ids


def bio_tags(types: Sequence[str]) -> tuple[str, ...]:
    return ("O", *(f"{prefix}-{kind}" for kind in types for prefix in ("B", "I")))


def gold_tags(tokens: Sequence[tuple[int, int, str]], spans: Iterable[Mapping[str, Any]], tags: Sequence[str]
              ) -> list[int]:
    """A token inside a span is B- (first) or I- of its type; a token a span boundary cuts is O; a type the tags
    do not hold is -1."""
    index = {tag: i for i, tag in enumerate(tags)}
    out = [0] * len(tokens)
    starts = [token[0] for token in tokens]
    for span in spans:
        position = int(np.searchsorted(starts, span["start"]))
        first = True
        while position < len(tokens) and tokens[position][1] <= span["end"]:
            out[position] = index.get(("B-" if first else "I-") + span["type"], -1)
            first, position = False, position + 1
    return out


def decode_spans(tokens: Sequence[tuple[int, int, str]], scores: np.ndarray, transitions: np.ndarray,
                 tags: Sequence[str]) -> list[Span]:
    """Entity spans of one text from its tokens' emission scores."""
    if not tokens:
        return []
    path = viterbi(scores, transitions)
    if not any(path):
        return []
    confidence = marginals(scores, transitions)[np.arange(len(path)), path]
    spans: list[Span] = []
    current: Span | None = None
    for (start, end, _), tag, sure in zip(tokens, path, confidence, strict=True):
        label = tags[tag]
        if label == "O" or label.startswith("B-") or current is None or current["type"] != label[2:]:
            if current is not None:
                spans.append(_closed(current))
            current = None if label == "O" else {"type": label[2:], "start": start, "end": end, "_scores": [sure]}
        else:
            current["end"] = end
            current["_scores"].append(sure)
    if current is not None:
        spans.append(_closed(current))
    return spans


def _closed(span: Span) -> Span:
    scores = span.pop("_scores")
    return {**span, "score": round(float(np.mean(scores)), 6)}


def token_accuracy(texts: Sequence[str], gold: Sequence[Sequence[Mapping[str, Any]]],
                   predicted: Sequence[Sequence[Mapping[str, Any]]], tags: Sequence[str]) -> float:
    """Share of tokens whose predicted BIO tag is the gold one (types unknown to the model count as wrong)."""
    right = total = 0
    for text, want, got in zip(texts, gold, predicted, strict=True):
        tokens = tokenize(text)
        right += sum(a == b for a, b in zip(gold_tags(tokens, want, tags), gold_tags(tokens, got, tags), strict=True))
        total += len(tokens)
    return right / total if total else 1.0


def texts_of(features: Any) -> list[str]:
    """Texts from a recipe's model input: an (n, 1) object array or a sequence of strings."""
    return [str(value) for value in np.asarray(features, dtype=object).reshape(-1)]


class EntityTagger:
    """scikit-learn-shaped (fit, predict) so the recipe's train and evaluate steps treat it like the others."""

    def __init__(self, types: Sequence[str], *, buckets: int = 1 << 16, epochs: int = 10, seed: int = 0) -> None:
        self.buckets, self.epochs, self.seed = buckets, epochs, seed
        self._untrained(types)

    def _untrained(self, types: Sequence[str]) -> None:
        self.types = tuple(types)
        self.tags = bio_tags(self.types)
        self.classes_ = np.asarray(self.types, dtype=object)
        self.weights = np.zeros((self.buckets, len(self.tags)), dtype=np.float32)
        self.transitions = np.zeros((len(self.tags) + 1, len(self.tags)), dtype=np.float32)

    def fit(self, features: Any, spans: Sequence[Sequence[Mapping[str, Any]]]) -> EntityTagger:
        """Learns the declared types the data holds (a type no span has would only add dead tags); spans of other
        types are not learned (ingestion refuses them, so curated data has none)."""
        seen = {span["type"] for row in spans for span in row}
        self._untrained([kind for kind in self.types if kind in seen])
        sequences = []
        for text, gold in zip(texts_of(features), spans, strict=True):
            tokens = tokenize(text)
            known = [span for span in gold if span["type"] in self.types]
            if tokens:
                sequences.append((feature_ids(tokens, text, self.buckets), gold_tags(tokens, known, self.tags)))
        self.weights, self.transitions = train_perceptron(sequences, tags=len(self.tags), buckets=self.buckets,
                                                          epochs=self.epochs, seed=self.seed)
        return self

    def metadata(self) -> dict[str, str]:
        """What the exported model records beside its weights (METADATA)."""
        return dict(zip(METADATA, (json.dumps(self.tags), str(self.buckets), str(FEATURE_VERSION)), strict=True))

    def predict(self, features: Any) -> list[list[Span]]:
        out = []
        for text in texts_of(features):
            tokens = tokenize(text)
            scores = self.weights[feature_ids(tokens, text, self.buckets)].sum(axis=1) if tokens else None
            out.append(decode_spans(tokens, scores, self.transitions, self.tags) if tokens else [])
        return out


class OnnxEntityTagger:
    """The exported tagger, as the inference function serves it: numpy + onnxruntime, one run per request."""

    def __init__(self, onnx_bytes: bytes) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        tags, buckets, version = (self.session.get_modelmeta().custom_metadata_map.get(key) for key in METADATA)
        if version != str(FEATURE_VERSION):
            raise ValueError(f"the model's entity-tagger features are v{version}, this code computes "
                             f"v{FEATURE_VERSION}: retrain, or deploy code that matches")
        self.tags, self.buckets = tuple(json.loads(tags)), int(buckets)
        self.transitions = self.session.run(["transitions"], {"feature_ids": np.zeros((1, FEATURES_PER_TOKEN),
                                                                                        dtype=np.int64)})[0]

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        tokenized = [tokenize(text) for text in texts]
        blocks = [feature_ids(tokens, text, self.buckets) for tokens, text in zip(tokenized, texts, strict=True)
                  if tokens]
        if not blocks:
            return [[] for _ in texts]
        scores = self.session.run(["emissions"], {"feature_ids": np.concatenate(blocks)})[0]
        out, offset = [], 0
        for tokens in tokenized:
            out.append(decode_spans(tokens, scores[offset:offset + len(tokens)], self.transitions, self.tags))
            offset += len(tokens)
        return out
