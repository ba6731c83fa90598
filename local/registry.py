"""Local stand-ins for what people do in SageMaker Studio, and for SageMaker's state-change events."""

from __future__ import annotations

from typing import Any

from lambdas.deploy.events import state_change_event
from local.lambda_runtime import LOCAL_ACCOUNT


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
