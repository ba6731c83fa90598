"""One drift run: the watched stage's live version, its captured traffic of the window, its training
baseline -> the drift report (artifacts zone) and the CloudWatch metrics the drift alarms read.

The stable version is watched (a canary's traffic is captured under its own version and is judged
by its canary alarm). A version deployed without a baseline, or a window with fewer rows than
MIN_ROWS, publishes no drift metrics: the alarms treat missing data as not breaching, so quiet
hours and fresh deployments never alarm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lambdas.drift.settings import DriftEnvironment
from lambdas.drift.window import CaptureStats, Window, capture_keys, compare_window, read_records
from mlstack.lake import BASELINE_FILE, read_json_object, serving_key
from mlstack.monitoring import (
    DRIFTED_FEATURES,
    FEATURE_JS_DISTANCE,
    FEATURE_PSI,
    MAX_PSI,
    PREDICTION_PSI,
    WINDOW_ROWS,
    drift_report_key,
    feature_dimensions,
    model_dimensions,
)
from mlstack.pointer import ServingPointer

Outcome = Literal["compared", "too-few-rows", "no-live-version", "no-baseline"]


@dataclass(frozen=True)
class DriftRun:
    outcome: Outcome
    stage: str
    version: int | None = None
    report_uri: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)


def metric_data(report: dict[str, Any], model: str, at: datetime, *, compared: bool) -> list[dict[str, Any]]:
    """PutMetricData entries: window size always; drift scores only when the window was compared."""

    def datum(name: str, value: float, dimensions: dict[str, str], unit: str = "None") -> dict[str, Any]:
        return {"MetricName": name, "Value": float(value), "Unit": unit, "Timestamp": at,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]}

    data = [datum(WINDOW_ROWS, report["window_rows"], model_dimensions(model), "Count")]
    if not compared:
        return data
    summary = report["summary"]
    data.append(datum(DRIFTED_FEATURES, summary["drifted_features"], model_dimensions(model), "Count"))
    for name, value in ((MAX_PSI, summary["max_psi"]), (PREDICTION_PSI, summary["prediction_psi"])):
        if value is not None:
            data.append(datum(name, value, model_dimensions(model)))
    for feature, score in report["features"].items():
        if score["psi"] is not None:
            data.append(datum(FEATURE_PSI, score["psi"], feature_dimensions(model, feature)))
            data.append(datum(FEATURE_JS_DISTANCE, score["js_distance"], feature_dimensions(model, feature)))
    return data


class DriftMonitor:
    def __init__(self, *, s3: Any, pointer: ServingPointer, env: DriftEnvironment) -> None:
        self.s3, self.pointer, self.env = s3, pointer, env

    def run(self, as_of: datetime) -> DriftRun:
        env, stage = self.env, self.env.STAGE
        live = self.pointer.current(stage)
        if live is None:
            return DriftRun("no-live-version", stage)
        live = live.stable()
        baseline_key = serving_key(stage, live.version, BASELINE_FILE)
        baseline = read_json_object(self.s3, f"s3://{env.ARTIFACTS_BUCKET}/{baseline_key}")
        if baseline is None:
            return DriftRun("no-baseline", stage, live.version)
        dataset = baseline["dataset"]
        window, stats = Window.ending(as_of, env.WINDOW_HOURS), CaptureStats()
        keys = capture_keys(self.s3, env.CAPTURE_BUCKET, dataset, live.version, window)
        report = compare_window(baseline, read_records(self.s3, env.CAPTURE_BUCKET, keys, window, stats),
                                psi_threshold=env.PSI_THRESHOLD)
        compared = report["window_rows"] >= env.MIN_ROWS
        start, end = window.bounds()
        report["window"] = {"stage": stage, "model_version": live.version, "model_package_arn":
                            live.model_package_arn, "start": start, "end": end, "objects": stats.objects,
                            "malformed_lines": stats.malformed_lines, "min_rows": env.MIN_ROWS, "compared": compared}
        key = drift_report_key(stage, live.version, end)
        self.s3.put_object(Bucket=env.ARTIFACTS_BUCKET, Key=key, Body=json.dumps(report, indent=1).encode(),
                           ContentType="application/json")
        return DriftRun("compared" if compared else "too-few-rows", stage, live.version,
                        f"s3://{env.ARTIFACTS_BUCKET}/{key}",
                        {**report["summary"], "window_rows": report["window_rows"],
                         "malformed_lines": stats.malformed_lines},
                        metric_data(report, env.MODEL_NAME, as_of, compared=compared))
