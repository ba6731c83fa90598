"""Local stand-ins for what people do in SageMaker Studio, and for SageMaker's state-change events."""

from __future__ import annotations

from typing import Any

import boto3

from lambdas.deploy.events import approval_event_pattern, matches, state_change_event
from lambdas.deploy.settings import function_environment
from local.embedded_aws import LocalLake
from local.lambda_runtime import LOCAL_ACCOUNT, LocalLambdaContext, cold_start
from mlstack.config import EnvironmentConfig


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
    """The deployer function deployed locally: approvals routed through the stack's event pattern."""

    def __init__(self, config: EnvironmentConfig, lake: LocalLake, region: str) -> None:
        sns = boto3.client("sns", region_name=region)
        self.topic_arn = sns.create_topic(Name=f"{config.resource_prefix()}-deployments")["TopicArn"]
        self.pattern = approval_event_pattern([config.model_package_group_name()])
        self.handler = cold_start("deploy", function_environment(
            backend="lambda", serving_bucket=lake.buckets["artifacts"],
            parameter_prefix=config.serving_parameter_prefix(), audit_bucket=lake.buckets["audit"],
            audit_topic_arn=self.topic_arn, metrics_namespace=config.resource_prefix()), region)
        self.region = region

    def deliver(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """EventBridge: invoke the deployer only if the rule's pattern matches (None otherwise)."""
        if not matches(self.pattern, event):
            return None
        return self.handler.handler(event, LocalLambdaContext(function_name="deploy", region=self.region))
