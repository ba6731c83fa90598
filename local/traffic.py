"""Client traffic for local runs: real rows of the recipe's sample data set, and a drifted variant.

Drift is made the way it happens in the field: tabular features shift by a multiple of their
standard deviation (a new device calibration, a new population), text gets much longer (a new
note template), and an entity model's notes come from a service whose drugs, problems and tests
the training notes never named (the vocabulary and the model's confidence move). Shifted values
are kept inside the schema's bounds, so the API accepts them: drift is not invalid input.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from mlstack.datasets.samples import clinical_entities_rows, sample_rows
from pipelines.recipes import Recipe

DRIFT_SHIFT_SD = 1.5
DRIFTED_FEATURES = 3  # tabular: how many features shift
_TEMPLATE_ADDENDUM = (" Structured template v2: review of systems negative except as noted; medication reconciliation "
                      "completed; care plan reviewed with the interdisciplinary team.")


def sample_instances(recipe: Recipe, count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """`count` rows drawn (with replacement) from the sample data set, features only."""
    rows = sample_rows(recipe.dataset)
    rng = random.Random(seed)  # noqa: S311 - reproducible demo traffic, not security
    return [{name: row[name] for name in recipe.feature_columns} for row in rng.choices(rows, k=count)]


def drifted_features(recipe: Recipe) -> list[str]:
    """The features `drift` shifts (tabular: the first few; text: its one column)."""
    return recipe.feature_columns[:DRIFTED_FEATURES] if recipe.kind == "tabular" else recipe.feature_columns


def drift(recipe: Recipe, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instances with `drifted_features` shifted (tabular: +DRIFT_SHIFT_SD sd; text: a longer template; ner:
    notes naming concepts the training notes never did)."""
    shifted = drifted_features(recipe)
    if recipe.kind == "ner":
        unseen = clinical_entities_rows(len(instances), seed=len(instances), unseen_concepts=True)
        return [{**instance, **{name: row[name] for name in shifted}}
                for instance, row in zip(instances, unseen, strict=True)]
    if recipe.kind == "text":
        return [{**instance, **{name: instance[name] + _TEMPLATE_ADDENDUM for name in shifted}}
                for instance in instances]
    columns = {column.name: column for column in recipe.schema.columns}
    moved = [dict(instance) for instance in instances]
    for name in shifted:
        values = np.array([instance[name] for instance in instances], dtype=np.float64)
        upper = columns[name].maximum if columns[name].maximum is not None else np.inf
        for instance, value in zip(moved, np.minimum(values + DRIFT_SHIFT_SD * values.std(), upper), strict=True):
            instance[name] = float(value)
    return moved
