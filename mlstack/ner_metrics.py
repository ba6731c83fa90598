"""Entity-level precision, recall and F1 for span labellers (NER models, de-identifiers), per type.

Two matchings, both of the same type only:
- strict: a predicted span counts when its start, end and type equal a gold span's;
- overlap: when it overlaps a gold span of its type (each gold span matched at most once, so two predicted
  pieces of one gold entity count one hit and one false positive).
Spans are (start, end, type) with end exclusive, or {"type", "start", "end"} dicts (the entities format).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SpanLike = tuple[int, int, str] | Mapping[str, Any]
MATCHINGS = ("strict", "overlap")


def _triple(span: SpanLike) -> tuple[int, int, str]:
    if isinstance(span, Mapping):
        return int(span["start"]), int(span["end"]), str(span["type"])
    start, end, kind = span
    return int(start), int(end), str(kind)


def _matches(gold: list[tuple[int, int, str]], predicted: list[tuple[int, int, str]], strict: bool
             ) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """(true positives, false positives, false negatives) per type for one document."""
    unmatched = list(gold)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    for start, end, kind in sorted(predicted):
        hit = next((g for g in unmatched if g[2] == kind and (
            (g[0], g[1]) == (start, end) if strict else g[0] < end and start < g[1])), None)
        if hit is None:
            fp[kind] += 1
        else:
            unmatched.remove(hit)
            tp[kind] += 1
    return tp, fp, Counter(kind for _, _, kind in unmatched)


def entity_scores(documents: Iterable[tuple[Sequence[SpanLike], Sequence[SpanLike]]]) -> dict[str, Any]:
    """{"strict"|"overlap": {"per_type": {type: {tp, fp, fn, precision, recall, f1}}, "overall": {...}}}
    over (gold spans, predicted spans) per document."""
    totals = {matching: (Counter(), Counter(), Counter()) for matching in MATCHINGS}
    for gold, predicted in documents:
        gold_spans, predicted_spans = [_triple(s) for s in gold], [_triple(s) for s in predicted]
        for matching in MATCHINGS:
            for total, part in zip(totals[matching], _matches(gold_spans, predicted_spans, matching == "strict"),
                                   strict=True):
                total.update(part)
    result = {}
    for matching, (tp, fp, fn) in totals.items():
        kinds = sorted(set(tp) | set(fp) | set(fn))
        result[matching] = {"per_type": {kind: scores(tp[kind], fp[kind], fn[kind]) for kind in kinds},
                            "overall": scores(sum(tp.values()), sum(fp.values()), sum(fn.values()))}
    return result


def scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Counts with precision, recall and F1 (1.0 when there is nothing to find or nothing found)."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}
