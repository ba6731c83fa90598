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

import hashlib
import io
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from lambdas.ingest.records import (
    FileRejectedError,
    ParsedFile,
    decode,
    decompress,
    parse_and_validate,
    quarantine_lines,
)
from mlstack.config import DEFAULT_PHI_POLICY
from mlstack.deid import Backend, CombinedBackend, Deidentified, Deidentifier, PatternBackend, Policy
from mlstack.deid.comprehend import ComprehendMedicalBackend
from mlstack.lake import CURATED_PREFIX, MANIFESTS_PREFIX, QUARANTINE_PREFIX, RAW_PREFIX, partition_key
from mlstack.schema import DatasetSchema, available_datasets, load_schema

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
Outcome = Literal["accepted", "partial", "rejected"]


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
    phi_policies: Mapping[str, str] = field(default_factory=dict)  # dataset -> redact | pseudonymize | refuse
    phi_key: bytes = b""  # pseudonymization key (from SSM at cold start)
    phi_detectors: Mapping[str, str] = field(default_factory=dict)  # dataset -> builtin | comprehend-medical | both

    def phi_policy(self, dataset: str) -> str:
        return self.phi_policies.get(dataset, DEFAULT_PHI_POLICY)

    def phi_detector(self, dataset: str) -> str:
        return self.phi_detectors.get(dataset, "builtin")


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
    # PHI-bearing columns: the policy applied and how many identifiers of each type it replaced.
    phi_policy: str | None = None
    phi_identifiers: dict[str, int] = {}
    processed_at: str
    duplicate: bool = False


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


def to_parquet(table: pa.Table, schema: DatasetSchema, source: SourceObject) -> bytes:
    """Compressed parquet with the schema version and source recorded in its metadata."""
    metadata = {"mlstack.dataset": schema.name, "mlstack.schema_version": str(schema.version),
                "mlstack.source": f"s3://{source.bucket}/{source.key}",
                "mlstack.source_version_id": source.version_id or ""}
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(metadata), buffer, compression="zstd")
    return buffer.getvalue()


class Ingestor:
    """Ingests raw object versions; the S3 client is injected (moto in tests, boto3 in Lambda)."""

    def __init__(self, s3: Any, settings: IngestSettings, comprehend: Callable[[], Any] | None = None) -> None:
        self.s3 = s3
        self.settings = settings
        self.comprehend = comprehend  # a comprehendmedical client factory, for data sets that use it

    def _phi_backend(self, dataset: str) -> Backend:
        detector = self.settings.phi_detector(dataset)
        if detector == "builtin":
            return PatternBackend()
        if self.comprehend is None:
            raise RuntimeError(f"data set {dataset} uses {detector} but the function has no Comprehend Medical client")
        medical = ComprehendMedicalBackend(self.comprehend())
        return medical if detector == "comprehend-medical" else CombinedBackend(PatternBackend(), medical)

    def ingest(self, source: SourceObject) -> Manifest:
        try:
            dataset = dataset_of(source.key)
        except FileRejectedError as error:
            return self._reject(source, "_unrouted", None, str(error))
        manifest_key = self._key(MANIFESTS_PREFIX, dataset, source, ".json")
        existing = self._existing_manifest(manifest_key)
        if existing is not None:
            return existing.model_copy(update={"duplicate": True})
        schema = load_schema(dataset)
        try:
            parsed = self._read(source, schema)
            found = self._deidentify(parsed, schema, source)
        except FileRejectedError as error:
            return self._reject(source, dataset, schema.version, str(error), rows=error.rows)
        return self._commit(source, schema, parsed, manifest_key, found)

    def _deidentify(self, parsed: ParsedFile, schema: DatasetSchema, source: SourceObject) -> dict[str, int]:
        """PHI-bearing text columns of the valid rows, per the data set's policy; identifier counts per type."""
        columns = [column.name for column in schema.columns if column.phi]
        if not columns:
            return {}
        policy = self.settings.phi_policy(schema.name)
        deidentifier = Deidentifier(Policy(mode="redact" if policy == "refuse" else policy,
                                           key=self.settings.phi_key), backend=self._phi_backend(schema.name))
        found: Counter[str] = Counter()
        table = parsed.table
        for name in columns:
            index = table.schema.get_field_index(name)
            labels = [c.name for c in schema.columns if c.type == "entities" and c.text_column == name]
            entities = {label: table.column(label).to_pylist() for label in labels}
            values = []
            for row, value in enumerate(table.column(name).to_pylist()):
                if value is None:
                    values.append(None)
                    continue
                result = deidentifier.deidentify(value, document_id=f"{source.source_id}/{row}")
                found.update(span.type for span in result.spans)
                values.append(result.text)
                for spans in (entities[label][row] for label in labels if entities[label][row]):
                    spans[:] = _moved_entities(spans, result)
            if policy == "refuse" and found:
                raise FileRejectedError(f"column {name!r} holds {sum(found.values())} identifier(s) "
                                        f"({', '.join(sorted(found))}) and the {schema.name} PHI policy refuses them",
                                        rows=parsed.rows_in)
            table = table.set_column(index, table.schema.field(index), pa.array(values, type=pa.string()))
            for label in labels:  # entity offsets follow the text they label
                position = table.schema.get_field_index(label)
                table = table.set_column(position, table.schema.field(position),
                                         pa.array(entities[label], type=table.schema.field(position).type))
        parsed.table = table
        return dict(sorted(found.items()))

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
        text = decode(body)
        del body  # the decoded text is all that is needed from here on: free the bytes
        return parse_and_validate(text, fmt, schema)

    def _commit(self, source: SourceObject, schema: DatasetSchema, parsed: ParsedFile,
                manifest_key: str, phi_identifiers: dict[str, int]) -> Manifest:
        dataset = schema.name
        curated_key = quarantine_key = None
        if parsed.table.num_rows:
            curated_key = self._key(CURATED_PREFIX, dataset, source, ".parquet")
            self._put(self.settings.curated_bucket, curated_key, to_parquet(parsed.table, schema, source))
        if parsed.quarantined:
            quarantine_key = self._key(QUARANTINE_PREFIX, dataset, source, ".jsonl")
            self._put(self.settings.quarantine_bucket, quarantine_key, quarantine_lines(parsed))
        valid, bad = parsed.table.num_rows, len(parsed.quarantined)
        if parsed.rows_in != valid + bad:  # counted as read: a row neither curated nor quarantined is lost
            raise RuntimeError(f"{parsed.rows_in} rows read but {valid} valid + {bad} quarantined: not reconciled")
        outcome: Outcome = "accepted" if not bad else "partial" if valid else "rejected"
        manifest = self._manifest(
            source, dataset, schema.version, outcome,
            reason=None if valid or not bad else "every row failed validation",
            rows_in=parsed.rows_in, rows_valid=valid, rows_quarantined=bad,
            blank_lines_skipped=parsed.blank_lines,
            quarantine_reasons=dict(Counter(item.reason for item in parsed.quarantined).most_common(20)),
            curated_key=curated_key, quarantine_key=quarantine_key,
            phi_policy=self.settings.phi_policy(dataset) if any(c.phi for c in schema.columns) else None,
            phi_identifiers=phi_identifiers,
        )
        self._put(self.settings.curated_bucket, manifest_key, manifest.model_dump_json(indent=2).encode())
        return manifest

    def _reject(self, source: SourceObject, dataset: str, schema_version: int | None, reason: str,
                rows: int = 0) -> Manifest:
        """Quarantine the whole object (server-side copy) and record why; its rows, when countable, are all
        quarantined with it."""
        quarantine_key = f"{self._key(QUARANTINE_PREFIX, dataset, source, '')}/{source.file_name}"
        copy_source = {"Bucket": source.bucket, "Key": source.key}
        if source.version_id:
            copy_source["VersionId"] = source.version_id
        self.s3.copy_object(Bucket=self.settings.quarantine_bucket, Key=quarantine_key, CopySource=copy_source,
                            Tagging=urlencode({"mlstack-reason": _tag_safe(reason)}), TaggingDirective="REPLACE")
        manifest = self._manifest(source, dataset, schema_version, "rejected", reason=reason,
                                  quarantine_key=quarantine_key, rows_in=rows, rows_quarantined=rows)
        self._put(self.settings.curated_bucket, self._key(MANIFESTS_PREFIX, dataset, source, ".json"),
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
    def _key(prefix: str, dataset: str, source: SourceObject, suffix: str) -> str:
        return partition_key(prefix, dataset, source.ingest_date, f"{source.source_id}{suffix}")


def _moved_entities(spans: list[dict[str, Any]], result: Deidentified) -> list[dict[str, Any]]:
    """Labelled spans moved onto the de-identified text (a span that covered an identifier covers its tag)."""
    return [{**span, "start": result.moved(span["start"]), "end": result.moved(span["end"], end=True)}
            for span in spans]


def _tag_safe(text: str) -> str:
    """S3 tag values allow letters, digits, spaces and + - = . _ : / @ (max 256)."""
    allowed = set("+-=._:/@ ")
    return "".join(c if c.isalnum() or c in allowed else " " for c in text)[:256]
