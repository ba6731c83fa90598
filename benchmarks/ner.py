"""The `ner` recipe's model: serving through ONNX (as the inference function does) vs the trained model in numpy.

Same model (the recipe trained on the clinical_entities sample), same notes. The exported path computes
features in Python, scores every token of a request in one onnxruntime call and decodes in numpy
(OnnxEntityTagger); the alternative scores each note with the trained weights in numpy (EntityTagger.predict).
Prints training time, model size, and per request of 1 and 100 notes: p50 and p99 milliseconds and notes/s
for both, with the ratio. Run: make bench  (or .venv/bin/python -m benchmarks.ner)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks import save_result
from mlstack.datasets.samples import clinical_entities_rows
from mlstack.entity_tagger import OnnxEntityTagger
from pipelines.recipes import get_recipe


def _latencies(work: Callable[[], Any], runs: int) -> dict[str, float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"p50_ms": statistics.median(timings), "p99_ms": timings[int(0.99 * (len(timings) - 1))]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    recipe = get_recipe("ner")
    rows = clinical_entities_rows()
    texts, spans = [row["text"] for row in rows], [row["entities"] for row in rows]
    started = time.perf_counter()
    model = recipe.build().fit(texts, spans)
    result: dict[str, Any] = {"train_notes": len(texts), "train_seconds": time.perf_counter() - started}
    onnx_bytes = recipe.to_onnx(model)
    exported = OnnxEntityTagger(onnx_bytes)
    result["onnx_mb"] = len(onnx_bytes) / 1e6
    print(f"ner recipe: trained on {len(texts)} notes in {result['train_seconds']:.1f} s; ONNX model "
          f"{result['onnx_mb']:.1f} MB (loaded from S3 at cold start, not in the function package)")
    print(f"  {'request':<12} {'path':<22} {'p50 ms':>8} {'p99 ms':>8} {'notes/s':>9}")
    for batch in (1, 100):
        notes = texts[:batch]
        runs = args.runs if batch == 1 else max(args.runs // 10, 10)
        ours = _latencies(lambda notes=notes: exported.predict(notes), runs)
        numpy = _latencies(lambda notes=notes: model.predict(notes), runs)
        for name, timing in (("onnx (served)", ours), ("numpy (trained model)", numpy)):
            timing["notes_per_s"] = batch / (timing["p50_ms"] / 1000)
            print(f"  {batch:>3} note(s)   {name:<22} {timing['p50_ms']:>8.2f} {timing['p99_ms']:>8.2f} "
                  f"{timing['notes_per_s']:>9.0f}")
        result[f"batch_{batch}"] = {"onnx": ours, "numpy": numpy, "numpy_over_onnx": numpy["p50_ms"] / ours["p50_ms"]}
        print(f"  ratio: the numpy path takes {result[f'batch_{batch}']['numpy_over_onnx']:.2f}x the served path's "
              "time")
    print(f"  json: {save_result('ner', result)}")
    return result


if __name__ == "__main__":
    main()
