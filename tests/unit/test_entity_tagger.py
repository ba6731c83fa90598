"""The `ner` recipe's model: the linear-chain algorithm against brute force, learning, generalization to
concepts no training note named, the ONNX export's parity, and the span contract on arbitrary text."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlstack.datasets.samples import CONCEPTS, clinical_entities_rows
from mlstack.entity_tagger import (
    FEATURE_VERSION,
    OnnxEntityTagger,
    gold_tags,
    token_accuracy,
    tokenize,
)
from mlstack.linear_chain import marginals, viterbi
from mlstack.ner_metrics import entity_scores
from pipelines.recipes import get_recipe


def _path_score(scores, transitions, path):
    total = transitions[-1, path[0]] + scores[0, path[0]]
    for position in range(1, len(path)):
        total += transitions[path[position - 1], path[position]] + scores[position, path[position]]
    return total


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_and_marginals_agree_with_enumerating_every_path(seed):
    rng = np.random.default_rng(seed)
    scores, transitions = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    paths = list(itertools.product(range(3), repeat=4))
    totals = np.array([_path_score(scores, transitions, path) for path in paths])
    assert tuple(viterbi(scores, transitions)) == paths[int(totals.argmax())]
    weights = np.exp(totals - totals.max())
    expected = np.zeros((4, 3))
    for path, weight in zip(paths, weights / weights.sum(), strict=True):
        expected[np.arange(4), path] += weight
    assert np.allclose(marginals(scores, transitions), expected)


@pytest.fixture(scope="module")
def trained():
    rows = clinical_entities_rows(300)
    recipe = get_recipe("ner")
    model = recipe.build().fit([row["text"] for row in rows], [row["entities"] for row in rows])
    return model


def test_it_learns_only_the_types_the_data_holds(trained):
    assert set(trained.types) == set(CONCEPTS)  # NAME, DATE, ... are declared but no sample span has them
    assert trained.tags[0] == "O" and len(trained.tags) == 1 + 2 * len(CONCEPTS)


def test_it_finds_concepts_no_training_note_named(trained):
    """The held-out rows draw every concept from the part of each list training never used: found from context
    and form, not memorized."""
    unseen = clinical_entities_rows(150, seed=99, unseen_concepts=True)
    predicted = trained.predict([row["text"] for row in unseen])
    overall = entity_scores(zip([row["entities"] for row in unseen], predicted, strict=True))["strict"]["overall"]
    assert overall["recall"] > 0.85 and overall["precision"] > 0.85, overall


def test_the_onnx_export_gives_the_same_spans_and_scores(trained):
    texts = [row["text"] for row in clinical_entities_rows(60, seed=5)] + ["", "   ", "No findings."]
    exported = OnnxEntityTagger(get_recipe("ner").to_onnx(trained))
    assert exported.tags == trained.tags
    ours, theirs = trained.predict(texts), exported.predict(texts)
    assert [[(s["type"], s["start"], s["end"]) for s in x] for x in ours] == \
        [[(s["type"], s["start"], s["end"]) for s in x] for x in theirs]
    assert max(abs(a["score"] - b["score"]) for x, y in zip(ours, theirs, strict=True)
               for a, b in zip(x, y, strict=True)) <= 1e-5


def test_a_model_exported_with_other_features_is_refused(trained, monkeypatch):
    onnx_bytes = get_recipe("ner").to_onnx(trained)
    monkeypatch.setattr("mlstack.entity_tagger.FEATURE_VERSION", FEATURE_VERSION + 1)
    with pytest.raises(ValueError, match="retrain"):
        OnnxEntityTagger(onnx_bytes)


def test_gold_tags_label_whole_tokens_and_mark_unknown_types():
    text = "Started metformin today."
    tokens = tokenize(text)
    tags = ("O", "B-DRUG", "I-DRUG")
    assert gold_tags(tokens, [{"type": "DRUG", "start": 8, "end": 17}], tags) == [0, 1, 0, 0]
    assert gold_tags(tokens, [{"type": "DRUG", "start": 8, "end": 12}], tags) == [0, 0, 0, 0]  # cuts a token
    assert gold_tags(tokens, [{"type": "GENE", "start": 8, "end": 17}], tags) == [0, -1, 0, 0]
    gold = [[{"type": "DRUG", "start": 8, "end": 17}]]
    assert token_accuracy([text], gold, gold, tags) == 1.0
    assert token_accuracy([text], gold, [[]], tags) == 0.75


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_spans_on_any_text_are_sorted_disjoint_inside_it_and_scored(trained, text):
    [spans] = trained.predict([text])
    end = 0
    for span in spans:
        assert end <= span["start"] < span["end"] <= len(text)
        assert span["type"] in trained.types
        assert 0.0 <= span["score"] <= 1.0
        end = span["end"]
