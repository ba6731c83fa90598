"""MlStack.Deploy: a cdk-nag 3 rule pack for what fails a deploy, or breaks a flow, only on AWS.

Neither the cdk-nag packs nor moto nor cfn-lint check these; each rule cites the AWS
documentation it encodes.

Each rule, what it checks, and the AWS documentation it encodes:

- DP1: a function with a dead-letter queue, VPC config or active tracing is created only after a
  policy granting sqs:SendMessage / the EC2 network-interface actions / xray:PutTraceSegments exists
  (Lambda validates them at CreateFunction).
  https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html (InvalidParameterValueException),
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html,
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions,
  https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
- DP2: an SNS topic that alarms notify, when it has a topic policy, allows cloudwatch.amazonaws.com
  to sns:Publish (a TopicPolicy replaces the default policy).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topicpolicy.html,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
- DP3: KMS key statements for service principals use only condition keys those services send.
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html,
  https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
- DP4: a web ACL with AWSManagedRulesCommonRuleSet overrides SizeRestrictions_BODY (it blocks
  bodies over 8 KB, which the API accepts).
  https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
- DP5: a pipeline's role has s3:ListBucket on the bucket of every S3 input of its jobs (the CDK
  assets bucket included), and kms:Encrypt on a key that encrypts job outputs.
  https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createprocessingjob-perms,
  https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createtrainingjob-perms
- DP6: names fit AWS limits at the longest account, region and partition: S3 buckets 63; SageMaker
  model package groups, models, endpoints 63; alarms 255; functions 64; roles 64; queues 80.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackageGroup.html,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
- DP7: the reserved concurrency of an environment's functions (all its stacks) leaves the 100
  unreserved executions Lambda keeps, within the environment's stated account quota.
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html

The account quota comes from the stack's `account_concurrency_quota` attribute (stacks/stage.py sets
it from `lambda_concurrency_quota` in the environment config), 1000 (the default quota) otherwise.
Acknowledge a finding as any other: `acknowledge(construct, "MlStack.Deploy-DP6", reason)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from cdk_nag import NagRuleCompliance
from constructs import IConstruct

# Struct-typed L1 properties resolve with camelCase keys (as cdk-nag's own rules read them);
# JSON-typed ones (policy documents, the pipeline definition) keep CloudFormation's keys.
from stacks.nag_rules import LONGEST_PSEUDO, ProjectRulePack, Rendered, Rule, as_list, role_id_of
from stacks.nag_sagemaker import pipeline_jobs

PACK = "MlStack.Deploy"
COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE = (NagRuleCompliance.COMPLIANT, NagRuleCompliance.NON_COMPLIANT,
                                            NagRuleCompliance.NOT_APPLICABLE)
DEFAULT_CONCURRENCY_QUOTA = 1000
UNRESERVED_MINIMUM = 100


def _verdict(ok: bool) -> NagRuleCompliance:
    return COMPLIANT if ok else NON_COMPLIANT


# --- DP1 ---------------------------------------------------------------------------------------

def _create_function_permissions(node: lambda_.CfnFunction, rendered: Rendered) -> list[tuple[str, str]]:
    """(action, resource) Lambda checks the execution role for at CreateFunction."""
    stack, needed = rendered.stack, []
    dlq = stack.resolve(node.dead_letter_config)
    if dlq and dlq.get("targetArn"):
        needed.append(("sqs:SendMessage", rendered.value(dlq["targetArn"])))
    if stack.resolve(node.vpc_config):
        needed += [(action, "*") for action in ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                                                "ec2:DeleteNetworkInterface")]
    tracing = stack.resolve(node.tracing_config)
    if tracing and tracing.get("mode") == "Active":
        needed += [("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")]
    return needed


def _function_permissions_exist_at_create(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, lambda_.CfnFunction):
        return NOT_APPLICABLE
    rendered = Rendered(cdk.Stack.of(node))
    needed = _create_function_permissions(node, rendered)
    role_id = role_id_of(rendered.stack, node.role)
    if not needed or role_id is None:
        return NOT_APPLICABLE if not needed else COMPLIANT  # an imported role is granted outside this stack
    statements = list(rendered.role_statements(role_id, available_to=node))
    return _verdict(all(rendered.allows(statements, action, resource) for action, resource in needed))


# --- DP2 ---------------------------------------------------------------------------------------

def _environment_nodes(stack: cdk.Stack) -> list[IConstruct]:
    """Every construct of the stack's environment (its Stage): its stacks reference each other's resources."""
    return (cdk.Stage.of(stack) or stack).node.find_all()


def _alarm_topic_ids(stack: cdk.Stack) -> set[str]:
    """Logical ids of this stack's topics that any alarm of the environment notifies: resolved in the topic's
    stack, another stack's reference to it reads as a Ref (it is an import only in the alarm's own stack)."""
    topics = set()
    for alarm in _environment_nodes(stack):
        if isinstance(alarm, cloudwatch.CfnAlarm):
            for actions in (alarm.alarm_actions, alarm.ok_actions, alarm.insufficient_data_actions):
                topics |= {ref["Ref"] for ref in as_list(stack.resolve(actions))
                           if isinstance(ref, dict) and "Ref" in ref}
    return topics


def _service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    return [str(value) for value in as_list(principal.get("Service"))] if isinstance(principal, dict) else []


def _alarm_topics_allow_cloudwatch(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, sns.CfnTopic):
        return NOT_APPLICABLE
    stack = cdk.Stack.of(node)
    topic_id = stack.resolve(node.logical_id)
    if topic_id not in _alarm_topic_ids(stack):
        return NOT_APPLICABLE
    policies = [policy for policy in stack.node.find_all() if isinstance(policy, sns.CfnTopicPolicy)
                and {"Ref": topic_id} in as_list(stack.resolve(policy.topics))]
    if not policies:
        return COMPLIANT  # the default topic policy lets the owning account's services publish
    statements = [s for policy in policies for s in as_list(stack.resolve(policy.policy_document).get("Statement"))]
    return _verdict(any(
        statement.get("Effect") == "Allow" and "cloudwatch.amazonaws.com" in _service_principals(statement)
        and any(a in ("sns:Publish", "sns:*", "*") for a in as_list(statement.get("Action")))
        for statement in statements))


# --- DP3 ---------------------------------------------------------------------------------------

# Condition keys a service's request to KMS carries, where its documentation names them. The
# services below call KMS on behalf of a publisher (SNS, SQS) with no confused-deputy context
# keys; CloudWatch Logs sends its log group ARN as encryption context.
SERVICE_CONDITION_KEYS: dict[str, frozenset[str]] = {
    "cloudwatch.amazonaws.com": frozenset(),
    "events.amazonaws.com": frozenset(),
    "logs": frozenset({"kms:EncryptionContext:aws:logs:arn"}),
}
# Keys no service principal's KMS request carries: they describe an IAM caller in an account.
NEVER_FROM_SERVICES = frozenset({"kms:ViaService", "kms:CallerAccount", "aws:PrincipalAccount", "aws:PrincipalArn",
                                 "aws:PrincipalOrgID"})


def _service_key(principal: str) -> str:
    return "logs" if re.match(r"^logs(\.|$)", principal.split("<", maxsplit=1)[0]) else principal


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for operator_block in (statement.get("Condition") or {}).values() for key in operator_block}


def _key_service_conditions_sent(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, kms.CfnKey):
        return NOT_APPLICABLE
    stack = cdk.Stack.of(node)
    rendered = Rendered(stack)
    for statement in as_list(stack.resolve(node.key_policy).get("Statement")):
        keys = _condition_keys(statement)
        for principal in (rendered.value(p) for p in _service_principals(statement)):
            sent = SERVICE_CONDITION_KEYS.get(_service_key(principal))
            if keys & NEVER_FROM_SERVICES or (sent is not None and not keys <= sent):
                return NON_COMPLIANT
    return COMPLIANT


# --- DP4 ---------------------------------------------------------------------------------------

def _waf_body_rule_overridden(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, wafv2.CfnWebACL):
        return NOT_APPLICABLE
    for rule in as_list(cdk.Stack.of(node).resolve(node.rules)):
        group = rule.get("statement", {}).get("managedRuleGroupStatement", {})
        if group.get("name") != "AWSManagedRulesCommonRuleSet":
            continue
        overridden = {item.get("name") for item in as_list(group.get("ruleActionOverrides"))
                      if "block" not in item.get("actionToUse", {})}
        excluded = {item.get("name") for item in as_list(group.get("excludedRules"))}
        if "SizeRestrictions_BODY" not in overridden | excluded:
            return NON_COMPLIANT
    return COMPLIANT


# --- DP5 ---------------------------------------------------------------------------------------

def _s3_uris(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith("s3://"):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _s3_uris(item)
    elif isinstance(value, list):
        for item in value:
            yield from _s3_uris(item)


def _parameter_defaults(definition: dict[str, Any], value: Any) -> Any:
    """Replace {"Get": "Parameters.X"} by X's default, so default input URIs are checked too."""
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    if isinstance(value, dict):
        reference = value.get("Get")
        if isinstance(reference, str) and reference.startswith("Parameters."):
            return defaults.get(reference.split(".", 1)[1])
        return {key: _parameter_defaults(definition, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_parameter_defaults(definition, item) for item in value]
    return value


def _job_access(kind: str, arguments: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """(inputs, output KMS keys) of one job's arguments."""
    if kind == "Processing":
        inputs = arguments.get("ProcessingInputs", [])
        keys = [arguments.get("ProcessingOutputConfig", {}).get("KmsKeyId")]
    else:
        inputs = arguments.get("InputDataConfig", [])
        keys = [arguments.get("OutputDataConfig", {}).get("KmsKeyId")]
    return inputs, [key for key in keys if key]


def rendered_pipeline_definition(node: sagemaker.CfnPipeline, rendered: Rendered) -> dict[str, Any] | None:
    """The definition JSON with its Fn::Sub variables filled in as rendered strings."""
    resolved = rendered.stack.resolve(node.pipeline_definition)
    body = resolved.get("PipelineDefinitionBody") if isinstance(resolved, dict) else None
    if body is None:
        return None
    text = rendered.render(body)
    return json.loads(text) if text.startswith("{") else None


def _job_inputs_readable(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, sagemaker.CfnPipeline):
        return NOT_APPLICABLE
    stack = cdk.Stack.of(node)
    rendered = Rendered(stack)
    definition = rendered_pipeline_definition(node, rendered)
    role_id = role_id_of(stack, node.role_arn)
    if definition is None or role_id is None:
        return NON_COMPLIANT  # a definition in S3, or an imported role, cannot be checked: inline them
    statements = list(rendered.role_statements(role_id))
    pseudo = rendered.pseudo["AWS::Partition"]
    for _, kind, arguments in pipeline_jobs(definition):
        inputs, keys = _job_access(kind, arguments)
        buckets = {uri[5:].split("/", 1)[0] for uri in _s3_uris(_parameter_defaults(definition, inputs))}
        if not all(rendered.allows(statements, "s3:ListBucket", f"arn:{pseudo}:s3:::{bucket}") for bucket in buckets):
            return NON_COMPLIANT
        if not all(rendered.allows(statements, "kms:Encrypt", key) for key in keys):
            return NON_COMPLIANT
    return COMPLIANT


# --- DP6 ---------------------------------------------------------------------------------------

NAME_LIMITS: tuple[tuple[type, str, int], ...] = (
    (s3.CfnBucket, "bucket_name", 63), (sagemaker.CfnModelPackageGroup, "model_package_group_name", 63),
    (sagemaker.CfnModel, "model_name", 63), (sagemaker.CfnEndpoint, "endpoint_name", 63),
    (sagemaker.CfnEndpointConfig, "endpoint_config_name", 63), (sagemaker.CfnPipeline, "pipeline_name", 256),
    (cloudwatch.CfnAlarm, "alarm_name", 255), (lambda_.CfnFunction, "function_name", 64),
    (iam.CfnRole, "role_name", 64), (sqs.CfnQueue, "queue_name", 80), (sns.CfnTopic, "topic_name", 256),
)


def _names_within_limits(node: cdk.CfnResource) -> NagRuleCompliance:
    for resource_type, attribute, limit in NAME_LIMITS:
        if isinstance(node, resource_type):
            name = getattr(node, attribute)
            if not name:
                return NOT_APPLICABLE
            return _verdict(len(Rendered(cdk.Stack.of(node), LONGEST_PSEUDO).value(name)) <= limit)
    return NOT_APPLICABLE


# --- DP7 ---------------------------------------------------------------------------------------

def _reserved_concurrency_fits(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, lambda_.CfnFunction) or node.reserved_concurrent_executions is None:
        return NOT_APPLICABLE
    stack = cdk.Stack.of(node)
    quota = getattr(stack, "account_concurrency_quota", None) or DEFAULT_CONCURRENCY_QUOTA
    reserved = sum(int(cdk.Stack.of(function).resolve(function.reserved_concurrent_executions) or 0)
                   for function in _environment_nodes(stack) if isinstance(function, lambda_.CfnFunction))
    return _verdict(reserved <= quota - UNRESERVED_MINIMUM)


RULES: tuple[Rule, ...] = (
    ("DP1", "A function is created before the policy that grants what its configuration needs.",
     "Lambda checks at CreateFunction that the execution role allows sqs:SendMessage on the dead-letter queue, "
     "the EC2 network-interface actions for a VPC config and xray:PutTraceSegments for active tracing. A policy "
     "attached to the role as a separate resource is created in parallel unless the function depends on it.",
     _function_permissions_exist_at_create),
    ("DP2", "An SNS topic that alarms notify has a topic policy that does not let CloudWatch publish.",
     "An AWS::SNS::TopicPolicy replaces the topic's default policy: without an Allow for cloudwatch.amazonaws.com "
     "on sns:Publish, alarm actions fail and no alarm ever notifies anyone.",
     _alarm_topics_allow_cloudwatch),
    ("DP3", "A KMS key statement for a service principal has a condition that service does not send.",
     "Services such as CloudWatch and EventBridge reach KMS through SNS or SQS without confused-deputy keys "
     "(aws:SourceAccount, aws:SourceArn) or kms:ViaService; a condition on a key the request lacks never matches, "
     "so the statement silently allows nothing.",
     _key_service_conditions_sent),
    ("DP4", "The WAF common rule set's 8 KB body rule blocks requests the API accepts.",
     "SizeRestrictions_BODY in AWSManagedRulesCommonRuleSet blocks bodies over 8 KB; override it (Count) and "
     "enforce the API's own body limit.",
     _waf_body_rule_overridden),
    ("DP5", "A pipeline job reads an S3 input its role cannot list, or writes KMS-encrypted output it cannot encrypt.",
     "SageMaker needs s3:ListBucket on every S3Prefix input's bucket (the CDK assets bucket holding the code too) "
     "and kms:Encrypt on the key named for job outputs; the job fails at start otherwise.",
     _job_inputs_readable),
    ("DP6", "A resource name can exceed its AWS limit.",
     "Names built from the prefix, account and region must fit the service's limit in every account and region "
     "(measured with the longest region and partition).",
     _names_within_limits),
    ("DP7", "The functions' reserved concurrency does not fit the account's concurrency quota.",
     "Lambda keeps 100 executions unreserved; reserving more than quota - 100 fails the deploy. New accounts can "
     "have a quota of 10: state the quota in the environment config (lambda_concurrency_quota).",
     _reserved_concurrency_fits),
)


class DeployChecks(ProjectRulePack):
    """Register with `cdk.Validations.of(app).add_plugins(DeployChecks(app))` (stacks/nag.py does)."""

    PACK = PACK
    RULES = RULES
