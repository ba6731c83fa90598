"""Local stand-ins for what people do in SageMaker Studio, and for SageMaker's state-change events."""

from __future__ import annotations

from typing import Any

import boto3

from lambdas.deploy.deployer import Deployer
from lambdas.deploy.events import (
    approval_event_pattern,
    canary_alarm_event_pattern,
    state_change_event,
)
from lambdas.deploy.settings import function_environment
from local.embedded_aws import LocalLake
from local.lambda_runtime import LOCAL_ACCOUNT, cold_start, invoke, scheduled_event
from mlstack.config import EnvironmentConfig
from mlstack.events import matches
from mlstack.pointer import canary_alarm_names


def set_approval(sagemaker: Any, arn: str, status: str, description: str) -> dict[str, Any]:
    """UpdateModelPackage as Studio's approve/reject buttons call it; returns the state-change event.

    moto clears CustomerMetadataProperties on any update that omits them (AWS keeps them), so the
    current ones are sent back unchanged. moto emits no state-change event: it is built here from
    DescribeModelPackage, shaped as SageMaker's.
    """
    metadata = sagemaker.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties")
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=description,
                                   **({"CustomerMetadataProperties": metadata} if metadata else {}))
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    return state_change_event(package, region=sagemaker.meta.region_name, account=LOCAL_ACCOUNT)


class LocalDeployment:
    """The deployer function deployed locally: events routed through the stack's event patterns.

    EventBridge's schedule is emulated by `check_canaries` (the stack runs it every 5 minutes).
    """

    def __init__(self, config: EnvironmentConfig, lake: LocalLake, region: str) -> None:
        sns = boto3.client("sns", region_name=region)
        self.topic_arn = sns.create_topic(Name=f"{config.resource_prefix()}-deployments")["TopicArn"]
        self.patterns = [approval_event_pattern([config.model_package_group_name()])]
        if Deployer.canary_for(config):
            self.patterns.append(canary_alarm_event_pattern(canary_alarm_names(config.resource_prefix())))
        self.handler = cold_start("deploy", function_environment(
            serving_bucket=lake.buckets["artifacts"],
            parameter_prefix=config.serving_parameter_prefix(), audit_bucket=lake.buckets["audit"],
            audit_topic_arn=self.topic_arn, resource_prefix=config.resource_prefix(),
            canary_percent=config.deployment.canary_percent,
            canary_bake_minutes=config.deployment.canary_bake_minutes, model_card_key_arn=lake.key_arn,
            phi_policies=config.ingest.phi_policy), region)
        self.region = region
        self.checker = lake.checker("deploy")

    def deliver(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """EventBridge: invoke the deployer only if one of the rules' patterns matches (None otherwise)."""
        if not any(matches(pattern, event) for pattern in self.patterns):
            return None
        return self._invoke(event)

    def check_canaries(self) -> dict[str, Any]:
        """What the canary schedule rule delivers."""
        return self._invoke(scheduled_event(self.region, rule="canary-schedule"))

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return invoke(self.handler, event, function_name="deploy", region=self.region, checker=self.checker)
