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
    s3.put_object(Bucket=lake.buckets["artifacts"], Key="pipelines/runs/x/onnx/model.onnx", Body=b"onnx")
    s3.put_object(Bucket=lake.buckets["artifacts"], Key="pipelines/runs/x/onnx/signature.json", Body=b"{}")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=ensure_model_package_group(sagemaker, config),
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": "img"}], "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]},
        CustomerMetadataProperties={"onnx_model": f"s3://{lake.buckets['artifacts']}/pipelines/runs/x/onnx/model.onnx"},
    )["ModelPackageArn"]
    deployment = LocalDeployment(config, lake, config.region)
    assert deployment.deliver(set_approval(sagemaker, arn, "Approved", "ok"))["stage"] == "staging"
    assert cli_main(["promote", "--env", "prod"]) == 2
    assert "the soak period is 24.0 h" in capsys.readouterr().err
