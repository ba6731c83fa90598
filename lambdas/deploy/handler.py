"""EventBridge -> Deployer. Parses, calls logic, logs ids.

- "SageMaker Model Package State Change" (approval rule): deploy to staging, or roll back.
- "Scheduled Event" and "CloudWatch Alarm State Change" (canary rules): complete or roll back the
  pointer canaries.

Failures raise: Lambda retries the async event (bounded), then the dead-letter queue; a redelivered
event finds its version already live and records a no-op.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from lambdas.deploy.audit import AuditLog, AuditRecord
from lambdas.deploy.deployer import CanaryPolicy, Deployer
from lambdas.deploy.events import CANARY_TRIGGERS
from lambdas.deploy.model_card import ModelCards
from lambdas.deploy.registry import Registry
from lambdas.deploy.serving import LambdaBackend, ServingArtifacts
from lambdas.deploy.settings import DeployEnvironment, parse_environment
from mlstack.log_guard import guard
from mlstack.pointer import ServingPointer

logger = guard(Logger(service="deploy"))  # no payload field ever reaches a log line
tracer = Tracer(service="deploy")
metrics = Metrics(service="deploy")
AWS_RETRIES = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=30)


@cache
def deployer() -> Deployer:
    env = parse_environment(os.environ)
    s3 = boto3.client("s3", config=AWS_RETRIES)
    sagemaker = boto3.client("sagemaker", config=AWS_RETRIES)
    artifacts = ServingArtifacts(s3, env.SERVING_BUCKET)
    return Deployer(
        registry=Registry(sagemaker),
        pointer=ServingPointer(boto3.client("ssm", config=AWS_RETRIES), env.SERVING_PARAMETER_PREFIX),
        backend=LambdaBackend(artifacts), artifacts=artifacts,
        audit=AuditLog(s3, env.AUDIT_BUCKET, boto3.client("sns", config=AWS_RETRIES), env.AUDIT_TOPIC_ARN),
        s3=s3, canary=_canary(env), cards=_cards(env, sagemaker, s3),
    )


def _cards(env: DeployEnvironment, sagemaker: Any, s3: Any) -> ModelCards | None:
    if not env.MODEL_CARD_KMS_KEY_ARN:
        return None
    return ModelCards(sagemaker=sagemaker, s3=s3, bucket=env.SERVING_BUCKET, kms_key_arn=env.MODEL_CARD_KMS_KEY_ARN,
                      phi_policies=env.PHI_POLICIES)


def _canary(env: DeployEnvironment) -> CanaryPolicy | None:
    if env.CANARY_BAKE_MINUTES == 0:  # canary_bake_minutes 0: all at once
        return None
    return CanaryPolicy(env.CANARY_PERCENT, env.CANARY_BAKE_MINUTES, env.RESOURCE_PREFIX)


@cache
def cloudwatch() -> Any:
    return boto3.client("cloudwatch", config=AWS_RETRIES)


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    if event.detail_type in CANARY_TRIGGERS:
        records = deployer().check_canaries(cloudwatch())
        for record in records:
            _report(record)
        return {"canaries": [{"action": r.action, "stage": r.stage, "detail": r.detail} for r in records]}
    record = deployer().handle_state_change(event.detail)
    if record is None:
        logger.info("ignored", extra={"model_package_arn": event.detail.get("ModelPackageArn"),
                                      "status": event.detail.get("ModelApprovalStatus")})
        return {"outcome": "ignored"}
    _report(record)
    return {"action": record.action, "outcome": record.outcome, "stage": record.stage, "detail": record.detail}


def _report(record: AuditRecord) -> None:
    name = "".join(part.title() for part in f"{record.action}-{record.outcome}".split("-"))
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    logger.info("handled", extra={"action": record.action, "outcome": record.outcome, "stage": record.stage,
                                  "model_package_arn": record.model_package_arn, "detail": record.detail})
