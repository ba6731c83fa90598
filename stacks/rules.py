"""EventBridge rules' shared parts: patterns (mlstack's JSON form -> CDK) and function targets."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets

from stacks.functions import SecureFunction


def cdk_event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The EventBridge JSON pattern (as local mode matches it) as a CDK EventPattern."""
    return events.EventPattern(source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"],
                               account=pattern.get("account"))


def function_target(secure: SecureFunction) -> targets.LambdaFunction:
    """Deliveries EventBridge cannot make are retried, then land in the function's dead-letter queue."""
    return targets.LambdaFunction(secure.function, dead_letter_queue=secure.failures, retry_attempts=3,
                                  max_event_age=cdk.Duration.hours(6))
