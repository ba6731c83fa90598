"""The ingest function's environment: built by the CDK construct and local mode, parsed by the handler."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field


class IngestEnvironment(BaseModel):
    """Environment variables the handler requires, validated once per cold start."""

    CURATED_BUCKET: str = Field(min_length=3)
    QUARANTINE_BUCKET: str = Field(min_length=3)
    MAX_OBJECT_BYTES: int = Field(gt=0)


def function_environment(*, curated_bucket: str, quarantine_bucket: str, max_object_mb: int,
                         metrics_namespace: str) -> dict[str, str]:
    """Every variable the function is deployed with (values may be CDK tokens)."""
    return {
        "CURATED_BUCKET": curated_bucket,
        "QUARANTINE_BUCKET": quarantine_bucket,
        "MAX_OBJECT_BYTES": str(max_object_mb * 1024 * 1024),
        "POWERTOOLS_SERVICE_NAME": "ingest",
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def parse_environment(environ: Mapping[str, str]) -> IngestEnvironment:
    return IngestEnvironment.model_validate({name: environ.get(name) for name in IngestEnvironment.model_fields})
