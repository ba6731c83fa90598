"""`mlstack promote` against an environment's real names (moto): refused in prod until staging soaked."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from local.embedded_aws import provision_lake
from local.registry import LocalDeployment, set_approval
from local.training import ensure_model_package_group
from mlstack.cli import main as cli_main
from mlstack.config import load_environments


@pytest.fixture
def prod():
    with mock_aws():
        config = load_environments()["prod"]
        lake = provision_lake(config)
        yield config, lake


def test_promotion_is_refused_in_prod_until_staging_has_soaked(prod, capsys):
    config, lake = prod
    sagemaker, s3 = boto3.client("sagemaker"), boto3.client("s3")
    arn = _pending_version(config, lake, sagemaker, s3, "x")
    deployment = LocalDeployment(config, lake, config.region)
    assert deployment.deliver(set_approval(sagemaker, arn, "Approved", "ok"))["stage"] == "staging"
    assert cli_main(["promote", "--env", "prod"]) == 2
    assert "the soak period is 24.0 h" in capsys.readouterr().err


def _pending_version(config, lake, sagemaker, s3, run: str) -> str:
    bucket = lake.buckets["artifacts"]
    for name, body in (("model.onnx", b"onnx"), ("signature.json", b"{}")):
        s3.put_object(Bucket=bucket, Key=f"pipelines/runs/{run}/onnx/{name}", Body=body)
    return sagemaker.create_model_package(
        ModelPackageGroupName=ensure_model_package_group(sagemaker, config),
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": "img"}], "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]},
        CustomerMetadataProperties={"onnx_model": f"s3://{bucket}/pipelines/runs/{run}/onnx/model.onnx"},
    )["ModelPackageArn"]


def test_the_deployed_canary_rules_reach_the_deployer_and_roll_back_on_alarm(prod):
    config, lake = prod
    sagemaker, s3, cloudwatch = boto3.client("sagemaker"), boto3.client("s3"), boto3.client("cloudwatch")
    deployment = LocalDeployment(config, lake, config.region)
    for run in ("a", "b"):
        deployment.deliver(set_approval(sagemaker, _pending_version(config, lake, sagemaker, s3, run), "Approved",
                                        "ok"))
    alarm = "mlstack-prod-staging-canary-errors"
    assert deployment.check_canaries()["canaries"] == []  # baking, alarm quiet (it does not even exist yet)
    cloudwatch.put_metric_alarm(AlarmName=alarm, MetricName="CanaryErrors", Namespace="mlstack-prod",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="canary errors")
    event = {"version": "0", "id": "1", "source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
             "account": "123456789012", "region": config.region, "time": "2026-11-25T00:00:00Z", "resources": [],
             "detail": {"alarmName": alarm, "state": {"value": "ALARM"}}}
    assert deployment.deliver({**event, "detail": {"alarmName": "someone-elses-alarm"}}) is None
    [rollback] = deployment.deliver(event)["canaries"]
    assert (rollback["action"], rollback["stage"]) == ("canary-rollback", "staging")


def test_the_promoter_is_the_callers_identity_not_a_typed_name():
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["promote", "--env", "prod", "--principal", "someone-else"])
    assert exit_info.value.code == 2  # argparse: no such option; the gate asks STS who is calling
