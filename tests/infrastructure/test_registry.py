"""Approval gates as deployed: the rule's pattern, the deployer, the audit store, scoped permissions."""

from __future__ import annotations

import json

import pytest

from lambdas.deploy.events import approval_event_pattern, canary_alarm_event_pattern
from lambdas.deploy.settings import DeployEnvironment
from lambdas.inference.settings import canary_metric_dimensions


@pytest.fixture(scope="module", params=["dev", "prod"])
def env(request, templates):
    return request.param, templates[request.param]


def _deployer(template):
    return next(f for f in template.find_resources("AWS::Lambda::Function").values()
                if f["Properties"]["Handler"] == "lambdas.deploy.handler.handler")


def test_the_rule_uses_the_one_approval_pattern_for_this_environments_group(env):
    name, template = env
    [rule] = [r for r in template.find_resources("AWS::Events::Rule").values()
              if r["Properties"].get("EventPattern", {}).get("source") == ["aws.sagemaker"]]
    assert rule["Properties"]["EventPattern"] == approval_event_pattern([f"mlstack-{name}-models"])
    assert rule["Properties"]["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    target = rule["Properties"]["Targets"][0]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert "DeadLetterConfig" in target


def test_canaries_are_checked_on_a_schedule_and_when_a_canary_alarm_changes(env):
    name, template = env
    alarms = [f"mlstack-{name}-{stage}-canary-errors" for stage in ("staging", "prod")]
    deployer = next(iter(template.find_resources("AWS::Lambda::Function", {
        "Properties": {"Handler": "lambdas.deploy.handler.handler"}})))
    rules = [r for r in template.find_resources("AWS::Events::Rule").values()
             if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [deployer, "Arn"]}]
    assert [r["Properties"]["ScheduleExpression"] for r in rules if "ScheduleExpression" in r["Properties"]] == [
        "rate(5 minutes)"]
    [alarm_rule] = [r for r in rules if r["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]]
    assert alarm_rule["Properties"]["EventPattern"] == canary_alarm_event_pattern(alarms)
    for alarm in alarms:  # the alarms the rule and the deployer name exist, on the inference functions' metric
        template.has_resource_properties("AWS::CloudWatch::Alarm", {
            "AlarmName": alarm, "MetricName": "CanaryErrors", "Namespace": f"mlstack-{name}",
            "Dimensions": [{"Name": name, "Value": value}
                           for name, value in canary_metric_dimensions(alarm.split("-")[2]).items()],
            "TreatMissingData": "notBreaching"})
    variables = _deployer(template)["Properties"]["Environment"]["Variables"]
    assert (variables["CANARY_PERCENT"], variables["CANARY_BAKE_MINUTES"]) == ("10", "30")


def test_the_deployer_runs_one_at_a_time_with_every_variable_it_needs(env):
    _, template = env
    props = _deployer(template)["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    required = {n for n, f in DeployEnvironment.model_fields.items() if f.is_required()}
    assert required <= set(props["Environment"]["Variables"])
    assert "DeadLetterConfig" in props


def test_audit_records_are_locked_against_change_for_the_configured_retention(env):
    name, template = env
    days = {"dev": 30, "prod": 2557}[name]
    template.has_resource("AWS::S3::Bucket", {"Properties": {
        "ObjectLockEnabled": True,
        "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": days}}},
        "VersioningConfiguration": {"Status": "Enabled"}}, "DeletionPolicy": "RetainExceptOnCreate"})


def test_the_deployer_may_move_only_its_own_pointers_and_serving_prefix(env):
    name, template = env
    policies = [p for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
                if p["Properties"]["Description"].startswith("deploy function")]
    statements = {s.get("Sid"): s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]}
    assert f"parameter/mlstack/{name}/serving/*" in json.dumps(statements["MoveServingPointers"]["Resource"])
    assert "serving/*" in json.dumps(statements["PublishServingModels"]["Resource"])
    assert "canary-errors" in json.dumps(statements["ReadCanaryAlarms"]["Resource"])


