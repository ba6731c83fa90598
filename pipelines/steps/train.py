"""Train: fit the recipe on the train split; report the validation score; save the model.

SageMaker Training: channels /opt/ml/input/data/{train,validation}, model dir /opt/ml/model
(SageMaker packs it into model.tar.gz). Hyperparameters arrive as --name value arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import joblib

if not __package__:  # script mode runs this file from the unpacked bundle: make the bundle importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipelines.recipes import Recipe, get_recipe
from pipelines.steps.tables import read_tables

MODEL_FILE = "model.joblib"


def fit(recipe: Recipe, train_dir: str | Path) -> Any:
    table = read_tables(train_dir)
    model = recipe.build()
    model.fit(recipe.features(table), recipe.labels(table))
    return model


def validation_score(recipe: Recipe, model: Any, data_dir: str | Path) -> tuple[str, float]:
    """(metric name, value) on a split: accuracy for classifiers, strict entity-level F1 for ner."""
    table = read_tables(data_dir)
    predicted, truth = model.predict(recipe.features(table)), recipe.labels(table)
    if recipe.kind == "ner":
        from mlstack.ner_metrics import entity_scores

        return "validation_f1", entity_scores(zip(truth, predicted, strict=True))["strict"]["overall"]["f1"]
    return "validation_accuracy", float((predicted == truth).mean())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--train-dir", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument("--validation-dir",
                        default=os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    args = parser.parse_args(argv)
    recipe = get_recipe(args.recipe)
    model = fit(recipe, args.train_dir)
    Path(args.model_dir).mkdir(parents=True, exist_ok=True)
    joblib.dump(model, Path(args.model_dir) / MODEL_FILE)
    (Path(args.model_dir) / "recipe.json").write_text(json.dumps({"recipe": recipe.name, "params": recipe.params}))
    metric, value = validation_score(recipe, model, args.validation_dir)
    result = {"step": "train", "recipe": recipe.name, metric: value}
    print(f"{metric}={value:.6f}")  # the form SageMaker metric definitions match
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
