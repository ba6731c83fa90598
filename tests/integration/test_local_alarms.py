"""Local alarm evaluation: the template's definitions judged on moto's metrics the way CloudWatch does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from local.monitoring import AlarmDefinition, alarm_definitions, evaluate, rule_patterns_for
from mlstack.events import matches

AT = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
DIMENSIONS = [{"Name": "Model", "Value": "m"}]


def alarm(**overrides) -> AlarmDefinition:
    settings = {"name": "drift", "description": "", "threshold": 1.0, "comparison": "GreaterThanOrEqualToThreshold",
                "evaluation_periods": 3, "datapoints_to_alarm": 2, "treat_missing_data": "notBreaching",
                "action_topics": (), "metric": {"Namespace": "x/drift", "MetricName": "DriftedFeatures",
                                                 "Dimensions": DIMENSIONS, "Period": 3600, "Statistic": "Maximum"}}
    return AlarmDefinition(**{**settings, **overrides})


@pytest.fixture
def cloudwatch():
    with mock_aws():
        yield boto3.client("cloudwatch")


def record(cloudwatch, values_by_hours_ago: dict[float, float]) -> None:
    for hours, value in values_by_hours_ago.items():
        cloudwatch.put_metric_data(Namespace="x/drift", MetricData=[{
            "MetricName": "DriftedFeatures", "Value": value, "Dimensions": DIMENSIONS,
            "Timestamp": AT - timedelta(hours=hours)}])


def test_two_of_three_breaching_periods_alarm(cloudwatch):
    record(cloudwatch, {2: 0, 1: 3, 0: 4})
    result = evaluate(alarm(), cloudwatch, AT, {"x/drift"})
    assert (result.state, result.breaching, result.datapoints) == ("ALARM", 2, (0.0, 3.0, 4.0))


def test_one_breaching_period_is_not_enough_and_missing_data_is_not_breaching(cloudwatch):
    record(cloudwatch, {0: 5})
    result = evaluate(alarm(), cloudwatch, AT, {"x/drift"})
    assert (result.state, result.datapoints) == ("OK", (None, None, 5.0))


def test_missing_data_treated_as_breaching_alarms(cloudwatch):
    record(cloudwatch, {0: 5})
    assert evaluate(alarm(treat_missing_data="breaching"), cloudwatch, AT, {"x/drift"}).state == "ALARM"


def test_no_data_with_missing_treatment_is_insufficient_data(cloudwatch):
    assert evaluate(alarm(treat_missing_data="missing"), cloudwatch, AT, {"x/drift"}).state == "INSUFFICIENT_DATA"


def test_the_period_statistic_applies_to_every_datapoint_in_it(cloudwatch):
    record(cloudwatch, {0.2: 0, 0.1: 2})  # two runs in the current hour: Maximum is 2, Sum would be 2 as well
    record(cloudwatch, {1.2: 1, 1.1: 1})
    summed = alarm(threshold=2.0, datapoints_to_alarm=2,
                   metric={**alarm().metric, "Statistic": "Sum"})
    assert evaluate(summed, cloudwatch, AT, {"x/drift"}).datapoints == (None, 2.0, 2.0)
    assert evaluate(alarm(), cloudwatch, AT, {"x/drift"}).datapoints == (None, 1.0, 2.0)


def test_math_and_aws_only_metrics_are_reported_as_not_evaluated(cloudwatch):
    assert evaluate(alarm(metric=None), cloudwatch, AT, {"x/drift"}).state == "NOT_EVALUATED"
    lambda_errors = alarm(metric={**alarm().metric, "Namespace": "AWS/Lambda"})
    assert "no local source of AWS/Lambda" in evaluate(lambda_errors, cloudwatch, AT, {"x/drift"}).reason


def test_definitions_and_the_retrain_pattern_come_from_a_template():
    template = {"Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "ops"}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "lambdas.retrain.handler.handler"}},
        "Other": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "lambdas.deploy.handler.handler"}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": "drift", "Namespace": "x/drift", "MetricName": "DriftedFeatures", "Period": 3600,
            "Statistic": "Maximum", "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "TreatMissingData": "notBreaching",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Fn"}}], "AlarmActions": [{"Ref": "Topic"}]}},
        "Unnamed": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "x"}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"source": ["aws.cloudwatch"], "detail": {"alarmName": ["drift"]}},
            "Targets": [{"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}]}},
        "DeployRule": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"source": ["aws.sagemaker"]}, "Targets": [{"Arn": {"Fn::GetAtt": ["Other", "Arn"]}}]}},
    }}
    [definition] = alarm_definitions(template)
    assert definition.action_topics == ("ops",) and definition.datapoints_to_alarm == 2
    assert definition.metric["Dimensions"] == [{"Name": "FunctionName", "Value": "Fn"}]
    [pattern] = rule_patterns_for(template, "lambdas.retrain.handler.handler")
    assert matches(pattern, {"source": "aws.cloudwatch", "detail": {"alarmName": "drift"}})
