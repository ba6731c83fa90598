"""The embedded AWS built from a synthesized template, and calls checked against its roles."""

from __future__ import annotations

import json

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template as Assertions
from botocore.exceptions import ClientError
from moto import mock_aws

from local.cfn import Template, TemplateError
from local.iam import CallChecker
from local.provision import CREATED, EMULATED, NOT_SUPPORTED, Provisioner

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture(scope="module")
def template_file(tmp_path_factory):
    """A small stack with the project's kinds of resources, synthesized once."""
    stack = cdk.Stack(cdk.App(), "Small")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    cdk.Tags.of(stack).add("project", "mlstack")  # moto's CloudFormation fails on KMS tags; this must not
    bucket = s3.Bucket(stack, "Lake", bucket_name=f"lake-{cdk.Aws.ACCOUNT_ID}", encryption_key=key,
                       encryption=s3.BucketEncryption.KMS, enforce_ssl=True, versioned=True)
    topic = sns.Topic(stack, "Alerts", master_key=key, enforce_ssl=True)
    sqs.Queue(stack, "Dlq", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    iam.ManagedPolicy(stack, "Policy", roles=[role], statements=[
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("curated/*")]),
        iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn])])
    alarm = cloudwatch.Alarm(stack, "Alarm", metric=cloudwatch.Metric(namespace="n", metric_name="m"),
                             threshold=1, evaluation_periods=1)
    alarm.add_alarm_action(actions.SnsAction(topic))
    cdk.CfnResource(stack, "Waf", type="AWS::WAFv2::IPSet", properties={"Name": "x"})
    path = tmp_path_factory.mktemp("assembly") / "Small.template.json"
    path.write_text(json.dumps(Assertions.from_stack(stack).to_json()))
    return path


@pytest.fixture
def deployed(template_file):
    with mock_aws():
        template = Template.from_file(template_file, ACCOUNT, REGION)
        provisioner = Provisioner(template, lambda service: boto3.client(service, region_name=REGION))
        report = provisioner.provision()
        yield template, provisioner, report


def test_every_resource_gets_a_verdict_and_the_supported_ones_exist(deployed):
    template, _, report = deployed
    verdicts = {resource_type: set(counts) for resource_type, counts in report.by_type().items()}
    assert verdicts["AWS::KMS::Key"] == {CREATED}
    assert verdicts["AWS::S3::BucketPolicy"] == {EMULATED}
    assert verdicts["AWS::WAFv2::IPSet"] == {NOT_SUPPORTED}
    assert all(CREATED in verdicts[t] for t in ("AWS::S3::Bucket", "AWS::SNS::TopicPolicy", "AWS::SQS::Queue",
                                                "AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::CloudWatch::Alarm"))
    bucket = f"lake-{ACCOUNT}"
    rule = boto3.client("s3", region_name=REGION).get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms" and rule["KMSMasterKeyID"].endswith(template.physical[
        next(iter(template.of_type("AWS::KMS::Key")))])
    [alarm] = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
    assert alarm["AlarmActions"] == [template.physical[next(iter(template.of_type("AWS::SNS::Topic")))]]


def test_calls_are_checked_against_the_role_from_the_template(deployed):
    template, provisioner, _ = deployed
    role_id = next(iter(template.of_type("AWS::IAM::Role")))
    policy_id = next(iter(template.of_type("AWS::IAM::ManagedPolicy")))
    checker = CallChecker(template.attributes[role_id]["Arn"], [template.properties(policy_id)["PolicyDocument"]],
                          provisioner.facts())
    s3_client = boto3.client("s3", region_name=REGION)
    s3_client.put_object(Bucket=f"lake-{ACCOUNT}", Key="curated/a", Body=b"1")
    s3_client.put_object(Bucket=f"lake-{ACCOUNT}", Key="raw/a", Body=b"1")
    guarded = checker.guard(boto3.client("s3", region_name=REGION))
    assert guarded.get_object(Bucket=f"lake-{ACCOUNT}", Key="curated/a")["Body"].read() == b"1"
    with pytest.raises(ClientError) as denied:
        guarded.get_object(Bucket=f"lake-{ACCOUNT}", Key="raw/a")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert f"s3:GetObject on resource: arn:aws:s3:::lake-{ACCOUNT}/raw/a" in str(denied.value)


def test_intrinsics_resolve_as_cloudformation_does(template_file):
    template = Template.from_file(template_file, ACCOUNT, REGION)
    template.physical["X"], template.attributes["X"] = "x-name", {"Arn": "arn:x"}
    assert template.resolve({"Fn::Join": ["-", [{"Ref": "X"}, {"Ref": "AWS::Region"}]]}) == "x-name-us-east-1"
    assert template.resolve({"Fn::Sub": "${X}/${X.Arn}/${AWS::AccountId}"}) == f"x-name/arn:x/{ACCOUNT}"
    assert template.resolve({"Fn::Sub": ["${A}!", {"A": {"Ref": "X"}}]}) == "x-name!"
    assert template.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}) == "b"
    with pytest.raises(TemplateError, match=r"Y\.Arn"):
        template.resolve({"Fn::GetAtt": ["Y", "Arn"]})
