"""Validated ingestion: S3 ObjectCreated on raw/ -> the ingest function -> curated/quarantine/manifests."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lambdas.ingest.settings import function_environment
from mlstack.config import EnvironmentConfig
from mlstack.lake import CURATED_PREFIX, MANIFESTS_PREFIX, QUARANTINE_PREFIX, RAW_PREFIX
from stacks.arns import arn, key_through, nag_rendered
from stacks.data_lake import DataLake
from stacks.functions import SecureFunction
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork

INGEST_EVENT = "s3:ObjectCreated:*"


class Ingestion(Construct):
    """The ingest function, its least-privilege grants, and the raw bucket trigger."""

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
        # The raw bucket is addressed by its deterministic name, not a reference: the bucket's
        # notification depends on this function, so a reference back would be a cycle.
        self.raw_bucket_name = DataLake.bucket_name(config, "raw")
        self.secure = SecureFunction(
            self, "Ingest", name="ingest", config=config, key=lake.key, network=network, bundle=bundle,
            removal_policy=removal_policy,
            runbook="docs/runbooks/ingestion.md#dead-letter-queue",
            description="Validates raw objects into curated parquet; quarantines bad rows; writes a manifest",
            environment=function_environment(
                curated_bucket=lake.curated.bucket_name, quarantine_bucket=self.raw_bucket_name,
                max_object_mb=settings.max_object_mb, metrics_namespace=config.resource_prefix(),
                phi_policies=settings.phi_policy, phi_key_parameter=settings.phi_key_parameter),
            memory_mb=settings.memory_mb, timeout_seconds=settings.timeout_seconds,
            reserved_concurrency=settings.reserved_concurrency, retry_attempts=settings.retry_attempts,
            max_event_age_hours=settings.max_event_age_hours)
        self.function, self.failure_alarm = self.secure.function, self.secure.failure_alarm
        self._grant(config, lake)
        self._subscribe_to_raw_bucket(lake.raw)

    def _grant(self, config: EnvironmentConfig, lake: DataLake) -> None:
        self.secure.grant(
            *(iam.PolicyStatement(actions=list(actions), resources=[DataLake.object_arn(config, zone, prefix)])
              for zone, prefix, actions in self.OBJECT_ACCESS),
            # Without ListBucket a missing manifest reads as 403 instead of 404 (idempotency check).
            iam.PolicyStatement(sid="ListCurated", actions=["s3:ListBucket"], resources=[lake.curated.bucket_arn]),
            key_through("UseLakeKeyThroughS3", lake.key, "s3"),
        )
        if config.ingest.phi_key_parameter:
            self.secure.grant(
                iam.PolicyStatement(sid="ReadPseudonymKey", actions=["ssm:GetParameter"],
                                    resources=[arn("ssm", f"parameter{config.ingest.phi_key_parameter}")]),
                # The SecureString is encrypted with the lake key (docs/deid.md: how to create it).
                key_through("DecryptPseudonymKey", lake.key, "ssm", actions=("kms:Decrypt",)))
        for zone, prefix, _ in self.OBJECT_ACCESS:
            acknowledge(self.secure.policy,
                        f"AwsSolutions-IAM5[Resource::{nag_rendered(DataLake.object_arn(config, zone, prefix))}]",
                        f"Object-level access limited to the {prefix} prefix of the {zone} bucket; object keys "
                        "are data-driven, so a prefix wildcard is the narrowest expressible scope")

    def _subscribe_to_raw_bucket(self, raw: s3.Bucket) -> None:
        """ObjectCreated under raw/ invokes the function (set on the L1 bucket: no custom resource)."""
        self.function.add_permission(
            "InvokeFromRawBucket",
            principal=iam.ServicePrincipal("s3.amazonaws.com"),
            source_arn=f"arn:{cdk.Aws.PARTITION}:s3:::{self.raw_bucket_name}",
            source_account=cdk.Aws.ACCOUNT_ID,
        )
        cfn_bucket: s3.CfnBucket = raw.node.default_child
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            lambda_configurations=[s3.CfnBucket.LambdaConfigurationProperty(
                event=INGEST_EVENT,
                function=self.function.function_arn,
                filter=s3.CfnBucket.NotificationFilterProperty(s3_key=s3.CfnBucket.S3KeyFilterProperty(
                    rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=RAW_PREFIX)])),
            )],
        )
        # S3 checks it may invoke the function when the notification is created.
        cfn_bucket.add_resource_dependency(self.function.node.find_child("InvokeFromRawBucket"))
