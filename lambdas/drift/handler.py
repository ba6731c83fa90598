"""EventBridge schedule -> one drift run -> the report in the artifacts zone and CloudWatch metrics.

The run is "as of" the event's time (the scheduled time), so a replayed or backfilled event scores
the window it names. Metrics go out with PutMetricData (timestamped as of that time), which the
drift alarms read. Failures raise: Lambda retries the async event (bounded), then the dead-letter queue.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from lambdas.drift.monitor import DriftMonitor
from lambdas.drift.settings import parse_environment
from mlstack.log_guard import guard
from mlstack.pointer import ServingPointer

logger = guard(Logger(service="drift"))  # no payload field ever reaches a log line
tracer = Tracer(service="drift")
AWS_RETRIES = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=30)
METRICS_PER_CALL = 500  # PutMetricData takes up to 1,000 metrics per request


@cache
def monitor() -> DriftMonitor:
    env = parse_environment(os.environ)
    return DriftMonitor(s3=boto3.client("s3", config=AWS_RETRIES),
                        pointer=ServingPointer(boto3.client("ssm", config=AWS_RETRIES), env.SERVING_PARAMETER_PREFIX),
                        env=env)


@cache
def cloudwatch() -> Any:
    return boto3.client("cloudwatch", config=AWS_RETRIES)


def publish(namespace: str, data: list[dict[str, Any]]) -> None:
    for start in range(0, len(data), METRICS_PER_CALL):
        cloudwatch().put_metric_data(Namespace=namespace, MetricData=data[start:start + METRICS_PER_CALL])


def _as_of(event: EventBridgeEvent) -> datetime:
    try:
        return datetime.fromisoformat(event.get("time", "")).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    run = monitor().run(_as_of(event))
    publish(monitor().env.METRIC_NAMESPACE, run.metrics)
    # Scores and counts only: reports hold no feature values, so logs carry no captured data.
    logger.info("drift run", extra={"outcome": run.outcome, "stage": run.stage, "model_version": run.version,
                                    "report_uri": run.report_uri, "summary": run.summary,
                                    "metrics_published": len(run.metrics)})
    return {"outcome": run.outcome, "stage": run.stage, "model_version": run.version, "report_uri": run.report_uri,
            "summary": run.summary, "metrics_published": len(run.metrics)}
