"""The drift function under moto: capture window vs the live version's baseline -> metrics and a report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest
from moto import mock_aws

from lambdas.drift.settings import function_environment
from lambdas.drift.window import CHUNK_ROWS
from local.lambda_runtime import LocalLambdaContext, cold_start, scheduled_event
from mlstack.config import load_environments
from mlstack.drift import build_baseline
from mlstack.lake import BASELINE_FILE, capture_key, serving_key
from mlstack.monitoring import drift_namespace
from mlstack.pointer import ServingPointer
from mlstack.schema import Column, DatasetSchema

CONFIG = load_environments()["dev"]
MODEL = CONFIG.model_package_group_name()
NAMESPACE = drift_namespace(CONFIG.resource_prefix())
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SCHEMA = DatasetSchema(name="toy", version=1, label="y", columns=(
    Column(name="a", type="float"), Column(name="b", type="float"), Column(name="y", type="category",
                                                                            categories=("no", "yes"))))


class _Version:
    arn, version = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{MODEL}/3", 3


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in ("artifacts", "capture"):
            s3.create_bucket(Bucket=bucket)
        rng = np.random.default_rng(1)
        baseline = build_baseline(SCHEMA, {"a": rng.normal(0, 1, 4000).tolist(), "b": rng.normal(0, 1, 4000).tolist()},
                                  ["yes" if v > 0.5 else "no" for v in rng.random(4000)], ["no", "yes"])
        s3.put_object(Bucket="artifacts", Key=serving_key("prod", 3, BASELINE_FILE), Body=json.dumps(baseline))
        ServingPointer(boto3.client("ssm"), CONFIG.serving_parameter_prefix()).move(
            "prod", _Version(), "s3://artifacts/serving/prod/v3/model.onnx")
        yield s3


def capture(s3, rows: int, *, shift_a: float = 0.0, at: datetime = NOW - timedelta(hours=1), seed: int = 2,
            extra_lines: bytes = b"") -> None:
    rng = np.random.default_rng(seed)
    lines = [json.dumps({"at": at.isoformat(timespec="milliseconds"), "model_version": "v3",
                         "features": {"a": float(rng.normal(shift_a, 1)), "b": float(rng.normal(0, 1))},
                         "prediction": "yes" if rng.random() > 0.5 else "no"}).encode() for _ in range(rows)]
    key = capture_key("toy", "v3", at.date().isoformat(), f"{seed}.jsonl")
    s3.put_object(Bucket="capture", Key=key, Body=b"\n".join(lines) + b"\n" + extra_lines)


def run_drift() -> dict:
    environment = function_environment(CONFIG, artifacts_bucket="artifacts", capture_bucket="capture")
    handler = cold_start("drift", environment, "us-east-1")
    return handler.handler(scheduled_event("us-east-1", NOW), LocalLambdaContext(function_name="drift"))


def metrics(name: str, dimensions: dict[str, str]) -> list[float]:
    points = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=NAMESPACE, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=NOW - timedelta(hours=1), EndTime=NOW + timedelta(hours=1), Period=3600,
        Statistics=["Maximum"])["Datapoints"]
    return [point["Maximum"] for point in points]


def test_drifted_capture_publishes_metrics_with_the_dimensions_the_alarms_read(aws):
    capture(aws, 600, shift_a=1.0)
    result = run_drift()
    assert result["outcome"] == "compared" and result["model_version"] == 3
    assert result["summary"]["drifted"] == ["a"]
    assert metrics("DriftedFeatures", {"Model": MODEL}) == [1.0]
    assert metrics("WindowRows", {"Model": MODEL}) == [600.0]
    [psi_a] = metrics("FeaturePSI", {"Model": MODEL, "Feature": "a"})
    [psi_b] = metrics("FeaturePSI", {"Model": MODEL, "Feature": "b"})
    assert psi_a >= 0.2 > psi_b
    assert metrics("PredictionPSI", {"Model": MODEL})


def test_the_report_lands_in_the_artifacts_zone_without_feature_values(aws):
    capture(aws, 300)
    result = run_drift()
    key = result["report_uri"].removeprefix("s3://artifacts/")
    assert key.startswith("monitoring/drift/prod/v3/")
    report = json.loads(aws.get_object(Bucket="artifacts", Key=key)["Body"].read())
    assert report["window"]["model_version"] == 3 and report["window"]["compared"] is True
    assert report["summary"]["drifted_features"] == 0
    assert set(report["features"]) == {"a", "b"}


def test_a_quiet_window_publishes_no_drift_scores_so_the_alarms_see_missing_data(aws):
    capture(aws, CONFIG.monitoring.min_rows - 1, shift_a=3.0)
    result = run_drift()
    assert result["outcome"] == "too-few-rows"
    assert metrics("WindowRows", {"Model": MODEL}) == [CONFIG.monitoring.min_rows - 1.0]
    assert metrics("DriftedFeatures", {"Model": MODEL}) == []


def test_only_records_inside_the_window_count_and_malformed_lines_are_counted(aws):
    capture(aws, 250)
    capture(aws, 500, shift_a=3.0, at=NOW - timedelta(hours=CONFIG.monitoring.window_hours + 1), seed=3)
    capture(aws, 10, at=NOW + timedelta(minutes=5), seed=4, extra_lines=b"{not json\n[1, 2]\n")
    result = run_drift()
    assert result["summary"]["window_rows"] == 250  # the old day and the future records are outside
    assert result["summary"]["malformed_lines"] == 2
    assert result["summary"]["drifted_features"] == 0


def test_windows_larger_than_a_chunk_are_counted_in_full(aws):
    for seed in range(3):
        capture(aws, CHUNK_ROWS // 2, seed=10 + seed)
    assert run_drift()["summary"]["window_rows"] == 3 * (CHUNK_ROWS // 2)


def test_no_live_version_or_no_baseline_is_a_recorded_no_op(aws):
    ssm = boto3.client("ssm")
    aws.delete_object(Bucket="artifacts", Key=serving_key("prod", 3, BASELINE_FILE))
    assert run_drift()["outcome"] == "no-baseline"
    ServingPointer(ssm, CONFIG.serving_parameter_prefix()).clear("prod")
    assert run_drift()["outcome"] == "no-live-version"
    assert metrics("WindowRows", {"Model": MODEL}) == []
