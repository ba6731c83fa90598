"""Model versions as the deployer needs them, read from the SageMaker model registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlstack.signature import SIGNATURE_FILE


@dataclass(frozen=True)
class ModelVersion:
    arn: str
    group: str
    version: int
    status: str
    approval_description: str
    approver: str
    onnx_uri: str
    metrics_uri: str | None
    baseline_uri: str = ""
    recipe: str = ""

    @property
    def signature_uri(self) -> str:
        """evaluate writes the input contract beside the ONNX model (onnx/signature.json)."""
        return f"{self.onnx_uri.rsplit('/', 1)[0]}/{SIGNATURE_FILE}" if self.onnx_uri else ""

    @property
    def run_prefix(self) -> str:
        """`s3://<artifacts>/pipelines/runs/<execution>`: where the version's training run wrote its outputs."""
        return self.onnx_uri.rsplit("/onnx/", 1)[0] if "/onnx/" in self.onnx_uri else ""

    @classmethod
    def from_description(cls, package: dict[str, Any]) -> ModelVersion:
        metadata = package.get("CustomerMetadataProperties") or {}
        modified_by = package.get("LastModifiedBy") or {}
        approver = (modified_by.get("UserProfileName") or modified_by.get("IamIdentity", {}).get("Arn")
                    or "unknown")
        quality = (package.get("ModelMetrics") or {}).get("ModelQuality", {}).get("Statistics", {})
        return cls(arn=package["ModelPackageArn"], group=package["ModelPackageGroupName"],
                   version=int(package["ModelPackageVersion"]), status=package["ModelApprovalStatus"],
                   approval_description=package.get("ApprovalDescription", ""), approver=approver,
                   onnx_uri=metadata.get("onnx_model", ""), metrics_uri=quality.get("S3Uri"),
                   baseline_uri=metadata.get("drift_baseline", ""), recipe=metadata.get("recipe", ""))


class Registry:
    def __init__(self, sagemaker: Any) -> None:
        self.sagemaker = sagemaker

    def describe(self, arn: str) -> ModelVersion:
        return ModelVersion.from_description(self.sagemaker.describe_model_package(ModelPackageName=arn))

    def approved_versions(self, group: str) -> list[ModelVersion]:
        """Approved versions of a group, newest first."""
        summaries, token = [], None
        while True:
            page = self.sagemaker.list_model_packages(
                ModelPackageGroupName=group, ModelApprovalStatus="Approved", SortBy="CreationTime",
                SortOrder="Descending", **({"NextToken": token} if token else {}))
            summaries += page["ModelPackageSummaryList"]
            token = page.get("NextToken")
            if not token:
                break
        versions = [self.describe(summary["ModelPackageArn"]) for summary in summaries]
        return sorted(versions, key=lambda v: v.version, reverse=True)
