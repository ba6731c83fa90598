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
from pathlib import Path
from typing import Any

from mlstack.deid import Deidentifier
from mlstack.deid.corpus import CORPUS_PATH, load_corpus
from mlstack.deid.recognizers import DATA_DIR, PHI_TYPES, Span
from mlstack.ner_metrics import scores

HELD_OUT_SEED = 1007  # the tagger trains on seed 7 (mlstack/deid/train.py)
# 20 notes written by hand in the styles of real ones (discharge summary, progress, triage, referral letter,
# radiology, psychiatry; ICU, clinic, operative, ED, oncology, therapy, nursing, well-child, dermatology, OB,
# cardiology, discharge instructions, a templated title-case note: 14 of them without identifiers). Written by the
# detector's author while probing it, so a regression check, not held-out text.
HANDWRITTEN_PATH = DATA_DIR / "handwritten_notes.jsonl"


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def evaluate(deidentifier: Deidentifier, documents: Iterable[dict[str, Any]],
             labelled: frozenset[str] | None = None) -> dict[str, Any]:
    """Per-type and overall scores. `labelled`: the types a corpus labels, when not all (generator A labels names
    and places only): a span found of another type is then neither right nor wrong."""
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
            if (labelled is None or span.type in labelled) and not any(
                    g.type == span.type and _overlaps(g, span) for g in gold):
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


def report(deidentifier: Deidentifier, corpus: Path | None = None) -> tuple[str, dict[str, Any]]:
    """What `mlstack deid --evaluate` prints, and its scores: the corpus given; or the project's corpus (generator
    B), the hand-written notes, and generated ones (generators A and C, notes without identifiers: these need
    Faker, a development dependency, and are left out without it)."""
    path = corpus or CORPUS_PATH
    result = evaluate(deidentifier, load_corpus(path))
    title = "the corpus given" if corpus else "the project's corpus (generator B: the tagger never trains on it)"
    lines = [f"{path.name}: {title}", format_scores(result)]
    if corpus is not None:
        return "\n".join(lines), result
    handwritten = load_corpus(HANDWRITTEN_PATH)
    result["handwritten"] = evaluate(deidentifier, handwritten)
    result["handwritten_phi_free"] = _false_positives(deidentifier, [d["text"] for d in handwritten if not d["spans"]])
    lines += [f"\nhand-written notes ({HANDWRITTEN_PATH.name}: written while probing, a regression check)",
              format_scores(result["handwritten"]), _format_false_positives("its notes without identifiers",
                                                                          result["handwritten_phi_free"])]
    try:
        from mlstack.deid.probe import phi_free_documents, probe_documents
        from mlstack.deid.train import NoteGenerator
    except ImportError:
        return "\n".join(lines), result
    generator = NoteGenerator(HELD_OUT_SEED)
    held_out = [{"text": text, "spans": [{"start": a, "end": b, "type": kind} for a, b, kind in spans]}
                for text, spans in (generator.note() for _ in range(300))]
    result["generator_a_held_out"] = evaluate(deidentifier, held_out, labelled=frozenset({"NAME", "LOCATION"}))
    result["generator_c_formats"] = evaluate(deidentifier, probe_documents())
    result["phi_free"] = _false_positives(deidentifier, phi_free_documents())
    lines += [f"\ngenerator A, held-out notes (Faker, seed {HELD_OUT_SEED}, NAME and LOCATION labelled; what the "
              "tagger's training notes look like, other notes)", format_scores(result["generator_a_held_out"]),
              "\ngenerator C, Faker's formats of every type in 22 locales (the probe that found the classes covered "
              "since: a regression check, not held out)", format_scores(result["generator_c_formats"]),
              _format_false_positives("\nnotes without identifiers (generator C's drugs, labs, eponyms, services, "
                                      "states and countries)", result["phi_free"])]
    return "\n".join(lines), result


def _false_positives(deidentifier: Deidentifier, notes: list[str]) -> dict[str, Any]:
    """On notes without identifiers every span found is a false positive."""
    found = sum(len(deidentifier.deidentify(note).spans) for note in notes)
    return {"notes": len(notes), "false_positive_spans": found, "per_25_notes": found * 25 / len(notes)}


def _format_false_positives(title: str, scores: dict[str, Any]) -> str:
    return (f"{title}: {scores['false_positive_spans']} false-positive spans in {scores['notes']} notes, "
            f"{scores['per_25_notes']:.1f} per 25")
