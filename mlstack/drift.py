"""Drift baselines: the training-time profile that monitoring compares captured traffic against.

Pure numpy, so the pipeline's evaluate step (which writes the baseline) and the drift function
(which compares) share it. Per numeric feature: quantile bin edges and the training share per
bin; per categorical feature: category shares plus an "__other__" bucket; per text feature:
length bins, the training vocabulary, and its token-frequency profile; and the distribution of
the model's predictions. Comparison (PSI, Jensen-Shannon, KS) builds on these profiles.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlstack.schema import Column, DatasetSchema

BASELINE_VERSION = 1
OTHER = "__other__"
# How text is tokenized everywhere in the project (TF-IDF recipes, OOV rates).
TOKEN_PATTERN = r"[a-zA-Z0-9][a-zA-Z0-9]+"  # noqa: S105 - a regex, not a secret
_TOKENS = re.compile(TOKEN_PATTERN)


def tokens(text: str) -> list[str]:
    return _TOKENS.findall(text.lower())


def quantile_edges(values: np.ndarray, bins: int) -> list[float]:
    """Interior bin edges at training quantiles (duplicates dropped for discrete features)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    return np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])).tolist()


def bin_shares(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    """Share of finite values per bin: (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [0.0] * (len(edges) + 1)
    counts = np.bincount(np.searchsorted(np.asarray(edges), finite, side="left"), minlength=len(edges) + 1)
    return (counts / finite.size).tolist()


def _numeric_profile(values: Sequence[Any], bins: int) -> dict[str, Any]:
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    edges = quantile_edges(array, bins)
    return {"kind": "numeric", "edges": edges, "shares": bin_shares(array, edges),
            "missing_rate": float(np.isnan(array).mean()) if array.size else 0.0,
            "mean": float(np.nanmean(array)) if np.isfinite(array).any() else None,
            "std": float(np.nanstd(array)) if np.isfinite(array).any() else None}


def _categorical_profile(values: Sequence[Any], categories: Sequence[str]) -> dict[str, Any]:
    counts = Counter(OTHER if v not in categories else v for v in values if v is not None)
    total = sum(counts.values()) or 1
    return {"kind": "categorical", "categories": [*categories, OTHER],
            "shares": [counts.get(c, 0) / total for c in [*categories, OTHER]],
            "missing_rate": sum(v is None for v in values) / max(len(values), 1)}


def _text_profile(values: Sequence[Any], bins: int, vocabulary_size: int) -> dict[str, Any]:
    texts = [v for v in values if v is not None]
    lengths = np.array([len(t) for t in texts], dtype=np.float64)
    edges = quantile_edges(lengths, bins)
    document_frequency = Counter(token for text in texts for token in set(tokens(text)))
    vocabulary = [token for token, _ in document_frequency.most_common(vocabulary_size)]
    return {"kind": "text", "length_edges": edges, "length_shares": bin_shares(lengths, edges),
            "vocabulary": vocabulary,
            "token_document_shares": [document_frequency[t] / max(len(texts), 1) for t in vocabulary],
            "missing_rate": sum(v is None for v in values) / max(len(values), 1)}


def feature_profile(column: Column, values: Sequence[Any], *, bins: int = 10,
                    vocabulary_size: int = 5000) -> dict[str, Any]:
    if column.type in ("integer", "float"):
        return _numeric_profile(values, bins)
    if column.type == "category":
        return _categorical_profile(values, column.categories or ())
    if column.type == "boolean":
        return _categorical_profile(["true" if v else "false" for v in values if v is not None], ("true", "false"))
    return _text_profile(values, bins, vocabulary_size)


def build_baseline(schema: DatasetSchema, columns: dict[str, Sequence[Any]], predictions: Sequence[Any],
                   classes: Sequence[str], *, bins: int = 10) -> dict[str, Any]:
    """The baseline document for the given feature columns and the model's predictions on them."""
    by_name = {column.name: column for column in schema.columns}
    rows = len(predictions)
    return {
        "version": BASELINE_VERSION,
        "dataset": schema.name,
        "schema_version": schema.version,
        "rows": rows,
        "features": {name: feature_profile(by_name[name], values, bins=bins) for name, values in columns.items()},
        "prediction": _categorical_profile(list(predictions), list(classes)),
    }
