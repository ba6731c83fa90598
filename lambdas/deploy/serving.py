"""Making a version live: copy its ONNX model to the serving prefix; the pointer (mlstack/pointer.py)
then records it and the inference function loads the new model when it sees the pointer move.
The deployer also publishes the version's signature.json (its input contract) to the serving prefix: the
inference function validates requests against it; and its baseline.json, which the drift
function compares captured traffic with.
"""

from __future__ import annotations

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
