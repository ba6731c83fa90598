"""Monitoring as deployed: drift schedule and alarms on the metrics the function publishes, operational
alarms with runbooks, the guarded retrain rule, scoped IAM, the dashboard, the VPC endpoints."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lambdas.drift.monitor import metric_data
from lambdas.drift.settings import DriftEnvironment
from lambdas.retrain.settings import RetrainEnvironment
from mlstack.config import load_environments
from mlstack.monitoring import retrain_event_pattern
from tests.conftest import REPO_ROOT, refers_to


@pytest.fixture(scope="module", params=["dev", "prod"])
def env(request, templates):
    return request.param, templates[request.param]


def _resources(template, kind):
    return template.find_resources(kind)


def _function(template, name):
    [(logical_id, function)] = [(k, f) for k, f in _resources(template, "AWS::Lambda::Function").items()
                                if f["Properties"]["Handler"] == f"lambdas.{name}.handler.handler"]
    return logical_id, function


def _alarm(template, name):
    [alarm] = [a for a in _resources(template, "AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("AlarmName") == name]
    return alarm["Properties"]


def _policy_statements(template, role_logical_id):
    return [s for p in _resources(template, "AWS::IAM::ManagedPolicy").values()
            if {"Ref": role_logical_id} in p["Properties"].get("Roles", [])
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_the_drift_alarm_reads_the_metric_the_function_publishes(env):
    name, template = env
    config = load_environments()[name]
    alarm = _alarm(template, f"mlstack-{name}-model-drift")
    report = {"window_rows": 500, "features": {}, "summary": {"drifted_features": 2, "max_psi": 0.5,
                                                             "prediction_psi": 0.1}}
    published = {d["MetricName"]: d for d in metric_data(report, config.model_package_group_name(),
                                                         datetime.now(UTC), compared=True)}
    drifted = published[alarm["MetricName"]]
    assert alarm["Namespace"] == f"mlstack-{name}/drift"
    assert alarm["Dimensions"] == drifted["Dimensions"]
    assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", config.monitoring.schedule_minutes * 60)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        config.monitoring.evaluation_periods, config.monitoring.datapoints_to_alarm)
    assert alarm["TreatMissingData"] == "notBreaching"
    prediction = _alarm(template, f"mlstack-{name}-prediction-drift")
    assert prediction["MetricName"] == "PredictionPSI" and prediction["Threshold"] == config.monitoring.psi_threshold


def test_every_named_alarm_notifies_people_and_links_an_existing_runbook_section(env):
    name, template = env
    topic = next(k for k, t in _resources(template, "AWS::SNS::Topic").items()
                 if t["Properties"]["TopicName"] == f"mlstack-{name}-ops-alerts")
    names = []
    for logical_id, alarm in _resources(template, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        assert any(refers_to(template.to_json(), action, topic) for action in props["AlarmActions"]), logical_id
        assert props["TreatMissingData"] == "notBreaching"
        path, anchor = props["AlarmDescription"].split("Runbook: ")[1].split("#")
        headings = [line[3:] for line in (REPO_ROOT / path).read_text().splitlines() if line.startswith("## ")]
        anchors = {heading.strip().lower().replace(" ", "-") for heading in headings}
        assert anchor in anchors, (logical_id, anchor)
        names.append(props.get("AlarmName", logical_id))
    for expected in ("api-5xx-rate", "api-p99-latency"):
        assert {f"mlstack-{name}-{stage}-{expected}" for stage in ("staging", "prod")} <= set(names)
    for function in ("ingest", "deploy", "staging-inference", "prod-inference", "drift", "retrain"):
        assert {f"mlstack-{name}-{function}-errors", f"mlstack-{name}-{function}-throttles"} <= set(names)
    assert {f"mlstack-{name}-ingest-quarantine-rate", f"mlstack-{name}-training-failed"} <= set(names)


def test_the_5xx_rate_and_quarantine_rate_are_ratios_not_counts(env):
    name, template = env
    rate = _alarm(template, f"mlstack-{name}-prod-api-5xx-rate")
    [expression] = [m for m in rate["Metrics"] if "Expression" in m]
    assert "errors / requests" in expression["Expression"]
    quarantine = _alarm(template, f"mlstack-{name}-ingest-quarantine-rate")
    assert any("quarantined / rows" in m.get("Expression", "") for m in quarantine["Metrics"])


def test_the_drift_function_runs_on_the_schedule_with_its_settings(env):
    name, template = env
    config = load_environments()[name]
    logical_id, function = _function(template, "drift")
    variables = function["Properties"]["Environment"]["Variables"]
    required = {n for n, f in DriftEnvironment.model_fields.items() if f.is_required()}
    assert required <= set(variables)
    assert variables["STAGE"] == config.monitoring.stage and variables["METRIC_NAMESPACE"] == f"mlstack-{name}/drift"
    [rule] = [r for r in _resources(template, "AWS::Events::Rule").values()
              if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}]
    minutes = config.monitoring.schedule_minutes
    assert rule["Properties"]["ScheduleExpression"] in (f"rate({minutes} minutes)", f"rate({minutes // 60} hour)",
                                                        f"rate({minutes // 60} hours)")
    assert "DeadLetterConfig" in rule["Properties"]["Targets"][0]


def test_the_drift_function_may_read_capture_and_write_metrics_to_its_namespace_only(env):
    name, template = env
    _, function = _function(template, "drift")
    statements = {s["Sid"]: s for s in _policy_statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0])}
    assert statements["PublishDriftMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": f"mlstack-{name}/drift"}}
    assert statements["ListCapture"]["Condition"] == {"StringLike": {"s3:prefix": ["capture/*"]}}
    assert statements["ReadServingPointer"]["Action"] == "ssm:GetParameter"
    text = json.dumps(statements)
    assert "s3:PutObject" in json.dumps(statements["WriteReports"]) and "monitoring/drift/*" in text
    assert "s3:DeleteObject" not in text and "sagemaker:" not in text


def test_only_a_drift_alarm_entering_alarm_starts_guarded_retraining(env):
    name, template = env
    logical_id, function = _function(template, "retrain")
    [rule] = [r for r in _resources(template, "AWS::Events::Rule").values()
              if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}]
    assert rule["Properties"]["EventPattern"] == retrain_event_pattern(
        [f"mlstack-{name}-model-drift", f"mlstack-{name}-prediction-drift"])
    assert function["Properties"]["ReservedConcurrentExecutions"] == 1  # decisions one at a time
    variables = function["Properties"]["Environment"]["Variables"]
    assert {n for n, f in RetrainEnvironment.model_fields.items() if f.is_required()} <= set(variables)
    statements = _policy_statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0])
    [start] = [s for s in statements if s["Sid"] == "StartGuardedRuns"]
    assert sorted(start["Action"]) == ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"]
    assert f"pipeline/mlstack-{name}-training" in json.dumps(start["Resource"])


def test_the_dashboard_shows_traffic_latency_errors_drift_versions_and_pipeline_runs(env):
    _, template = env
    [dashboard] = _resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Traffic", "Latency", "Errors", "Drift per feature", "Model versions", "Pipeline runs", "Alarms"):
        assert title in body
    assert "mean_radius" in body  # one series per feature of the configured recipe


def test_prod_functions_reach_every_aws_api_they_call_through_private_endpoints(templates):
    endpoints = _resources(templates["prod"], "AWS::EC2::VPCEndpoint").values()
    services = {json.dumps(e["Properties"]["ServiceName"]) for e in endpoints}
    for service in ("ssm", "sagemaker.api", "sns", "monitoring", "s3"):
        assert any(f".{service}" in name or f"{service}\"" in name for name in services), service
    assert not _resources(templates["dev"], "AWS::EC2::VPCEndpoint")
