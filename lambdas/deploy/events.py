"""The deployer's events: the patterns the stack deploys and local mode routes with.

Only "SageMaker Model Package State Change" events for our group(s) whose status is Approved or
Rejected reach the deployer (Rejected may roll back a live version); pending versions and other
groups never do. Local mode routes events with mlstack/events.matches (moto lacks TestEventPattern).

Canary checks (lambda backend) come from a schedule and from state changes of the stages' canary
alarms.
"""

from __future__ import annotations

from typing import Any

from mlstack.events import ALARM_DETAIL_TYPE, SCHEDULE_DETAIL_TYPE

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
ACTIONABLE_STATUSES = ("Approved", "Rejected")
CANARY_TRIGGERS = (ALARM_DETAIL_TYPE, SCHEDULE_DETAIL_TYPE)


def approval_event_pattern(group_names: list[str]) -> dict[str, Any]:
    return {
        "source": [SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": sorted(group_names), "ModelApprovalStatus": list(ACTIONABLE_STATUSES)},
    }


def canary_alarm_event_pattern(alarm_names: list[str]) -> dict[str, Any]:
    return {"source": ["aws.cloudwatch"], "detail-type": [ALARM_DETAIL_TYPE],
            "detail": {"alarmName": sorted(alarm_names)}}


def state_change_event(package: dict[str, Any], region: str, account: str) -> dict[str, Any]:
    """The event SageMaker emits after UpdateModelPackage (built from DescribeModelPackage)."""
    return {
        "version": "0", "id": f"local-{package['ModelPackageArn'].rsplit('/', 1)[-1]}", "source": SOURCE,
        "detail-type": DETAIL_TYPE, "account": account, "region": region,
        "resources": [package["ModelPackageArn"]],
        "detail": {key: package.get(key) for key in (
            "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelApprovalStatus",
            "ApprovalDescription", "CreationTime", "LastModifiedTime", "LastModifiedBy", "CustomerMetadataProperties")},
    }
