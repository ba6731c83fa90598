"""`mlstack drift baseline|compare` on parquet/CSV files: columnar reads in chunks, a table, JSON.

pyarrow reads only the baseline's columns, in record batches (memory bounded by the batch), and
hands the drift math what it wants: numeric columns as float64 arrays (null -> NaN), categorical
ones as value counts computed in C (pyarrow.compute.value_counts), text as Python strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mlstack.drift import (
    BASELINE_VERSION,
    DriftInputError,
    DriftWindow,
    counted_categorical_profile,
    format_score,
    looks_like_text,
    numeric_profile,
    ranked_features,
    text_profile,
)

CHUNK_ROWS = 262_144


def _batches(path: Path, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    if not path.is_file():
        raise DriftInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        parquet = pq.ParquetFile(path)
        missing = sorted(set(columns or ()) - set(parquet.schema_arrow.names))
        if missing:
            raise DriftInputError(f"{path}: columns of the baseline are missing: {', '.join(missing)}")
        yield from parquet.iter_batches(batch_size=CHUNK_ROWS, columns=columns)
    elif suffix == ".csv":
        options = pacsv.ConvertOptions(include_columns=columns) if columns else None
        try:
            reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=16 << 20),
                                    convert_options=options)
            yield from reader
        except (pa.ArrowInvalid, KeyError) as error:
            raise DriftInputError(f"{path}: {error}") from None
    else:
        raise DriftInputError(f"{path}: expected a .parquet or .csv file")


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _floats(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """float64 with NaN for nulls, as a view of the Arrow buffer (Array.to_numpy imports pandas: ~0.2 s)."""
    floats = pc.cast(column, pa.float64())
    if isinstance(floats, pa.ChunkedArray):
        floats = floats.combine_chunks()
    if floats.null_count:
        floats = pc.fill_null(floats, np.nan)
    return np.frombuffer(floats.buffers()[1], dtype=np.float64, count=len(floats), offset=floats.offset * 8)


def _counts(column: pa.Array | pa.ChunkedArray) -> dict[str | None, int]:
    counted = pc.value_counts(pc.cast(column, pa.string()))
    return dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True))


def build_file_baseline(path: Path, *, bins: int = 10, max_categories: int = 50) -> dict[str, Any]:
    """A baseline from a whole file (read at once: quantile edges need every value)."""
    table = pa.Table.from_batches(list(_batches(path)))
    features: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        if _is_numeric(column.type):
            features[name] = numeric_profile(_floats(column), bins=bins)
            continue
        counts = _counts(column)
        if looks_like_text(counts, max_categories=max_categories):
            features[name] = text_profile(column.to_pylist(), bins=bins)
        else:
            features[name] = counted_categorical_profile(counts, max_categories=max_categories)
    return {"version": BASELINE_VERSION, "dataset": path.stem, "rows": table.num_rows, "features": features}


def compare_file(baseline: dict[str, Any], path: Path, **thresholds: float) -> dict[str, Any]:
    """Stream the file's baseline columns through a DriftWindow, batch by batch."""
    window = DriftWindow(baseline, **thresholds)
    kinds = {name: profile["kind"] for name, profile in baseline["features"].items()}
    for batch in _batches(path, list(kinds)):
        chunk: dict[str, Any] = {}
        for name, kind in kinds.items():
            column = batch.column(name)
            if kind == "numeric":  # a list per row (an entity model's span scores) counts every value
                flat = pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
                chunk[name] = _floats(pc.list_flatten(column) if flat else column)
            elif kind == "categorical":
                chunk[name] = _counts(column)
            else:
                chunk[name] = column.to_pylist()
        window.update(chunk)
    return window.report()


def read_baseline(path: Path) -> dict[str, Any]:
    try:
        baseline = json.loads(path.read_text())
    except FileNotFoundError:
        raise DriftInputError(f"{path}: no such file") from None
    except json.JSONDecodeError as error:
        raise DriftInputError(f"{path}: not a baseline JSON ({error})") from None
    if not isinstance(baseline, dict) or "features" not in baseline:
        raise DriftInputError(f"{path}: not a baseline (no 'features'); build one with `mlstack drift baseline`")
    return baseline


def format_table(report: dict[str, Any]) -> str:
    """One line per feature, drifted first, then by PSI."""
    lines = [f"{'feature':<28} {'kind':<11} {'psi':>7} {'js':>6} {'ks':>6} {'ks p':>8} {'miss Δ':>7}  drifted"]
    for name in ranked_features(report):
        score = report["features"][name]
        verdict = f"YES ({', '.join(score['reasons'])})" if score["drifted"] else "no"
        lines.append(f"{name[:28]:<28} {score['kind']:<11} {format_score(score['psi']):>7} "
                     f"{format_score(score['js_distance']):>6} {format_score(score['ks']):>6} "
                     f"{format_score(score['ks_pvalue'], 4):>8} "
                     f"{score['missing_rate_change']:>+7.3f}  {verdict}")
    summary = report["summary"]
    lines.append(f"{summary['drifted_features']} of {summary['features']} features drifted "
                 f"(PSI >= {report['thresholds']['psi']}); max PSI {format_score(summary['max_psi'])} "
                 f"({summary['max_psi_feature'] or '-'}); window {report['window_rows']} rows, "
                 f"baseline {report['baseline_rows']} rows")
    return "\n".join(lines)
