"""Monitoring on the embedded AWS: the stack's alarms evaluated locally, their actions fired.

moto stores alarms and metrics but never evaluates an alarm, and `set_alarm_state` fires no
action. So local mode takes the alarm definitions and the retrain rule's event pattern from the
synthesized template (`cdk synth` of this environment, nothing hand-copied), creates the alarms in
moto, and evaluates each single-metric alarm against the metrics recorded in moto the way
CloudWatch does: the last EvaluationPeriods periods (aligned to the period), the statistic per
period, DatapointsToAlarm of them breaching, missing data as TreatMissingData says. A transition
to ALARM is set in moto and fires the same actions: an SNS notification to the alarm's topics
(a local SQS subscriber stands in for the on-call inbox) and the "CloudWatch Alarm State Change"
event, routed to the retrain handler (in-process) when the rule's pattern matches.

Not evaluated locally, and reported as such: metric-math alarms (5xx rate, quarantine rate) and
alarms on namespaces nothing records here (API Gateway, Lambda and SQS metrics exist only on AWS;
the functions' EMF metrics are off locally).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from lambdas.drift.settings import function_environment as drift_environment
from lambdas.retrain.settings import function_environment as retrain_environment
from local.cfn import exports_of
from local.embedded_aws import LocalLake
from local.lambda_runtime import LOCAL_ACCOUNT, cold_start, invoke, scheduled_event
from mlstack.config import EnvironmentConfig
from mlstack.events import ALARM_DETAIL_TYPE, matches
from pipelines.definition import DEFINITION_PATH
from pipelines.recipes import get_recipe

RETRAIN_HANDLER = "lambdas.retrain.handler.handler"
STANDARD_STATISTICS = ("Maximum", "Minimum", "Sum", "SampleCount", "Average")  # the rest (p99 ...) are extended
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


@dataclass(frozen=True)
class AlarmDefinition:
    """One AWS::CloudWatch::Alarm as synthesized; `metric` is None for metric-math alarms."""

    name: str
    description: str
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    action_topics: tuple[str, ...]  # topic names, resolved from the template's Refs
    metric: dict[str, Any] | None

    @classmethod
    def from_resource(cls, properties: dict[str, Any], topics: dict[str, str],
                      exports: dict[str, Any]) -> AlarmDefinition:
        metric = None
        if "MetricName" in properties:
            dimensions = [{"Name": d["Name"], "Value": _local_value(d["Value"])}
                          for d in properties.get("Dimensions", [])]
            metric = {"Namespace": properties["Namespace"], "MetricName": properties["MetricName"],
                      "Dimensions": dimensions, "Period": int(properties["Period"]),
                      "Statistic": properties.get("Statistic") or properties.get("ExtendedStatistic")}
        periods = int(properties["EvaluationPeriods"])
        return cls(name=properties["AlarmName"], description=properties.get("AlarmDescription", ""),
                   threshold=float(properties["Threshold"]), comparison=properties["ComparisonOperator"],
                   evaluation_periods=periods, datapoints_to_alarm=int(properties.get("DatapointsToAlarm", periods)),
                   treat_missing_data=properties.get("TreatMissingData", "missing"),
                   action_topics=tuple(topics[ref] for ref in (_ref(action, exports)
                                                               for action in properties.get("AlarmActions", []))
                                       if ref in topics),
                   metric=metric)


def _ref(value: Any, exports: dict[str, Any]) -> str | None:
    """The logical id a Ref names, directly or through another stack's export (an alarm's topic is in the
    shared stack)."""
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        value = exports.get(value["Fn::ImportValue"])
    return value.get("Ref") if isinstance(value, dict) else None


def _local_value(value: Any) -> str:
    """A dimension value; a Ref to a resource CloudFormation names (a function, a queue) becomes its logical id,
    the local stand-in for the physical name (nothing local records those metrics: they are not evaluated)."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return ".".join(value["Fn::GetAtt"])
    return str(value)


def alarm_definitions(template: dict[str, Any]) -> list[AlarmDefinition]:
    """Every named alarm in the template (the per-function dead-letter alarms are named by CloudFormation)."""
    resources = template["Resources"]
    topics = {logical_id: resource["Properties"]["TopicName"] for logical_id, resource in resources.items()
              if resource["Type"] == "AWS::SNS::Topic" and "TopicName" in resource["Properties"]}
    exports = exports_of(template)
    return [AlarmDefinition.from_resource(resource["Properties"], topics, exports) for resource in resources.values()
            if resource["Type"] == "AWS::CloudWatch::Alarm" and "AlarmName" in resource["Properties"]]


def rule_patterns_for(template: dict[str, Any], handler: str) -> list[dict[str, Any]]:
    """The event patterns of the rules whose target is the function with this handler."""
    resources = template["Resources"]
    functions = {logical_id for logical_id, resource in resources.items()
                 if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("Handler") == handler}
    return [resource["Properties"]["EventPattern"] for resource in resources.values()
            if resource["Type"] == "AWS::Events::Rule" and "EventPattern" in resource["Properties"]
            and resource["Properties"].get("State", "ENABLED") == "ENABLED"
            and any(target["Arn"].get("Fn::GetAtt", [None])[0] in functions
                    for target in resource["Properties"]["Targets"])]


@dataclass(frozen=True)
class Evaluation:
    alarm: str
    state: str  # OK | ALARM | INSUFFICIENT_DATA | NOT_EVALUATED
    reason: str
    breaching: int = 0
    datapoints: tuple[float | None, ...] = ()


def _period_value(points: list[dict[str, Any]], statistic: str) -> float | None:
    """The statistic over the datapoints moto returns in one period (moto does not bucket them itself)."""
    if not points:
        return None
    if statistic == "Maximum":
        return max(p["Maximum"] for p in points)
    if statistic == "Minimum":
        return min(p["Minimum"] for p in points)
    if statistic == "Sum":
        return sum(p["Sum"] for p in points)
    if statistic == "SampleCount":
        return sum(p["SampleCount"] for p in points)
    return sum(p["Sum"] for p in points) / max(sum(p["SampleCount"] for p in points), 1)


def evaluate(alarm: AlarmDefinition, cloudwatch: Any, at: datetime, recorded: set[str]) -> Evaluation:
    """The alarm's state at `at` from the metrics in moto, as CloudWatch computes it. `recorded`: the
    namespaces local mode publishes to; alarms on others have no local data source."""
    metric = alarm.metric
    if metric is None:
        return Evaluation(alarm.name, "NOT_EVALUATED", "metric math: evaluated on AWS only")
    if metric["Namespace"] not in recorded:
        return Evaluation(alarm.name, "NOT_EVALUATED", f"no local source of {metric['Namespace']} metrics")
    if metric["Statistic"] not in STANDARD_STATISTICS:
        return Evaluation(alarm.name, "NOT_EVALUATED", f"statistic {metric['Statistic']}: evaluated on AWS only")
    period = metric["Period"]
    end = datetime.fromtimestamp((at.timestamp() // period + 1) * period, UTC)  # the period holding `at`, included
    start = end - timedelta(seconds=period * alarm.evaluation_periods)
    points = cloudwatch.get_metric_statistics(
        Namespace=metric["Namespace"], MetricName=metric["MetricName"], Dimensions=metric["Dimensions"],
        StartTime=start, EndTime=end, Period=period,
        Statistics=list(STANDARD_STATISTICS))["Datapoints"]
    buckets: list[list[dict[str, Any]]] = [[] for _ in range(alarm.evaluation_periods)]
    for point in points:
        index = int((point["Timestamp"].timestamp() - start.timestamp()) // period)
        if 0 <= index < alarm.evaluation_periods:
            buckets[index].append(point)
    values = tuple(_period_value(bucket, metric["Statistic"]) for bucket in buckets)
    compare = _COMPARE[alarm.comparison]
    breaching = sum(1 for v in values if v is not None and compare(v, alarm.threshold))
    if alarm.treat_missing_data == "breaching":
        breaching += sum(1 for v in values if v is None)
    if all(v is None for v in values) and alarm.treat_missing_data in ("missing", "ignore"):
        return Evaluation(alarm.name, "INSUFFICIENT_DATA", "no datapoints", 0, values)
    state = "ALARM" if breaching >= alarm.datapoints_to_alarm else "OK"
    shown = ", ".join("missing" if v is None else f"{v:g}" for v in values)
    reason = (f"{breaching} of the last {alarm.evaluation_periods} datapoints [{shown}] "
              f"{'were' if state == 'ALARM' else 'were not enough'} {alarm.comparison} {alarm.threshold:g} "
              f"(minimum {alarm.datapoints_to_alarm})")
    return Evaluation(alarm.name, state, reason, breaching, values)


@dataclass
class Firing:
    evaluation: Evaluation
    notified_topics: list[str] = field(default_factory=list)
    event: dict[str, Any] = field(default_factory=dict)
    retrain: dict[str, Any] | None = None  # the retrain handler's answer, when the rule routed the event to it


class LocalMonitoring:
    """The stack's alarms and retrain rule on the embedded AWS, with a local on-call subscriber."""

    def __init__(self, config: EnvironmentConfig, lake: LocalLake, template: dict[str, Any], *,
                 recipe: str | None = None) -> None:
        """`recipe`: what retraining trains (the environment's `training.recipe` unless the run chose another)."""
        region = config.region
        self.config, self.region, self.lake = config, region, lake
        self.cloudwatch = boto3.client("cloudwatch", region_name=region)
        self.sns, self.sqs = boto3.client("sns", region_name=region), boto3.client("sqs", region_name=region)
        self.alarms = alarm_definitions(template)
        self.retrain_patterns = rule_patterns_for(template, RETRAIN_HANDLER)
        self.topics = {name: self.sns.create_topic(Name=name)["TopicArn"]
                       for name in {topic for alarm in self.alarms for topic in alarm.action_topics}}
        self.inbox = self.sqs.create_queue(QueueName=f"{config.resource_prefix()}-local-on-call")["QueueUrl"]
        inbox_arn = self.sqs.get_queue_attributes(QueueUrl=self.inbox, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        for arn in self.topics.values():
            self.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn,
                               Attributes={"RawMessageDelivery": "true"})
        for alarm in self.alarms:
            self._put_alarm(alarm)
        self.pipeline_name = f"{config.resource_prefix()}-training"
        self._ensure_pipeline()
        trained = get_recipe(recipe or config.training.recipe)
        environment = retrain_environment(config, pipeline_name=self.pipeline_name, dataset=trained.dataset,
                                          curated_bucket=lake.buckets["curated"],
                                          record_bucket=lake.buckets["artifacts"])
        self.retrain_handler = cold_start("retrain", {**environment, "RECIPE": trained.name}, region)
        self.drift_handler = cold_start("drift", drift_environment(
            config, artifacts_bucket=lake.buckets["artifacts"], capture_bucket=lake.buckets["capture"]), region)

    def run_drift(self, at: datetime) -> dict[str, Any]:
        """What the drift schedule rule delivers at `at`: one drift run, metrics recorded in moto."""
        return invoke(self.drift_handler, scheduled_event(self.region, at, rule="drift-schedule"),
                      function_name="drift", region=self.region, checker=self.lake.checker("drift"))

    def _put_alarm(self, alarm: AlarmDefinition) -> None:
        if alarm.metric is None:
            return  # moto keeps metric-math alarms poorly; they are reported as not evaluated
        metric = alarm.metric
        statistic = ({"Statistic": metric["Statistic"]} if metric["Statistic"] in STANDARD_STATISTICS
                     else {"ExtendedStatistic": metric["Statistic"]})
        self.cloudwatch.put_metric_alarm(
            AlarmName=alarm.name, AlarmDescription=alarm.description, Namespace=metric["Namespace"],
            MetricName=metric["MetricName"], Dimensions=metric["Dimensions"], Period=metric["Period"],
            EvaluationPeriods=alarm.evaluation_periods, DatapointsToAlarm=alarm.datapoints_to_alarm,
            Threshold=alarm.threshold, ComparisonOperator=alarm.comparison, TreatMissingData=alarm.treat_missing_data,
            AlarmActions=[self.topics[t] for t in alarm.action_topics], **statistic)

    def _ensure_pipeline(self) -> None:
        """The pipeline as the stack creates it (moto runs no steps: local mode runs them, local/training.py)."""
        sagemaker = boto3.client("sagemaker", region_name=self.region)
        names = [p["PipelineName"] for p in sagemaker.list_pipelines()["PipelineSummaries"]]
        if self.pipeline_name not in names:
            sagemaker.create_pipeline(
                PipelineName=self.pipeline_name, PipelineDefinition=DEFINITION_PATH.read_text(),
                RoleArn=f"arn:aws:iam::{LOCAL_ACCOUNT}:role/{self.config.resource_prefix()}-training")

    def state(self, name: str) -> str:
        return self.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]

    def evaluate_all(self, at: datetime) -> tuple[list[Evaluation], list[Firing]]:
        """Every alarm's evaluation at `at`; transitions set in moto; actions fired for those entering ALARM."""
        evaluations, firings = [], []
        recorded = {m["Namespace"] for page in self.cloudwatch.get_paginator("list_metrics").paginate()
                    for m in page["Metrics"]}
        for alarm in self.alarms:
            evaluation = evaluate(alarm, self.cloudwatch, at, recorded)
            evaluations.append(evaluation)
            if evaluation.state == "NOT_EVALUATED":
                continue
            previous = self.state(alarm.name)
            if previous == evaluation.state:
                continue
            reason_data = {"version": "1.0", "evaluatedDatapoints": [
                {"value": v} for v in evaluation.datapoints if v is not None], "threshold": alarm.threshold}
            self.cloudwatch.set_alarm_state(AlarmName=alarm.name, StateValue=evaluation.state,
                                            StateReason=evaluation.reason, StateReasonData=json.dumps(reason_data))
            if evaluation.state == "ALARM":
                firings.append(self._fire(alarm, evaluation, previous, reason_data, at))
        return evaluations, firings

    def _fire(self, alarm: AlarmDefinition, evaluation: Evaluation, previous: str, reason_data: dict[str, Any],
              at: datetime) -> Firing:
        when = at.isoformat(timespec="milliseconds")
        firing = Firing(evaluation)
        for topic in alarm.action_topics:
            self.sns.publish(TopicArn=self.topics[topic], Subject=f"ALARM: {alarm.name}"[:100], Message=json.dumps({
                "AlarmName": alarm.name, "AlarmDescription": alarm.description, "NewStateValue": "ALARM",
                "NewStateReason": evaluation.reason, "OldStateValue": previous, "StateChangeTime": when}))
            firing.notified_topics.append(topic)
        firing.event = {
            "version": "0", "id": f"local-{alarm.name}-{int(at.timestamp())}", "source": "aws.cloudwatch",
            "detail-type": ALARM_DETAIL_TYPE, "account": LOCAL_ACCOUNT, "region": self.region, "time": when,
            "resources": [f"arn:aws:cloudwatch:{self.region}:{LOCAL_ACCOUNT}:alarm:{alarm.name}"],
            "detail": {"alarmName": alarm.name, "state": {"value": "ALARM", "reason": evaluation.reason,
                                                          "reasonData": json.dumps(reason_data), "timestamp": when},
                       "previousState": {"value": previous}}}
        firing.retrain = self.deliver(firing.event)
        return firing

    def deliver(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """EventBridge: the retrain handler is invoked only when the stack's retrain rule matches."""
        if not any(matches(pattern, event) for pattern in self.retrain_patterns):
            return None
        return invoke(self.retrain_handler, event, function_name="retrain", region=self.region,
                      checker=self.lake.checker("retrain"))

    def notifications(self) -> list[dict[str, Any]]:
        """What the on-call subscriber received (and removes it from the queue)."""
        messages = self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]
