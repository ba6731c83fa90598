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


def test_capture_de_identifies_on_its_own_thread_never_in_the_request():
    import threading

    from lambdas.inference import capture as capture_module
    from lambdas.inference.capture import CaptureBuffer
    from mlstack.signature import ModelSignature

    seen_on = []
    real = capture_module.scrub

    def recording(columns, instance):
        seen_on.append(threading.current_thread().name)
        return real(columns, instance)

    class _S3:
        def __init__(self):
            self.bodies = []

        def put_object(self, **request):
            self.bodies.append(request["Body"])

    signature = ModelSignature(recipe="text", dataset="clinical_notes", schema_version=1, kind="text",
                               features=("note_text",), classes=("copd", "pneumonia"))
    s3 = _S3()
    buffer = CaptureBuffer(s3, "capture", sample_rate=1.0, batch_size=2)
    original, capture_module.scrub = capture_module.scrub, recording
    try:
        buffer.offer(signature, "v1", [{"note_text": "Pt Maria Garcia, MRN 4471823"}] * 2, [{"label": "copd"}] * 2)
        buffer.flush(wait=True)
    finally:
        capture_module.scrub = original
    assert seen_on and all(name.startswith("capture") for name in seen_on)
    assert b"Garcia" not in s3.bodies[0] and b"4471823" not in s3.bodies[0]
