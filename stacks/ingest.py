"""Validated ingestion: S3 ObjectCreated on raw/ -> the data stack's raw-object topic -> the ingest function ->
curated/quarantine/manifests."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from lambdas.ingest.settings import function_environment
from mlstack.config import EnvironmentConfig
from mlstack.lake import CURATED_PREFIX, MANIFESTS_PREFIX, QUARANTINE_PREFIX, RAW_PREFIX
from stacks.arns import arn, key_through, nag_rendered
from stacks.data_lake import DataLake
from stacks.functions import SecureFunction
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork


class Ingestion(Construct):
    """The ingest function, its least-privilege grants, and its subscription to new raw objects."""

    # (zone, prefix, actions): the object-level access the function needs, and nothing else.
    OBJECT_ACCESS = (
        ("raw", RAW_PREFIX, ("s3:GetObject", "s3:GetObjectVersion")),
        ("raw", QUARANTINE_PREFIX, ("s3:PutObject", "s3:PutObjectTagging")),
        ("curated", CURATED_PREFIX, ("s3:PutObject",)),
        ("curated", MANIFESTS_PREFIX, ("s3:PutObject", "s3:GetObject")),
    )

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake,
                 network: PrivateNetwork | None, bundle: bool, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        settings = config.ingest
        self.raw_bucket_name = DataLake.bucket_name(config, "raw")
        self.secure = SecureFunction(
            self, "Ingest", name="ingest", config=config, key=lake.key, network=network, bundle=bundle,
            removal_policy=removal_policy,
            runbook="docs/runbooks/ingestion.md#dead-letter-queue",
            description="Validates raw objects into curated parquet; quarantines bad rows; writes a manifest",
            environment=function_environment(
                curated_bucket=DataLake.bucket_name(config, "curated"), quarantine_bucket=self.raw_bucket_name,
                max_object_mb=settings.max_object_mb, metrics_namespace=config.resource_prefix(),
                phi_policies=settings.phi_policy, phi_key_parameter=settings.phi_key_parameter,
                phi_detectors=settings.phi_detector),
            memory_mb=settings.memory_mb, timeout_seconds=settings.timeout_seconds,
            reserved_concurrency=settings.reserved_concurrency, retry_attempts=settings.retry_attempts,
            max_event_age_hours=settings.max_event_age_hours)
        self.function, self.failure_alarm = self.secure.function, self.secure.failure_alarm
        self._grant(config, lake)
        self._subscribe(lake.raw_objects)

    def _grant(self, config: EnvironmentConfig, lake: DataLake) -> None:
        self.secure.grant(
            *(iam.PolicyStatement(actions=list(actions), resources=[DataLake.object_arn(config, zone, prefix)])
              for zone, prefix, actions in self.OBJECT_ACCESS),
            # Without ListBucket a missing manifest reads as 403 instead of 404 (idempotency check).
            iam.PolicyStatement(sid="ListCurated", actions=["s3:ListBucket"],
                                resources=[DataLake.bucket_arn(config, "curated")]),
            key_through("UseLakeKeyThroughS3", lake.key, "s3"),
        )
        if config.ingest.phi_key_parameter:
            self.secure.grant(
                iam.PolicyStatement(sid="ReadPseudonymKey", actions=["ssm:GetParameter"],
                                    resources=[arn("ssm", f"parameter{config.ingest.phi_key_parameter}")]),
                # The SecureString is encrypted with the lake key (docs/deid.md: how to create it).
                key_through("DecryptPseudonymKey", lake.key, "ssm", actions=("kms:Decrypt",)))
        if config.ingest.uses_comprehend_medical:  # no resource-level permissions exist for DetectPHI
            self.secure.grant(iam.PolicyStatement(sid="DetectPhi", actions=["comprehendmedical:DetectPHI"],
                                                  resources=["*"]))
        for zone, prefix, _ in self.OBJECT_ACCESS:
            acknowledge(self.secure.policy,
                        f"AwsSolutions-IAM5[Resource::{nag_rendered(DataLake.object_arn(config, zone, prefix))}]",
                        f"Object-level access limited to the {prefix} prefix of the {zone} bucket; object keys "
                        "are data-driven, so a prefix wildcard is the narrowest expressible scope")

    def _subscribe(self, raw_objects: sns.ITopic) -> None:
        """The data stack's raw-object topic invokes the function (async: its retries and dead-letter queue
        apply); a delivery SNS itself cannot make lands in the same dead-letter queue."""
        self.function.add_permission("InvokeFromRawObjects", principal=iam.ServicePrincipal("sns.amazonaws.com"),
                                     source_arn=raw_objects.topic_arn)
        self.secure.failures.add_to_resource_policy(iam.PolicyStatement(
            sid="UndeliverableRawObjectEvents", principals=[iam.ServicePrincipal("sns.amazonaws.com")],
            actions=["sqs:SendMessage"], resources=[self.secure.failures.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": raw_objects.topic_arn}}))
        subscription = sns.CfnSubscription(
            self, "RawObjectsSubscription", topic_arn=raw_objects.topic_arn, protocol="lambda",
            endpoint=self.function.function_arn,
            redrive_policy={"deadLetterTargetArn": self.secure.failures.queue_arn})
        subscription.add_resource_dependency(self.function.node.find_child("InvokeFromRawObjects"))
