"""Step scripts as pure functions and as command lines over the container layout, on small data."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlstack.datasets.samples import CONCEPTS, breast_cancer_rows, clinical_entities_rows
from pipelines.recipes import get_recipe
from pipelines.steps import evaluate, preprocess, train
from pipelines.steps.preprocess import split


def test_split_is_stratified_seeded_and_drops_duplicates():
    recipe = get_recipe("tabular")
    rows = breast_cancer_rows()
    table = pa.Table.from_pylist(rows + rows[:50])  # 50 exact duplicates
    first = split(table, recipe, validation=0.15, test=0.15, seed=7)
    again = split(table, recipe, validation=0.15, test=0.15, seed=7)
    assert sum(part.num_rows for part in first.values()) == 569
    assert all(first[name].equals(again[name]) for name in first)
    shares = {name: part.column("diagnosis").to_pylist().count("malignant") / part.num_rows
              for name, part in first.items()}
    assert max(shares.values()) - min(shares.values()) < 0.05


def _run_steps(recipe: str, table: pa.Table, root, monkeypatch):
    """Preprocess, train and evaluate as command lines over the container layout under `root`: (split counts,
    train's result, evaluate's report, the processing directory)."""
    monkeypatch.setenv("MLSTACK_CONTAINER_ROOT", str(root))
    data = root / "opt/ml/processing/input/data/ingest_date=2026-11-24"
    data.mkdir(parents=True)
    pq.write_table(table, data / "part.parquet")
    counts = preprocess.main(["--recipe", recipe])
    out = root / "opt/ml/processing/output"
    result = train.main(["--recipe", recipe, "--train-dir", str(out / "train"),
                         "--validation-dir", str(out / "validation"), "--model-dir", str(root / "model")])
    report = evaluate.main(["--recipe", recipe, "--model-dir", str(root / "model"),
                            "--test-dir", str(out / "test"), "--train-dir", str(out / "train")])
    return counts, result, report, root / "opt/ml/processing"


def test_steps_run_end_to_end_on_the_container_layout(tmp_path, monkeypatch):
    counts, result, report, processing = _run_steps("tabular", pa.Table.from_pylist(breast_cancer_rows()), tmp_path,
                                                    monkeypatch)
    assert counts["train"] + counts["validation"] + counts["test"] == 569
    assert result["validation_accuracy"] > 0.9
    assert json.loads((processing / "evaluation/evaluation.json").read_text()) == report
    assert report["onnx_parity"] == {"value": 1}
    assert report[evaluate.METRICS_KEY]["accuracy"]["value"] > 0.9
    assert (processing / "onnx/model.onnx").stat().st_size > 0
    baseline = json.loads((processing / "baseline/baseline.json").read_text())
    assert set(baseline["features"]) == set(get_recipe("tabular").feature_columns)
    assert baseline["rows"] == counts["train"]  # profiled on the training split, the largest


def test_missing_input_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no parquet files under"):
        preprocess.main(["--recipe", "tabular", "--input-dir", str(tmp_path), "--output-dir", str(tmp_path)])


def test_the_ner_recipe_runs_end_to_end_with_entity_metrics_parity_and_baseline(tmp_path, monkeypatch):
    from lambdas.ingest.records import arrow_schema
    from mlstack.drift import ENTITY_DENSITY, ENTITY_SCORE, OTHER

    rows = clinical_entities_rows(200)
    relabelled = [{**row, "note_id": f"again-{i}", "entities": []} for i, row in enumerate(rows[:20])]
    table = pa.Table.from_pylist(rows + relabelled, schema=arrow_schema(get_recipe("ner").schema))  # as ingested
    counts, result, report, processing = _run_steps("ner", table, tmp_path, monkeypatch)
    assert counts["train"] + counts["validation"] + counts["test"] == 200  # one text, one split
    assert result["validation_f1"] > 0.9
    assert set(report[evaluate.GATE_KEY]) == {"accuracy", "macro_f1", "precision", "recall"}
    assert report[evaluate.GATE_KEY]["recall"]["value"] > 0.9
    assert set(report[evaluate.ENTITY_METRICS_KEY]) == {"strict", "overlap"}
    assert set(report[evaluate.ENTITY_METRICS_KEY]["strict"]["per_type"]) == set(CONCEPTS)
    assert report["onnx"]["spans_identical"] and report["onnx_parity"] == {"value": 1}
    signature = json.loads((processing / "onnx/signature.json").read_text())
    assert (signature["kind"], signature["features"]) == ("ner", ["text"])
    assert set(signature["classes"]) == set(CONCEPTS)
    baseline = json.loads((processing / "baseline/baseline.json").read_text())
    assert set(baseline["features"]) == {"text", ENTITY_DENSITY, ENTITY_SCORE}
    assert baseline["rows"] == counts["train"]
    assert baseline["prediction"]["categories"] == [*signature["classes"], OTHER]


def test_a_classifier_reports_the_same_gate_metrics(tmp_path):
    recipe = get_recipe("tabular")
    parts = split(pa.Table.from_pylist(breast_cancer_rows()), recipe, validation=0.15, test=0.15, seed=1)
    for name, part in parts.items():
        (tmp_path / name).mkdir()
        pq.write_table(part, tmp_path / name / "part.parquet")
    model = train.fit(recipe, tmp_path / "train")
    report, *_ = evaluate.evaluate(recipe, model, tmp_path / "test", tmp_path / "train")
    gate, metrics = report[evaluate.GATE_KEY], report[evaluate.METRICS_KEY]
    assert gate["precision"]["value"] == metrics["macro_precision"]["value"] > 0.9
    assert gate["recall"]["value"] == metrics["macro_recall"]["value"] > 0.9
