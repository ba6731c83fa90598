"""MlStack.SageMaker: a cdk-nag 3 rule pack for the SageMaker resources cdk-nag does not check.

cdk-nag has four SageMaker rules (notebooks, endpoint-config KMS). The jobs a pipeline runs live
inside the CfnPipeline's definition JSON, so these rules read it:

| rule | checks |
|---|---|
| SM1 | every processing and training job in a pipeline definition encrypts its volumes and outputs with KMS |
| SM2 | every such job runs network-isolated with inter-container traffic encryption |
| SM3 | models (AWS::SageMaker::Model) are network-isolated, and in a VPC when the environment declares one |
| SM4 | endpoint configs encrypt with KMS |
| SM5 | model package group policies name explicit principals (no `*`) |
| SM6 | a pipeline's role has no S3 or KMS permission on every resource (scoped to the lake) |

Acknowledge a finding as any other: `acknowledge(construct, "MlStack.SageMaker-SM3", reason)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from cdk_nag import NagRuleCompliance

from stacks.nag_rules import Check, ProjectRulePack, Rule, role_id_of

PACK = "MlStack.SageMaker"


def pipeline_definition(node: sagemaker.CfnPipeline) -> dict[str, Any] | None:
    """The definition JSON of a CfnPipeline (a plain body, or the template of an Fn::Sub); None if in S3."""
    resolved = cdk.Stack.of(node).resolve(node.pipeline_definition)
    body = resolved.get("PipelineDefinitionBody") if isinstance(resolved, dict) else None
    if isinstance(body, dict) and "Fn::Sub" in body:
        body = body["Fn::Sub"][0] if isinstance(body["Fn::Sub"], list) else body["Fn::Sub"]
    if not isinstance(body, str):
        return None
    return json.loads(body)


def pipeline_jobs(definition: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(step name, Processing | Training, arguments) of every job step, condition branches included."""
    def walk(steps: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for step in steps:
            if step.get("Type") in ("Processing", "Training"):
                yield step["Name"], step["Type"], step.get("Arguments", {})
            arguments = step.get("Arguments", {})
            if step.get("Type") == "Condition":
                yield from walk(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))

    yield from walk(definition.get("Steps", []))


def _pipeline_check(test: Callable[[str, dict[str, Any]], bool]) -> Check:
    def check(node: cdk.CfnResource) -> NagRuleCompliance:
        if not isinstance(node, sagemaker.CfnPipeline):
            return NagRuleCompliance.NOT_APPLICABLE
        definition = pipeline_definition(node)
        if definition is None:
            return NagRuleCompliance.NON_COMPLIANT  # a definition in S3 cannot be checked: inline it
        return (NagRuleCompliance.COMPLIANT if all(test(kind, arguments) for _, kind, arguments in
                                                   pipeline_jobs(definition)) else NagRuleCompliance.NON_COMPLIANT)
    return check


def _jobs_encrypted(kind: str, arguments: dict[str, Any]) -> bool:
    if kind == "Processing":
        volume = arguments.get("ProcessingResources", {}).get("ClusterConfig", {}).get("VolumeKmsKeyId")
        output = arguments.get("ProcessingOutputConfig", {}).get("KmsKeyId")
        return bool(volume) and (bool(output) or not arguments.get("ProcessingOutputConfig"))
    return bool(arguments.get("ResourceConfig", {}).get("VolumeKmsKeyId")) and bool(
        arguments.get("OutputDataConfig", {}).get("KmsKeyId"))


def _jobs_isolated(kind: str, arguments: dict[str, Any]) -> bool:
    settings = arguments.get("NetworkConfig", {}) if kind == "Processing" else arguments
    return settings.get("EnableNetworkIsolation") is True and settings.get(
        "EnableInterContainerTrafficEncryption") is True


def _model_isolated(node: cdk.CfnResource) -> NagRuleCompliance:
    """Network isolation always; a VPC config when the model's stack declares a VPC (the environment has one)."""
    if not isinstance(node, sagemaker.CfnModel):
        return NagRuleCompliance.NOT_APPLICABLE
    stack = cdk.Stack.of(node)
    isolated = stack.resolve(node.enable_network_isolation) is True
    vpc_declared = any(isinstance(child, ec2.CfnVPC) for child in stack.node.find_all())
    in_vpc = node.vpc_config is not None or not vpc_declared
    return NagRuleCompliance.COMPLIANT if isolated and in_vpc else NagRuleCompliance.NON_COMPLIANT


def _endpoint_config_kms(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, sagemaker.CfnEndpointConfig):
        return NagRuleCompliance.NOT_APPLICABLE
    return NagRuleCompliance.COMPLIANT if node.kms_key_id else NagRuleCompliance.NON_COMPLIANT


def _explicit_principals(node: cdk.CfnResource) -> NagRuleCompliance:
    if not isinstance(node, sagemaker.CfnModelPackageGroup):
        return NagRuleCompliance.NOT_APPLICABLE
    policy = cdk.Stack.of(node).resolve(node.model_package_group_policy)
    if not policy:
        return NagRuleCompliance.COMPLIANT  # no policy: only this account's IAM decides
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal")
        values = [principal] if isinstance(principal, str) else [
            value for group in (principal or {}).values() for value in (group if isinstance(group, list) else [group])]
        if not values or any(value == "*" for value in values) or "NotPrincipal" in statement:
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _role_scoped(node: cdk.CfnResource) -> NagRuleCompliance:
    """The pipeline role's attached policies grant no s3:/kms: action on every resource."""
    if not isinstance(node, sagemaker.CfnPipeline):
        return NagRuleCompliance.NOT_APPLICABLE
    stack = cdk.Stack.of(node)
    role_id = role_id_of(stack, node.role_arn)
    if role_id is None:
        return NagRuleCompliance.NON_COMPLIANT  # an imported role cannot be checked here
    for policy in stack.node.find_all():
        if not isinstance(policy, (iam.CfnManagedPolicy, iam.CfnPolicy)):
            continue
        if {"Ref": role_id} not in (stack.resolve(policy.roles) or []):
            continue
        for statement in stack.resolve(policy.policy_document).get("Statement", []):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            resources = statement.get("Resource", [])
            resources = [resources] if isinstance(resources, str) else resources
            lake_action = any(a == "*" or a.split(":")[0] in ("s3", "kms") for a in actions)
            if lake_action and "*" in resources:
                return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


# (suffix, info, explanation, check)
RULES: tuple[Rule, ...] = (
    ("SM1", "A pipeline job does not encrypt its volume or its output with KMS.",
     "Training and processing jobs handle PHI-capable data; their storage volumes and S3 outputs must use the "
     "customer-managed key (VolumeKmsKeyId, OutputDataConfig/ProcessingOutputConfig KmsKeyId).",
     _pipeline_check(_jobs_encrypted)),
    ("SM2", "A pipeline job is not network-isolated with inter-container traffic encryption.",
     "Jobs run third-party code on sensitive data: EnableNetworkIsolation stops it calling out, and "
     "EnableInterContainerTrafficEncryption protects data between distributed-training nodes.",
     _pipeline_check(_jobs_isolated)),
    ("SM3", "A SageMaker model is not network-isolated (or not in the environment's VPC).",
     "Model containers must not reach the internet; in environments that declare a VPC they run in it.",
     _model_isolated),
    ("SM4", "A SageMaker endpoint config does not encrypt with KMS.",
     "Endpoint storage volumes hold model artifacts and may hold captured data: use the customer-managed key.",
     _endpoint_config_kms),
    ("SM5", "A model package group policy grants access to a wildcard principal.",
     "Cross-account model reads must name the accounts (explicit principals), never '*'.",
     _explicit_principals),
    ("SM6", "The pipeline's role may use S3 or KMS on every resource.",
     "The pipeline role is scoped to the lake's buckets, prefixes and key; a '*' resource for s3/kms actions "
     "would let a job read or decrypt anything in the account.",
     _role_scoped),
)


class SageMakerChecks(ProjectRulePack):
    """Register with `cdk.Validations.of(app).add_plugins(SageMakerChecks(app))` (stacks/nag.py does)."""

    PACK = PACK
    RULES = RULES
