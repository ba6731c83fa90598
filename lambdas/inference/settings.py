"""The inference function's environment: built by the CDK construct and local mode, parsed at cold start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from mlstack.function_env import parse_function_environment

# A JSON body of this many instances of the widest sample model stays far below the default body limit.
DEFAULT_MAX_INSTANCES = 1000
DEFAULT_MAX_BODY_BYTES = 1_048_576
SERVICE = "inference"
# Counted when a canary version fails to load or to predict; the stage's canary alarm watches it.
CANARY_METRIC = "CanaryErrors"


def canary_metric_dimensions(stage: str) -> dict[str, str]:
    """The metric's dimensions as the function emits them (Powertools adds `service`) and the alarm reads them."""
    return {"Stage": stage, "service": SERVICE}


class InferenceEnvironment(BaseModel):
    STAGE: Literal["staging", "prod"]
    SERVING_PARAMETER: str = Field(pattern=r"^/")
    CAPTURE_BUCKET: str = Field(min_length=3)
    CAPTURE_SAMPLE_RATE: float = Field(0.1, ge=0, le=1)
    CAPTURE_BATCH_SIZE: int = Field(200, ge=1)
    MAX_INSTANCES: int = Field(DEFAULT_MAX_INSTANCES, ge=1)
    MAX_BODY_BYTES: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024)
    POINTER_RECHECK_SECONDS: float = Field(30, ge=0)


def function_environment(*, stage: str, serving_parameter: str, capture_bucket: str, capture_sample_rate: float,
                         max_instances: int, max_body_bytes: int, metrics_namespace: str,
                         recheck_seconds: float = 30) -> dict[str, str]:
    return {
        "STAGE": stage,
        "SERVING_PARAMETER": serving_parameter,
        "CAPTURE_BUCKET": capture_bucket,
        "CAPTURE_SAMPLE_RATE": str(capture_sample_rate),
        "MAX_INSTANCES": str(max_instances),
        "MAX_BODY_BYTES": str(max_body_bytes),
        "POINTER_RECHECK_SECONDS": str(recheck_seconds),
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def parse_environment(environ: Mapping[str, str]) -> InferenceEnvironment:
    return parse_function_environment(InferenceEnvironment, environ)
