"""Ingestion throughput: row-validated ingest vs. the obvious alternative (vectorized pyarrow CSV).

The alternative reads and writes faster but cannot say which row failed or why: one bad value
fails the whole file (or silently becomes null). The ratio is the price of per-row reasons.
Run: make bench  (or .venv/bin/python benchmarks/ingest_throughput.py [--rows N])
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lambdas.ingest.ingestion import SourceObject, to_parquet
from lambdas.ingest.records import decode, parse_and_validate
from mlstack.datasets.samples import breast_cancer_rows, clinical_notes_rows, to_csv, to_jsonl
from mlstack.schema import load_schema

SOURCE = SourceObject("bench", "raw/bench/file", None, "etag", 0, datetime(2026, 1, 1, tzinfo=UTC))


def _best_of(repeats: int, work) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def _ours(content: bytes, fmt: str, dataset: str) -> None:
    schema = load_schema(dataset)
    parsed = parse_and_validate(content.decode(), fmt, schema)
    to_parquet(parsed.table, schema, SOURCE)


def _pyarrow_csv(content: bytes) -> None:
    table = pacsv.read_csv(io.BytesIO(content))
    pq.write_table(table, pa.BufferOutputStream(), compression="zstd")


def run(rows: int, repeats: int) -> dict:
    tabular = (breast_cancer_rows() * (rows // 569 + 1))[:rows]
    tabular_csv = to_csv(tabular, list(load_schema("breast_cancer").column_names))
    notes_jsonl = to_jsonl(clinical_notes_rows(rows // 4))
    ours_csv = _best_of(repeats, lambda: _ours(tabular_csv, "csv", "breast_cancer"))
    arrow_csv = _best_of(repeats, lambda: _pyarrow_csv(tabular_csv))
    ours_notes = _best_of(repeats, lambda: _ours(notes_jsonl, "jsonl", "clinical_notes"))
    return {
        "rows": rows,
        "tabular_csv_mb": round(len(tabular_csv) / 1e6, 1),
        "ours_csv_rows_per_s": round(rows / ours_csv),
        "pyarrow_csv_rows_per_s": round(rows / arrow_csv),
        "ours_csv_mb_per_s": round(len(tabular_csv) / 1e6 / ours_csv, 1),
        "slowdown_vs_pyarrow": round(ours_csv / arrow_csv, 1),
        "notes_jsonl_rows": rows // 4,
        "notes_jsonl_mb": round(len(notes_jsonl) / 1e6, 1),
        "ours_notes_rows_per_s": round((rows // 4) / ours_notes),
        "ours_notes_mb_per_s": round(len(notes_jsonl) / 1e6 / ours_notes, 1),
    }


def large_file(megabytes: int) -> dict:
    """Time and peak memory of ingesting one CSV of the given size, in a fresh process."""
    columns = list(load_schema("breast_cancer").column_names)
    block = to_csv(breast_cancer_rows(), columns)
    header, body = block.split(b"\n", 1)
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as handle:
        handle.write(header + b"\n")
        for _ in range(megabytes * 1_000_000 // len(body) + 1):
            handle.write(body)
        path = handle.name
    try:
        child = subprocess.run([sys.executable, "-m", "benchmarks.ingest_throughput", "--child", path],  # noqa: S603
                               check=True, capture_output=True, text=True)
    finally:
        os.unlink(path)
    return json.loads(child.stdout)


def _child(path: str) -> None:
    """Read the file as the Lambda reads an object body, validate, write parquet; report RSS."""
    started = time.perf_counter()
    content = Path(path).read_bytes()
    size = len(content)
    schema = load_schema("breast_cancer")
    text = decode(content)
    del content  # as the function does
    parsed = parse_and_validate(text, "csv", schema)
    parquet = to_parquet(parsed.table, schema, SOURCE)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"file_mb": round(size / 1e6), "rows": parsed.rows_in, "seconds": round(seconds, 1),
                      "peak_rss_mb": round(peak_mb), "parquet_mb": round(len(parquet) / 1e6, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large-mb", type=int, default=256, help="size of the one-file memory run (0: skip)")
    parser.add_argument("--json", default=".mlstack/bench/ingest_throughput.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    result = run(args.rows, args.repeats)
    print(f"ingest throughput, {result['rows']} rows of breast_cancer CSV ({result['tabular_csv_mb']} MB), "
          f"best of {args.repeats}:")
    print(f"  {'path':<44} {'rows/s':>10} {'MB/s':>7}")
    print(f"  {'mlstack ingest (validate per row + parquet)':<44} {result['ours_csv_rows_per_s']:>10,} "
          f"{result['ours_csv_mb_per_s']:>7}")
    print(f"  {'pyarrow read_csv + parquet (no row reasons)':<44} {result['pyarrow_csv_rows_per_s']:>10,}")
    print(f"  ratio: mlstack is {result['slowdown_vs_pyarrow']}x slower than vectorized pyarrow")
    print(f"  clinical_notes JSONL ({result['notes_jsonl_rows']} notes, {result['notes_jsonl_mb']} MB): "
          f"{result['ours_notes_rows_per_s']:,} rows/s, {result['ours_notes_mb_per_s']} MB/s")
    if args.large_mb:
        result["large_file"] = large = large_file(args.large_mb)
        print(f"  one {large['file_mb']} MB CSV ({large['rows']:,} rows): {large['seconds']} s, "
              f"peak RSS {large['peak_rss_mb']} MB (Lambda memory is set in config: ingest.memory_mb)")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"  json: {args.json}")


if __name__ == "__main__":
    main()
