"""Drift at scale with Athena: the query counts in the drift function's bins; its rows give the same report."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from mlstack.drift import build_baseline, compare
from mlstack.drift_athena import PREDICTION, bin_count_query, report_from_rows
from mlstack.schema import Column, DatasetSchema

SCHEMA = DatasetSchema(name="toy", version=1, label="y", columns=(
    Column(name="a", type="float"), Column(name="c", type="category", categories=("p", "q")),
    Column(name="y", type="category", categories=("no", "yes"))))
START, END = datetime(2026, 11, 30, 12, tzinfo=UTC), datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def baseline():
    rng = np.random.default_rng(3)
    return build_baseline(SCHEMA, {"a": rng.normal(0, 1, 5000).tolist(), "c": rng.choice(["p", "q"], 5000).tolist()},
                          rng.choice(["no", "yes"], 5000).tolist(), ["no", "yes"])


def athena_rows(baseline, a, c, predictions):
    """What the query returns, computed the way its SQL does (bin = number of edges below the value)."""
    edges = np.asarray(baseline["features"]["a"]["edges"])
    rows = []
    present = a[~np.isnan(a)]
    for index, count in zip(*np.unique((edges[None, :] < present[:, None]).sum(axis=1), return_counts=True),
                            strict=True):
        rows.append({"feature": "a", "bin": str(index), "missing": "false", "n": str(count)})
    rows.append({"feature": "a", "bin": None, "missing": "true", "n": str(int(np.isnan(a).sum()))})
    for name, values in (("c", c), (PREDICTION, predictions)):
        labels, counts = np.unique(values, return_counts=True)
        rows += [{"feature": name, "bin": label, "missing": "false", "n": str(n)}
                 for label, n in zip(labels, counts, strict=True)]
    return rows


def test_the_query_scopes_the_window_and_names_every_feature_with_its_bins(baseline):
    sql = bin_count_query(baseline, database="mlstack_prod", model_version="v3", start=START, end=END)
    assert "FROM mlstack_prod.capture_toy WHERE model_version = 'v3'" in sql
    assert "capture_date BETWEEN '2026-11-30' AND '2026-12-01'" in sql
    assert "\"at\" >= '2026-11-30T12:00:00.000+00:00'" in sql and "\"at\" < '2026-12-01T12:00:00.000+00:00'" in sql
    assert sql.count("UNION ALL") == 2  # a, c, prediction
    for edge in baseline["features"]["a"]["edges"]:
        assert f"DOUBLE '{edge!r}'" in sql


def test_names_that_are_not_plain_identifiers_are_refused(baseline):
    with pytest.raises(ValueError, match="not a plain column name"):
        bin_count_query(baseline, database="x; DROP TABLE y", model_version="v1", start=START, end=END)


def test_the_rows_give_exactly_the_report_the_drift_function_computes(baseline):
    rng = np.random.default_rng(4)
    a = rng.normal(0.7, 1, 20_000)
    a[:300] = np.nan
    c = rng.choice(["p", "q", "new"], 20_000)
    predictions = rng.choice(["no", "yes"], 20_000)
    from_athena = report_from_rows(baseline, athena_rows(baseline, a, c, predictions))
    direct = compare(baseline, {"a": a, "c": c.tolist()}, predictions.tolist())
    for name in ("a", "c"):
        assert from_athena["features"][name]["psi"] == pytest.approx(direct["features"][name]["psi"])
        assert from_athena["features"][name]["missing_rate"] == direct["features"][name]["missing_rate"]
    assert from_athena["prediction"]["psi"] == pytest.approx(direct["prediction"]["psi"])
    assert from_athena["summary"]["drifted"] == direct["summary"]["drifted"] == ["a", "c"]


def test_an_entity_model_baseline_is_refused_with_the_reason():
    from mlstack.drift import ENTITY_SCORE, DriftInputError

    baseline = {"dataset": "clinical_entities", "features": {ENTITY_SCORE: {"kind": "numeric", "edges": []}}}
    with pytest.raises(DriftInputError, match="entity-model"):
        bin_count_query(baseline, database="db", model_version="v1", start=datetime(2026, 1, 1, tzinfo=UTC),
                        end=datetime(2026, 1, 2, tzinfo=UTC))
