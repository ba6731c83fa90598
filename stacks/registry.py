"""Approval gates and audited deployment: the rule on registry approvals, the deployer, the audit store."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from lambdas.deploy.events import approval_event_pattern, canary_alarm_event_pattern
from lambdas.deploy.model_card import MODEL_CARDS_PREFIX
from lambdas.deploy.settings import function_environment
from mlstack.config import EnvironmentConfig
from mlstack.lake import SERVING_PREFIX
from mlstack.pointer import canary_alarm_names
from stacks.arns import arn, key_through, nag_rendered
from stacks.data_lake import DataLake
from stacks.functions import SecureFunction
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork
from stacks.rules import cdk_event_pattern, function_target
from stacks.training import RUNS_PREFIX, Training

AUDIT_PREFIX = "audit/"
CANARY_CHECK_MINUTES = 5


class ModelRegistry(Construct):
    """Approved versions deploy to staging (audited); the prod gate is `mlstack promote` (docs/deployment.md)."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake, training: Training,
                 network: PrivateNetwork | None, bundle: bool, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self.config = config
        self.topic = sns.Topic(self, "Deployments", topic_name=f"{config.resource_prefix()}-deployments",
                               display_name=f"mlstack {config.name} deployments", master_key=lake.key,
                               enforce_ssl=True)
        deployment = config.deployment
        self.deployer = SecureFunction(
            self, "Deployer", name="deploy", config=config, key=lake.key, network=network, bundle=bundle,
            removal_policy=removal_policy,
            runbook="docs/runbooks/deployment.md#dead-letter-queue",
            description="Approved model versions -> staging; rejected live versions -> rollback; audited",
            environment=function_environment(
                serving_bucket=DataLake.bucket_name(config, "artifacts"),
                parameter_prefix=config.serving_parameter_prefix(), audit_bucket=DataLake.bucket_name(config, "audit"),
                audit_topic_arn=self.topic.topic_arn, resource_prefix=config.resource_prefix(),
                canary_percent=deployment.canary_percent,
                canary_bake_minutes=deployment.canary_bake_minutes, model_card_key_arn=lake.key.key_arn,
                phi_policies=config.ingest.phi_policy),
            timeout_seconds=120, reserved_concurrency=1)  # one deployment at a time
        self._grant(lake, training)
        self.rule = events.Rule(
            self, "ApprovalRule", description="Registry approvals/rejections of this environment's model group",
            event_pattern=cdk_event_pattern(approval_event_pattern([config.model_package_group_name()])),
            targets=[function_target(self.deployer)])
        if self.canary_alarms:
            self._canary_rules()

    @property
    def canary_alarms(self) -> list[str]:
        """The stages' canary alarms when the deployer runs pointer canaries."""
        if not self.config.deployment.canary_bake_minutes:
            return []
        return canary_alarm_names(self.config.resource_prefix())

    def _canary_rules(self) -> None:
        """Complete baked canaries on a schedule; roll back at once when a canary alarm changes state."""
        events.Rule(self, "CanarySchedule", description="Complete or roll back pointer canaries",
                    schedule=events.Schedule.rate(cdk.Duration.minutes(CANARY_CHECK_MINUTES)),
                    targets=[function_target(self.deployer)])
        events.Rule(self, "CanaryAlarmRule", description="A stage's canary alarm changed state",
                    event_pattern=cdk_event_pattern(canary_alarm_event_pattern(self.canary_alarms)),
                    targets=[function_target(self.deployer)])

    def _grant(self, lake: DataLake, training: Training) -> None:
        group = self.config.model_package_group_name()
        parameters = arn("ssm", f"parameter{self.config.serving_parameter_prefix()}/*")
        statements = [
            iam.PolicyStatement(sid="ReadRegistry", actions=["sagemaker:DescribeModelPackage"],
                                resources=[arn("sagemaker", f"model-package/{group}/*")]),
            iam.PolicyStatement(sid="ListVersions", actions=["sagemaker:ListModelPackages"], resources=["*"]),
            iam.PolicyStatement(sid="ReadRunArtifacts", actions=["s3:GetObject"],
                                resources=[DataLake.object_arn(self.config, "artifacts", RUNS_PREFIX)]),
            iam.PolicyStatement(sid="PublishServingModels", actions=["s3:PutObject"],
                                resources=[DataLake.object_arn(self.config, "artifacts", SERVING_PREFIX)]),
            iam.PolicyStatement(sid="MoveServingPointers",
                                actions=["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
                                resources=[parameters]),
            iam.PolicyStatement(sid="WriteAudit", actions=["s3:PutObject"],
                                resources=[DataLake.object_arn(self.config, "audit", AUDIT_PREFIX)]),
            iam.PolicyStatement(sid="AnnounceDeployments", actions=["sns:Publish"], resources=[self.topic.topic_arn]),
            iam.PolicyStatement(sid="WriteModelCards", resources=[arn("sagemaker", f"model-card/{group}-v*")],
                                actions=["sagemaker:CreateModelCard", "sagemaker:UpdateModelCard",
                                         "sagemaker:DescribeModelCard"]),
            iam.PolicyStatement(sid="StoreModelCardCopies", actions=["s3:PutObject"],
                                resources=[DataLake.object_arn(self.config, "artifacts", MODEL_CARDS_PREFIX)]),
            key_through("EncryptModelCards", lake.key, "sagemaker"),
            key_through("UseLakeKey", lake.key, "s3", "sns"),
        ]
        if self.canary_alarms:
            statements.append(iam.PolicyStatement(sid="ReadCanaryAlarms", actions=["cloudwatch:DescribeAlarms"],
                                                  resources=[arn("cloudwatch", f"alarm:{name}")
                                                             for name in self.canary_alarms]))
        self.deployer.grant(*statements)
        reasons = {
            f"Resource::{nag_rendered(arn('sagemaker', f'model-package/{group}/*'))}":
                "versions of this one group only",
            f"Resource::{nag_rendered(DataLake.object_arn(self.config, 'artifacts', RUNS_PREFIX))}":
                "reads the ONNX model and evaluation of pipeline runs only",
            f"Resource::{nag_rendered(DataLake.object_arn(self.config, 'artifacts', SERVING_PREFIX))}":
                "writes serving copies under serving/ only",
            f"Resource::{nag_rendered(parameters)}": "the per-stage serving pointers of this environment only",
            f"Resource::{nag_rendered(DataLake.object_arn(self.config, 'audit', AUDIT_PREFIX))}":
                "append-only audit records under audit/ only",
            f"Resource::{nag_rendered(arn('sagemaker', f'model-card/{group}-v*'))}":
                "the model cards of this group's versions only (named <group>-v<N>)",
            f"Resource::{nag_rendered(DataLake.object_arn(self.config, 'artifacts', MODEL_CARDS_PREFIX))}":
                "writes rendered model cards under model-cards/ only",
        }
        for finding, reason in reasons.items():
            acknowledge(self.deployer.policy, f"AwsSolutions-IAM5[{finding}]", reason)


class RegistryStore(Construct):
    """The registry's state (data stack): the model package group, whose versions and approvals outlive any
    deployer, and the audit bucket."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake,
                 removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self.config = config
        self.group = sagemaker.CfnModelPackageGroup(
            self, "ModelPackageGroup", model_package_group_name=config.model_package_group_name(),
            model_package_group_description=f"{config.resource_prefix()}: model versions awaiting approval",
            model_package_group_policy=self._cross_account_policy())
        self.group.apply_removal_policy(removal_policy)
        self.audit_bucket = self._audit_bucket(lake, removal_policy)

    def _cross_account_policy(self) -> dict | None:
        """Read access for the configured deployment accounts (explicit principals only), else no policy."""
        accounts = self.config.deployment.cross_account_ids
        if not accounts:
            return None
        group = self.config.model_package_group_name()
        return {"Version": "2012-10-17", "Statement": [{
            "Sid": "DeploymentAccountsReadVersions", "Effect": "Allow",
            "Principal": {"AWS": [f"arn:{cdk.Aws.PARTITION}:iam::{account}:root" for account in accounts]},
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            "Resource": [arn("sagemaker", f"model-package/{group}/*"),
                         arn("sagemaker", f"model-package-group/{group}")],
        }]}

    def _audit_bucket(self, lake: DataLake, removal_policy: cdk.RemovalPolicy) -> s3.Bucket:
        """Append-only audit records: Object Lock (governance) for deployment.audit_retention_days."""
        retention = self.config.deployment.audit_retention_days
        bucket = s3.Bucket(
            self, "Audit", bucket_name=DataLake.bucket_name(self.config, "audit"),
            encryption=s3.BucketEncryption.KMS, encryption_key=lake.key, bucket_key_enabled=True,
            enforce_ssl=True, minimum_tls_version=1.2, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, versioned=True,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.governance(cdk.Duration.days(retention)),
            server_access_logs_bucket=lake.access_logs, server_access_logs_prefix="audit/",
            removal_policy=removal_policy)
        for finding in ("HIPAA.Security-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"):
            acknowledge(bucket, finding, "Cross-region replication is a per-organisation DR decision; Object Lock "
                                         "and versioning keep every record within the region")
        return bucket
