"""Drift over the data lake with Athena, for windows that outgrow a function.

`bin_count_query` writes one SQL statement that counts a window of captured traffic in the
baseline's bins, per feature, inside Athena (no rows leave the lake): numeric features by the
number of bin edges below the value, which is exactly the bin index the drift function computes
(`mlstack.drift.bin_counts`); text features by the length of the captured (de-identified) text;
categorical features and the prediction by label. `report_from_rows` turns the result rows into
the same drift report the drift function writes (mlstack/drift.py), so thresholds and flags are
identical.

Table: the catalog's `capture_<dataset>` (stacks/data_lake.py), JSON lines partitioned by
model_version and capture_date. Run it in the environment's workgroup (`<prefix>-lake`), e.g.
`mlstack drift athena-sql baseline.json --database mlstack_prod --model-version v3 --start ... --end ...`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from mlstack.drift import ENTITY_SCORE, DriftInputError, DriftWindow
from mlstack.lake import capture_table_name

PREDICTION = "__prediction__"  # the result rows' feature name for the model's predictions


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain column name: {name!r}")
    return name


def _feature_select(name: str, profile: dict[str, Any]) -> str:
    """(feature, bin, missing, n) rows of one feature."""
    column = f"features.{_identifier(name)}"
    if profile["kind"] == "categorical":
        value = f"CAST({column} AS varchar)"
    else:
        edges = profile["length_edges"] if profile["kind"] == "text" else profile["edges"]
        measured = f"length({column})" if profile["kind"] == "text" else column
        array = "ARRAY[" + ", ".join(f"DOUBLE '{edge!r}'" for edge in edges) + "]" if edges else \
            "CAST(ARRAY[] AS array(double))"
        value = f"CAST(cardinality(filter({array}, e -> e < CAST({measured} AS double))) AS varchar)"
        column = measured
    return (f"SELECT {_literal(name)} AS feature, {value} AS bin, {column} IS NULL AS missing, "  # noqa: S608 - names checked, literals quoted
            "count(*) AS n FROM captured GROUP BY 2, 3")


def bin_count_query(baseline: dict[str, Any], *, database: str, model_version: str, start: datetime,
                    end: datetime) -> str:
    """One statement: bin counts of every baseline feature (and the prediction) in [start, end). Classifier
    baselines only: an entity model's capture holds lists (span types, scores) the capture table does not declare."""
    if ENTITY_SCORE in baseline.get("features", {}):
        raise DriftInputError("an entity-model (ner) baseline: its span outputs are lists the capture table does not "
                              "declare; compare such windows with the drift function or `mlstack drift compare`")
    table = f"{_identifier(database)}.{capture_table_name(_identifier(baseline['dataset']))}"
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    window = (f"WITH captured AS (SELECT * FROM {table} WHERE"  # noqa: S608 - names checked, literals quoted
              f" model_version = {_literal(model_version)} "
              f"AND capture_date BETWEEN {_literal(first.isoformat())} AND {_literal(last.isoformat())} "
              f"AND \"at\" >= {_literal(start.isoformat(timespec='milliseconds'))} "
              f"AND \"at\" < {_literal(end.isoformat(timespec='milliseconds'))})")
    selects = [_feature_select(name, profile) for name, profile in baseline["features"].items()]
    if baseline.get("prediction"):
        selects.append(f"SELECT {_literal(PREDICTION)} AS feature, prediction AS bin, "  # noqa: S608 - fixed text
                       "prediction IS NULL AS missing, count(*) AS n FROM captured GROUP BY 2, 3")
    return window + "\n" + "\nUNION ALL\n".join(selects)


def report_from_rows(baseline: dict[str, Any], rows: Iterable[Mapping[str, Any]], **thresholds: float
                     ) -> dict[str, Any]:
    """The drift report of the query's result rows ({feature, bin, missing, n}, as Athena returns strings)."""
    bins: dict[str, dict[str, int]] = {}
    missing: dict[str, int] = {}
    for row in rows:
        feature, count = str(row["feature"]), int(row["n"])
        if str(row["missing"]).lower() == "true":
            missing[feature] = missing.get(feature, 0) + count
        else:
            bins.setdefault(feature, {})[str(row["bin"])] = count
    window = DriftWindow(baseline, **thresholds)
    for name in (*baseline["features"], PREDICTION):
        profile = baseline.get("prediction") if name == PREDICTION else baseline["features"][name]
        if profile is None:
            continue
        counted = bins.get(name, {})
        keyed = counted if profile["kind"] == "categorical" else {int(index): n for index, n in counted.items()}
        window.add_counts(None if name == PREDICTION else name, keyed, missing.get(name, 0))
    return window.report()
