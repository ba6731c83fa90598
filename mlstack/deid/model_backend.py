"""The `ner` recipe's entity tagger as the de-identifier's learned half, retrained on a team's own labelled notes.

The shipped tagger (mlstack/deid/tagger.py) learned names and places from generated notes. A team with labelled
notes of its own (JSONL, one {"text", "spans": [{"type", "start", "end"}]} per line, types from PHI_TYPES, such
as an i2b2-style corpus) trains the `ner` recipe's model on them with the recipe's own code (the entity tagger of
mlstack/entity_tagger.py, its parameters, and its ONNX export, exactly as the pipeline runs them), and the
de-identifier uses that model beside the patterns:

    mlstack deid --train-model notes.jsonl --model model.onnx    # train and export
    mlstack deid --model model.onnx < note.txt                   # patterns + that model
    mlstack deid --model model.onnx --evaluate                   # scored like the default detector

Not through the lake: ingestion de-identifies every data set's text before training reads it, so a PHI-labelled
data set would arrive with [NAME] tags where its names were. The corpus stays where the team keeps its PHI; only
the model (weights over hashed features, no text) moves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from mlstack.deid.recognizers import PHI_TYPES
from mlstack.schema import InvalidValueError, to_entities


class EntityModelTagger:
    """An exported entity tagger (model.onnx of the `ner` recipe) as the detector's learned half: its spans at or
    above `min_score` (the mean marginal probability of the span's tags), where the patterns found nothing, kept
    or dropped by the same rules as the shipped tagger's (the safe list, eponyms, states and countries)."""

    def __init__(self, onnx_bytes: bytes, min_score: float = 0.5) -> None:
        from mlstack.entity_tagger import OnnxEntityTagger

        self.model, self.min_score = OnnxEntityTagger(onnx_bytes), min_score
        unknown = sorted({tag.split("-", 1)[-1] for tag in self.model.tags if tag != "O"} - set(PHI_TYPES))
        if unknown:
            raise ValueError(f"the model tags {unknown}, which are no identifier types; known: {list(PHI_TYPES)}")

    def spans(self, text: str, covered: Callable[[int, int], bool] = lambda start, end: False
              ) -> Iterator[tuple[int, int, str]]:
        for span in self.model.predict([text])[0]:
            if span["score"] >= self.min_score and not covered(span["start"], span["end"]):
                yield span["start"], span["end"], span["type"]


def train_model(documents: Iterable[Mapping[str, Any]]) -> bytes:
    """The `ner` recipe's entity tagger fitted on labelled notes, exported to ONNX as the pipeline exports it."""
    from mlstack.entity_tagger import EntityTagger
    from pipelines.recipes import RECIPES

    texts, spans = _labelled(documents)
    recipe = RECIPES["ner"]
    tagger = EntityTagger(sorted({span["type"] for row in spans for span in row}), buckets=recipe.params["buckets"],
                          epochs=recipe.params["epochs"])
    return recipe.to_onnx(tagger.fit(texts, spans))


def _labelled(documents: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[list[dict[str, Any]]]]:
    """Texts and spans, checked as ingestion checks an entities column (mlstack.schema.to_entities): types that
    are no identifiers are refused by name, spans must be sorted, apart and inside their text."""
    texts, spans = [], []
    for number, document in enumerate(documents, 1):
        text, rows = document.get("text"), document.get("spans")
        if not isinstance(text, str) or not isinstance(rows, list):
            raise ValueError(f"document {number}: needs a text string and a spans list")
        unknown = sorted({row.get("type") for row in rows if isinstance(row, Mapping)} - set(PHI_TYPES), key=str)
        if unknown:
            raise ValueError(f"span types {unknown} are no identifier types; known: {list(PHI_TYPES)}")
        try:
            checked = to_entities(rows, PHI_TYPES)
        except InvalidValueError as error:
            raise ValueError(f"document {number}: {error}") from error
        if checked and checked[-1]["end"] > len(text):
            raise ValueError(f"document {number}: a span ends after its text ends")
        texts.append(text)
        spans.append(checked)
    if not texts:
        raise ValueError("no labelled documents")
    return texts, spans
