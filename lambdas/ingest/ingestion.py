"""Validated ingestion of one raw object: curated parquet, quarantined rows, and a manifest.

Layout (all keys deterministic from the source object version, so a retry or a duplicate
event rewrites the same keys and never duplicates rows):
  raw bucket      raw/<dataset>/<any>/<file>.csv|.jsonl[.gz]        (input)
                  quarantine/<dataset>/ingest_date=D/<id>.jsonl     (bad rows, one reason each)
                  quarantine/<dataset>/ingest_date=D/<id>/<file>    (whole rejected files)
  curated bucket  curated/<dataset>/ingest_date=D/<id>.parquet      (valid rows, typed)
                  manifests/<dataset>/ingest_date=D/<id>.json       (counts; written last)
Invariant of every manifest: rows_in == rows_valid + rows_quarantined.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from mlstack.schema import DatasetSchema, RecordError, available_datasets, load_schema

RAW_PREFIX = "raw/"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_ARROW_TYPES = {"integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(),
                "category": pa.string(), "text": pa.string()}
Outcome = Literal["accepted", "partial", "rejected"]


class FileRejectedError(Exception):
    """A whole-file problem: the object is quarantined as is, with this reason."""


@dataclass(frozen=True)
class SourceObject:
    """The exact raw object version an S3 event names."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    event_time: datetime

    @property
    def source_id(self) -> str:
        identity = f"{self.bucket}/{self.key}#{self.version_id or self.etag}"
        return hashlib.sha256(identity.encode()).hexdigest()[:24]

    @property
    def ingest_date(self) -> str:
        # From the event, not the clock: reprocessing on another day hits the same partition.
        return self.event_time.astimezone(UTC).date().isoformat()

    @property
    def file_name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class IngestSettings:
    curated_bucket: str
    quarantine_bucket: str
    max_object_bytes: int


class Manifest(BaseModel):
    """What happened to one source object; the commit record of its ingestion."""

    dataset: str
    schema_version: int | None
    source_bucket: str
    source_key: str
    source_version_id: str | None
    source_size: int
    ingest_date: str
    outcome: Outcome
    reason: str | None = None
    rows_in: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    blank_lines_skipped: int = 0
    quarantine_reasons: dict[str, int] = {}
    curated_key: str | None = None
    quarantine_key: str | None = None
    processed_at: str
    duplicate: bool = False


@dataclass
class Quarantined:
    row: int
    reason: str
    field: str | None
    raw: Any


@dataclass
class ParsedFile:
    schema: DatasetSchema
    valid: list[dict[str, Any]]
    quarantined: list[Quarantined]
    blank_lines: int = 0

    @property
    def rows_in(self) -> int:
        return len(self.valid) + len(self.quarantined)


def dataset_of(key: str) -> str:
    """The data set a raw key belongs to (raw/<dataset>/...), or FileRejectedError."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != RAW_PREFIX or not parts[-1]:
        raise FileRejectedError(f"key must look like {RAW_PREFIX}<dataset>/<file>")
    if parts[1] not in available_datasets():
        raise FileRejectedError(f"unknown dataset {parts[1]!r}; known: {available_datasets()}")
    return parts[1]


def format_of(key: str) -> tuple[str, bool]:
    """(csv|jsonl, gzipped) from the file name, or FileRejectedError."""
    name = key.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[:-3]
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt, compressed
    raise FileRejectedError(f"unsupported file type; expected one of {sorted(FORMATS)} (optionally .gz)")


def decompress(body: bytes, limit: int) -> bytes:
    """gunzip with a cap on the output (no zip bombs) and a clear error on truncation."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise FileRejectedError(f"not a valid gzip stream ({error})") from None
    if len(data) > limit:
        raise FileRejectedError(f"decompressed size exceeds the limit of {limit} bytes")
    if not inflater.eof:
        raise FileRejectedError("truncated gzip stream (the upload is incomplete)")
    return data


def decode(body: bytes) -> str:
    if not body.strip():
        raise FileRejectedError("empty file (no records)")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejectedError(
            f"not valid UTF-8: byte 0x{body[error.start]:02x} at offset {error.start}; re-export the file as UTF-8"
        ) from None


def _csv_records(text: str, schema: DatasetSchema, parsed: ParsedFile) -> Iterator[tuple[int, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as error:
        raise FileRejectedError(f"unreadable CSV header: {error}") from None
    problems = schema.header_problems(header)
    if problems:
        raise FileRejectedError("CSV header does not match the schema: " + "; ".join(problems))
    row_number = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # The csv module cannot resynchronise after a broken quote: keep the rest as one record.
            row_number += 1
            parsed.quarantined.append(Quarantined(row_number, f"malformed CSV: {error}", None,
                                                  {"from_line": reader.line_num}))
            return
        if not fields:
            parsed.blank_lines += 1
            continue
        row_number += 1
        if len(fields) != len(header):
            parsed.quarantined.append(Quarantined(
                row_number, f"expected {len(header)} fields, got {len(fields)} (truncated or misquoted row)",
                None, fields))
            continue
        yield row_number, dict(zip(header, fields, strict=True))


def _jsonl_records(text: str, parsed: ParsedFile) -> Iterator[tuple[int, Any]]:
    row_number = 0
    for line in text.splitlines():
        if not line.strip():
            parsed.blank_lines += 1
            continue
        row_number += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            parsed.quarantined.append(Quarantined(
                row_number, f"invalid JSON (truncated or malformed) at char {error.pos}", None, line))
            continue
        if not isinstance(record, dict):
            parsed.quarantined.append(Quarantined(row_number, "a JSON Lines record must be an object", None, line))
            continue
        yield row_number, record


def parse_and_validate(text: str, fmt: str, schema: DatasetSchema) -> ParsedFile:
    """Split a decoded file into typed valid rows and quarantined rows with reasons."""
    parsed = ParsedFile(schema, [], [])
    records = _csv_records(text, schema, parsed) if fmt == "csv" else _jsonl_records(text, parsed)
    for row_number, record in records:
        try:
            parsed.valid.append(schema.validate_record(record))
        except RecordError as error:
            parsed.quarantined.append(Quarantined(row_number, str(error), error.field, record))
    parsed.quarantined.sort(key=lambda item: item.row)
    return parsed


def to_parquet(rows: list[dict[str, Any]], schema: DatasetSchema, source: SourceObject) -> bytes:
    """Typed, compressed parquet with the schema version and source recorded in its metadata."""
    arrow_schema = pa.schema(
        [pa.field(column.name, _ARROW_TYPES[column.type], nullable=not column.required) for column in schema.columns],
        metadata={"mlstack.dataset": schema.name, "mlstack.schema_version": str(schema.version),
                  "mlstack.source": f"s3://{source.bucket}/{source.key}",
                  "mlstack.source_version_id": source.version_id or ""},
    )
    table = pa.Table.from_pylist(rows, schema=arrow_schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _quarantine_lines(parsed: ParsedFile) -> bytes:
    return "".join(
        json.dumps({"row": item.row, "field": item.field, "reason": item.reason, "record": item.raw},
                   ensure_ascii=False, default=str) + "\n"
        for item in parsed.quarantined
    ).encode("utf-8")


class Ingestor:
    """Ingests raw object versions; the S3 client is injected (moto in tests, boto3 in Lambda)."""

    def __init__(self, s3: Any, settings: IngestSettings) -> None:
        self.s3 = s3
        self.settings = settings

    def ingest(self, source: SourceObject) -> Manifest:
        try:
            dataset = dataset_of(source.key)
        except FileRejectedError as error:
            return self._reject(source, "_unrouted", None, str(error))
        manifest_key = self._key("manifests", dataset, source, ".json")
        existing = self._existing_manifest(manifest_key)
        if existing is not None:
            return existing.model_copy(update={"duplicate": True})
        schema = load_schema(dataset)
        try:
            parsed = self._read(source, schema)
        except FileRejectedError as error:
            return self._reject(source, dataset, schema.version, str(error))
        return self._commit(source, parsed, manifest_key)

    def _read(self, source: SourceObject, schema: DatasetSchema) -> ParsedFile:
        fmt, compressed = format_of(source.key)
        limit = self.settings.max_object_bytes
        if source.size > limit:
            raise FileRejectedError(f"object is {source.size} bytes, over the configured limit of {limit} bytes")
        request = {"Bucket": source.bucket, "Key": source.key}
        if source.version_id:
            request["VersionId"] = source.version_id
        body = self.s3.get_object(**request)["Body"].read(limit + 1)
        if len(body) > limit:
            raise FileRejectedError(f"object is over the configured limit of {limit} bytes")
        if compressed:
            body = decompress(body, limit)
        return parse_and_validate(decode(body), fmt, schema)

    def _commit(self, source: SourceObject, parsed: ParsedFile, manifest_key: str) -> Manifest:
        dataset = parsed.schema.name
        curated_key = quarantine_key = None
        if parsed.valid:
            curated_key = self._key("curated", dataset, source, ".parquet")
            self._put(self.settings.curated_bucket, curated_key, to_parquet(parsed.valid, parsed.schema, source))
        if parsed.quarantined:
            quarantine_key = self._key("quarantine", dataset, source, ".jsonl")
            self._put(self.settings.quarantine_bucket, quarantine_key, _quarantine_lines(parsed))
        valid, bad = len(parsed.valid), len(parsed.quarantined)
        outcome: Outcome = "accepted" if not bad else "partial" if valid else "rejected"
        manifest = self._manifest(
            source, dataset, parsed.schema.version, outcome,
            reason=None if valid or not bad else "every row failed validation",
            rows_in=parsed.rows_in, rows_valid=valid, rows_quarantined=bad,
            blank_lines_skipped=parsed.blank_lines,
            quarantine_reasons=dict(Counter(item.reason for item in parsed.quarantined).most_common(20)),
            curated_key=curated_key, quarantine_key=quarantine_key,
        )
        self._put(self.settings.curated_bucket, manifest_key, manifest.model_dump_json(indent=2).encode())
        return manifest

    def _reject(self, source: SourceObject, dataset: str, schema_version: int | None, reason: str) -> Manifest:
        """Quarantine the whole object (server-side copy) and record why."""
        quarantine_key = f"{self._key('quarantine', dataset, source, '')}/{source.file_name}"
        copy_source = {"Bucket": source.bucket, "Key": source.key}
        if source.version_id:
            copy_source["VersionId"] = source.version_id
        self.s3.copy_object(Bucket=self.settings.quarantine_bucket, Key=quarantine_key, CopySource=copy_source,
                            Tagging=urlencode({"mlstack-reason": _tag_safe(reason)}), TaggingDirective="REPLACE")
        manifest = self._manifest(source, dataset, schema_version, "rejected", reason=reason,
                                  quarantine_key=quarantine_key)
        self._put(self.settings.curated_bucket, self._key("manifests", dataset, source, ".json"),
                  manifest.model_dump_json(indent=2).encode())
        return manifest

    def _manifest(self, source: SourceObject, dataset: str, schema_version: int | None, outcome: Outcome,
                  **counts: Any) -> Manifest:
        return Manifest(dataset=dataset, schema_version=schema_version, source_bucket=source.bucket,
                        source_key=source.key, source_version_id=source.version_id, source_size=source.size,
                        ingest_date=source.ingest_date, outcome=outcome,
                        processed_at=datetime.now(UTC).isoformat(timespec="seconds"), **counts)

    def _existing_manifest(self, key: str) -> Manifest | None:
        try:
            body = self.s3.get_object(Bucket=self.settings.curated_bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return Manifest.model_validate_json(body)

    def _put(self, bucket: str, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    @staticmethod
    def _key(zone: str, dataset: str, source: SourceObject, suffix: str) -> str:
        return f"{zone}/{dataset}/ingest_date={source.ingest_date}/{source.source_id}{suffix}"


def _tag_safe(text: str) -> str:
    """S3 tag values allow letters, digits, spaces and + - = . _ : / @ (max 256)."""
    allowed = set("+-=._:/@ ")
    return "".join(c if c.isalnum() or c in allowed else " " for c in text)[:256]
