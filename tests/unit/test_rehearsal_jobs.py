"""The rehearsal runs pipeline jobs at the job image's Python and asks the role what SageMaker asks."""

from __future__ import annotations

import json

import pytest

from local.rehearsal.jobs import image_python_version, service_requests
from local.rehearsal.packages import PackageError
from pipelines.definition import DEFINITION_PATH


@pytest.mark.parametrize(("base", "version"), [
    ("public.ecr.aws/docker/library/python:3.12-slim-bookworm", "3.12"),
    ("python:3.13", "3.13"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/base:py312", "3.12"),
])
def test_the_image_python_version_comes_from_the_from_line(tmp_path, base, version):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"# comment\nFROM {base}\nRUN true\n")
    assert image_python_version(dockerfile) == version


def test_an_image_whose_python_cannot_be_told_is_refused(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3\n")
    with pytest.raises(PackageError, match="python:<version>"):
        image_python_version(dockerfile)


def test_the_project_image_is_python_3_12():
    assert image_python_version() == "3.12"


def test_each_job_asks_for_its_image_log_stream_volume_grant_and_output_encryption():
    definition = json.loads(DEFINITION_PATH.read_text().replace("${KmsKeyArn}", "arn:aws:kms:us-east-1:1:key/k"))
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/mlstack-training:1"
    requests = service_requests(definition, image, "us-east-1", "123456789012")
    actions = [request.action for request in requests]
    jobs = 3  # Preprocess, Train, Evaluate
    assert actions.count("ecr:BatchGetImage") == jobs and actions.count("kms:CreateGrant") == jobs
    assert actions.count("kms:Encrypt") == jobs and actions.count("logs:CreateLogStream") == jobs
    assert {r.resource for r in requests if r.action == "ecr:BatchGetImage"} == {
        "arn:aws:ecr:us-east-1:111122223333:repository/mlstack-training"}
    assert all(r.context == {"kms:GrantIsForAWSResource": "true"} for r in requests if r.action == "kms:CreateGrant")
