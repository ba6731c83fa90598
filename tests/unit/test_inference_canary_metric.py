"""The canary metric as the function emits it is the metric the stage's canary alarm reads."""

from __future__ import annotations

import json

from lambdas.inference.settings import CANARY_METRIC, canary_metric_dimensions, function_environment
from local.lambda_runtime import cold_start


def test_a_canary_failure_emits_the_metric_with_the_alarms_dimensions(monkeypatch, capsys):
    handler = cold_start("inference", function_environment(
        stage="prod", serving_parameter="/mlstack/dev/serving/prod/model", capture_bucket="capture-bucket",
        capture_sample_rate=0, max_instances=10, max_body_bytes=4096, metrics_namespace="mlstack-dev"), "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    handler.canary_failed("predict", RuntimeError("onnx"))
    [emf] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    expected = canary_metric_dimensions("prod")
    assert directive["Namespace"] == "mlstack-dev"
    assert directive["Metrics"] == [{"Name": CANARY_METRIC, "Unit": "Count"}]
    assert sorted(directive["Dimensions"][0]) == sorted(expected)
    assert {name: emf[name] for name in expected} == expected
    assert emf[CANARY_METRIC] == [1.0]
