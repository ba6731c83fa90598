"""The drift function's environment: built by the CDK construct and local mode, parsed by the handler."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from mlstack.config import EnvironmentConfig
from mlstack.function_env import parse_function_environment
from mlstack.monitoring import drift_namespace


class DriftEnvironment(BaseModel):
    SERVING_PARAMETER_PREFIX: str = Field(pattern=r"^/")
    STAGE: str = Field(min_length=1)
    ARTIFACTS_BUCKET: str = Field(min_length=3)  # baselines (serving/) in, reports (monitoring/) out
    CAPTURE_BUCKET: str = Field(min_length=3)
    MODEL_NAME: str = Field(min_length=1)  # the Model metric dimension: the model package group
    METRIC_NAMESPACE: str = Field(min_length=1)
    WINDOW_HOURS: int = Field(24, ge=1)
    MIN_ROWS: int = Field(200, ge=1)
    PSI_THRESHOLD: float = Field(0.2, gt=0)


def function_environment(config: EnvironmentConfig, *, artifacts_bucket: str, capture_bucket: str) -> dict[str, str]:
    settings = config.monitoring
    return {
        "SERVING_PARAMETER_PREFIX": config.serving_parameter_prefix(),
        "STAGE": settings.stage,
        "ARTIFACTS_BUCKET": artifacts_bucket,
        "CAPTURE_BUCKET": capture_bucket,
        "MODEL_NAME": config.model_package_group_name(),
        "METRIC_NAMESPACE": drift_namespace(config.resource_prefix()),
        "WINDOW_HOURS": str(settings.window_hours),
        "MIN_ROWS": str(settings.min_rows),
        "PSI_THRESHOLD": f"{settings.psi_threshold:g}",
        "POWERTOOLS_SERVICE_NAME": "drift",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def parse_environment(environ: Mapping[str, str]) -> DriftEnvironment:
    return parse_function_environment(DriftEnvironment, environ)
