"""Evaluate: test-split metrics, ONNX export with parity check, and the drift baseline (training split).

SageMaker Processing: model /opt/ml/processing/model (model.tar.gz), test split
/opt/ml/processing/test, train split /opt/ml/processing/train; outputs evaluation/evaluation.json
(the gate reads it as a PropertyFile), onnx/model.onnx with onnx/signature.json (the input contract the inference API
validates against, published beside the model by the deployer), baseline/baseline.json.

evaluation.json holds the recipe's own metrics (`multiclass_classification_metrics`, the SageMaker model-quality
layout; `entity_metrics` for ner: strict and overlap matching, per type) and `quality_gate`, the four numbers the
gate compares with its thresholds whatever the recipe: accuracy, macro F1, precision and recall (classifiers:
macro-averaged over classes; ner: token-tag accuracy, macro F1 over entity types, and strict entity-level
micro precision and recall).
An ONNX export that fails or disagrees with the trained model (labels or spans must be identical,
probabilities or scores within 1e-5) is recorded as onnx_parity 0, which fails the quality gate: such a model is never
registered.
"""

from __future__ import annotations

import argparse
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from mlstack.drift import build_baseline, entity_output_profiles, entity_outputs
from mlstack.ner_metrics import entity_scores
from mlstack.signature import SIGNATURE_FILE, ModelSignature
from pipelines.recipes import Recipe, get_recipe
from pipelines.steps.tables import container_path, read_tables
from pipelines.steps.train import MODEL_FILE

PROBABILITY_TOLERANCE = 1e-5
METRICS_KEY = "multiclass_classification_metrics"  # the SageMaker model-quality report layout
ENTITY_METRICS_KEY = "entity_metrics"
GATE_KEY = "quality_gate"


def load_model(model_dir: str | Path) -> Any:
    """The model from model.tar.gz (as SageMaker delivers it) or a plain model directory."""
    model_dir = Path(model_dir)
    archive = model_dir / "model.tar.gz"
    if not archive.exists():
        return joblib.load(model_dir / MODEL_FILE)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
        tar.extract(MODEL_FILE, tmp, filter="data")
        return joblib.load(Path(tmp) / MODEL_FILE)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray,
                           classes: list[str]) -> dict[str, dict[str, float]]:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    if len(classes) == 2:
        auc = roc_auc_score(y_true == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
    values = {"accuracy": accuracy_score(y_true, y_pred),
              "macro_f1": f1_score(y_true, y_pred, average="macro"),
              "weighted_f1": f1_score(y_true, y_pred, average="weighted"),
              "macro_precision": precision_score(y_true, y_pred, average="macro", zero_division=0),
              "macro_recall": recall_score(y_true, y_pred, average="macro", zero_division=0),
              "auc": auc}
    return {name: {"value": float(value), "standard_deviation": "NaN"} for name, value in values.items()}


def onnx_parity(recipe: Recipe, model: Any, features: np.ndarray) -> tuple[bytes | None, dict[str, Any]]:
    """Export to ONNX and compare its predictions with the trained model's on the test features."""
    try:
        onnx_bytes = recipe.to_onnx(model)
        if recipe.kind == "ner":
            return onnx_bytes, _span_parity(model.predict(features), _onnx_spans(onnx_bytes, features))
        import onnxruntime

        session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        onnx_input = features if recipe.kind == "text" else features.astype(np.float32)
        labels, probabilities = session.run(None, {session.get_inputs()[0].name: onnx_input})
    except Exception as error:
        return None, {"exported": False, "passed": False, "error": f"{type(error).__name__}: {error}"}
    identical = bool((np.asarray(labels, dtype=object) == model.predict(features)).all())
    difference = float(np.abs(probabilities - model.predict_proba(features)).max())
    passed = identical and difference <= PROBABILITY_TOLERANCE
    return onnx_bytes, {"exported": True, "labels_identical": identical, "max_probability_difference": difference,
                        "tolerance": PROBABILITY_TOLERANCE, "passed": passed}


def _onnx_spans(onnx_bytes: bytes, features: np.ndarray) -> list[list[dict[str, Any]]]:
    """The exported tagger's spans, computed the way the inference function computes them."""
    from mlstack.entity_tagger import OnnxEntityTagger, texts_of

    return OnnxEntityTagger(onnx_bytes).predict(texts_of(features))


def _span_parity(trained: list[list[dict[str, Any]]], exported: list[list[dict[str, Any]]]) -> dict[str, Any]:
    def where(spans: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
        return [(span["type"], span["start"], span["end"]) for span in spans]

    identical = all(where(a) == where(b) for a, b in zip(trained, exported, strict=True))
    difference = max((abs(a["score"] - b["score"]) for x, y in zip(trained, exported, strict=True)
                      for a, b in zip(x, y, strict=False)), default=0.0)
    return {"exported": True, "spans_identical": identical, "max_score_difference": float(difference),
            "tolerance": PROBABILITY_TOLERANCE, "passed": identical and difference <= PROBABILITY_TOLERANCE}


def _gate(**values: float) -> dict[str, dict[str, float]]:
    return {name: {"value": float(value)} for name, value in values.items()}


def _classifier_report(model: Any, features: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    classes = [str(c) for c in model.classes_]
    metrics = classification_metrics(truth, model.predict(features), model.predict_proba(features), classes)
    return {METRICS_KEY: metrics, GATE_KEY: _gate(
        accuracy=metrics["accuracy"]["value"], macro_f1=metrics["macro_f1"]["value"],
        precision=metrics["macro_precision"]["value"], recall=metrics["macro_recall"]["value"])}


def _ner_report(model: Any, features: np.ndarray, truth: list[list[dict[str, Any]]]) -> dict[str, Any]:
    from mlstack.entity_tagger import texts_of, token_accuracy

    predicted = model.predict(features)
    scores = entity_scores(zip(truth, predicted, strict=True))
    strict = scores["strict"]
    per_type = [strict["per_type"][kind]["f1"] for kind in strict["per_type"]]
    return {ENTITY_METRICS_KEY: scores, GATE_KEY: _gate(
        accuracy=token_accuracy(texts_of(features), truth, predicted, model.tags),
        macro_f1=sum(per_type) / len(per_type) if per_type else 0.0,
        precision=strict["overall"]["precision"], recall=strict["overall"]["recall"])}


def evaluate(recipe: Recipe, model: Any, test_dir: str | Path, train_dir: str | Path
             ) -> tuple[dict[str, Any], bytes | None, dict, ModelSignature]:
    """(evaluation report, ONNX bytes or None, drift baseline, input signature).

    The baseline profiles the training split (the data the model learned from, and the largest
    split: quantile edges from a small test split are noisy enough to flag unshifted traffic)."""
    table = read_tables(test_dir)
    features, truth = recipe.features(table), recipe.labels(table)
    classes = [str(c) for c in model.classes_]
    report = {"recipe": recipe.name, "dataset": recipe.dataset, "recipe_params": recipe.params,
              "test_rows": table.num_rows}
    report.update(_ner_report(model, features, truth) if recipe.kind == "ner"
                  else _classifier_report(model, features, truth))
    onnx_bytes, parity = onnx_parity(recipe, model, features)
    report["onnx"] = parity
    report["onnx_parity"] = {"value": int(parity["passed"])}
    example = {name: table.column(name)[0].as_py() for name in recipe.feature_columns}
    signature = recipe.signature(tuple(classes), example=example)
    return report, onnx_bytes, training_baseline(recipe, model, read_tables(train_dir), classes), signature


def training_baseline(recipe: Recipe, model: Any, train: Any, classes: list[str]) -> dict[str, Any]:
    """The drift baseline: the training features and the model's predictions on them (for ner: each span's type,
    and the entity outputs drift watches)."""
    columns = {name: train.column(name).to_pylist() for name in recipe.feature_columns}
    predicted = model.predict(recipe.features(train))
    if recipe.kind != "ner":
        return build_baseline(recipe.schema, columns, predicted.tolist(), classes)
    texts = columns[recipe.feature_columns[0]]
    outputs = [entity_outputs(len(text), spans) for text, spans in zip(texts, predicted, strict=True)]
    return build_baseline(recipe.schema, columns, [span["type"] for spans in predicted for span in spans], classes,
                          outputs=entity_output_profiles(outputs))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--model-dir", default=container_path("/opt/ml/processing/model"))
    parser.add_argument("--test-dir", default=container_path("/opt/ml/processing/test"))
    parser.add_argument("--train-dir", default=container_path("/opt/ml/processing/train"))
    parser.add_argument("--output-dir", default=container_path("/opt/ml/processing"))
    args = parser.parse_args(argv)
    recipe = get_recipe(args.recipe)
    report, onnx_bytes, baseline, signature = evaluate(recipe, load_model(args.model_dir), args.test_dir,
                                                        args.train_dir)
    out = Path(args.output_dir)
    for folder in ("evaluation", "onnx", "baseline"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    (out / "evaluation" / "evaluation.json").write_text(json.dumps(report, indent=2))
    (out / "baseline" / "baseline.json").write_text(json.dumps(baseline))
    if onnx_bytes is not None:
        (out / "onnx" / "model.onnx").write_bytes(onnx_bytes)
        (out / "onnx" / SIGNATURE_FILE).write_text(signature.model_dump_json(indent=2))
    print(json.dumps({"step": "evaluate", "recipe": recipe.name,
                      **{k: v["value"] for k, v in report[GATE_KEY].items()}, "onnx": report["onnx"]}))
    return report


if __name__ == "__main__":
    main()
