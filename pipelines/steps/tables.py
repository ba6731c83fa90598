"""Shared by the step scripts: table I/O over the SageMaker container directories."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def read_tables(directory: str | Path) -> pa.Table:
    """Every parquet file under a directory (curated partitions nest), as one table."""
    files = sorted(Path(directory).rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no parquet files under {directory}")
    tables = [pq.read_table(path).replace_schema_metadata(None) for path in files]
    return pa.concat_tables(tables, promote_options="default")


def write_table(table: pa.Table, directory: str | Path, name: str) -> Path:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path / name)
    return path / name


def container_path(path: str) -> str:
    """A SageMaker container path, under MLSTACK_CONTAINER_ROOT when set (local runs)."""
    return os.environ.get("MLSTACK_CONTAINER_ROOT", "") + path
