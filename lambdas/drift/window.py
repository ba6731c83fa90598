"""The capture window of one model version: JSON-lines objects under its date partitions, fed to the
drift comparison in chunks (memory stays bounded by the chunk, not the window).

Capture keys are `capture/<dataset>/model_version=<v>/capture_date=<date>/<uuid>.jsonl` (mlstack/lake.py);
each record is {"at", "model_version", "features", "prediction"}. Only the partitions the window
touches are listed, and records are kept by their own time (`at`), so a window may start mid-day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from mlstack.drift import DriftWindow
from mlstack.lake import capture_key
from mlstack.pointer import version_label

CHUNK_ROWS = 20_000
READ_THREADS = 8  # capture objects are small (one batch each): fetch several at once


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, hours: int) -> Window:
        return cls(end - timedelta(hours=hours), end)

    def dates(self) -> list[str]:
        day, last, dates = self.start.date(), self.end.date(), []
        while day <= last:
            dates.append(day.isoformat())
            day += timedelta(days=1)
        return dates

    def bounds(self) -> tuple[str, str]:
        """As capture writes `at` (UTC ISO 8601, milliseconds), so they compare as strings."""
        return (self.start.isoformat(timespec="milliseconds"), self.end.isoformat(timespec="milliseconds"))


def capture_keys(s3: Any, bucket: str, dataset: str, version: int, window: Window) -> list[str]:
    keys = []
    paginator = s3.get_paginator("list_objects_v2")
    for date in window.dates():
        prefix = capture_key(dataset, version_label(version), date, "")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


@dataclass
class CaptureStats:
    objects: int = 0
    malformed_lines: int = 0  # skipped and counted: one bad line must not hide a window's drift


def read_records(s3: Any, bucket: str, keys: list[str], window: Window,
                 stats: CaptureStats) -> Iterator[list[dict[str, Any]]]:
    """Records inside the window, one list per object, fetched a few objects at a time."""
    start, end = window.bounds()

    def fetch(key: str) -> tuple[list[dict[str, Any]], int]:
        records, malformed = [], 0
        for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                malformed += bool(line.strip())
                continue
            if isinstance(record, dict) and isinstance(record.get("features"), dict):
                if start <= str(record.get("at", "")) < end:
                    records.append(record)
            else:
                malformed += 1
        return records, malformed

    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        for records, malformed in pool.map(fetch, keys):
            stats.objects += 1
            stats.malformed_lines += malformed
            yield records


def _columns(records: list[dict[str, Any]], names: Iterable[str]) -> dict[str, list[Any]]:
    """Column-wise values of a chunk (DriftWindow converts numeric ones)."""
    return {name: [record["features"].get(name) for record in records] for name in names}


def compare_window(baseline: dict[str, Any], chunks: Iterator[list[dict[str, Any]]], *,
                   psi_threshold: float, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    """The drift report of every record the chunks hold, counted chunk_rows at a time."""
    names = list(baseline["features"])
    window = DriftWindow(baseline, psi_threshold=psi_threshold)
    pending: list[dict[str, Any]] = []
    for records in chunks:
        pending += records
        if len(pending) >= chunk_rows:
            window.update(_columns(pending, names), [record.get("prediction") for record in pending])
            pending = []
    if pending:
        window.update(_columns(pending, names), [record.get("prediction") for record in pending])
    return window.report()
