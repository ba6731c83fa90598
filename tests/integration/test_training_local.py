"""The rendered pipeline run locally on moto: passes the gate and registers, or fails and registers nothing."""

from __future__ import annotations

import random

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from local.embedded_aws import provision_lake
from local.training import run_training
from mlstack.config import load_environments
from mlstack.datasets.samples import breast_cancer_rows, clinical_entities_rows


@pytest.fixture
def lake_env(tmp_path):
    with mock_aws():
        config = load_environments()["dev"]
        yield config, provision_lake(config), boto3.client("s3"), boto3.client("sagemaker")


def _land(s3, lake, rows, name):
    body = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), body)
    key = f"curated/{name}/ingest_date=2026-11-24/part.parquet"
    s3.put_object(Bucket=lake.buckets["curated"], Key=key, Body=body.getvalue().to_pybytes())
    return f"s3://{lake.buckets['curated']}/curated/{name}/"


def _versions(sagemaker, config):
    return sagemaker.list_model_packages(ModelPackageGroupName=config.model_package_group_name())[
        "ModelPackageSummaryList"]


def test_good_data_passes_the_gate_and_waits_for_approval(lake_env, tmp_path):
    config, lake, s3, sagemaker = lake_env
    uri = _land(s3, lake, breast_cancer_rows(), "breast_cancer")
    result = run_training(config, lake, recipe="tabular", input_uri=uri, work_dir=tmp_path, progress=lambda _: None)
    assert result.status == "Succeeded", result.failure_reason
    assert [s.name for s in result.steps] == ["Preprocess", "Train", "Evaluate", "QualityGate", "Register"]
    [version] = _versions(sagemaker, config)
    assert version["ModelPackageArn"] == result.model_package_arn
    assert version["ModelApprovalStatus"] == "PendingManualApproval"
    package = sagemaker.describe_model_package(ModelPackageName=result.model_package_arn)
    onnx_uri = package["CustomerMetadataProperties"]["onnx_model"]
    bucket, key = onnx_uri[5:].split("/", 1)
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0


def test_a_bad_data_set_fails_the_gate_and_registers_nothing(lake_env, tmp_path):
    config, lake, s3, sagemaker = lake_env
    rows = breast_cancer_rows()
    labels = [row["diagnosis"] for row in rows]
    random.Random(3).shuffle(labels)  # labels unrelated to the features
    uri = _land(s3, lake, [{**row, "diagnosis": label} for row, label in zip(rows, labels, strict=True)], "bad")
    result = run_training(config, lake, recipe="tabular", input_uri=uri, work_dir=tmp_path, progress=lambda _: None)
    assert result.status == "Failed"
    assert result.steps[-1].name == "FailQualityGate"
    assert "Quality gate failed" in result.failure_reason
    assert result.evaluation["quality_gate"]["accuracy"]["value"] < 0.9
    assert _versions(sagemaker, config) == []


def test_a_failing_step_is_named_with_its_log(lake_env, tmp_path):
    config, lake, s3, _ = lake_env
    s3.put_object(Bucket=lake.buckets["curated"], Key="curated/empty/readme.txt", Body=b"no parquet here")
    result = run_training(config, lake, recipe="tabular", input_uri=f"s3://{lake.buckets['curated']}/curated/empty/",
                          work_dir=tmp_path, progress=lambda _: None)
    assert result.status == "Failed"
    assert "step Preprocess exited with 1" in result.failure_reason
    assert "no parquet files under" in result.failure_reason


def test_unknown_parameters_are_refused(lake_env, tmp_path):
    config, lake, _, _ = lake_env
    with pytest.raises(ValueError, match="unknown pipeline parameter"):
        run_training(config, lake, recipe="tabular", input_uri="s3://x/", work_dir=tmp_path,
                     parameters={"MinAcuracy": 0.5}, progress=lambda _: None)


def test_steps_run_in_dependency_order_whatever_their_listed_order():
    from local.pipeline_runner import dependency_order

    steps = [{"Name": "Evaluate", "Arguments": {"x": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}},
             {"Name": "Train", "Arguments": {"x": {"Get": "Steps.Preprocess.ProcessingOutputConfig"}}},
             {"Name": "Preprocess", "Arguments": {}},
             {"Name": "Report", "Arguments": {}, "DependsOn": ["Evaluate"]}]
    assert [s["Name"] for s in dependency_order(steps)] == ["Preprocess", "Train", "Evaluate", "Report"]


def test_an_entity_model_below_the_recall_threshold_fails_the_gate(lake_env, tmp_path):
    """The same gate, fed by entity-level scores: spans on random words, of random types, cannot be learned."""
    from mlstack.entity_tagger import tokenize

    config, lake, s3, sagemaker = lake_env
    rng = random.Random(5)
    rows = []
    for row in clinical_entities_rows(200):
        start, end, _ = rng.choice([token for token in tokenize(row["text"]) if token[2].isalpha()])
        rows.append({**row, "entities": [{"type": rng.choice(["DRUG", "TEST"]), "start": start, "end": end}]})
    uri = _land(s3, lake, rows, "clinical_entities")
    result = run_training(config, lake, recipe="ner", input_uri=uri, work_dir=tmp_path, progress=lambda _: None)
    assert result.status == "Failed", result.failure_reason
    assert result.evaluation["quality_gate"]["recall"]["value"] < 0.8
    assert result.steps[-1].name == "FailQualityGate"
    assert "MinRecall" in result.failure_reason
    assert _versions(sagemaker, config) == []
