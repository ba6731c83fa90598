"""Local ingestion: land a file in raw/ on the embedded AWS and deliver the S3 event to the handler.

On AWS, S3 invokes the function asynchronously; moto does not, so this module builds the same
event from the PutObject response and calls the real handler in-process.
"""

from __future__ import annotations

from typing import Any

import boto3

from lambdas.ingest.settings import function_environment
from local.embedded_aws import LocalLake
from local.lambda_runtime import cold_start, invoke, s3_object_created_event, sns_delivery
from mlstack.config import EnvironmentConfig
from mlstack.lake import RAW_PREFIX


class LocalIngestion:
    """The ingest function deployed locally: its environment set, its handler called per S3 event."""

    def __init__(self, config: EnvironmentConfig, lake: LocalLake, *, quiet: bool = True) -> None:
        self.config = config
        self.lake = lake
        self.handler = cold_start("ingest", function_environment(
            curated_bucket=lake.buckets["curated"], quarantine_bucket=lake.buckets["raw"],
            max_object_mb=config.ingest.max_object_mb, metrics_namespace=config.resource_prefix(),
            phi_policies=config.ingest.phi_policy, phi_key_parameter=config.ingest.phi_key_parameter,
            phi_detectors=config.ingest.phi_detector),
            config.region, quiet=quiet)
        self.s3 = boto3.client("s3", region_name=config.region)

    def land(self, dataset: str, file_name: str, content: bytes) -> dict[str, Any]:
        """Upload to raw/<dataset>/<file_name>; return the S3 event that S3 would send."""
        bucket, key = self.lake.buckets["raw"], f"{RAW_PREFIX}{dataset}/{file_name}"
        response = self.s3.put_object(Bucket=bucket, Key=key, Body=content)
        return s3_object_created_event(bucket, key, size=len(content), etag=response["ETag"],
                                       version_id=response.get("VersionId"), region=self.config.region)

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke the handler the way the deployed chain does (in-process): S3 -> the raw-object topic -> Lambda."""
        topic = f"arn:aws:sns:{self.config.region}:{self.lake.account}:{self.config.raw_objects_topic_name()}"
        return invoke(self.handler, sns_delivery(topic, event), function_name="ingest", region=self.config.region,
                      checker=self.lake.checker("ingest"))

    def ingest(self, dataset: str, file_name: str, content: bytes) -> dict[str, Any]:
        return self.deliver(self.land(dataset, file_name, content))["results"][0]
