"""Drift: the training-time baseline, and the comparison of a window of traffic against it.

Pure numpy, so the pipeline's evaluate step (which writes the baseline), the drift function and
the CLI (which compare) share it. Baseline per numeric feature: quantile bin edges and the
training share per bin; per categorical feature: category shares plus an "__other__" bucket; per
text feature: length bins, the training vocabulary, its token-frequency profile and OOV rate; and
the distribution of the model's predictions.

Comparison (`DriftWindow`): counts per baseline bin, accumulated chunk by chunk (memory is bounded
by the chunk), branch-free vectorized counting per numeric feature (bin_counts). Scores per
feature: PSI and Jensen-Shannon distance over the bins, KS (the largest CDF gap at the bin edges:
a lower bound of the exact statistic) with its asymptotic p-value, the missing-rate change; text
adds the OOV-rate change. The effect size decides `drifted` (PSI, or a missing-rate jump), so a
huge window does not flag a practically irrelevant shift; the p-value is reported beside it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pydantic costs ~0.15 s of import; the CLI and the drift function do not need it here
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


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values per bin (-inf, e0], (e0, e1], ..., (e_last, inf); NaN in none.

    For the few edges a baseline has, counting the values above each edge (one branch-free
    vectorized comparison per edge) and differencing is ~10x faster than searchsorted + bincount,
    with the same bins (a value equal to an edge falls in the bin that edge closes)."""
    above = [np.count_nonzero(values > edge) for edge in edges]
    present = values.size - int(np.count_nonzero(np.isnan(values)))
    cumulative = np.array([present, *above, 0], dtype=np.int64)
    return cumulative[:-1] - cumulative[1:]


def bin_shares(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    """Share of finite values per bin: (-inf, e0], (e0, e1], ..., (e_last, inf)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [0.0] * (len(edges) + 1)
    return (bin_counts(finite, np.asarray(edges, dtype=np.float64)) / finite.size).tolist()


def numeric_profile(values: Sequence[Any] | np.ndarray, *, bins: int = 10,
                    edges: Sequence[float] | None = None) -> dict[str, Any]:
    """Quantile bins of the values, or the given fixed edges."""
    array = values.astype(np.float64, copy=False) if isinstance(values, np.ndarray) else np.array(
        [np.nan if v is None else v for v in values], dtype=np.float64)
    edges = quantile_edges(array, bins) if edges is None else list(edges)
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


def text_profile(values: Sequence[Any], *, bins: int = 10, vocabulary_size: int = 5000) -> dict[str, Any]:
    texts = [v for v in values if v is not None]
    lengths = np.array([len(t) for t in texts], dtype=np.float64)
    edges = quantile_edges(lengths, bins)
    document_frequency = Counter(token for text in texts for token in set(tokens(text)))
    vocabulary = [token for token, _ in document_frequency.most_common(vocabulary_size)]
    known, total = _vocabulary_counts(texts, frozenset(vocabulary))
    return {"kind": "text", "length_edges": edges, "length_shares": bin_shares(lengths, edges),
            "vocabulary": vocabulary, "oov_rate": 1 - known / total if total else 0.0,
            "token_document_shares": [document_frequency[t] / max(len(texts), 1) for t in vocabulary],
            "missing_rate": sum(v is None for v in values) / max(len(values), 1)}


def feature_profile(column: Column, values: Sequence[Any], *, bins: int = 10,
                    vocabulary_size: int = 5000) -> dict[str, Any]:
    if column.type in ("integer", "float"):
        return numeric_profile(values, bins=bins)
    if column.type == "category":
        return _categorical_profile(values, column.categories or ())
    if column.type == "boolean":
        return _categorical_profile(["true" if v else "false" for v in values if v is not None], ("true", "false"))
    return text_profile(values, bins=bins, vocabulary_size=vocabulary_size)


def _bins(profile: dict[str, Any]) -> tuple[list[float], list[float]]:
    """(interior edges, baseline shares): numeric features bin values, text features bin lengths,
    categorical ones have categories instead of edges."""
    if profile["kind"] == "text":
        return profile["length_edges"], profile["length_shares"]
    return profile.get("edges", []), profile["shares"]


def build_baseline(schema: DatasetSchema, columns: dict[str, Sequence[Any]], predictions: Sequence[Any],
                   classes: Sequence[str], *, bins: int = 10,
                   outputs: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The baseline document for the given feature columns and the model's predictions on them; `outputs` are
    profiles of what the model's outputs measure (entity models), watched like features."""
    by_name = {column.name: column for column in schema.columns}
    rows = len(columns[next(iter(columns))]) if columns else len(predictions)
    return {
        "version": BASELINE_VERSION,
        "dataset": schema.name,
        "schema_version": schema.version,
        "rows": rows,
        "features": {**{name: feature_profile(by_name[name], values, bins=bins) for name, values in columns.items()},
                     **(outputs or {})},
        "prediction": _categorical_profile(list(predictions), list(classes)),
    }


# Entity models: besides the text itself (lengths, vocabulary, OOV rate) drift watches the entity-type mix (the
# prediction profile counts each span's type), how many spans a text holds, and how sure the model is of them.
ENTITY_DENSITY = "entities_per_1000_chars"
ENTITY_SCORE = "entity_score"
SCORE_EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def entity_outputs(text_length: int, entities: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What drift watches of one text's predicted spans (capture records it beside the de-identified text)."""
    return {ENTITY_DENSITY: 1000 * len(entities) / max(text_length, 1),
            ENTITY_SCORE: [float(entity["score"]) for entity in entities]}


def entity_output_profiles(per_text: Sequence[Mapping[str, Any]], *, bins: int = 10) -> dict[str, dict[str, Any]]:
    """Baseline profiles of entity_outputs over the training texts: density per text, scores per span."""
    return {ENTITY_DENSITY: numeric_profile([values[ENTITY_DENSITY] for values in per_text], bins=bins),
            ENTITY_SCORE: numeric_profile([score for values in per_text for score in values[ENTITY_SCORE]],
                                          edges=SCORE_EDGES)}


def flattened(values: Sequence[Any]) -> list[Any]:
    """Values where some are lists (an entity model's per-span outputs), one level flattened."""
    if not any(isinstance(value, list) for value in values):
        return list(values)
    return [item for value in values for item in (value if isinstance(value, list) else [value])]


# --- comparison -------------------------------------------------------------------------------------

PSI_THRESHOLD = 0.2  # the usual "significant shift" line; about 0.45 standard deviations of mean shift
MISSING_CHANGE_THRESHOLD = 0.1  # absolute change of the missing-value rate
OOV_CHANGE_THRESHOLD = 0.1  # absolute change of the out-of-vocabulary token rate (text)
_SMOOTHING = 1e-4  # share given to empty bins, so PSI stays finite


def _vocabulary_counts(texts: Sequence[str], vocabulary: frozenset[str]) -> tuple[int, int]:
    """(tokens in the vocabulary, all tokens)."""
    known = total = 0
    for text in texts:
        words = tokens(text)
        total += len(words)
        known += sum(word in vocabulary for word in words)
    return known, total


class DriftInputError(ValueError):
    """Input the drift tools cannot use (a missing or unreadable file, missing columns, not a baseline)."""


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two share vectors (empty bins smoothed)."""
    p, q = np.maximum(expected, _SMOOTHING), np.maximum(actual, _SMOOTHING)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, 0 = same, 1 = disjoint)."""
    middle = (expected + actual) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / middle[mask])))

    return math.sqrt(max((kl(expected) + kl(actual)) / 2, 0.0))


def ks_pvalue(statistic: float, n: int, m: int) -> float:
    """Asymptotic two-sample Kolmogorov-Smirnov p-value (Kolmogorov distribution series)."""
    if statistic <= 0 or n == 0 or m == 0:
        return 1.0
    lam = statistic * math.sqrt(n * m / (n + m))
    if lam < 0.2:
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return float(min(max(2 * total, 0.0), 1.0))


@dataclass
class _Counts:
    """Per-feature counts accumulated over chunks."""

    bins: np.ndarray
    missing: int = 0
    rows: int = 0
    known_tokens: int = 0
    tokens: int = 0


def _numbers(values: Any) -> np.ndarray:
    """A numeric column as float64 (None -> NaN), lists of per-span values flattened."""
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    return np.array(flattened(values), dtype=np.float64)


class DriftWindow:
    """Counts a window of traffic in the baseline's bins, chunk by chunk; `report` scores it."""

    def __init__(self, baseline: dict[str, Any], *, psi_threshold: float = PSI_THRESHOLD,
                 missing_threshold: float = MISSING_CHANGE_THRESHOLD) -> None:
        self.baseline, self.psi_threshold, self.missing_threshold = baseline, psi_threshold, missing_threshold
        self.counts = {name: _Counts(np.zeros(len(_bins(profile)[1]), dtype=np.int64))
                       for name, profile in baseline["features"].items()}
        prediction = baseline.get("prediction")
        self.prediction = _Counts(np.zeros(len(prediction["categories"]), dtype=np.int64)) if prediction else None
        self._edges = {name: np.asarray(_bins(profile)[0], dtype=np.float64)
                       for name, profile in baseline["features"].items()}
        self._vocabularies = {name: frozenset(profile["vocabulary"])
                              for name, profile in baseline["features"].items() if profile["kind"] == "text"}
        self.records = 0  # instances seen by update (per-span outputs count more rows than instances)

    def update(self, columns: Mapping[str, Any], predictions: Sequence[Any] | None = None) -> None:
        """Add a chunk: numeric columns as float arrays (NaN = missing); categorical ones as sequences or
        {label: count} (None = missing); text as sequences of strings (None = missing). Entity outputs may hold a
        list per instance (one score per span)."""
        self.records += len(next(iter(columns.values()), []))
        for name, values in columns.items():
            kind = self.baseline["features"][name]["kind"]
            if kind == "numeric":
                self._update_numeric(name, _numbers(values))
            elif kind == "categorical":
                self._update_categorical(self.counts[name], self.baseline["features"][name]["categories"], values)
            else:
                self._update_text(name, values)
        if predictions is not None and self.prediction is not None:
            self._update_categorical(self.prediction, self.baseline["prediction"]["categories"],
                                     flattened(predictions))

    def add_counts(self, name: str | None, bins: Mapping[int, int] | Mapping[str, int], missing: int) -> None:
        """Counts computed elsewhere (an Athena query, mlstack/drift_athena.py): per bin index for numeric and
        text features, per label for categorical ones and the prediction (name None)."""
        counts = self.prediction if name is None else self.counts[name]
        if counts is None:
            return
        profile = self.baseline["prediction"] if name is None else self.baseline["features"][name]
        if profile["kind"] == "categorical":
            self._update_categorical(counts, profile["categories"], {**bins, None: missing})
            return
        for index, count in bins.items():
            counts.bins[int(index)] += count
            counts.rows += count
        counts.missing += missing
        counts.rows += missing

    def _update_numeric(self, name: str, values: np.ndarray) -> None:
        counts = self.counts[name]
        binned = bin_counts(values, self._edges[name])
        counts.bins += binned
        counts.missing += values.size - int(binned.sum())
        counts.rows += values.size

    @staticmethod
    def _update_categorical(counts: _Counts, categories: list[str],
                            values: Sequence[Any] | np.ndarray | Mapping[str | None, int]) -> None:
        """Values, or already counted values ({label: count}, None = missing) as columnar readers give them."""
        if not isinstance(values, Mapping):
            array = np.asarray(values, dtype=object)
            present = array[array != None]  # noqa: E711 - elementwise comparison, not identity
            labels, frequency = np.unique(present.astype(str), return_counts=True)
            values = {**dict(zip(labels.tolist(), frequency.tolist(), strict=True)), None: array.size - present.size}
        index = {category: i for i, category in enumerate(categories)}
        other = index[OTHER]
        for label, count in values.items():
            if label is None:
                counts.missing += count
            else:
                counts.bins[index.get(str(label), other)] += count
            counts.rows += count

    def _update_text(self, name: str, values: Sequence[Any]) -> None:
        """Strings; also {"length": n} from captures written before capture de-identified text (length bins only)."""
        counts = self.counts[name]
        texts = [value for value in values if isinstance(value, str)]
        captured = [value["length"] for value in values if isinstance(value, Mapping) and "length" in value]
        lengths = np.array([len(text) for text in texts] + captured, dtype=np.float64)
        counts.bins += bin_counts(lengths, self._edges[name])
        known, total = _vocabulary_counts(texts, self._vocabularies[name])
        counts.known_tokens += known
        counts.tokens += total
        counts.missing += len(values) - len(texts) - len(captured)
        counts.rows += len(values)

    def report(self) -> dict[str, Any]:
        """Scores per feature, the prediction drift, and the per-model summary."""
        features = {name: self._score(self.baseline["features"][name], counts) for name, counts in self.counts.items()}
        prediction = (self._score(self.baseline["prediction"], self.prediction)
                      if self.prediction is not None and self.prediction.rows else None)
        drifted = sorted(name for name, score in features.items() if score["drifted"])
        scored = [(score["psi"], name) for name, score in features.items() if score["psi"] is not None]
        worst = max(scored, default=(None, None))
        return {
            "baseline_rows": self.baseline.get("rows"),
            "window_rows": self.records or max((c.rows for c in self.counts.values()), default=0),
            "thresholds": {"psi": self.psi_threshold, "missing_rate_change": self.missing_threshold,
                           "oov_rate_change": OOV_CHANGE_THRESHOLD},
            "features": features,
            "prediction": prediction,
            "summary": {"features": len(features), "drifted_features": len(drifted), "drifted": drifted,
                        "max_psi": worst[0], "max_psi_feature": worst[1],
                        "prediction_psi": prediction["psi"] if prediction else None,
                        "prediction_drifted": bool(prediction and prediction["drifted"])},
        }

    def _score(self, profile: dict[str, Any], counts: _Counts) -> dict[str, Any]:
        expected = np.asarray(_bins(profile)[1], dtype=np.float64)
        present = int(counts.bins.sum())
        missing_rate = counts.missing / counts.rows if counts.rows else 0.0
        missing_change = missing_rate - profile.get("missing_rate", 0.0)
        score: dict[str, Any] = {"kind": profile["kind"], "rows": counts.rows, "missing_rate": missing_rate,
                                 "missing_rate_change": missing_change,
                                 "psi": None, "js_distance": None, "ks": None, "ks_pvalue": None}
        if present:
            actual = counts.bins / present
            gap = float(np.max(np.abs(np.cumsum(expected) - np.cumsum(actual))))
            score.update(psi=psi(expected, actual), js_distance=js_distance(expected, actual), ks=gap,
                         ks_pvalue=ks_pvalue(gap, int(self.baseline.get("rows") or 0), present),
                         window_shares=actual.tolist())
        reasons = []
        if score["psi"] is not None and score["psi"] >= self.psi_threshold:
            reasons.append("psi")
        if abs(missing_change) >= self.missing_threshold:
            reasons.append("missing_rate")
        if profile["kind"] == "text" and counts.tokens:
            oov = 1 - counts.known_tokens / counts.tokens
            score.update(oov_rate=oov, oov_rate_change=oov - profile.get("oov_rate", 0.0))
            if score["oov_rate_change"] >= OOV_CHANGE_THRESHOLD:
                reasons.append("oov_rate")
        score.update(drifted=bool(reasons), reasons=reasons)
        return score


def compare(baseline: dict[str, Any], columns: Mapping[str, Any],
            predictions: Sequence[Any] | None = None, **thresholds: float) -> dict[str, Any]:
    """The drift report of one in-memory window (see DriftWindow for chunked windows)."""
    window = DriftWindow(baseline, **thresholds)
    window.update(columns, predictions)
    return window.report()


def ranked_features(report: dict[str, Any]) -> list[str]:
    """A report's features, drifted ones first, then by PSI (highest first): how tables and plots list them."""
    return [name for name, _ in sorted(report["features"].items(),
                                       key=lambda item: (not item[1]["drifted"], -(item[1]["psi"] or 0)))]


def format_score(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def looks_like_text(counts: Mapping[str | None, int], *, max_categories: int = 50,
                    min_mean_length: int = 40) -> bool:
    """Many distinct, long strings: free text rather than a category (for files without a schema)."""
    present = {label: count for label, count in counts.items() if label is not None}
    mean_length = sum(len(label) * count for label, count in present.items()) / max(sum(present.values()), 1)
    return len(present) > max_categories and mean_length >= min_mean_length


def counted_categorical_profile(counts: Mapping[str | None, int], *, max_categories: int = 50) -> dict[str, Any]:
    """A categorical profile from value counts (None = missing): the most frequent categories, the rest other."""
    present = Counter({str(label): count for label, count in counts.items() if label is not None})
    categories = [label for label, _ in present.most_common(max_categories)]
    known = [present[c] for c in categories]
    denominator = max(sum(present.values()), 1)
    return {"kind": "categorical", "categories": [*categories, OTHER],
            "shares": [count / denominator for count in [*known, sum(present.values()) - sum(known)]],
            "missing_rate": counts.get(None, 0) / max(sum(counts.values()), 1)}

