"""The two ways of making a version live; the pointer (mlstack/pointer.py) then records it.

- lambda backend: copy the version's ONNX model to the serving prefix, then move the pointer
  (the inference function re-reads the pointer and loads the new model).
- sagemaker backend: CreateModel (network isolation) -> EndpointConfig (KMS) -> CreateEndpoint,
  or UpdateEndpoint with a blue/green canary and alarm-bound automatic rollback.
Both publish the version's signature.json (its input contract) to the serving prefix: the
inference function validates requests against it; and its baseline.json, which the drift
function compares captured traffic with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lambdas.deploy.registry import ModelVersion
from mlstack.lake import BASELINE_FILE, serving_key
from mlstack.signature import SIGNATURE_FILE


class ServingArtifacts:
    """Copies of a version's files under serving/<stage>/v<version>/ in the artifacts bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def copy(self, stage: str, version: ModelVersion, source_uri: str, name: str) -> str:
        if not source_uri.startswith("s3://"):
            raise ValueError(f"{version.arn} has no {name} (expected an s3:// URI, got {source_uri!r})")
        source_bucket, source_key = source_uri[5:].split("/", 1)
        key = serving_key(stage, version.version, name)
        self.s3.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key})
        return f"s3://{self.bucket}/{key}"

    def publish_signature(self, stage: str, version: ModelVersion) -> str:
        return self.copy(stage, version, version.signature_uri, SIGNATURE_FILE)

    def publish_baseline(self, stage: str, version: ModelVersion) -> str | None:
        """The training drift baseline, which the drift function compares captured traffic with."""
        if not version.baseline_uri:
            return None  # registered without one: the drift function skips this version, saying so
        return self.copy(stage, version, version.baseline_uri, BASELINE_FILE)


class LambdaBackend:
    """Publishes the ONNX model under serving/<stage>/v<version>/ (the inference function loads it)."""

    def __init__(self, artifacts: ServingArtifacts) -> None:
        self.artifacts = artifacts

    def publish(self, stage: str, version: ModelVersion) -> str:
        return self.artifacts.copy(stage, version, version.onnx_uri, "model.onnx")


@dataclass(frozen=True)
class EndpointSettings:
    endpoint_prefix: str
    role_arn: str
    kms_key_arn: str
    image_uri: str
    instance_type: str = "ml.m5.large"
    canary_percent: int = 10
    canary_wait_seconds: int = 600
    rollback_alarms: tuple[str, ...] = ()
    # Serverless inference for low-traffic stages ($0 idle). It excludes blue/green deployment
    # guardrails, network isolation, VPC config, data capture, KMS on the endpoint config and GPUs:
    # updates are all-at-once, without canary or alarm rollback.
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int = 5
    # Environments with a VPC: the model's containers run in its isolated subnets (not with serverless).
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()


class SageMakerBackend:
    """A real-time endpoint per stage, updated blue/green with a canary and alarm rollback."""

    def __init__(self, sagemaker: Any, settings: EndpointSettings) -> None:
        self.sagemaker, self.settings = sagemaker, settings

    def publish(self, stage: str, version: ModelVersion) -> str:
        s = self.settings
        name = f"{s.endpoint_prefix}-{stage}-v{version.version}"
        serverless = s.serverless_memory_mb is not None
        vpc = ({"VpcConfig": {"Subnets": list(s.subnet_ids), "SecurityGroupIds": list(s.security_group_ids)}}
               if s.subnet_ids and not serverless else {})
        self.sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=s.role_arn, EnableNetworkIsolation=not serverless,
            PrimaryContainer={"Image": s.image_uri, "ModelPackageName": version.arn}, **vpc)
        self.sagemaker.create_endpoint_config(EndpointConfigName=name, **self._variant(name))
        endpoint = f"{s.endpoint_prefix}-{stage}"
        if self._exists(endpoint):
            deployment = {} if serverless else {"DeploymentConfig": self.deployment_config()}
            self.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=name, **deployment)
        else:
            self.sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=name)
        return f"endpoint:{endpoint}"

    def _variant(self, model_name: str) -> dict[str, Any]:
        s = self.settings
        if s.serverless_memory_mb is not None:
            return {"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model_name, "ServerlessConfig": {
                "MemorySizeInMB": s.serverless_memory_mb, "MaxConcurrency": s.serverless_max_concurrency}}]}
        return {"KmsKeyId": s.kms_key_arn, "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": model_name, "InstanceType": s.instance_type,
            "InitialInstanceCount": 1}]}

    def deployment_config(self) -> dict[str, Any]:
        s = self.settings
        return {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY", "WaitIntervalInSeconds": s.canary_wait_seconds,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": s.canary_percent}},
                "TerminationWaitInSeconds": 600, "MaximumExecutionTimeoutInSeconds": 3600},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm} for alarm in s.rollback_alarms]},
        }

    def _exists(self, endpoint: str) -> bool:
        try:
            self.sagemaker.describe_endpoint(EndpointName=endpoint)
        except self.sagemaker.exceptions.ClientError as error:
            if "Could not find endpoint" in str(error):
                return False
            raise
        return True
