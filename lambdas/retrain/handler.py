"""EventBridge (a drift alarm entered ALARM) -> Retrainer: start the pipeline unless the storm guard holds.

Parses the alarm event, calls the guard and the start, logs the decision (alarm names, scores and
ids: never captured data). AWS faults are retried by botocore with backoff, then raise: Lambda
retries the async event (bounded), then the dead-letter queue; the start is idempotent per event id.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from lambdas.retrain.retrainer import AlarmTrigger, Retrainer
from lambdas.retrain.settings import parse_environment
from mlstack.log_guard import guard

logger = guard(Logger(service="retrain"))  # no payload field ever reaches a log line
tracer = Tracer(service="retrain")
AWS_RETRIES = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=30)


@cache
def retrainer() -> Retrainer:
    return Retrainer(sagemaker=boto3.client("sagemaker", config=AWS_RETRIES),
                     s3=boto3.client("s3", config=AWS_RETRIES), env=parse_environment(os.environ))


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    record = retrainer().handle(AlarmTrigger.from_event(event))
    logger.info("retrain decision", extra={"decision": record.decision, "alarm": record.trigger.alarm_name,
                                           "detail": record.detail, "execution_arn": record.execution_arn,
                                           "record_uri": record.record_uri})
    return {key: value for key, value in asdict(record).items() if key != "trigger"} | {
        "alarm": record.trigger.alarm_name}
