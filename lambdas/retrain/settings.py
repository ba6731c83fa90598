"""The retrain function's environment: built by the CDK construct and local mode, parsed by the handler."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from mlstack.config import EnvironmentConfig
from mlstack.function_env import parse_function_environment
from mlstack.lake import CURATED_PREFIX


class RetrainEnvironment(BaseModel):
    PIPELINE_NAME: str = Field(min_length=1)
    RECIPE: str = Field(min_length=1)
    CURATED_BUCKET: str = Field(min_length=3)
    DATASET_PREFIX: str = Field(pattern=r"/$")  # curated/<dataset>/: all partitions, the newest included
    RECORD_BUCKET: str = Field(min_length=3)  # artifacts: monitoring/retrain/ records why each start happened
    COOLDOWN_HOURS: float = Field(24, ge=0)


def function_environment(config: EnvironmentConfig, *, pipeline_name: str, dataset: str, curated_bucket: str,
                         record_bucket: str) -> dict[str, str]:
    """`dataset`: the configured recipe's data set (pipelines/recipes.py, which the package does not ship)."""
    return {
        "PIPELINE_NAME": pipeline_name,
        "RECIPE": config.training.recipe,
        "CURATED_BUCKET": curated_bucket,
        "DATASET_PREFIX": f"{CURATED_PREFIX}{dataset}/",
        "RECORD_BUCKET": record_bucket,
        "COOLDOWN_HOURS": f"{config.monitoring.retrain_cooldown_hours:g}",
        "POWERTOOLS_SERVICE_NAME": "retrain",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def parse_environment(environ: Mapping[str, str]) -> RetrainEnvironment:
    return parse_function_environment(RetrainEnvironment, environ)
