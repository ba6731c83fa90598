"""De-identification: the builtin detector vs Presidio's analyzer (its offline recognizers), same notes, one run.

Corpus: the project's labelled notes (mlstack/deid/corpus.py, generator B: 400 notes, every Safe Harbor type).
Scores are what matters for de-identification: an identifier is removed when any detected span overlaps it,
whatever type the detector called it (recall); a detected span is right when it overlaps an identifier
(precision). Per type, the recall. Speed: MB/s per core, note by note (as ingestion calls it), best of
`--repeats`; and ours on one document of 1x, 4x and 16x the corpus (linear in size: the ratios of time to
size should stay near 1).

Presidio runs in its own virtual environment, .mlstack/bench/presidio-venv (requirements-presidio.txt,
created on first use), with its pattern, checksum and context recognizers only: its name and place recognizer
needs a trained spaCy model, which is not on the package index (benchmarks/presidio_runner.py).
Run: make bench  (or .venv/bin/python -m benchmarks.deid [--skip-presidio])
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import BENCH_DIR, save_result, venv_python
from mlstack.deid import tagger
from mlstack.deid.corpus import load_corpus
from mlstack.deid.recognizers import detect, safe_words

REPO_ROOT = Path(__file__).resolve().parent.parent
PRESIDIO_VENV = BENCH_DIR / "presidio-venv"
PRESIDIO_PINS = REPO_ROOT / "requirements-presidio.txt"
Spans = list[tuple[int, int, str]]


def overlap_scores(gold: Sequence[Sequence[dict[str, Any]]], found: Sequence[Spans]) -> dict[str, Any]:
    """Recall (identifiers any found span overlaps), per type and overall; precision (found spans that overlap an
    identifier); spans counted."""
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    right = detected = 0
    for identifiers, spans in zip(gold, found, strict=True):
        for identifier in identifiers:
            totals[identifier["type"]] += 1
            hits[identifier["type"]] += any(s < identifier["end"] and identifier["start"] < e for s, e, _ in spans)
        detected += len(spans)
        right += sum(any(s < i["end"] and i["start"] < e for i in identifiers) for s, e, _ in spans)
    return {"recall": sum(hits.values()) / max(sum(totals.values()), 1), "precision": right / max(detected, 1),
            "per_type_recall": {kind: hits[kind] / totals[kind] for kind in sorted(totals)},
            "identifiers": sum(totals.values()), "detected": detected}


def _best_of(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def ours(texts: list[str], repeats: int) -> tuple[float, list[Spans]]:
    detect(texts[0])  # warm: patterns, lists and the tagger load once per process
    seconds, found = _best_of(repeats, lambda: [[(s.start, s.end, s.type) for s in detect(t)] for t in texts])
    return seconds, found


def presidio(texts: list[str]) -> tuple[float, list[Spans], list[str]]:
    python = venv_python(PRESIDIO_VENV, "--no-deps", "-r", str(PRESIDIO_PINS))
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "texts.json", Path(tmp) / "result.json"
        source.write_text(json.dumps(texts))
        subprocess.run([str(python), str(REPO_ROOT / "benchmarks" / "presidio_runner.py"), str(source),  # noqa: S603
                        str(target)], check=True, capture_output=True)
        result = json.loads(target.read_text())
    return result["seconds"], [[tuple(span) for span in spans] for spans in result["spans"]], result["recognizers"]


def cpython_floor(texts: list[str], repeats: int) -> dict[str, float]:
    """MB/s of the least a detector that reads every word does in CPython, on the same notes: the tokenizer's one
    pass, its words listed (`findall`, the fastest way to get them out of `re`), and that with one set lookup per
    word. Names and places found from context and form need more than this for every capitalized word: what a
    10 MB/s detector leaves for the rest is the difference."""
    megabytes = sum(len(text.encode()) for text in texts) / 1e6
    vocabulary = safe_words()
    words, _ = _best_of(repeats, lambda: [tagger.TOKEN.findall(text) for text in texts])
    looked_up, _ = _best_of(repeats, lambda: [[word.lower() in vocabulary for word in tagger.TOKEN.findall(text)]
                                               for text in texts])
    return {"words_mb_per_s": megabytes / words, "words_and_lookup_mb_per_s": megabytes / looked_up,
            "ms_per_mb_left_at_10_mb_per_s": 100 - 1000 * looked_up / megabytes}


def linearity(texts: list[str]) -> list[dict[str, float]]:
    """Ours on one document of 1x, 4x and 16x the corpus: seconds per MB should not grow with size."""
    rows = []
    for factor in (1, 4, 16):
        document = "\n\n".join(texts * factor)
        seconds, _ = _best_of(1, lambda document=document: detect(document))
        rows.append({"factor": factor, "mb": len(document.encode()) / 1e6, "seconds": seconds})
    for row in rows:
        row["seconds_per_mb_vs_1x"] = (row["seconds"] / row["mb"]) / (rows[0]["seconds"] / rows[0]["mb"])
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-presidio", action="store_true", help="only ours (no extra virtual environment)")
    args = parser.parse_args(argv)
    corpus = load_corpus()
    texts, gold = [note["text"] for note in corpus], [note["spans"] for note in corpus]
    megabytes = sum(len(text.encode()) for text in texts) / 1e6
    print(f"de-identification, {len(texts)} labelled notes ({megabytes:.3f} MB), note by note, one core:")
    seconds, found = ours(texts, args.repeats)
    result: dict[str, Any] = {"notes": len(texts), "mb": megabytes,
                              "ours": {"mb_per_s": megabytes / seconds, **overlap_scores(gold, found)}}
    if not args.skip_presidio:
        seconds, found, recognizers = presidio(texts)
        result["presidio"] = {"mb_per_s": megabytes / seconds, **overlap_scores(gold, found),
                              "recognizers": recognizers}
    _print_table(result)
    result["cpython_floor"] = floor = cpython_floor(texts, args.repeats)
    print(f"  CPython, every word read and nothing decided: {floor['words_mb_per_s']:.1f} MB/s; with one set lookup "
          f"per word {floor['words_and_lookup_mb_per_s']:.1f} MB/s: at the goal of 10 MB/s (100 ms per MB), "
          f"{floor['ms_per_mb_left_at_10_mb_per_s']:.0f} ms per MB would be left for everything else")
    result["linearity"] = linearity(texts)
    print("  ours on one document: " + ", ".join(
        f"{row['factor']}x ({row['mb']:.1f} MB) {row['mb'] / row['seconds']:.2f} MB/s (time per MB "
        f"{row['seconds_per_mb_vs_1x']:.2f}x of 1x)" for row in result["linearity"]))
    print(f"  json: {save_result('deid', result)}")
    return result


def _print_table(result: dict[str, Any]) -> None:
    tools = [name for name in ("ours", "presidio") if name in result]
    print(f"  {'':<22}" + "".join(f"{name:>10}" for name in tools))
    print(f"  {'MB/s':<22}" + "".join(f"{result[name]['mb_per_s']:>10.3f}" for name in tools))
    print(f"  {'recall (any type)':<22}" + "".join(f"{result[name]['recall']:>10.3f}" for name in tools))
    print(f"  {'precision':<22}" + "".join(f"{result[name]['precision']:>10.3f}" for name in tools))
    for kind in result["ours"]["per_type_recall"]:
        print(f"  {'  recall ' + kind:<22}" + "".join(f"{result[name]['per_type_recall'][kind]:>10.3f}"
                                                   for name in tools))
    if "presidio" in result:
        ratio = result["ours"]["mb_per_s"] / result["presidio"]["mb_per_s"]
        print(f"  ratio: ours is {ratio:.1f}x Presidio's speed; recall {result['ours']['recall']:.3f} vs "
              f"{result['presidio']['recall']:.3f}")


if __name__ == "__main__":
    main()
