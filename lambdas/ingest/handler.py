"""S3 ObjectCreated (raw/) -> validated ingestion. Parses the event, calls Ingestor, logs counts.

S3 notifies the data stack's raw-object topic, which invokes this function: the S3 notification is
the SNS message (S3's own format, keys URL-encoded). A notification invoked directly (a replay from
the dead-letter queue, tests) is accepted too. S3's configuration test message holds no records.

Data problems never raise (they become a recorded `rejected`/`partial` outcome), so a bad
file cannot cause a retry loop. AWS faults are retried by botocore with backoff, then raise:
Lambda retries the async event (bounded) and finally sends it to the on-failure destination.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from lambdas.ingest.ingestion import Ingestor, IngestSettings, Manifest, SourceObject
from lambdas.ingest.settings import parse_environment
from mlstack.log_guard import guard

logger = guard(Logger(service="ingest"))  # no payload field ever reaches a log line
tracer = Tracer(service="ingest")
metrics = Metrics(service="ingest")

AWS_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@cache
def ingestor() -> Ingestor:
    """One S3 client and settings per cold start."""
    env = parse_environment(os.environ)
    key = b""
    if env.PHI_KEY_PARAMETER:  # pseudonymization key: a SecureString, decrypted once per cold start
        ssm = boto3.client("ssm", config=AWS_RETRIES)
        key = ssm.get_parameter(Name=env.PHI_KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"].encode()
    settings = IngestSettings(curated_bucket=env.CURATED_BUCKET, quarantine_bucket=env.QUARANTINE_BUCKET,
                              max_object_bytes=env.MAX_OBJECT_BYTES, phi_policies=env.PHI_POLICIES, phi_key=key,
                              phi_detectors=env.PHI_DETECTORS)
    return Ingestor(boto3.client("s3", config=AWS_RETRIES), settings, comprehend=comprehend_medical)


@cache
def comprehend_medical() -> Any:
    """DetectPHI client, made only for data sets that use it; throttling is retried with backoff (adaptive)."""
    return boto3.client("comprehendmedical", config=Config(retries={"mode": "adaptive", "max_attempts": 8},
                                                           connect_timeout=5, read_timeout=30))


def _source(record: Any) -> SourceObject:
    """The object a record names. S3 URL-encodes keys in notifications ("notes 2025.csv" arrives as
    "notes+2025.csv", "résumé" as "r%C3%A9sum%C3%A9"); the API calls need the key itself."""
    obj = record.s3.get_object
    return SourceObject(bucket=record.s3.bucket.name, key=unquote_plus(obj.key), version_id=obj.version_id,
                        etag=obj.etag or "", size=obj.size or 0, event_time=datetime.fromisoformat(record.event_time))


def s3_notification(event: dict[str, Any]) -> S3Event:
    """The S3 records of an event: unwrapped from the topic's SNS envelope, or the notification itself."""
    records: list[dict[str, Any]] = []
    for record in event.get("Records", []):
        if record.get("EventSource") == "aws:sns":
            records += json.loads(record["Sns"]["Message"]).get("Records", [])  # s3:TestEvent: none
        else:
            records.append(record)
    return S3Event({"Records": records})


def _record_metrics(manifest: Manifest) -> None:
    metrics.add_metric(name="RowsIn", unit=MetricUnit.Count, value=manifest.rows_in)
    metrics.add_metric(name="RowsValid", unit=MetricUnit.Count, value=manifest.rows_valid)
    metrics.add_metric(name="RowsQuarantined", unit=MetricUnit.Count, value=manifest.rows_quarantined)
    metrics.add_metric(name="FilesRejected", unit=MetricUnit.Count, value=int(manifest.outcome == "rejected"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = []
    for record in s3_notification(event).records:
        # The S3 request id that created the object ties these logs to CloudTrail and S3 access logs.
        logger.set_correlation_id(record.response_elements.get("x-amz-request-id"))
        source = _source(record)
        manifest = ingestor().ingest(source)
        if not manifest.duplicate:  # a redelivered event was counted the first time
            _record_metrics(manifest)
        # Ids and counts only: never row contents (they may hold PHI).
        logger.info("ingested", extra={
            "source_key": source.key, "source_version_id": source.version_id, "dataset": manifest.dataset,
            "outcome": manifest.outcome, "reason": manifest.reason, "rows_in": manifest.rows_in,
            "rows_valid": manifest.rows_valid, "rows_quarantined": manifest.rows_quarantined,
            "duplicate": manifest.duplicate, "phi_policy": manifest.phi_policy,
            "phi_identifiers": manifest.phi_identifiers,
        })
        results.append({"source_key": source.key, "outcome": manifest.outcome, "duplicate": manifest.duplicate,
                        "rows_in": manifest.rows_in, "rows_valid": manifest.rows_valid,
                        "rows_quarantined": manifest.rows_quarantined,
                        "quarantine_reasons": manifest.quarantine_reasons,
                        "phi_identifiers": manifest.phi_identifiers})
    return {"results": results}
