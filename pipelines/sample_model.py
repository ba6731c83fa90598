"""A model trained in-process on a sample data set, for tests and benchmarks of serving.

The same recipe code as the pipeline (build, fit, ONNX export, signature), without the pipeline
around it: seconds instead of a local pipeline run. Not used by the deployed stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mlstack.datasets.samples import sample_rows
from mlstack.signature import ModelSignature
from pipelines.recipes import get_recipe


@dataclass(frozen=True)
class SampleModel:
    sklearn_model: Any
    onnx_bytes: bytes
    signature: ModelSignature
    instances: list[dict[str, Any]]  # feature dicts of every sample row, as API clients send them


def train_sample_model(recipe_name: str = "tabular") -> SampleModel:
    recipe = get_recipe(recipe_name)
    rows = sample_rows(recipe.dataset)
    table = pa.Table.from_pylist(rows)
    model = recipe.build().fit(recipe.features(table), recipe.labels(table))
    instances = [{name: row[name] for name in recipe.feature_columns} for row in rows]
    signature = recipe.signature(tuple(str(c) for c in model.classes_), example=instances[0])
    return SampleModel(model, recipe.to_onnx(model), signature, instances)
