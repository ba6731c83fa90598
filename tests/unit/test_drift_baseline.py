"""Drift baselines: profiles that the comparison can rely on."""

import numpy as np
import pytest

from mlstack.drift import OTHER, bin_shares, build_baseline, quantile_edges
from mlstack.schema import load_schema


def test_quantile_bins_hold_equal_shares_of_the_training_data():
    values = np.random.default_rng(0).normal(size=10_000)
    edges = quantile_edges(values, 10)
    assert len(edges) == 9
    assert bin_shares(values, edges) == pytest.approx([0.1] * 10, abs=0.002)


def test_discrete_features_collapse_duplicate_edges():
    edges = quantile_edges(np.array([1.0] * 90 + [2.0] * 10), 10)
    assert edges == sorted(set(edges))
    assert edges[0] == 1.0
    assert len(edges) < 9


def test_baseline_profiles_every_column_kind_and_the_predictions():
    schema = load_schema("clinical_notes")
    columns = {"patient_age": [40, 50, None], "specialty": ["cardiology", "dermatology", "pulmonology"],
               "note_text": ["Pt has copd copd", "fever noted", None]}
    baseline = build_baseline(schema, columns, ["copd", "copd", "pneumonia"], ["copd", "pneumonia"])
    features = baseline["features"]
    assert features["patient_age"]["missing_rate"] == pytest.approx(1 / 3)
    specialty = dict(zip(features["specialty"]["categories"], features["specialty"]["shares"], strict=True))
    assert specialty[OTHER] == pytest.approx(1 / 3)
    assert "copd" in features["note_text"]["vocabulary"]
    assert baseline["prediction"]["shares"][:2] == pytest.approx([2 / 3, 1 / 3])
    assert (baseline["dataset"], baseline["schema_version"]) == ("clinical_notes", 1)
