"""Linear-chain sequence labelling in numpy: Viterbi decoding, tag marginals, averaged-perceptron training.

One home for the algorithm behind both learned taggers: the de-identifier's name/place tagger
(mlstack/deid/tagger.py) and the `ner` recipe's entity tagger (mlstack/entity_tagger.py). A model is
hashed-feature weights (buckets, tags) plus tag-to-tag transitions (tags + 1, tags), whose last row scores
the first tag. A token's emission scores are the sum of its features' weight rows. `shape` is the word-form
feature both taggers use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

FeatureIds = Sequence[Sequence[int]]  # per token, the hashed feature ids


@lru_cache(maxsize=1 << 16)
def shape(word: str) -> str:
    """Character classes with repeats collapsed: "McAllister" -> "XxXx", "O'Neil" -> "X'Xx", "HbA1c" -> "XxXdx"."""
    out: list[str] = []
    for char in word:
        kind = "X" if char.isupper() else "x" if char.islower() else "d" if char.isdigit() else char
        if not out or out[-1] != kind:
            out.append(kind)
    return "".join(out)


def viterbi(scores: np.ndarray, transitions: np.ndarray) -> list[int]:
    """The best tag sequence for emission scores (tokens, tags)."""
    count, tags = scores.shape
    best = transitions[-1] + scores[0]
    if count == 1:  # most candidate windows are one word
        return [int(best.argmax())]
    back = np.zeros((count, tags), dtype=np.int64)
    for position in range(1, count):
        candidates = best[:, None] + transitions[:-1]
        back[position] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + scores[position]
    path = [int(best.argmax())]
    for position in range(count - 1, 0, -1):
        path.append(int(back[position, path[-1]]))
    return path[::-1]


def marginals(scores: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """P(tag at token) under the chain with the scores as log-potentials (forward-backward, log space):
    how sure the model is of each token's tag, the confidence a span reports."""
    count = scores.shape[0]
    step = transitions[:-1]
    forward = np.empty_like(scores, dtype=np.float64)
    backward = np.zeros_like(scores, dtype=np.float64)
    forward[0] = transitions[-1] + scores[0]
    for position in range(1, count):
        forward[position] = _logsumexp(forward[position - 1][:, None] + step, axis=0) + scores[position]
    for position in range(count - 2, -1, -1):
        backward[position] = _logsumexp(step + (scores[position + 1] + backward[position + 1])[None, :], axis=1)
    joint = forward + backward
    return np.exp(joint - _logsumexp(joint, axis=1)[:, None])


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    top = values.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(values - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def emissions(weights: np.ndarray, feature_ids: FeatureIds) -> np.ndarray:
    return np.stack([weights[ids].sum(axis=0) for ids in feature_ids])


def train_perceptron(sequences: Sequence[tuple[FeatureIds, Sequence[int]]], *, tags: int, buckets: int, epochs: int,
                     seed: int, progress: Callable[[int], None] = lambda epoch: None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Averaged structured perceptron (Collins 2002) on (feature ids per token, gold tags) sequences:
    (weights float32 (buckets, tags), transitions float32 (tags + 1, tags)). Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((buckets, tags), dtype=np.float64)
    transitions = np.zeros((tags + 1, tags), dtype=np.float64)
    total_w = np.zeros_like(weights)
    stamp_w = np.zeros(buckets, dtype=np.int64)
    step = 0
    for epoch in range(epochs):
        for position in rng.permutation(len(sequences)):
            ids, gold = sequences[position]
            step += 1
            guess = viterbi(emissions(weights, ids), transitions)
            if guess == list(gold):
                continue
            for index, (want, got) in enumerate(zip(gold, guess, strict=True)):
                if want != got:
                    rows = np.asarray(ids[index])
                    # lazy averaging: credit the weights' value for the steps since they last changed
                    total_w[rows] += (step - stamp_w[rows])[:, None] * weights[rows]
                    stamp_w[rows] = step
                    np.add.at(weights[:, want], rows, 1.0)
                    np.add.at(weights[:, got], rows, -1.0)
                previous_want = gold[index - 1] if index else tags
                previous_got = guess[index - 1] if index else tags
                if want != got or previous_want != previous_got:
                    transitions[previous_want, want] += 1.0
                    transitions[previous_got, got] -= 1.0
        progress(epoch + 1)
    total_w += (step - stamp_w)[:, None] * weights
    return (total_w / max(step, 1)).astype(np.float32), transitions.astype(np.float32)
