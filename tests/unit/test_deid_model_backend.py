"""A team's own labelled notes retrain the de-identifier's learned half with the ner recipe's code."""

from __future__ import annotations

import io
import json

import pytest

from mlstack.cli import main as cli_main
from mlstack.deid import Deidentifier, PatternBackend
from mlstack.deid.corpus import load_corpus
from mlstack.deid.evaluate import evaluate
from mlstack.deid.model_backend import EntityModelTagger, train_model
from mlstack.deid.train import NoteGenerator


@pytest.fixture(scope="module")
def notes() -> list[dict]:
    generator = NoteGenerator(7)  # the shipped tagger's generator: names and places labelled
    return [{"text": text, "spans": [{"start": a, "end": b, "type": kind} for a, b, kind in spans]}
            for text, spans in (generator.note() for _ in range(400))]


@pytest.fixture(scope="module")
def model(notes) -> bytes:
    return train_model(notes)


def test_the_recipes_model_is_the_learned_half_beside_the_patterns(model):
    backend = PatternBackend(EntityModelTagger(model))
    text = "Seen today with Oyelaran Thistlewood, who drove in from Brannigan Falls."
    found = {(text[span.start:span.end], span.type) for span in backend.detect(text)}
    assert ("Oyelaran Thistlewood", "NAME") in found, found
    # scored on the project's corpus, which it never saw: the patterns and the model together
    result = evaluate(Deidentifier(backend=backend), load_corpus()[:150])
    assert result["overall"]["recall_any_type"] >= 0.97
    assert result["overall"]["precision"] >= 0.85


def test_types_that_are_no_identifiers_are_refused(notes):
    with pytest.raises(ValueError, match="DRUG"):
        train_model([{"text": "Started lisinopril.", "spans": [{"type": "DRUG", "start": 8, "end": 18}]}])
    with pytest.raises(ValueError, match="document 1"):
        train_model([{"text": "short", "spans": [{"type": "NAME", "start": 2, "end": 40}]}])


def test_the_cli_trains_writes_and_uses_the_model(notes, tmp_path, monkeypatch, capsys):
    corpus, model_path = tmp_path / "notes.jsonl", tmp_path / "model.onnx"
    corpus.write_text("\n".join(json.dumps(note) for note in notes[:200]))
    assert cli_main(["deid", "--train-model", str(corpus)]) == 2  # needs --model
    assert "--model" in capsys.readouterr().err
    assert cli_main(["deid", "--train-model", str(corpus), "--model", str(model_path)]) == 0
    assert model_path.stat().st_size > 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("Pt: Maria Garcia, MRN 1234567."))
    assert cli_main(["deid", "--model", str(model_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "Pt: [NAME], MRN [MRN]."
    assert cli_main(["deid", "--model", str(tmp_path / "missing.onnx")]) == 2
    assert "missing.onnx" in capsys.readouterr().err
