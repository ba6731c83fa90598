"""Drift monitoring's shared names: metrics, alarms, report keys and the retrain trigger.

The stack (alarms, dashboard, rules), the drift and retrain functions and local mode all take
them from here, so a metric the function publishes is the metric the alarm reads.
"""

from __future__ import annotations

from typing import Any

from mlstack.events import ALARM_DETAIL_TYPE

# Per feature (dimensions Model, Feature) and per model (dimension Model).
FEATURE_PSI = "FeaturePSI"
FEATURE_JS_DISTANCE = "FeatureJSDistance"
DRIFTED_FEATURES = "DriftedFeatures"
MAX_PSI = "MaxPSI"
PREDICTION_PSI = "PredictionPSI"
WINDOW_ROWS = "WindowRows"
MONITORING_PREFIX = "monitoring/"


def drift_namespace(resource_prefix: str) -> str:
    return f"{resource_prefix}/drift"


def model_dimensions(model: str) -> dict[str, str]:
    return {"Model": model}


def feature_dimensions(model: str, feature: str) -> dict[str, str]:
    return {"Model": model, "Feature": feature}


def drift_alarm_name(resource_prefix: str) -> str:
    """Drifted features in enough recent runs: people are told, and retraining starts."""
    return f"{resource_prefix}-model-drift"


def prediction_drift_alarm_name(resource_prefix: str) -> str:
    return f"{resource_prefix}-prediction-drift"


def retrain_alarm_names(resource_prefix: str) -> list[str]:
    """The alarms whose ALARM state starts a (guarded) retraining."""
    return [drift_alarm_name(resource_prefix), prediction_drift_alarm_name(resource_prefix)]


def retrain_event_pattern(alarm_names: list[str]) -> dict[str, Any]:
    """A drift alarm entering ALARM (not OK or INSUFFICIENT_DATA) starts the retrain function."""
    return {"source": ["aws.cloudwatch"], "detail-type": [ALARM_DETAIL_TYPE],
            "detail": {"alarmName": sorted(alarm_names), "state": {"value": ["ALARM"]}}}


def drift_report_key(stage: str, version: int, as_of: str) -> str:
    """`monitoring/drift/<stage>/v<version>/<as_of>.json` in the artifacts bucket."""
    return f"{MONITORING_PREFIX}drift/{stage}/v{version}/{as_of}.json"


def retrain_record_key(decided_at: str, decision: str) -> str:
    """`monitoring/retrain/<time>-<decision>.json`: why a retraining started, or was held back."""
    return f"{MONITORING_PREFIX}retrain/{decided_at}-{decision}.json"
