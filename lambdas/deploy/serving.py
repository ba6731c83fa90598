"""What is live per stage, and the two ways of making a version live.

The pointer (an SSM parameter per stage, JSON) is the one record of the live version for both
backends; SSM keeps every version of it, so the history is there too. Moving it is atomic.
- lambda backend: copy the version's ONNX model to the serving prefix, then move the pointer
  (the inference function reads the pointer; canary alias routing arrives with that function).
- sagemaker backend: CreateModel (network isolation) -> EndpointConfig (KMS) -> CreateEndpoint,
  or UpdateEndpoint with a blue/green canary and alarm-bound automatic rollback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lambdas.deploy.registry import ModelVersion


@dataclass(frozen=True)
class Live:
    model_package_arn: str
    version: int
    model_uri: str
    deployed_at: str


class ServingPointer:
    def __init__(self, ssm: Any, prefix: str) -> None:
        self.ssm, self.prefix = ssm, prefix.rstrip("/")

    def name(self, stage: str) -> str:
        return f"{self.prefix}/{stage}/model"

    def current(self, stage: str) -> Live | None:
        try:
            value = self.ssm.get_parameter(Name=self.name(stage))["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return Live(**json.loads(value))

    def move(self, stage: str, version: ModelVersion, model_uri: str) -> Live:
        live = Live(version.arn, version.version, model_uri, datetime.now(UTC).isoformat(timespec="seconds"))
        self.ssm.put_parameter(Name=self.name(stage), Value=json.dumps(asdict(live)), Type="String", Overwrite=True)
        return live

    def clear(self, stage: str) -> None:
        self.ssm.delete_parameter(Name=self.name(stage))


class LambdaBackend:
    """Publishes the ONNX artifact under serving/<stage>/v<version>/ (the inference function loads it)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def publish(self, stage: str, version: ModelVersion) -> str:
        if not version.onnx_uri.startswith("s3://"):
            raise ValueError(f"{version.arn} has no ONNX model (customer metadata onnx_model)")
        source_bucket, source_key = version.onnx_uri[5:].split("/", 1)
        key = f"serving/{stage}/v{version.version}/model.onnx"
        self.s3.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": source_bucket, "Key": source_key})
        return f"s3://{self.bucket}/{key}"


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


class SageMakerBackend:
    """A real-time endpoint per stage, updated blue/green with a canary and alarm rollback."""

    def __init__(self, sagemaker: Any, settings: EndpointSettings) -> None:
        self.sagemaker, self.settings = sagemaker, settings

    def publish(self, stage: str, version: ModelVersion) -> str:
        s = self.settings
        name = f"{s.endpoint_prefix}-{stage}-v{version.version}"
        serverless = s.serverless_memory_mb is not None
        self.sagemaker.create_model(
            ModelName=name, ExecutionRoleArn=s.role_arn, EnableNetworkIsolation=not serverless,
            PrimaryContainer={"Image": s.image_uri, "ModelPackageName": version.arn})
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
