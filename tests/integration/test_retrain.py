"""Guarded retraining under moto (and Stubber where moto cannot hold an execution in flight)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from lambdas.retrain.retrainer import AlarmTrigger, Retrainer
from lambdas.retrain.settings import RetrainEnvironment, function_environment, parse_environment
from local.lambda_runtime import LocalLambdaContext, cold_start
from mlstack.config import load_environments

PIPELINE = "mlstack-dev-training"
ENV = RetrainEnvironment(PIPELINE_NAME=PIPELINE, RECIPE="tabular", CURATED_BUCKET="curated",
                         DATASET_PREFIX="curated/breast_cancer/", RECORD_BUCKET="artifacts", COOLDOWN_HOURS=24)


def alarm_event(event_id: str = "5f1c0f0e-0000-4000-8000-000000000001") -> dict:
    return {"version": "0", "id": event_id, "source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
            "time": "2026-12-01T10:00:00Z", "detail": {
                "alarmName": "mlstack-dev-model-drift",
                "state": {"value": "ALARM", "reason": "2 of the last 3 datapoints were >= 1",
                          "reasonData": json.dumps({"evaluatedDatapoints": [{"value": 3.0}, {"value": 4.0}]})}}}


@pytest.fixture
def aws():
    with mock_aws():
        s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
        s3.create_bucket(Bucket="artifacts")
        sagemaker.create_pipeline(PipelineName=PIPELINE, RoleArn="arn:aws:iam::123456789012:role/training",
                                  PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
        yield s3, sagemaker


def records(s3) -> list[dict]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="artifacts", Prefix="monitoring/retrain/").get("Contents", [])]
    return [json.loads(s3.get_object(Bucket="artifacts", Key=key)["Body"].read()) for key in sorted(keys)]


def test_a_drift_alarm_starts_the_pipeline_on_the_latest_curated_data_and_records_why(aws):
    s3, sagemaker = aws
    record = Retrainer(sagemaker=sagemaker, s3=s3, env=ENV).handle(AlarmTrigger.from_event(alarm_event()))
    assert record.decision == "started"
    [execution] = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    assert execution["PipelineExecutionArn"] == record.execution_arn
    assert "mlstack-dev-model-drift" in execution["PipelineExecutionDescription"]
    assert record.parameters == {"Recipe": "tabular", "InputDataUri": "s3://curated/curated/breast_cancer/"}
    [stored] = records(s3)
    assert stored["decision"] == "started" and stored["trigger"]["alarm_name"] == "mlstack-dev-model-drift"
    assert stored["trigger"]["reason_data"]["evaluatedDatapoints"] == [{"value": 3.0}, {"value": 4.0}]
    assert stored["record_uri"] == record.record_uri


def test_a_second_alarm_within_the_cooldown_is_held_and_after_it_starts_again(aws):
    s3, sagemaker = aws
    now = datetime.now(UTC)
    Retrainer(sagemaker=sagemaker, s3=s3, env=ENV, clock=lambda: now).handle(AlarmTrigger.from_event(alarm_event()))
    later = Retrainer(sagemaker=sagemaker, s3=s3, env=ENV, clock=lambda: now + timedelta(hours=23))
    held = later.handle(AlarmTrigger.from_event(alarm_event("5f1c0f0e-0000-4000-8000-000000000002")))
    assert held.decision == "held-cooldown" and held.execution_arn is None
    assert "24 h cooldown" in held.detail
    after = Retrainer(sagemaker=sagemaker, s3=s3, env=ENV, clock=lambda: now + timedelta(hours=25))
    assert after.handle(AlarmTrigger.from_event(alarm_event("5f1c0f0e-0000-4000-8000-000000000003"))).decision == \
        "started"
    assert len(sagemaker.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]) == 2
    assert [r["decision"] for r in records(s3)] == ["started", "held-cooldown", "started"]


def test_no_start_while_an_execution_is_in_flight_whatever_the_cooldown(aws):
    s3, sagemaker = aws
    env = ENV.model_copy(update={"COOLDOWN_HOURS": 0})
    with Stubber(sagemaker) as stub:  # moto's executions are Succeeded at once: an in-flight one is stubbed
        stub.add_response("list_pipeline_executions", {"PipelineExecutionSummaries": [{
            "PipelineExecutionArn": f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{PIPELINE}/execution/abc",
            "StartTime": datetime.now(UTC) - timedelta(days=3), "PipelineExecutionStatus": "Executing"}]},
            {"PipelineName": PIPELINE, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": ANY})
        record = Retrainer(sagemaker=sagemaker, s3=s3, env=env).handle(AlarmTrigger.from_event(alarm_event()))
        stub.assert_no_pending_responses()  # and no start_pipeline_execution was called (it would be unexpected)
    assert record.decision == "held-in-flight" and "is Executing" in record.detail


def test_a_redelivered_event_carries_the_same_idempotency_token(aws):
    s3, sagemaker = aws
    tokens: list[str] = []
    sagemaker.meta.events.register("provide-client-params.sagemaker.StartPipelineExecution",
                                   lambda params, **_: tokens.append(params["ClientRequestToken"]))
    no_cooldown = Retrainer(sagemaker=sagemaker, s3=s3, env=ENV.model_copy(update={"COOLDOWN_HOURS": 0}))
    for event_id in ("5f1c0f0e-0000-4000-8000-000000000001",) * 2 + ("5f1c0f0e-0000-4000-8000-000000000009",):
        no_cooldown.handle(AlarmTrigger.from_event(alarm_event(event_id)))
    assert tokens[0] == tokens[1] != tokens[2]  # SageMaker starts one run per token
    assert all(len(token) >= 32 for token in tokens)


def test_an_unparseable_reason_is_kept_not_fatal():
    event = alarm_event()
    event["detail"]["state"]["reasonData"] = "not json"
    assert AlarmTrigger.from_event(event).reason_data == {"unparsed": "not json"}


def test_the_handler_decides_in_process_with_the_deployed_environment(aws):
    config = load_environments()["dev"]
    environment = function_environment(config, pipeline_name=PIPELINE, dataset="breast_cancer",
                                       curated_bucket="curated", record_bucket="artifacts")
    assert config.monitoring.retrain_cooldown_hours == parse_environment(environment).COOLDOWN_HOURS
    handler = cold_start("retrain", environment, "us-east-1")
    answer = handler.handler(alarm_event(), LocalLambdaContext(function_name="retrain"))
    assert answer["decision"] == "started" and answer["alarm"] == "mlstack-dev-model-drift"
    again = handler.handler(alarm_event(), LocalLambdaContext(function_name="retrain"))
    assert again["decision"] == "held-cooldown"
