"""Drift comparison: known shifts are flagged exactly, unshifted features never, edge cases are sane."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from mlstack.cli import main as cli_main
from mlstack.drift import (
    OTHER,
    DriftWindow,
    compare,
    counted_categorical_profile,
    ks_pvalue,
    numeric_profile,
    psi,
    text_profile,
)

FEATURES = 8


def _data(rows: int, seed: int, *, shift: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    columns = {f"x{i}": rng.normal(0, 1, rows) for i in range(FEATURES)}
    if shift:
        columns["x0"] = columns["x0"] + 0.6  # mean shift of 0.6 sd
        columns["x1"] = columns["x1"] * 1.6  # scale change
    return columns


def _baseline(columns: dict[str, np.ndarray]) -> dict:
    return {"rows": len(columns["x0"]), "features": {name: numeric_profile(values) for name, values in columns.items()}}


@pytest.mark.parametrize("rows", [100_000, 1_000_000])
def test_exactly_the_shifted_features_drift_and_no_false_alarms(rows):
    baseline = _baseline(_data(rows, 1))
    shifted = compare(baseline, _data(rows, 2, shift=True))
    assert shifted["summary"]["drifted"] == ["x0", "x1"]
    unshifted = compare(baseline, _data(rows, 3))
    assert unshifted["summary"]["drifted_features"] == 0
    assert unshifted["summary"]["max_psi"] < 0.01


def test_effect_size_decides_while_significance_is_reported_beside_it():
    baseline = _baseline(_data(1_000_000, 1))
    slight = _data(1_000_000, 2)
    slight["x2"] = slight["x2"] + 0.05  # tiny but, at a million rows, highly significant
    score = compare(baseline, slight)["features"]["x2"]
    assert score["ks_pvalue"] < 1e-6
    assert not score["drifted"]


def test_chunks_add_up_to_the_whole_window():
    baseline = _baseline(_data(50_000, 1))
    window = _data(60_000, 2, shift=True)
    chunked = DriftWindow(baseline)
    for start in range(0, 60_000, 7_000):
        chunked.update({name: values[start:start + 7_000] for name, values in window.items()})
    assert chunked.report()["features"] == compare(baseline, window)["features"]


def test_a_constant_feature_compares_without_errors():
    baseline = {"rows": 1000, "features": {"c": numeric_profile(np.full(1000, 3.0))}}
    assert compare(baseline, {"c": np.full(500, 3.0)})["features"]["c"]["psi"] == pytest.approx(0)
    assert compare(baseline, {"c": np.full(500, 9.0)})["features"]["c"]["drifted"]


def test_an_all_missing_window_flags_the_missing_rate_and_has_no_distribution_scores():
    baseline = _baseline(_data(10_000, 1))
    score = compare(baseline, {"x0": np.full(1000, np.nan)})["features"]["x0"]
    assert (score["psi"], score["missing_rate"], score["reasons"]) == (None, 1.0, ["missing_rate"])


def test_an_empty_window_reports_nothing_drifted():
    report = compare(_baseline(_data(10_000, 1)), {"x0": np.array([])})
    assert report["summary"]["drifted_features"] == 0
    assert report["features"]["x0"]["psi"] is None


def test_unseen_categories_land_in_other_and_drift():
    profile = counted_categorical_profile({"a": 600, "b": 400, None: 0})
    assert profile["categories"] == ["a", "b", OTHER]
    baseline = {"rows": 1000, "features": {"site": profile}}
    score = compare(baseline, {"site": ["a"] * 300 + ["z"] * 300 + [None] * 10})["features"]["site"]
    assert score["window_shares"][2] == pytest.approx(0.5)
    assert score["drifted"]
    counted = compare(baseline, {"site": {"a": 300, "z": 300, None: 10}})["features"]["site"]
    assert counted == score  # value counts (columnar readers) and raw values agree


def test_text_drift_reports_length_and_out_of_vocabulary_change():
    notes = ["patient reports chest pain and shortness of breath"] * 200
    baseline = {"rows": 200, "features": {"note": text_profile(notes)}}
    assert baseline["features"]["note"]["oov_rate"] == 0
    other = ["xylophone quartz zebra jumps over the lazy fox repeatedly today"] * 100
    score = compare(baseline, {"note": other})["features"]["note"]
    assert score["oov_rate"] == 1.0 and "oov_rate" in score["reasons"]


def test_prediction_drift_is_scored_and_summarised():
    baseline = {"rows": 1000, "features": {}, "prediction": counted_categorical_profile({"benign": 700,
                                                                                         "malignant": 300})}
    report = compare(baseline, {}, predictions=["malignant"] * 80 + ["benign"] * 20)
    assert report["summary"]["prediction_drifted"]
    assert report["summary"]["prediction_psi"] > 0.2


def test_psi_and_ks_pvalue_basics():
    shares = np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(shares, shares) == 0
    assert ks_pvalue(0.0, 100, 100) == 1.0
    assert ks_pvalue(0.5, 1000, 1000) < 1e-10


def test_the_cli_builds_a_baseline_and_compares_files(tmp_path, capsys):
    rows = 20_000
    reference, current = _data(rows, 1), _data(rows, 2, shift=True)
    rng = np.random.default_rng(4)
    reference["site"] = rng.choice(["north", "south"], rows)
    current["site"] = rng.choice(["north", "south", "east"], rows)
    pq.write_table(pa.table(reference), tmp_path / "reference.parquet")
    pa.csv.write_csv(pa.table(current), tmp_path / "current.csv")
    assert cli_main(["drift", "baseline", str(tmp_path / "reference.parquet"), "-o", str(tmp_path / "b.json")]) == 0
    out, page = tmp_path / "report.json", tmp_path / "report.html"
    assert cli_main(["drift", "compare", str(tmp_path / "b.json"), str(tmp_path / "current.csv"),
                     "--json", str(out), "--report", str(page)]) == 0
    report = json.loads(out.read_text())
    assert report["summary"]["drifted"] == ["site", "x0", "x1"]
    assert set(report["features"]) == {*reference}
    assert "3 of 9 features drifted" in capsys.readouterr().out
    html = page.read_text()
    assert html.count("data:image/png;base64,") == 1 + len(reference)  # the PSI chart + one plot per feature
    assert html.index(">site<") < html.index(">x2<")  # drifted features listed first


def test_the_cli_prints_the_athena_query_for_large_windows(tmp_path, capsys):
    pq.write_table(pa.table(_data(2_000, 1)), tmp_path / "reference.parquet")
    assert cli_main(["drift", "baseline", str(tmp_path / "reference.parquet"), "-o", str(tmp_path / "b.json")]) == 0
    assert cli_main(["drift", "athena-sql", str(tmp_path / "b.json"), "--database", "mlstack_prod",
                     "--model-version", "v2", "--start", "2026-11-30T00:00:00+00:00",
                     "--end", "2026-12-01T00:00:00+00:00"]) == 0
    sql = capsys.readouterr().out
    assert "FROM mlstack_prod.capture_reference WHERE model_version = 'v2'" in sql
    assert sql.count("UNION ALL") == FEATURES - 1
    assert cli_main(["drift", "athena-sql", str(tmp_path / "b.json"), "--database", "d", "--model-version", "v2",
                     "--start", "yesterday", "--end", "today"]) == 2


def test_the_cli_names_what_is_wrong_with_its_input(tmp_path, capsys):
    (tmp_path / "b.json").write_text("{}")
    assert cli_main(["drift", "compare", str(tmp_path / "b.json"), str(tmp_path / "x.parquet")]) == 2
    assert "not a baseline" in capsys.readouterr().err
    assert cli_main(["drift", "baseline", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bin_counts_match_searchsorted_bins_including_ties_infinities_and_nan():
    from mlstack.drift import bin_counts

    rng = np.random.default_rng(9)
    edges = np.array([-1.0, 0.0, 0.5, 2.0])
    values = np.concatenate([rng.normal(0, 1, 10_000), edges, [np.inf, -np.inf, np.nan, np.nan]])
    present = values[~np.isnan(values)]
    expected = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    assert bin_counts(values, edges).tolist() == expected.tolist()
    assert bin_counts(values, np.array([])).tolist() == [present.size]


def test_entity_model_drift_flags_new_vocabulary_and_lost_confidence_not_fresh_notes_of_the_same_kind(tmp_path):
    """Baseline from evaluate (training split); windows shaped as capture writes them."""
    from lambdas.drift.window import compare_window
    from mlstack.datasets.samples import clinical_entities_rows
    from mlstack.drift import entity_outputs
    from pipelines.recipes import get_recipe
    from pipelines.steps.evaluate import training_baseline

    recipe = get_recipe("ner")
    rows = clinical_entities_rows(300)
    model = recipe.build().fit([r["text"] for r in rows], [r["entities"] for r in rows])
    baseline = training_baseline(recipe, model, pa.Table.from_pylist(rows), list(model.types))

    def window(notes):
        texts = [r["text"] for r in notes]
        records = [{"features": {"text": text, **entity_outputs(len(text), spans)},
                    "prediction": [s["type"] for s in spans]}
                   for text, spans in zip(texts, model.predict(texts), strict=True)]
        return compare_window(baseline, iter([records]), psi_threshold=0.2)

    same = window(clinical_entities_rows(300, seed=8))
    assert same["summary"]["drifted"] == [] and same["window_rows"] == 300
    notes = clinical_entities_rows(300, seed=9, unseen_concepts=True)
    shifted = window(notes)
    assert "oov_rate" in shifted["features"]["text"]["reasons"]
    assert shifted["features"]["entity_score"]["drifted"]
    # the same window as a capture extract (a list of span scores per row), through `mlstack drift compare`
    from mlstack.drift_files import compare_file

    texts = [r["text"] for r in notes]
    extract = [{"text": text, **entity_outputs(len(text), spans)} for text, spans in zip(texts, model.predict(texts),
                                                                                          strict=True)]
    path = tmp_path / "extract.parquet"
    pq.write_table(pa.Table.from_pylist(extract), path)
    from_file = compare_file(baseline, path)
    assert from_file["summary"]["drifted"] == shifted["summary"]["drifted"]
    assert from_file["features"]["entity_score"]["psi"] == pytest.approx(shifted["features"]["entity_score"]["psi"])
