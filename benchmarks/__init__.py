"""Reproducible performance comparisons (make bench); each writes its numbers as JSON too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BENCH_DIR = Path(".mlstack/bench")


def save_result(name: str, result: Any) -> Path:
    """Write a benchmark's result to .mlstack/bench/<name>.json and return the path."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    out = BENCH_DIR / f"{name}.json"
    out.write_text(json.dumps(result, indent=2))
    return out
