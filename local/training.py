"""Local training: the rendered pipeline run on the embedded AWS, wired from the same config.

Uploads the code bundle and launcher as the stack's CDK assets would, creates the model package
group as the stack does, fills the definition's placeholders and runs it (local/pipeline_runner.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boto3

from local.embedded_aws import LocalLake
from local.lambda_runtime import LOCAL_ACCOUNT
from local.pipeline_runner import LocalPipelineRunner, RunResult
from mlstack.config import EnvironmentConfig
from pipelines.bundle import REPO_ROOT, build_code_bundle
from pipelines.definition import DEFINITION_PATH

LAUNCHER = REPO_ROOT / "pipelines" / "steps" / "launch.py"
LOCAL_IMAGE = "local-python"  # steps run with this machine's Python (stated in the runner's docstring)


def _upload_code(s3: Any, bucket: str) -> dict[str, str]:
    """Code bundle and launcher at content-addressed, slash-free keys, named as CDK names file assets
    (the hash plus the file's last extension only: sourcedir.tar.gz -> <hash>.gz)."""
    bundle, launcher = build_code_bundle(), LAUNCHER.read_bytes()
    keys = {"CodeBundleKey": f"{hashlib.sha256(bundle).hexdigest()}.gz",
            "LauncherKey": f"{hashlib.sha256(launcher).hexdigest()}.py"}
    s3.put_object(Bucket=bucket, Key=keys["CodeBundleKey"], Body=bundle)
    s3.put_object(Bucket=bucket, Key=keys["LauncherKey"], Body=launcher)
    return keys


def ensure_model_package_group(sagemaker: Any, config: EnvironmentConfig) -> str:
    name = config.model_package_group_name()
    groups = sagemaker.list_model_package_groups(NameContains=name)["ModelPackageGroupSummaryList"]
    if not any(group["ModelPackageGroupName"] == name for group in groups):
        sagemaker.create_model_package_group(ModelPackageGroupName=name,
                                             ModelPackageGroupDescription="mlstack model versions")
    return name


def run_training(config: EnvironmentConfig, lake: LocalLake, *, recipe: str, input_uri: str, work_dir: Path,
                 parameters: dict[str, Any] | None = None, progress: Any = print) -> RunResult:
    """Train, evaluate, gate and (if it passes) register one model version locally."""
    s3 = boto3.client("s3", region_name=config.region)
    sagemaker = boto3.client("sagemaker", region_name=config.region)
    artifacts = lake.buckets["artifacts"]
    substitutions = {
        "ArtifactsBucket": artifacts, "CuratedBucket": lake.buckets["curated"], "KmsKeyArn": lake.key_arn,
        "RoleName": f"{config.resource_prefix()}-training", "ImageUri": LOCAL_IMAGE,
        "ModelPackageGroup": ensure_model_package_group(sagemaker, config), "CodeBucket": artifacts,
        "AWS::Partition": "aws", "AWS::AccountId": LOCAL_ACCOUNT, "AWS::Region": config.region,
        **_upload_code(s3, artifacts),
    }
    runner = LocalPipelineRunner(DEFINITION_PATH.read_text(), substitutions, s3=s3, sagemaker=sagemaker,
                                 work_dir=work_dir, progress=progress)
    return runner.run({"Recipe": recipe, "InputDataUri": input_uri, **(parameters or {})})
