"""Precision, recall and F1 of a de-identifier on a labelled corpus, per identifier type and overall.

Matching is by overlap and type: a gold span counts as found when a predicted span of the same
type overlaps it (a partial hit still removes most of the identifier; the per-character leak is
reported too: `leaked_chars` counts gold characters no predicted span of any type covers).
Overall recall also counts a gold span as found when it is covered by a span of another type
(the identifier is gone from the text, only its tag is wrong).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from mlstack.deid import Deidentifier
from mlstack.deid.recognizers import PHI_TYPES, Span
from mlstack.ner_metrics import scores


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def evaluate(deidentifier: Deidentifier, documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    true_positive, false_negative, false_positive = Counter(), Counter(), Counter()
    gold_total = found_any = leaked = gold_chars = characters = count = 0
    started = time.perf_counter()
    for document in documents:
        gold = [Span(s["start"], s["end"], s["type"]) for s in document["spans"]]
        predicted = deidentifier.deidentify(document["text"]).spans
        characters += len(document["text"])
        count += 1
        for span in gold:
            gold_total += 1
            gold_chars += span.end - span.start
            if any(p.type == span.type and _overlaps(p, span) for p in predicted):
                true_positive[span.type] += 1
            else:
                false_negative[span.type] += 1
            found_any += any(_overlaps(p, span) for p in predicted)
            covered = {i for p in predicted for i in range(max(p.start, span.start), min(p.end, span.end))}
            leaked += (span.end - span.start) - len(covered)
        for span in predicted:
            if not any(g.type == span.type and _overlaps(g, span) for g in gold):
                false_positive[span.type] += 1
    seconds = time.perf_counter() - started
    per_type = {kind: scores(true_positive[kind], false_positive[kind], false_negative[kind])
                for kind in PHI_TYPES if true_positive[kind] + false_positive[kind] + false_negative[kind]}
    overall = scores(sum(true_positive.values()), sum(false_positive.values()), sum(false_negative.values()))
    overall["recall_any_type"] = found_any / gold_total if gold_total else 1.0
    return {"documents": count, "identifiers": gold_total, "per_type": per_type, "overall": overall,
            "leaked_chars": leaked, "gold_chars": gold_chars, "seconds": seconds,
            "documents_per_s": count / seconds if seconds else None,
            "chars_per_s": characters / seconds if seconds else None}


def format_scores(result: dict[str, Any]) -> str:
    lines = [f"{'type':<10} {'gold':>5} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>9} {'recall':>7} {'f1':>6}"]
    rows = [*result["per_type"].items(), ("overall", result["overall"])]
    for kind, s in rows:
        lines.append(f"{kind:<10} {s['tp'] + s['fn']:>5} {s['tp']:>5} {s['fp']:>5} {s['fn']:>5} "
                     f"{s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f}")
    lines.append(f"{result['documents']} documents, {result['identifiers']} identifiers; recall counting any type "
                 f"{result['overall']['recall_any_type']:.3f}; leaked characters {result['leaked_chars']} of "
                 f"{result['gold_chars']}; {result['documents_per_s']:.0f} documents/s, "
                 f"{result['chars_per_s'] / 1e3:.0f}k characters/s (one core)")
    return "\n".join(lines)
