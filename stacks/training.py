"""The training pipeline as deployed: CfnPipeline (rendered definition), its role, code and image repository.

The model package group it registers into is stateful and lives in the data stack (stacks/registry.py)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlstack.config import EnvironmentConfig
from mlstack.lake import CURATED_PREFIX
from pipelines.bundle import REPO_ROOT, image_tag, write_code_bundle
from stacks.arns import arn, nag_rendered
from stacks.data_lake import DataLake
from stacks.nag import acknowledge

DEFINITION = REPO_ROOT / "pipelines" / "definition.json"  # rendered by `make pipeline`, never at synth
LAUNCHER = REPO_ROOT / "pipelines" / "steps" / "launch.py"
BUNDLE = REPO_ROOT / "build" / "sourcedir.tar.gz"
RUNS_PREFIX = "pipelines/runs/"


def image_repository_name(config: EnvironmentConfig) -> str:
    """The job image's ECR repository (`make image ENV=...` pushes here)."""
    return f"{config.resource_prefix()}-training"


class Training(Construct):
    """Code assets, a scoped SageMaker role, the job image repository, the pipeline, an optional schedule."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake,
                 removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self.config = config
        self.image_repository = self._image_repository(removal_policy)
        self.image_uri = config.training.image_uri or self.image_repository.repository_uri_for_tag(image_tag())
        self.code_bundle = s3_assets.Asset(self, "CodeBundle", path=str(write_code_bundle(BUNDLE)))
        self.launcher = s3_assets.Asset(self, "Launcher", path=str(LAUNCHER))
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description="training pipeline and its jobs: lake prefixes, lake key, own logs")
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[self.role],
                                        description="training pipeline: every permission it has, and no more")
        self._grant(lake)
        self.pipeline = sagemaker.CfnPipeline(
            self, "Pipeline",
            pipeline_name=f"{config.resource_prefix()}-training",
            pipeline_description="preprocess -> train -> evaluate (ONNX parity, drift baseline) -> gate -> register",
            role_arn=self.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": cdk.Fn.sub(DEFINITION.read_text(), {
                "ArtifactsBucket": DataLake.bucket_name(config, "artifacts"),
                "CuratedBucket": DataLake.bucket_name(config, "curated"),
                "KmsKeyArn": lake.key.key_arn,
                "RoleName": self.role.role_name,
                "ImageUri": self.image_uri,
                "ModelPackageGroup": config.model_package_group_name(),
                "CodeBucket": self.code_bundle.s3_bucket_name,
                "CodeBundleKey": self.code_bundle.s3_object_key,
                "LauncherKey": self.launcher.s3_object_key,
            })},
        )
        self.pipeline.node.add_dependency(self.policy)
        if config.training.schedule:
            self._schedule(config.training.schedule)

    def _image_repository(self, removal_policy: cdk.RemovalPolicy) -> ecr.Repository:
        """Where `make image` pushes pipelines/image under its content tag: immutable tags, scanned on push,
        KMS-encrypted, retained."""
        repository = ecr.Repository(
            self, "JobImage", repository_name=image_repository_name(self.config),
            image_scan_on_push=True, image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS, removal_policy=removal_policy,
            lifecycle_rules=[ecr.LifecycleRule(description="keep the 20 newest images", max_image_count=20)])
        return repository

    def _pipeline_arn(self) -> str:
        return arn("sagemaker", f"pipeline/{self.pipeline.pipeline_name}")

    def _grant(self, lake: DataLake) -> None:
        group = self.config.model_package_group_name()
        jobs = [arn("sagemaker", f"{kind}/*") for kind in ("processing-job", "training-job")]
        statements = [
            iam.PolicyStatement(sid="ReadCurated", actions=["s3:GetObject"],
                                resources=[DataLake.object_arn(self.config, "curated", CURATED_PREFIX)]),
            iam.PolicyStatement(sid="ReadWriteRunArtifacts", actions=["s3:GetObject", "s3:PutObject"],
                                resources=[DataLake.object_arn(self.config, "artifacts", RUNS_PREFIX)]),
            iam.PolicyStatement(sid="ListLakePrefixes", actions=["s3:ListBucket"],
                                resources=[DataLake.bucket_arn(self.config, "curated"),
                                           DataLake.bucket_arn(self.config, "artifacts")]),
            # SageMaker lists every S3Prefix input, the code in the CDK assets bucket included (MlStack.Deploy-DP5).
            iam.PolicyStatement(sid="ListCodeAssets", actions=["s3:ListBucket"],
                                resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{self.code_bundle.s3_bucket_name}"],
                                conditions={"StringLike": {"s3:prefix": [
                                    f"{asset.s3_object_key}*" for asset in (self.code_bundle, self.launcher)]}}),
            iam.PolicyStatement(sid="ReadCode", actions=["s3:GetObject"], resources=[
                f"arn:{cdk.Aws.PARTITION}:s3:::{asset.s3_bucket_name}/{asset.s3_object_key}"
                for asset in (self.code_bundle, self.launcher)]),
            # kms:Encrypt: jobs name the lake key for their outputs (MlStack.Deploy-DP5).
            iam.PolicyStatement(sid="UseLakeKey", actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
                                                           "kms:DescribeKey"],
                                resources=[lake.key.key_arn]),
            iam.PolicyStatement(sid="EncryptJobVolumes", actions=["kms:CreateGrant"], resources=[lake.key.key_arn],
                                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
            iam.PolicyStatement(sid="RunJobs", resources=jobs, actions=[
                "sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
                "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                "sagemaker:AddTags"]),
            iam.PolicyStatement(sid="RegisterVersions", actions=["sagemaker:CreateModelPackage",
                                                                 "sagemaker:DescribeModelPackage"],
                                resources=[arn("sagemaker", f"model-package/{group}/*"),
                                           arn("sagemaker", f"model-package-group/{group}")]),
            iam.PolicyStatement(sid="PassOwnRoleToJobs", actions=["iam:PassRole"], resources=[self.role.role_arn],
                                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
            iam.PolicyStatement(sid="JobLogs", actions=["logs:CreateLogGroup", "logs:CreateLogStream",
                                                        "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                resources=[arn("logs", "log-group:/aws/sagemaker/*")]),
            iam.PolicyStatement(sid="JobMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
                                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}),
            iam.PolicyStatement(sid="PullImage", actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                                          "ecr:BatchCheckLayerAvailability"],
                                resources=[self.image_repository.repository_arn if not self.config.training.image_uri
                                           else "*"]),
            iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        ]
        self.policy.add_statements(*statements)
        self._acknowledge_wildcards(group)

    def _acknowledge_wildcards(self, group: str) -> None:
        reasons = {
            "Resource::*": "cloudwatch:PutMetricData (namespace-conditioned), and ecr:GetAuthorizationToken support no "
                           "resource ARNs; image pulls are from the configured image's repository",
            f"Resource::{nag_rendered(DataLake.object_arn(self.config, 'curated', CURATED_PREFIX))}":
                "read-only, limited to the curated/ prefix the pipeline trains from",
            f"Resource::{nag_rendered(DataLake.object_arn(self.config, 'artifacts', RUNS_PREFIX))}":
                "read/write limited to the pipelines/runs/ prefix where jobs write their outputs",
            f"Resource::{nag_rendered(arn('sagemaker', 'processing-job/*'))}":
                "job names are generated per execution by SageMaker Pipelines",
            f"Resource::{nag_rendered(arn('sagemaker', 'training-job/*'))}":
                "job names are generated per execution by SageMaker Pipelines",
            f"Resource::{nag_rendered(arn('sagemaker', f'model-package/{group}/*'))}":
                "versions of this one model package group only",
            f"Resource::{nag_rendered(arn('logs', 'log-group:/aws/sagemaker/*'))}":
                "SageMaker jobs write to the /aws/sagemaker/* log groups the service names",
        }
        for finding, reason in reasons.items():
            acknowledge(self.policy, f"AwsSolutions-IAM5[{finding}]", reason)

    def _schedule(self, expression: str) -> None:
        """Start the pipeline on a schedule with the configured recipe (EventBridge -> StartPipelineExecution)."""
        role = iam.Role(self, "ScheduleRole", assumed_by=iam.ServicePrincipal("events.amazonaws.com"))
        iam.ManagedPolicy(self, "SchedulePolicy", roles=[role], statements=[iam.PolicyStatement(
            actions=["sagemaker:StartPipelineExecution"], resources=[self._pipeline_arn()])])
        events.CfnRule(self, "Schedule", schedule_expression=expression, state="ENABLED",
                       description="Starts the training pipeline on a schedule",
                       targets=[events.CfnRule.TargetProperty(
                           id="training-pipeline", arn=self._pipeline_arn(), role_arn=role.role_arn,
                           retry_policy=events.CfnRule.RetryPolicyProperty(maximum_retry_attempts=3),
                           sage_maker_pipeline_parameters=events.CfnRule.SageMakerPipelineParametersProperty(
                               pipeline_parameter_list=[events.CfnRule.SageMakerPipelineParameterProperty(
                                   name="Recipe", value=self.config.training.recipe)]))])
