"""No request body, model input or captured value ever reaches a log line, from any handler.

Each handler runs at INFO with its real log handler's stream captured; the payloads carry a
canary identifier, in valid and in invalid requests, and the canary must not appear anywhere.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging

import orjson

from lambdas.drift.settings import function_environment
from lambdas.retrain.settings import function_environment as retrain_environment
from local.api import LocalApi
from local.ingestion import LocalIngestion
from local.lambda_runtime import LocalLambdaContext, cold_start, scheduled_event
from mlstack.datasets.samples import clinical_notes_rows
from mlstack.log_guard import DROPPED, PayloadGuard
from tests.integration.test_drift_monitor import CONFIG, NOW, aws, capture  # noqa: F401 - aws is a fixture
from tests.integration.test_inference_api import _publish, tabular, text, world  # noqa: F401 - fixtures
from tests.integration.test_retrain import alarm_event
from tests.integration.test_retrain import aws as retrain_aws  # noqa: F401 - fixture

CANARY = "Zebulon Quackenbush"  # a name no sample or template contains
CANARY_MRN = "MRN 98765432"


@contextlib.contextmanager
def captured_logs(handler_module):
    """The function's log stream at INFO (the level deployed functions log at)."""
    logger = handler_module.logger
    stream, log_handler = io.StringIO(), logger.registered_handler
    previous, log_handler.stream = log_handler.stream, stream
    logger.setLevel("INFO")
    try:
        yield stream
    finally:
        log_handler.stream = previous


def test_the_guard_drops_payload_fields_but_keeps_counts():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "predicted", None, None)
    record.__dict__.update(body=f'{{"note": "{CANARY}"}}', instances=3, features={"a": CANARY}, model_version="v1")
    assert PayloadGuard().filter(record)
    assert (record.body, record.features, record.instances, record.model_version) == (DROPPED, DROPPED, 3, "v1")


def test_inference_logs_ids_and_sizes_never_bodies(world, text):  # noqa: F811 - imported fixtures
    _publish(world, text)
    config, lake, _, _ = world
    api = LocalApi(config, lake, capture_sample_rate=1.0)
    with captured_logs(api.handler) as stream:
        note = f"Pt {CANARY}, {CANARY_MRN}, presents with dyspnea and wheezing."
        ok = api.call("POST", "/v1/predict", {"Content-Type": "application/json"},
                      orjson.dumps({"instances": [{"note_text": note}]}))
        bad = api.call("POST", "/v1/predict", {"Content-Type": "application/json"},
                       orjson.dumps({"instances": [{"note_text": note, "extra": CANARY}]}))
        broken = api.call("POST", "/v1/predict", {"Content-Type": "application/json"}, f"{{{CANARY}".encode())
        api.handler.logger.info("a careless line", extra={"body": note, "instances": 1})
    logged = stream.getvalue()
    assert (ok.status, bad.status, broken.status) == (200, 400, 400)
    assert '"predicted"' in logged or "predicted" in logged  # the function did log
    assert CANARY not in logged and "98765432" not in logged
    assert CANARY.encode() not in bad.body  # nor is it echoed to the caller


def test_ingestion_logs_counts_never_rows(world):  # noqa: F811 - imported fixture
    config, lake, _, _ = world
    ingestion = LocalIngestion(config, lake, quiet=False)
    rows = clinical_notes_rows(5)
    rows[0]["note_text"] = f"Pt: {CANARY}, seen today. {CANARY_MRN}."
    rows.append({**rows[1], "patient_age": f"{CANARY}"})  # an invalid row: quarantined with a reason
    with captured_logs(ingestion.handler) as stream:
        result = ingestion.ingest("clinical_notes", "notes.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    logged = stream.getvalue()
    assert result["rows_quarantined"] == 1 and '"rows_quarantined":1' in logged
    assert CANARY not in logged and "98765432" not in logged


def test_the_drift_function_logs_scores_never_captured_values(aws):  # noqa: F811 - the imported fixture
    capture(aws, 300, extra_lines=json.dumps({"at": "x", "features": {"a": 1.0, "note": CANARY}}).encode())
    environment = function_environment(CONFIG, artifacts_bucket="artifacts", capture_bucket="capture")
    handler = cold_start("drift", environment, "us-east-1", quiet=False)
    with captured_logs(handler) as stream:
        handler.handler(scheduled_event("us-east-1", NOW), LocalLambdaContext(function_name="drift"))
    logged = stream.getvalue()
    assert "drift run" in logged and CANARY not in logged


def test_the_retrain_function_logs_its_decision_not_the_event(retrain_aws):  # noqa: F811
    event = alarm_event()
    event["detail"]["state"]["reason"] = f"threshold crossed for {CANARY}"
    environment = retrain_environment(CONFIG, pipeline_name="mlstack-dev-training", dataset="breast_cancer",
                                      curated_bucket="curated", record_bucket="artifacts")
    handler = cold_start("retrain", environment, "us-east-1", quiet=False)
    with captured_logs(handler) as stream:
        handler.handler(event, LocalLambdaContext(function_name="retrain"))
    logged = stream.getvalue()
    assert "retrain decision" in logged and CANARY not in logged
