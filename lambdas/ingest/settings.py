"""The ingest function's environment: built by the CDK construct and local mode, parsed by the handler."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field, Json

from mlstack.function_env import parse_function_environment


class IngestEnvironment(BaseModel):
    """Environment variables the handler requires, validated once per cold start."""

    CURATED_BUCKET: str = Field(min_length=3)
    QUARANTINE_BUCKET: str = Field(min_length=3)
    MAX_OBJECT_BYTES: int = Field(gt=0)
    PHI_POLICIES: Json[dict[str, Literal["redact", "pseudonymize", "refuse"]]] = {}
    PHI_KEY_PARAMETER: str | None = None
    PHI_DETECTORS: Json[dict[str, Literal["builtin", "comprehend-medical", "both"]]] = {}


def function_environment(*, curated_bucket: str, quarantine_bucket: str, max_object_mb: int,
                         metrics_namespace: str, phi_policies: Mapping[str, str] | None = None,
                         phi_key_parameter: str | None = None,
                         phi_detectors: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every variable the function is deployed with (values may be CDK tokens)."""
    return {
        "CURATED_BUCKET": curated_bucket,
        "QUARANTINE_BUCKET": quarantine_bucket,
        "MAX_OBJECT_BYTES": str(max_object_mb * 1024 * 1024),
        "PHI_POLICIES": json.dumps(phi_policies or {}, sort_keys=True),
        "PHI_DETECTORS": json.dumps(phi_detectors or {}, sort_keys=True),
        **({"PHI_KEY_PARAMETER": phi_key_parameter} if phi_key_parameter else {}),
        "POWERTOOLS_SERVICE_NAME": "ingest",
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def parse_environment(environ: Mapping[str, str]) -> IngestEnvironment:
    return parse_function_environment(IngestEnvironment, environ)
