"""The learned tagger of the de-identifier: trained on generator A (Faker notes), scored on generator B (the
project's corpus), reproducible, and cheap where text has no capitalized runs."""

from __future__ import annotations

import numpy as np

from mlstack.deid.tagger import TAGS, Tagger, shipped, tokenize, windows
from mlstack.deid.tagger import train as train_tagger
from mlstack.deid.train import NoteGenerator


def test_the_shipped_model_is_what_make_deid_model_trains():
    generator = NoteGenerator(7)
    retrained = train_tagger([generator.note() for _ in range(4000)], epochs=8, seed=7)
    model = shipped()
    assert model is not None
    assert np.allclose(model.weights, retrained.weights.astype(np.float16).astype(np.float32), atol=1e-3)
    assert np.allclose(model.transitions, retrained.transitions)


def test_only_capitalized_runs_are_tagged_and_they_join_particles_and_last_first():
    text = "spoke with Anne de la Cruz and Nguyen-Tran, Thuy about MA and COPD today"
    tokens = tokenize(text)
    runs = [text[tokens[a].start:tokens[b - 1].end] for a, b in windows(tokens)]
    assert runs == ["Anne de la Cruz", "Nguyen-Tran, Thuy"]  # short upper-case abbreviations are not candidates
    assert list(windows(tokenize("no capitalized words here at all"))) == []


def test_names_with_no_cue_and_in_no_list_are_found_from_context_and_form():
    model = shipped()
    text = "Discussed the plan with Xochitl Quispe and her daughter Oyelowo Adebayo."
    names = {text[a:b] for a, b, kind in model.spans(text) if kind == "NAME"}
    assert "Xochitl Quispe" in names


def test_decoding_follows_the_weights_and_transitions():
    weights = np.zeros((1 << 18, len(TAGS)), dtype=np.float32)
    transitions = np.zeros((len(TAGS) + 1, len(TAGS)), dtype=np.float32)
    weights[1, TAGS.index("B-NAME")] = 1.0
    weights[2, TAGS.index("I-NAME")] = 1.0
    assert Tagger(weights, transitions).decode([[1], [2], [3]]) == [1, 2, 0]


def test_the_shipped_safe_list_is_what_the_vocabulary_build_makes():
    from mlstack.deid.recognizers import name_words, places, safe_words
    from mlstack.deid.vocabulary import build

    words, names, world = build()  # regenerate with python -m mlstack.deid.vocabulary
    assert frozenset(words) == safe_words()
    assert frozenset(names) == name_words()
    assert frozenset(world) == places()
    assert {"Sunnyvale", "St. Cloud", "Mogadishu", "South Salt Lake"} <= places()
    assert not {"Tyler", "Reading", "Mobile", "Glasgow", "Salvador"} & places()  # names, words, an eponym
    assert {"tagalog", "haitian", "voicemail"} <= safe_words()
    assert {"colour", "programme", "referred", "greatest", "travelling", "wives"} <= safe_words()  # British, inflected
    assert not {"kissinger", "mather", "bourne", "betts", "ives"} & safe_words()  # surnames of those forms
    assert {"hope", "grace", "mark"} <= name_words()  # names that are everyday words too
    assert {"tumor", "interpreter", "return"} <= safe_words()
    assert not {"rose", "will", "garcia", "sheffield"} & safe_words()  # names, and a proper noun of Webster's
