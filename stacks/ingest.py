"""Validated ingestion: S3 ObjectCreated on raw/ -> the ingest function -> curated/quarantine/manifests."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lambdas.ingest.settings import function_environment
from mlstack.config import EnvironmentConfig
from mlstack.lake import CURATED_PREFIX, MANIFESTS_PREFIX, QUARANTINE_PREFIX, RAW_PREFIX
from stacks.data_lake import DataLake
from stacks.lambda_code import ARCHITECTURE, PYTHON_RUNTIME, function_code, handler_path
from stacks.logs import encrypted_log_group
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork

INGEST_EVENT = "s3:ObjectCreated:*"


class Ingestion(Construct):
    """The ingest function, its least-privilege role, failure queue, and the raw bucket trigger."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake,
                 network: PrivateNetwork | None, bundle: bool, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        settings = config.ingest
        # The raw bucket is addressed by its deterministic name, not a reference: the bucket's
        # notification depends on this function, so a reference back would be a cycle.
        self.raw_bucket_name = DataLake.bucket_name(config, "raw")
        self.failures = sqs.Queue(
            self, "Failures",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=lake.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.log_group = encrypted_log_group(self, "Logs", key=lake.key, retention_days=config.log_retention_days,
                                             removal_policy=removal_policy)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description="ingest function: read raw/, write curated/, quarantine/, manifests/")
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[self.role],
                                        description="ingest function: every permission it has, and no more")
        self.function = lambda_.Function(
            self, "Function",
            description="Validates raw objects into curated parquet; quarantines bad rows; writes a manifest",
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler_path("ingest"),
            code=function_code("ingest", bundle=bundle),
            # Immutable: CDK's implicit grants would land in an inline policy; ours are explicit.
            role=self.role.without_policy_updates(),
            memory_size=settings.memory_mb,
            timeout=cdk.Duration.seconds(settings.timeout_seconds),
            reserved_concurrent_executions=settings.reserved_concurrency,
            environment=function_environment(
                curated_bucket=lake.curated.bucket_name, quarantine_bucket=self.raw_bucket_name,
                max_object_mb=settings.max_object_mb, metrics_namespace=config.resource_prefix()),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            retry_attempts=settings.retry_attempts,
            max_event_age=cdk.Duration.hours(settings.max_event_age_hours),
            dead_letter_queue=self.failures,
            vpc=network.vpc if network else None,
            vpc_subnets=network.function_subnets if network else None,
            security_groups=[network.function_security_group] if network else None,
        )
        self._grant(config, lake, network)
        self._subscribe_to_raw_bucket(lake.raw)
        self._acknowledge_failure_handling()
        self.failure_alarm = cloudwatch.Alarm(
            self, "FailedEventsAlarm",
            alarm_description=("Ingestion gave up on S3 events after retries (AWS faults, not bad data). "
                               "Runbook: docs/runbooks/ingestion.md"),
            metric=self.failures.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if network is None:
            reason = ("Environment config lambda_in_vpc=false: no VPC, no idle cost. The function calls only S3 over "
                      "TLS with IAM auth; prod sets lambda_in_vpc=true (see docs/decisions/lambda-vpc.md)")
            for finding in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
                acknowledge(self.function, finding, reason)

    def _acknowledge_failure_handling(self) -> None:
        acknowledge(self.failures, "Serverless-SQSRedrivePolicy",
                    "This queue is the terminal dead-letter queue of the ingest function: 14-day retention, "
                    "an alarm on its depth, and a documented replay procedure; nothing consumes it automatically")
        acknowledge(self.function.node.find_child("EventInvokeConfig"), "Serverless-LambdaAsyncFailureDestination",
                    "Failed async events go to the dead-letter queue (DeadLetterConfig, which the HIPAA/NIST "
                    "LambdaDLQ rules require); a second on-failure destination would deliver every failure twice")

    # (zone, prefix, actions): the object-level access the function needs, and nothing else.
    OBJECT_ACCESS = (
        ("raw", RAW_PREFIX, ("s3:GetObject", "s3:GetObjectVersion")),
        ("raw", QUARANTINE_PREFIX, ("s3:PutObject", "s3:PutObjectTagging")),
        ("curated", CURATED_PREFIX, ("s3:PutObject",)),
        ("curated", MANIFESTS_PREFIX, ("s3:PutObject", "s3:GetObject")),
    )

    def _grant(self, config: EnvironmentConfig, lake: DataLake, network: PrivateNetwork | None) -> None:
        statements = [
            iam.PolicyStatement(actions=list(actions), resources=[DataLake.object_arn(config, zone, prefix)])
            for zone, prefix, actions in self.OBJECT_ACCESS
        ]
        statements += [
            # Without ListBucket a missing manifest reads as 403 instead of 404 (idempotency check).
            iam.PolicyStatement(sid="ListCurated", actions=["s3:ListBucket"], resources=[lake.curated.bucket_arn]),
            *(iam.PolicyStatement(
                sid=f"UseLakeKeyThrough{service.title()}", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[lake.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"{service}.{cdk.Aws.REGION}.amazonaws.com"}},
            ) for service in ("s3", "sqs")),
            iam.PolicyStatement(sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                resources=[self.log_group.log_group_arn]),
            iam.PolicyStatement(sid="SendFailedEvents", actions=["sqs:SendMessage"],
                                resources=[self.failures.queue_arn]),
            iam.PolicyStatement(sid="Tracing", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                                resources=["*"]),
        ]
        if network:
            statements.append(network.function_access_statement())
        self.policy.add_statements(*statements)
        self._acknowledge_policy_findings(config)

    def _acknowledge_policy_findings(self, config: EnvironmentConfig) -> None:
        """Each wildcard in the policy, named, with why it is the narrowest grant possible."""
        acknowledge(self.policy, "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray PutTraceSegments/PutTelemetryRecords (and, in a VPC, the ENI actions Lambda needs) "
                    "support no resource-level permissions")
        for zone, prefix, _ in self.OBJECT_ACCESS:
            acknowledge(self.policy, f"AwsSolutions-IAM5[Resource::{DataLake.nag_object_arn(config, zone, prefix)}]",
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
