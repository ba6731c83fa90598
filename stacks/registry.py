"""Approval gates and audited deployment: the rule on registry approvals, the deployer, the audit store."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
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
from stacks.arns import arn, consumer_statement, key_through, nag_rendered
from stacks.data_lake import DataLake
from stacks.functions import SecureFunction
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork
from stacks.rules import cdk_event_pattern, function_target
from stacks.training import RUNS_PREFIX

AUDIT_PREFIX = "audit/"
# What a consumer's roles call on a registry in another account (its group policy grants exactly these).
CONSUMER_REGISTRY_ACTIONS = ("sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages",
                             "sagemaker:DescribeModelPackageGroup")
CANARY_CHECK_MINUTES = 5


class ModelRegistry(Construct):
    """Approved versions deploy to staging (audited); the prod gate is `mlstack promote` (docs/deployment.md)."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake,
                 network: PrivateNetwork | None, bundle: bool, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self.config = config
        self.topic = sns.Topic(self, "Deployments", topic_name=f"{config.resource_prefix()}-deployments",
                               display_name=f"mlstack {config.name} deployments", master_key=lake.key,
                               enforce_ssl=True)
        deployment = config.deployment
        self.deployer = SecureFunction(
            self, "Deployer", name="deploy", config=config, key=lake.key, network=network, bundle=bundle,
            removal_policy=removal_policy, role_name=config.role_name("deployer"),
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
        # `mlstack promote` runs as this role (docs/deployment.md#accounts): what the deployer may do, no more.
        self.promoter = iam.Role(self, "Promoter", role_name=config.role_name("promoter"),
                                 assumed_by=iam.AccountRootPrincipal(),
                                 description="mlstack promote: the prod gate, promotion and rollback")
        self.promoter_policy = iam.ManagedPolicy(self, "PromoterPolicy", roles=[self.promoter],
                                                 description="promoter: every permission it has, and no more")
        self._grant(lake)
        source_account, source_group = config.source_registry()
        pattern = approval_event_pattern([source_group])
        self.rule = events.Rule(
            self, "ApprovalRule", description=f"Registry approvals/rejections of model group {source_group}",
            event_pattern=cdk_event_pattern({**pattern, "account": [source_account]} if source_account else pattern),
            targets=[function_target(self.deployer)])
        if source_account:
            # The registry's account forwards its approvals to this account's default bus (stacks/registry.py).
            events.CfnEventBusPolicy(self, "RegistryForwardsApprovals", event_bus_name="default",
                                     statement_id=f"{config.resource_prefix()}-registry-approvals", statement={
                                         "Effect": "Allow", "Action": "events:PutEvents",
                                         "Principal": {"AWS": f"arn:{cdk.Aws.PARTITION}:iam::{source_account}:root"},
                                         "Resource": arn("events", "event-bus/default")})
        for name, account in config.deployment.consumers.items():
            self._forward_approvals(name, account, pattern)
        if self.canary_alarms:
            self._canary_rules()

    def _forward_approvals(self, consumer: str, account: str, pattern: dict) -> None:
        """Approvals of this group reach a consumer environment in another account (its default event bus)."""
        name = consumer.title()
        bus_arn = f"arn:{cdk.Aws.PARTITION}:events:{cdk.Aws.REGION}:{account}:event-bus/default"
        role = iam.Role(self, f"ForwardTo{name}Role", assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                        description=f"EventBridge forwards approvals to environment {consumer}'s bus")
        iam.ManagedPolicy(self, f"ForwardTo{name}Policy", roles=[role], statements=[iam.PolicyStatement(
            sid="PutToConsumerBus", actions=["events:PutEvents"], resources=[bus_arn])])
        events.Rule(self, f"ForwardApprovalsTo{name}",
                    description=f"Approvals/rejections of this group -> environment {consumer} (account {account})",
                    event_pattern=cdk_event_pattern(pattern),
                    targets=[targets.EventBus(events.EventBus.from_event_bus_arn(self, f"{name}Bus", bus_arn),
                                              role=role.without_policy_updates(),
                                              dead_letter_queue=self.deployer.failures)])

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

    def _registry_access(self) -> tuple[list[iam.PolicyStatement], dict[str, str]]:
        """Reading versions and their runs: of this environment's registry, or (deployment.registry) another
        account's, whose resource policies grant the same to this environment's roles (RegistryStore)."""
        config = self.config
        source_account, group = config.source_registry()
        if source_account is None:
            versions, runs = arn("sagemaker", f"model-package/{group}/*"), DataLake.object_arn(config, "artifacts",
                                                                                                 RUNS_PREFIX)
            return [iam.PolicyStatement(sid="ReadRegistry", actions=["sagemaker:DescribeModelPackage"],
                                        resources=[versions]),
                    iam.PolicyStatement(sid="ReadRunArtifacts", actions=["s3:GetObject"], resources=[runs])], {
                f"Resource::{nag_rendered(versions)}": "versions of this one group only",
                f"Resource::{nag_rendered(runs)}": "reads the ONNX model and evaluation of pipeline runs only"}
        partition, region = cdk.Aws.PARTITION, cdk.Aws.REGION
        registry = f"arn:{partition}:sagemaker:{region}:{source_account}"
        versions = f"{registry}:model-package/{group}/*"
        runs = f"arn:{partition}:s3:::{config.source_artifacts_bucket(region)}/{RUNS_PREFIX}*"
        keys = f"arn:{partition}:kms:{region}:{source_account}:key/*"
        return [
            iam.PolicyStatement(sid="ReadRegistry", actions=list(CONSUMER_REGISTRY_ACTIONS),
                                resources=[versions, f"{registry}:model-package-group/{group}"]),
            iam.PolicyStatement(sid="ReadRunArtifacts", actions=["s3:GetObject"], resources=[runs]),
            iam.PolicyStatement(sid="DecryptRunArtifacts", actions=["kms:Decrypt"], resources=[keys],
                                conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}),
        ], {f"Resource::{nag_rendered(versions)}": "versions of the registry's one group only",
            f"Resource::{nag_rendered(runs)}": "reads the registry's pipeline runs only (ONNX model, evaluation)",
            f"Resource::{nag_rendered(keys)}": "the registry account's key policy names the one key this may "
                                               "decrypt with (through S3, for its runs only)"}

    def _grant(self, lake: DataLake) -> None:
        _, group = self.config.source_registry()
        parameters = arn("ssm", f"parameter{self.config.serving_parameter_prefix()}/*")
        registry_statements, registry_reasons = self._registry_access()
        statements = [
            *registry_statements,
            iam.PolicyStatement(sid="ListVersions", actions=["sagemaker:ListModelPackages"], resources=["*"]),
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
        self.promoter_policy.add_statements(*statements)
        reasons = {
            **registry_reasons,
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
        reasons["Resource::*"] = "sagemaker:ListModelPackages supports no resource-level permissions"
        for finding, reason in reasons.items():
            for policy in (self.deployer.policy, self.promoter_policy):
                acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)


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
            model_package_group_policy=self._consumer_policy())
        self.group.apply_removal_policy(removal_policy)
        self.audit_bucket = self._audit_bucket(lake, removal_policy)
        if config.deployment.consumers:
            self._share_runs_with_consumers(lake)

    def _consumer_policy(self) -> dict | None:
        """What consumer environments' deployers and promoters need of the group (read versions), else no policy."""
        if not self.config.deployment.consumers:
            return None
        group = self.config.model_package_group_name()
        statement = consumer_statement(
            "ConsumersReadVersions", self.config, actions=list(CONSUMER_REGISTRY_ACTIONS),
            resources=[arn("sagemaker", f"model-package/{group}/*"), arn("sagemaker", f"model-package-group/{group}")])
        return {"Version": "2012-10-17", "Statement": [statement.to_statement_json()]}

    def _share_runs_with_consumers(self, lake: DataLake) -> None:
        """Consumers copy an approved version's ONNX model, signature and baseline from its run (read only),
        decrypting with the lake key through S3 only."""
        lake.buckets["artifacts"].add_to_resource_policy(consumer_statement(
            "ConsumersReadRuns", self.config, actions=["s3:GetObject"],
            resources=[DataLake.object_arn(self.config, "artifacts", RUNS_PREFIX)]))
        lake.key.add_to_resource_policy(consumer_statement(
            "ConsumersDecryptRunsThroughS3", self.config, actions=["kms:Decrypt"], resources=["*"],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{cdk.Aws.REGION}.amazonaws.com"}}))

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
