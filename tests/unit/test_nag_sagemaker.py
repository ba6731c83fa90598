"""The MlStack.SageMaker rule pack: each rule with a passing and a failing fixture."""

from __future__ import annotations

import copy
import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from pipelines.definition import DEFINITION_PATH
from stacks.nag_sagemaker import SageMakerChecks

DEFINITION = json.loads(DEFINITION_PATH.read_text())


def findings(build) -> set[str]:
    """Rule ids the pack reports for a stack built by `build(stack)`."""
    stack = cdk.Stack(cdk.App(), "Fixture")
    build(stack)
    report = SageMakerChecks().validate_scope(stack)
    return {violation.rule_name.split("-")[-1] for violation in report.violations}


def pipeline(definition: dict, *, s3_resource: str = "arn:aws:s3:::lake-curated/curated/*"):
    def build(stack: cdk.Stack) -> None:
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
        iam.ManagedPolicy(stack, "Policy", roles=[role], statements=[
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[s3_resource])])
        sagemaker.CfnPipeline(stack, "Pipeline", pipeline_name="p", role_arn=role.role_arn, pipeline_definition={
            "PipelineDefinitionBody": cdk.Fn.sub(json.dumps(definition), {
                name: "x" for name in ("ArtifactsBucket", "CuratedBucket", "KmsKeyArn", "RoleName", "ImageUri",
                                       "ModelPackageGroup", "CodeBucket", "CodeBundleKey", "LauncherKey")})})
    return build


def edited(edit) -> dict:
    definition = copy.deepcopy(DEFINITION)
    edit({step["Name"]: step for step in definition["Steps"]})
    return definition


def test_the_project_pipeline_passes_every_rule():
    assert findings(pipeline(DEFINITION)) == set()


@pytest.mark.parametrize("edit", [
    lambda steps: steps["Preprocess"]["Arguments"]["ProcessingResources"]["ClusterConfig"].pop("VolumeKmsKeyId"),
    lambda steps: steps["Evaluate"]["Arguments"]["ProcessingOutputConfig"].pop("KmsKeyId"),
    lambda steps: steps["Train"]["Arguments"]["OutputDataConfig"].pop("KmsKeyId"),
])
def test_sm1_a_job_without_kms_on_volume_or_output_fails(edit):
    assert findings(pipeline(edited(edit))) == {"SM1"}


@pytest.mark.parametrize("edit", [
    lambda steps: steps["Preprocess"]["Arguments"]["NetworkConfig"].update(EnableNetworkIsolation=False),
    lambda steps: steps["Train"]["Arguments"].pop("EnableInterContainerTrafficEncryption"),
])
def test_sm2_a_job_without_isolation_or_inter_container_encryption_fails(edit):
    assert findings(pipeline(edited(edit))) == {"SM2"}


def test_sm1_sm2_read_jobs_inside_condition_branches():
    definition = copy.deepcopy(DEFINITION)
    job = copy.deepcopy(next(s for s in definition["Steps"] if s["Name"] == "Preprocess"))
    job["Name"] = "Hidden"
    job["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] = False
    gate = next(s for s in definition["Steps"] if s["Type"] == "Condition")
    gate["Arguments"]["IfSteps"].append(job)
    assert findings(pipeline(definition)) == {"SM2"}


def test_sm6_a_pipeline_role_with_s3_on_every_resource_fails():
    assert findings(pipeline(DEFINITION, s3_resource="*")) == {"SM6"}


def _model(stack: cdk.Stack, *, isolated: bool, vpc: bool = False, vpc_config: bool = False) -> None:
    if vpc:
        ec2.CfnVPC(stack, "Vpc", cidr_block="10.0.0.0/16")
    sagemaker.CfnModel(
        stack, "Model", execution_role_arn="arn:aws:iam::123456789012:role/r", enable_network_isolation=isolated,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image="i", model_data_url="s3://b/m"),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(security_group_ids=["sg-1"], subnets=["subnet-1"])
        if vpc_config else None)


def test_sm3_models_must_be_network_isolated_and_in_the_vpc_when_one_is_declared():
    assert findings(lambda s: _model(s, isolated=True)) == set()
    assert findings(lambda s: _model(s, isolated=False)) == {"SM3"}
    assert findings(lambda s: _model(s, isolated=True, vpc=True)) == {"SM3"}
    assert findings(lambda s: _model(s, isolated=True, vpc=True, vpc_config=True)) == set()


def _endpoint_config(stack: cdk.Stack, *, kms: bool) -> None:
    sagemaker.CfnEndpointConfig(stack, "Config", kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k" if kms else None,
                                production_variants=[sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                                    variant_name="a", model_name="m", initial_instance_count=1,
                                    instance_type="ml.m5.large")])


def test_sm4_endpoint_configs_must_use_kms():
    assert findings(lambda s: _endpoint_config(s, kms=True)) == set()
    assert findings(lambda s: _endpoint_config(s, kms=False)) == {"SM4"}


def _group(stack: cdk.Stack, principal) -> None:
    policy = None if principal is None else {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": principal, "Action": ["sagemaker:DescribeModelPackage"], "Resource": "*"}]}
    sagemaker.CfnModelPackageGroup(stack, "Group", model_package_group_name="g", model_package_group_policy=policy)


def test_sm5_model_package_group_policies_need_explicit_principals():
    assert findings(lambda s: _group(s, None)) == set()
    assert findings(lambda s: _group(s, {"AWS": ["arn:aws:iam::210987654321:root"]})) == set()
    assert findings(lambda s: _group(s, "*")) == {"SM5"}
    assert findings(lambda s: _group(s, {"AWS": "*"})) == {"SM5"}
