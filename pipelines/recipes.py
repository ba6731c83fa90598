"""Model recipes: what to train on which data set, and how to export it to ONNX.

A recipe is selected by name (pipeline parameter `Recipe`). The classifiers build a scikit-learn
pipeline that converts to ONNX; the `ner` recipe builds the entity tagger (mlstack/entity_tagger.py),
which exports its own ONNX graph. Evaluate checks the export's predictions against the trained model
before anything is registered, so a recipe whose export drifts is rejected by the quality gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

# An explicit ASCII token pattern: with scikit-learn's default pattern and bigrams, the ONNX
# tokenizer splits some tokens differently (probabilities off by ~1e-2, measured).
from mlstack.drift import ENTITY_DENSITY, ENTITY_SCORE, TOKEN_PATTERN
from mlstack.schema import DatasetSchema, load_schema
from mlstack.signature import ModelSignature

if TYPE_CHECKING:  # pyarrow stays off the CDK synth path, which reads recipes for the API's request model
    import pyarrow as pa

ONNX_OPSET = 18


@dataclass(frozen=True)
class Recipe:
    name: str
    dataset: str
    kind: str  # "tabular" (float features), "text" (one free-text column), "ner" (entity spans in one text column)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> DatasetSchema:
        return load_schema(self.dataset)

    @property
    def label(self) -> str:
        return self.schema.label

    @property
    def feature_columns(self) -> list[str]:
        if self.kind in ("text", "ner"):
            return [self.params["text_column"]]
        return [c.name for c in self.schema.columns if c.name != self.label and c.type in ("float", "integer")]

    @property
    def drift_features(self) -> list[str]:
        """What drift scores for a model of this recipe: its features, and for ner its entity outputs."""
        if self.kind == "ner":
            return [*self.feature_columns, ENTITY_DENSITY, ENTITY_SCORE]
        return self.feature_columns

    def signature(self, classes: tuple[str, ...] = (), example: dict[str, Any] | None = None) -> ModelSignature:
        """The input contract of a model trained with this recipe (the API validates requests with it)."""
        return ModelSignature(recipe=self.name, dataset=self.dataset, schema_version=self.schema.version,
                              kind=self.kind, features=tuple(self.feature_columns), classes=classes,
                              example=example)

    def features(self, table: pa.Table) -> np.ndarray:
        """Model input from a table: float32 matrix (tabular) or an (n, 1) string array (text)."""
        if self.kind in ("text", "ner"):
            return np.asarray(table.column(self.feature_columns[0]).to_pylist(), dtype=object).reshape(-1, 1)
        return np.column_stack([table.column(name).to_numpy().astype(np.float32) for name in self.feature_columns])

    def labels(self, table: pa.Table) -> np.ndarray | list[list[dict[str, Any]]]:
        """Class labels (classifiers), or per row its spans [{"type", "start", "end"}] (ner)."""
        if self.kind == "ner":
            return table.column(self.label).to_pylist()
        return np.asarray(table.column(self.label).to_pylist(), dtype=object)

    @property
    def entity_types(self) -> tuple[str, ...]:
        """The label column's declared entity types (ner)."""
        return next(column.categories or () for column in self.schema.columns if column.name == self.label)

    def build(self) -> Any:
        """An unfitted model: a scikit-learn pipeline, or the entity tagger."""
        if self.kind == "ner":
            from mlstack.entity_tagger import EntityTagger

            return EntityTagger(self.entity_types, buckets=self.params["buckets"], epochs=self.params["epochs"])
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline

        classifier = LogisticRegression(C=self.params.get("C", 1.0), max_iter=2000)
        if self.kind == "text":
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.preprocessing import FunctionTransformer

            return Pipeline([
                ("flatten", FunctionTransformer(np.ravel, validate=False)),
                ("tfidf", TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=(1, 2), min_df=2,
                                          max_features=self.params.get("max_features", 20000))),
                ("classifier", classifier),
            ])
        from sklearn.preprocessing import StandardScaler

        return Pipeline([("scale", StandardScaler()), ("classifier", classifier)])

    def to_onnx(self, model: Any) -> bytes:
        """The fitted model as ONNX: input `features` (tabular) or `text`, outputs label and probabilities; the
        entity tagger's emission scorer (ner)."""
        if self.kind == "ner":
            return _entity_tagger_onnx(model)
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType

        classifier = model.named_steps["classifier"]
        options: dict[int, dict[str, Any]] = {id(classifier): {"zipmap": False}}
        if self.kind == "text":
            # ONNX StringNormalizer needs a locale; C.UTF-8 exists on minimal Linux images and Lambda.
            options[id(model.named_steps["tfidf"])] = {"locale": "C.UTF-8"}
            onnx_model = convert_sklearn(_without_flatten(model), initial_types=[("text", StringTensorType([None, 1]))],
                                         options=options, target_opset=ONNX_OPSET)
        else:
            inputs = [("features", FloatTensorType([None, len(self.feature_columns)]))]
            onnx_model = convert_sklearn(model, initial_types=inputs, options=options, target_opset=ONNX_OPSET)
        return onnx_model.SerializeToString()


def _entity_tagger_onnx(model: Any) -> bytes:
    """The entity tagger's emission scorer: input feature_ids int64 (tokens, FEATURES_PER_TOKEN); outputs emissions
    float32 (tokens, tags) = the sum of each token's feature weight rows, and the tag transitions."""
    from onnx import TensorProto, helper, numpy_helper

    from mlstack.entity_tagger import FEATURES_PER_TOKEN

    tags = len(model.tags)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["weights", "feature_ids"], ["rows"], axis=0),
         helper.make_node("ReduceSum", ["rows", "token_axis"], ["emissions"], keepdims=0),
         helper.make_node("Identity", ["transition_weights"], ["transitions"])],
        "entity_tagger",
        [helper.make_tensor_value_info("feature_ids", TensorProto.INT64, [None, FEATURES_PER_TOKEN])],
        [helper.make_tensor_value_info("emissions", TensorProto.FLOAT, [None, tags]),
         helper.make_tensor_value_info("transitions", TensorProto.FLOAT, [tags + 1, tags])],
        initializer=[numpy_helper.from_array(model.weights.astype(np.float32), "weights"),
                     numpy_helper.from_array(model.transitions.astype(np.float32), "transition_weights"),
                     numpy_helper.from_array(np.array([1], dtype=np.int64), "token_axis")])
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                                   producer_name="mlstack-entity-tagger")
    helper.set_model_props(onnx_model, model.metadata())
    return onnx_model.SerializeToString()


def _without_flatten(model: Any) -> Any:
    """The text pipeline minus its flatten step (ONNX feeds the vectorizer an (n, 1) string tensor)."""
    from sklearn.pipeline import Pipeline

    return Pipeline([(name, step) for name, step in model.steps if name != "flatten"])


RECIPES = {
    "tabular": Recipe("tabular", "breast_cancer", "tabular", {"C": 1.0}),
    "text": Recipe("text", "clinical_notes", "text", {"C": 4.0, "text_column": "note_text", "max_features": 20000}),
    "ner": Recipe("ner", "clinical_entities", "ner", {"text_column": "text", "buckets": 1 << 16, "epochs": 10}),
}


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; available: {sorted(RECIPES)}") from None
