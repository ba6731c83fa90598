"""Classifier recipes train, export to ONNX, and agree with scikit-learn; a drifting export is caught.
(The ner recipe's export: tests/unit/test_entity_tagger.py and test_pipeline_steps.py.)"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mlstack.datasets.samples import breast_cancer_rows, clinical_notes_rows
from pipelines.recipes import RECIPES, get_recipe
from pipelines.steps.evaluate import PROBABILITY_TOLERANCE, onnx_parity

ROWS = {"breast_cancer": breast_cancer_rows, "clinical_notes": lambda: clinical_notes_rows(300)}


@pytest.fixture(scope="module", params=sorted(name for name, recipe in RECIPES.items() if recipe.kind != "ner"))
def fitted(request):
    recipe = get_recipe(request.param)
    table = pa.Table.from_pylist(ROWS[recipe.dataset]())
    features = recipe.features(table)
    return recipe, recipe.build().fit(features, recipe.labels(table)), features


def test_onnx_export_matches_scikit_learn_labels_and_probabilities(fitted):
    recipe, model, features = fitted
    onnx_bytes, parity = onnx_parity(recipe, model, features)
    assert onnx_bytes and parity["exported"]
    assert parity["labels_identical"]
    assert parity["max_probability_difference"] <= PROBABILITY_TOLERANCE
    assert parity["passed"]


def test_a_failing_export_is_recorded_not_raised(fitted, monkeypatch):
    recipe, model, features = fitted
    monkeypatch.setattr(type(recipe), "to_onnx", lambda self, m: (_ for _ in ()).throw(RuntimeError("no op")))
    onnx_bytes, parity = onnx_parity(recipe, model, features)
    assert onnx_bytes is None
    assert parity == {"exported": False, "passed": False, "error": "RuntimeError: no op"}


def test_the_gate_catches_an_export_whose_probabilities_drift():
    # scikit-learn's default token pattern with bigrams tokenizes differently in ONNX (measured ~1e-2).
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    recipe = get_recipe("text")
    table = pa.Table.from_pylist(clinical_notes_rows(300))
    features = recipe.features(table)
    model = Pipeline([("flatten", FunctionTransformer(np.ravel, validate=False)),
                      ("tfidf", TfidfVectorizer(ngram_range=(1, 2))),
                      ("classifier", LogisticRegression(max_iter=1000))]).fit(features, recipe.labels(table))
    _, parity = onnx_parity(recipe, model, features)
    assert parity["exported"]
    assert parity["max_probability_difference"] > PROBABILITY_TOLERANCE
    assert not parity["passed"]


def test_unknown_recipes_are_named():
    with pytest.raises(ValueError, match="unknown recipe 'forest'; available"):
        get_recipe("forest")


def test_every_recipe_can_be_configured_and_demoed():
    """The recipe names are spelled in three places that must agree: the recipes, the config, the demo's CLI."""
    from typing import get_args

    from mlstack.cli import build_parser
    from mlstack.config import TrainingSettings

    assert set(get_args(TrainingSettings.model_fields["recipe"].annotation)) == set(RECIPES)
    demo = build_parser()._subparsers._group_actions[0].choices["demo"]
    [recipe] = [action for action in demo._actions if action.dest == "recipe"]
    assert set(recipe.choices) == set(RECIPES)
