"""The deployer function's environment: built by the CDK construct and local mode, parsed by the handler."""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import BaseModel, Field, Json

from mlstack.function_env import parse_function_environment


class DeployEnvironment(BaseModel):
    SERVING_BUCKET: str = Field(min_length=3)
    SERVING_PARAMETER_PREFIX: str = Field(pattern=r"^/")
    AUDIT_BUCKET: str = Field(min_length=3)
    AUDIT_TOPIC_ARN: str = Field(min_length=20)
    RESOURCE_PREFIX: str = Field(min_length=1)  # names the per-stage canary alarms
    CANARY_PERCENT: int = Field(10, ge=1, le=50)
    CANARY_BAKE_MINUTES: float = Field(0, ge=0)  # 0 = no pointer canary
    MODEL_CARD_KMS_KEY_ARN: str = ""  # model cards are encrypted with it; empty: no cards are written
    PHI_POLICIES: Json[dict[str, str]] = {}  # the ingestion PHI policy per data set, recorded on each card


def function_environment(*, serving_bucket: str, parameter_prefix: str, audit_bucket: str,
                         audit_topic_arn: str, resource_prefix: str, canary_percent: int, canary_bake_minutes: float,
                         model_card_key_arn: str = "",
                         phi_policies: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "MODEL_CARD_KMS_KEY_ARN": model_card_key_arn,
        "PHI_POLICIES": json.dumps(phi_policies or {}, sort_keys=True),
        "RESOURCE_PREFIX": resource_prefix,
        "CANARY_PERCENT": str(canary_percent),
        "CANARY_BAKE_MINUTES": f"{canary_bake_minutes:g}",
        "SERVING_BUCKET": serving_bucket,
        "SERVING_PARAMETER_PREFIX": parameter_prefix,
        "AUDIT_BUCKET": audit_bucket,
        "AUDIT_TOPIC_ARN": audit_topic_arn,
        "POWERTOOLS_SERVICE_NAME": "deploy",
        "POWERTOOLS_METRICS_NAMESPACE": resource_prefix,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def parse_environment(environ: Mapping[str, str]) -> DeployEnvironment:
    return parse_function_environment(DeployEnvironment, environ)
