"""Drift monitoring, operational alarms, guarded retraining and the dashboard (docs/monitoring.md).

- drift function on an EventBridge schedule: the watched stage's capture window vs the live
  version's training baseline -> CloudWatch metrics (namespace `<prefix>/drift`, dimensions Model
  and Feature) and a report in the artifacts zone;
- alarms: drift (drifted features in N of M runs), prediction drift, and the operational ones
  (API 5xx rate and p99 latency per stage, errors and throttles per function, ingestion
  quarantine rate); missing data is not breaching (no traffic is not an incident); every alarm
  names its runbook;
- a drift alarm entering ALARM -> EventBridge -> retrain function (storm guard: one run at a time
  and a cooldown) -> the pipeline; the new version waits for a person's approval like any other.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from lambdas.drift.settings import function_environment as drift_environment
from lambdas.retrain.settings import function_environment as retrain_environment
from mlstack.config import EnvironmentConfig
from mlstack.lake import CAPTURE_PREFIX, SERVING_PREFIX
from mlstack.monitoring import (
    DRIFTED_FEATURES,
    FEATURE_PSI,
    MAX_PSI,
    MONITORING_PREFIX,
    PREDICTION_PSI,
    WINDOW_ROWS,
    drift_alarm_name,
    drift_namespace,
    feature_dimensions,
    model_dimensions,
    prediction_drift_alarm_name,
    retrain_alarm_names,
    retrain_event_pattern,
)
from mlstack.pointer import pointer_name
from pipelines.recipes import get_recipe
from stacks.arns import arn, key_through, nag_rendered
from stacks.data_lake import DataLake
from stacks.functions import SecureFunction
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork
from stacks.rules import cdk_event_pattern, function_target
from stacks.serving import ServingApi
from stacks.training import Training

RUNBOOK = "docs/runbooks/monitoring.md"
OPERATIONAL_PERIOD = cdk.Duration.minutes(5)
GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING


class Monitoring(Construct):
    """Drift and retrain functions, their rules, every alarm in `alarms`, and the dashboard."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake, training: Training,
                 serving: dict[str, ServingApi], functions: dict[str, SecureFunction], network: PrivateNetwork | None,
                 bundle: bool, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self.config, settings = config, config.monitoring
        self.prefix, self.model = config.resource_prefix(), config.model_package_group_name()
        self.namespace = drift_namespace(self.prefix)
        period = cdk.Duration.minutes(settings.schedule_minutes)
        self.drift = SecureFunction(
            self, "Drift", name="drift", config=config, key=lake.key, network=network, bundle=bundle,
            removal_policy=removal_policy,
            runbook="docs/runbooks/monitoring.md#function-errors",
            memory_mb=1024, timeout_seconds=300, reserved_concurrency=1,
            description=f"Drift of the {settings.stage} model's captured traffic vs its training baseline",
            environment=drift_environment(config, artifacts_bucket=DataLake.bucket_name(config, "artifacts"),
                                          capture_bucket=DataLake.bucket_name(config, "capture")))
        self._grant_drift(lake)
        events.Rule(self, "DriftSchedule", description="One drift run per period (each run is one alarm datapoint)",
                    schedule=events.Schedule.rate(period), targets=[function_target(self.drift)])
        self.drift_alarm = self._drift_alarm(
            "DriftAlarm", drift_alarm_name(self.prefix), DRIFTED_FEATURES, threshold=1, period=period,
            anchor="model-drift", what="Input features drifted from the training baseline (PSI, missing-rate or OOV "
                                       "change over threshold)")
        self.prediction_drift_alarm = self._drift_alarm(
            "PredictionDriftAlarm", prediction_drift_alarm_name(self.prefix), PREDICTION_PSI,
            threshold=settings.psi_threshold, period=period, anchor="prediction-drift",
            what="The model's prediction distribution drifted from the training baseline")
        self.retrain = SecureFunction(
            self, "Retrain", name="retrain", config=config, key=lake.key, network=network, bundle=bundle,
            removal_policy=removal_policy,
            runbook="docs/runbooks/monitoring.md#function-errors",
            timeout_seconds=60, reserved_concurrency=1,  # one decision at a time
            description="Drift alarm -> training pipeline on the latest curated data (in-flight guard, cooldown)",
            environment=retrain_environment(
                config, pipeline_name=training.pipeline.pipeline_name,
                dataset=get_recipe(config.training.recipe).dataset,
                curated_bucket=DataLake.bucket_name(config, "curated"),
                record_bucket=DataLake.bucket_name(config, "artifacts")))
        self._grant_retrain(lake, training)
        self.retrain_rule = events.Rule(
            self, "RetrainRule", description="A drift alarm entered ALARM: retrain (guarded)",
            enabled=settings.retrain_on_drift, targets=[function_target(self.retrain)],
            event_pattern=cdk_event_pattern(retrain_event_pattern(retrain_alarm_names(self.prefix))))
        functions = {**functions, "drift": self.drift, "retrain": self.retrain}
        self.alarms = [self.drift_alarm, self.prediction_drift_alarm, self._quarantine_alarm(),
                       self._pipeline_alarm(training)]
        self.alarms += [alarm for stage, api in serving.items() for alarm in self._api_alarms(stage, api)]
        self.alarms += [alarm for name, secure in functions.items() for alarm in self._function_alarms(name, secure)]
        self.failure_alarms = [self.drift.failure_alarm, self.retrain.failure_alarm]
        self.dashboard = self._dashboard(serving, functions, training, period)

    # --- alarms ---------------------------------------------------------------------------------------

    def _alarm(self, id_: str, name: str, metric: cloudwatch.IMetric, *, threshold: float, anchor: str, what: str,
               periods: int = 3, datapoints: int = 2, operator: cloudwatch.ComparisonOperator = GTE,
               runbook: str = RUNBOOK) -> cloudwatch.Alarm:
        """Missing data is not breaching everywhere: no traffic (or no drift run) is not an incident."""
        return cloudwatch.Alarm(self, id_, alarm_name=name, metric=metric, threshold=threshold,
                                evaluation_periods=periods, datapoints_to_alarm=datapoints,
                                comparison_operator=operator, treat_missing_data=NOT_BREACHING,
                                alarm_description=f"{what}. Runbook: {runbook}#{anchor}")

    def _drift_alarm(self, id_: str, name: str, metric_name: str, *, threshold: float, period: cdk.Duration,
                     anchor: str, what: str) -> cloudwatch.Alarm:
        settings = self.config.monitoring
        metric = cloudwatch.Metric(namespace=self.namespace, metric_name=metric_name,
                                   dimensions_map=model_dimensions(self.model), statistic="Maximum", period=period)
        retrains = "; starts retraining (guarded), the new version waits for approval" if settings.retrain_on_drift \
            else ""
        return self._alarm(id_, name, metric, threshold=threshold, anchor=anchor, what=what + retrains,
                           periods=settings.evaluation_periods, datapoints=settings.datapoints_to_alarm)

    def _quarantine_alarm(self) -> cloudwatch.Alarm:
        """Share of ingested rows quarantined (the ingest function's EMF metrics, dimension service=ingest)."""
        def ingest(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace=self.prefix, metric_name=name, dimensions_map={"service": "ingest"},
                                     statistic="Sum", period=cdk.Duration.hours(1))

        rate = cloudwatch.MathExpression(expression="IF(rows > 0, quarantined / rows, 0)", label="quarantine rate",
                                         using_metrics={"rows": ingest("RowsIn"),
                                                        "quarantined": ingest("RowsQuarantined")},
                                         period=cdk.Duration.hours(1))
        return self._alarm("QuarantineRateAlarm", f"{self.prefix}-ingest-quarantine-rate", rate,
                           threshold=self.config.monitoring.quarantine_rate, anchor="quarantine-rate",
                           what="Ingestion quarantined more than the configured share of rows in an hour",
                           periods=1, datapoints=1, operator=GT)

    def _pipeline_alarm(self, training: Training) -> cloudwatch.Alarm:
        """A training pipeline execution failed (a step error or the quality gate's Fail step)."""
        failed = cloudwatch.Metric(namespace="AWS/Sagemaker/ModelBuildingPipeline", metric_name="ExecutionFailed",
                                   dimensions_map={"PipelineName": training.pipeline.pipeline_name}, statistic="Sum",
                                   period=cdk.Duration.hours(1))
        return self._alarm("PipelineFailedAlarm", f"{self.prefix}-training-failed", failed, threshold=1,
                           anchor="pipeline-failed", what="A training pipeline execution failed",
                           periods=1, datapoints=1, runbook="docs/runbooks/training.md")

    def _api_alarms(self, stage: str, api: ServingApi) -> list[cloudwatch.Alarm]:
        settings = self.config.monitoring
        rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, errors / requests, 0)", label=f"{stage} 5xx rate", period=OPERATIONAL_PERIOD,
            using_metrics={"errors": api.api.metric_server_error(period=OPERATIONAL_PERIOD, statistic="Sum"),
                           "requests": api.api.metric_count(period=OPERATIONAL_PERIOD, statistic="Sum")})
        latency = api.api.metric_latency(period=OPERATIONAL_PERIOD, statistic="p99")
        return [
            self._alarm(f"{stage.title()}Api5xxAlarm", f"{self.prefix}-{stage}-api-5xx-rate", rate,
                        threshold=settings.api_5xx_rate, anchor="api-5xx-rate",
                        what=f"The {stage} inference API answers 5xx too often", operator=GT),
            self._alarm(f"{stage.title()}ApiLatencyAlarm", f"{self.prefix}-{stage}-api-p99-latency", latency,
                        threshold=settings.p99_latency_ms, anchor="api-p99-latency",
                        what=f"The {stage} inference API is slow (p99, ms)", operator=GT),
        ]

    def _function_alarms(self, name: str, secure: SecureFunction) -> list[cloudwatch.Alarm]:
        title = name.title().replace("-", "")
        return [
            self._alarm(f"{title}ErrorsAlarm", f"{self.prefix}-{name}-errors",
                        secure.metric("Errors", period=OPERATIONAL_PERIOD, statistic="Sum"), threshold=1,
                        anchor="function-errors", what=f"The {name} function raised errors", periods=1, datapoints=1),
            self._alarm(f"{title}ThrottlesAlarm", f"{self.prefix}-{name}-throttles",
                        secure.metric("Throttles", period=OPERATIONAL_PERIOD, statistic="Sum"), threshold=1,
                        anchor="function-throttles",
                        what=f"The {name} function was throttled (reserved concurrency used up)",
                        periods=1, datapoints=1),
        ]

    # --- dashboard ------------------------------------------------------------------------------------

    def _dashboard(self, serving: dict[str, ServingApi], functions: dict[str, SecureFunction], training: Training,
                   period: cdk.Duration) -> cloudwatch.Dashboard:
        features = get_recipe(self.config.training.recipe).drift_features

        def drift(metric_name: str, dimensions: dict[str, str], label: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace=self.namespace, metric_name=metric_name, dimensions_map=dimensions,
                                     statistic="Maximum", period=period, label=label)

        pipeline = {"PipelineName": training.pipeline.pipeline_name}
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{self.prefix}-ml",
                                         default_interval=cdk.Duration.days(7))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Traffic (requests)", width=8, left=[
                api.api.metric_count(period=OPERATIONAL_PERIOD, statistic="Sum", label=stage)
                for stage, api in serving.items()]),
            cloudwatch.GraphWidget(title="Latency (ms)", width=8, left=[
                api.api.metric_latency(period=OPERATIONAL_PERIOD, statistic=statistic, label=f"{stage} {statistic}")
                for stage, api in serving.items() for statistic in ("p50", "p99")]),
            cloudwatch.GraphWidget(title="Errors", width=8, left=[
                metric for stage, api in serving.items() for metric in (
                    api.api.metric_client_error(period=OPERATIONAL_PERIOD, statistic="Sum", label=f"{stage} 4xx"),
                    api.api.metric_server_error(period=OPERATIONAL_PERIOD, statistic="Sum", label=f"{stage} 5xx"))],
                right=[secure.metric("Errors", period=OPERATIONAL_PERIOD, statistic="Sum", label=name)
                       for name, secure in functions.items()]),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Drift per feature (PSI)", width=12, left=[
                drift(FEATURE_PSI, feature_dimensions(self.model, name), name) for name in features],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=self.config.monitoring.psi_threshold,
                                                                  label="drift threshold")]),
            cloudwatch.GraphWidget(title="Drift summary", width=12, left=[
                drift(DRIFTED_FEATURES, model_dimensions(self.model), "drifted features")],
                right=[drift(MAX_PSI, model_dimensions(self.model), "max PSI"),
                       drift(PREDICTION_PSI, model_dimensions(self.model), "prediction PSI")]),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Model versions serving (predicted instances by version)", width=8, left=[
                cloudwatch.MathExpression(
                    expression=f"SEARCH('{{{self.prefix},ModelVersion,service}} MetricName=\"PredictedInstances\"', "
                               "'Sum', 300)", label="", period=OPERATIONAL_PERIOD)]),
            cloudwatch.GraphWidget(title="Pipeline runs", width=8, left=[
                cloudwatch.Metric(namespace="AWS/Sagemaker/ModelBuildingPipeline", metric_name=name,
                                  dimensions_map=pipeline, statistic="Sum", period=cdk.Duration.hours(1), label=name)
                for name in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")]),
            cloudwatch.GraphWidget(title="Drift window (captured rows)", width=8, left=[
                drift(WINDOW_ROWS, model_dimensions(self.model), "rows compared")]),
        )
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", width=24, alarms=self.alarms))
        return dashboard

    # --- permissions ----------------------------------------------------------------------------------

    def _grant_drift(self, lake: DataLake) -> None:
        config, stage = self.config, self.config.monitoring.stage
        served = DataLake.object_arn(config, "artifacts", f"{SERVING_PREFIX}{stage}/")
        reports = DataLake.object_arn(config, "artifacts", f"{MONITORING_PREFIX}drift/")
        capture = DataLake.object_arn(config, "capture", CAPTURE_PREFIX)
        pointer = pointer_name(config.serving_parameter_prefix(), stage)
        self.drift.grant(
            iam.PolicyStatement(sid="ReadServingPointer", actions=["ssm:GetParameter"],
                                resources=[arn("ssm", f"parameter{pointer}")]),
            iam.PolicyStatement(sid="ReadBaselines", actions=["s3:GetObject"], resources=[served]),
            iam.PolicyStatement(sid="ListCapture", actions=["s3:ListBucket"],
                                resources=[DataLake.bucket_arn(self.config, "capture")],
                                conditions={"StringLike": {"s3:prefix": [f"{CAPTURE_PREFIX}*"]}}),
            iam.PolicyStatement(sid="ReadCapture", actions=["s3:GetObject"], resources=[capture]),
            iam.PolicyStatement(sid="WriteReports", actions=["s3:PutObject"], resources=[reports]),
            iam.PolicyStatement(sid="PublishDriftMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
                                conditions={"StringEquals": {"cloudwatch:namespace": self.namespace}}),
            key_through("UseLakeKeyThroughS3", lake.key, "s3"))
        for resource, reason in ((served, f"reads the {stage} stage's published baselines only"),
                                 (reports, "writes drift reports under monitoring/drift/ only"),
                                 (capture, "reads captured traffic under capture/ only")):
            acknowledge(self.drift.policy, f"AwsSolutions-IAM5[Resource::{nag_rendered(resource)}]", reason)

    def _grant_retrain(self, lake: DataLake, training: Training) -> None:
        records = DataLake.object_arn(self.config, "artifacts", f"{MONITORING_PREFIX}retrain/")
        self.retrain.grant(
            iam.PolicyStatement(sid="StartGuardedRuns",
                                actions=["sagemaker:StartPipelineExecution", "sagemaker:ListPipelineExecutions"],
                                resources=[arn("sagemaker", f"pipeline/{training.pipeline.pipeline_name}")]),
            iam.PolicyStatement(sid="WriteDecisions", actions=["s3:PutObject"], resources=[records]),
            key_through("UseLakeKeyThroughS3", lake.key, "s3"))
        acknowledge(self.retrain.policy, f"AwsSolutions-IAM5[Resource::{nag_rendered(records)}]",
                    "writes retrain decision records under monitoring/retrain/ only")

