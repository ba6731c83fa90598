"""The MlStack.Deploy rule pack: each rule with a passing and a failing fixture."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2

from pipelines.definition import DEFINITION_PATH
from stacks.nag_deploy import DeployChecks

DEFINITION = DEFINITION_PATH.read_text()


def findings(build, quota: int | None = None) -> set[str]:
    """Rule ids the pack reports for a stack built by `build(stack)`."""
    stack = cdk.Stack(cdk.App(), "Fixture")
    if quota is not None:
        stack.account_concurrency_quota = quota
    build(stack)
    report = DeployChecks().validate_scope(stack)
    return {violation.rule_name.split("-")[-1] for violation in report.violations}


# --- DP1: permissions exist when the function is created ------------------------------------

def _function(stack: cdk.Stack, *, depends: bool, inline: bool = False, tracing: bool = True,
              reserved: int | None = None, name: str | None = None) -> None:
    queue = sqs.Queue(stack, "Dlq")
    statements = [iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]),
                  iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])]
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    inline_policies={"all": iam.PolicyDocument(statements=statements)} if inline else None)
    function = lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler="h.h",
                                code=lambda_.Code.from_inline("def h(e, c): pass"), function_name=name,
                                role=role.without_policy_updates(), dead_letter_queue=queue,
                                tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
                                reserved_concurrent_executions=reserved)
    if not inline:
        policy = iam.ManagedPolicy(stack, "Policy", roles=[role], statements=statements)
        if depends:
            function.node.default_child.add_resource_dependency(policy.node.default_child)


def test_dp1_a_function_created_in_parallel_with_its_dlq_and_xray_policy_fails():
    assert findings(lambda s: _function(s, depends=False)) == {"DP1"}


def test_dp1_a_function_that_depends_on_its_policy_or_has_it_inline_passes():
    assert findings(lambda s: _function(s, depends=True)) == set()
    assert findings(lambda s: _function(s, depends=False, inline=True)) == set()


def test_dp1_a_missing_permission_fails_even_with_the_dependency():
    def build(stack: cdk.Stack) -> None:
        queue = sqs.Queue(stack, "Dlq")
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        policy = iam.ManagedPolicy(stack, "Policy", roles=[role], statements=[
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=["arn:aws:sqs:us-east-1:123456789012:other"])])
        function = lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler="h.h",
                                    code=lambda_.Code.from_inline("x"), role=role.without_policy_updates(),
                                    dead_letter_queue=queue)
        function.node.default_child.add_resource_dependency(policy.node.default_child)
    assert findings(build) == {"DP1"}


# --- DP2: alarms can publish to their topic ------------------------------------------------

def _alarm_topic(stack: cdk.Stack, *, allow_cloudwatch: bool) -> None:
    topic = sns.Topic(stack, "Topic", enforce_ssl=True)
    if allow_cloudwatch:
        topic.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")], actions=["sns:Publish"],
            resources=[topic.topic_arn]))
    alarm = cloudwatch.Alarm(stack, "Alarm", metric=cloudwatch.Metric(namespace="n", metric_name="m"),
                             threshold=1, evaluation_periods=1)
    alarm.add_alarm_action(actions.SnsAction(topic))


def test_dp2_a_topic_policy_that_only_denies_plain_http_stops_alarms_publishing():
    assert findings(lambda s: _alarm_topic(s, allow_cloudwatch=False)) == {"DP2"}


def test_dp2_a_topic_policy_allowing_cloudwatch_passes():
    assert findings(lambda s: _alarm_topic(s, allow_cloudwatch=True)) == set()


# --- DP3: key conditions the service sends ---------------------------------------------------

@pytest.mark.parametrize(("principal", "condition", "finding"), [
    ("cloudwatch.amazonaws.com", None, set()),
    ("cloudwatch.amazonaws.com", {"StringEquals": {"aws:SourceAccount": "123456789012"}}, {"DP3"}),
    ("events.amazonaws.com", {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}, {"DP3"}),
    ("logs.us-east-1.amazonaws.com", {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}}, set()),
    ("logs.us-east-1.amazonaws.com", {"StringEquals": {"kms:CallerAccount": "123456789012"}}, {"DP3"}),
])
def test_dp3_key_statements_for_services_use_only_conditions_they_send(principal, condition, finding):
    def build(stack: cdk.Stack) -> None:
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        key.add_to_resource_policy(iam.PolicyStatement(principals=[iam.ServicePrincipal(principal)],
                                                       actions=["kms:Decrypt"], resources=["*"],
                                                       conditions=condition))
    assert findings(build) == finding


# --- DP4: the WAF body rule -----------------------------------------------------------------

def _web_acl(stack: cdk.Stack, overrides) -> None:
    visibility = wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name="m",
                                                          sampled_requests_enabled=True)
    wafv2.CfnWebACL(stack, "Acl", scope="REGIONAL", visibility_config=visibility,
                    default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
                    rules=[wafv2.CfnWebACL.RuleProperty(
                        name="common", priority=0, visibility_config=visibility,
                        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                        statement=wafv2.CfnWebACL.StatementProperty(
                            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                                vendor_name="AWS", name="AWSManagedRulesCommonRuleSet",
                                rule_action_overrides=overrides)))])


def test_dp4_the_common_rule_set_unmodified_blocks_bodies_over_8_kb():
    assert findings(lambda s: _web_acl(s, None)) == {"DP4"}


def test_dp4_counting_the_body_size_rule_passes():
    count = wafv2.CfnWebACL.RuleActionOverrideProperty(name="SizeRestrictions_BODY",
                                                       action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}))
    assert findings(lambda s: _web_acl(s, [count])) == set()


# --- DP5: pipeline jobs can list their inputs and encrypt their outputs --------------------------

def _pipeline(stack: cdk.Stack, *, list_code: bool = True, encrypt: bool = True) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    lake = s3.Bucket(stack, "Lake", bucket_name="lake")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    buckets = [lake.bucket_arn] + (["arn:aws:s3:::assets"] if list_code else [])
    policy = iam.ManagedPolicy(stack, "Policy", roles=[role], statements=[
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=buckets),
        iam.PolicyStatement(actions=["kms:Decrypt"] + (["kms:Encrypt"] if encrypt else []),
                            resources=[key.key_arn])])
    pipeline = sagemaker.CfnPipeline(stack, "Pipeline", pipeline_name="p", role_arn=role.role_arn,
                                     pipeline_definition={"PipelineDefinitionBody": cdk.Fn.sub(DEFINITION, {
                                         "ArtifactsBucket": lake.bucket_name, "CuratedBucket": lake.bucket_name,
                                         "KmsKeyArn": key.key_arn, "RoleName": role.role_name, "ImageUri": "i",
                                         "ModelPackageGroup": "g", "CodeBucket": "assets", "CodeBundleKey": "b",
                                         "LauncherKey": "l"})})
    pipeline.node.add_dependency(policy)


def test_dp5_the_project_definition_with_list_and_encrypt_passes():
    assert findings(_pipeline) == set()


def test_dp5_no_list_on_the_code_assets_bucket_fails():
    assert findings(lambda s: _pipeline(s, list_code=False)) == {"DP5"}


def test_dp5_no_encrypt_on_the_output_key_fails():
    assert findings(lambda s: _pipeline(s, encrypt=False)) == {"DP5"}


def test_dp5_reads_the_definition_the_stack_embeds():
    assert "s3://${CodeBucket}/${CodeBundleKey}" in json.dumps(json.loads(DEFINITION))


# --- DP6: names within limits -------------------------------------------------------------------

def test_dp6_a_bucket_name_over_63_characters_in_the_longest_region_fails():
    fits = f"lake-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}"
    too_long = f"a-very-long-project-prefix-raw-zone-x-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}"
    assert findings(lambda s: s3.CfnBucket(s, "B", bucket_name=fits)) == set()
    assert findings(lambda s: s3.CfnBucket(s, "B", bucket_name=too_long)) == {"DP6"}


def test_dp6_alarm_and_model_package_group_limits():
    assert findings(lambda s: cloudwatch.CfnAlarm(s, "A", alarm_name="a" * 256, evaluation_periods=1,
                                                  comparison_operator="GreaterThanThreshold")) == {"DP6"}
    assert findings(lambda s: sagemaker.CfnModelPackageGroup(s, "G", model_package_group_name="g" * 64)) == {"DP6"}
    assert findings(lambda s: sagemaker.CfnModelPackageGroup(s, "G", model_package_group_name="g" * 63)) == set()


# --- DP7: reserved concurrency fits the quota --------------------------------------------------------

def test_dp7_reserved_concurrency_must_leave_100_unreserved_in_the_stated_quota():
    assert findings(lambda s: _function(s, depends=True, reserved=50), quota=1000) == set()
    assert findings(lambda s: _function(s, depends=True, reserved=5), quota=10) == {"DP7"}
    assert findings(lambda s: _function(s, depends=True, reserved=901), quota=1000) == {"DP7"}
