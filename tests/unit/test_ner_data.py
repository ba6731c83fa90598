"""Entity-labelled data sets (the `entities` column type) and entity-level metrics."""

from __future__ import annotations

import json

import pytest

from lambdas.ingest.records import FileRejectedError, parse_and_validate
from mlstack.deid import deidentify
from mlstack.ner_metrics import entity_scores
from mlstack.schema import DatasetSchema, load_schema

SCHEMA = load_schema("clinical_entities")


def _record(text, *spans, note_id="n"):
    return {"note_id": note_id, "text": text, "entities": [{"type": t, "start": s, "end": e} for t, s, e in spans]}


@pytest.mark.parametrize(("record", "reason"), [
    (_record("CHF", ("PROBLEM", 0, 9)), "a span ends after the 'text' text ends"),
    (_record("CHF on Lasix", ("DRUG", 7, 12), ("PROBLEM", 0, 3)), "must be sorted and must not overlap"),
    (_record("CHF on Lasix", ("PROBLEM", 0, 5), ("DRUG", 3, 12)), "must be sorted and must not overlap"),
    (_record("CHF", ("SHOE", 0, 3)), "not one of the entity types"),
    (_record("CHF", ("PROBLEM", 2, 2)), "0 <= start < end"),
    ({"note_id": "n", "text": "CHF", "entities": [{"type": "PROBLEM", "start": "0", "end": 3}]}, "integers"),
    ({"note_id": "n", "text": "CHF", "entities": [{"type": "PROBLEM", "start": 0, "end": 3, "text": "CHF"}]},
     "exactly type, start and end"),
    ({"note_id": "n", "text": "CHF", "entities": "PROBLEM 0 3"}, "a list of spans"),
])
def test_spans_outside_their_text_unsorted_overlapping_or_of_unknown_types_are_quarantined(record, reason):
    valid = _record("COPD on tiotropium", ("PROBLEM", 0, 4), ("DRUG", 8, 18))
    parsed = parse_and_validate(json.dumps(valid) + "\n" + json.dumps(record) + "\n", "jsonl", SCHEMA)
    assert (parsed.rows_in, parsed.table.num_rows) == (2, 1)
    assert reason in parsed.quarantined[0].reason and "CHF" not in parsed.quarantined[0].reason


def test_entity_data_sets_are_json_lines_only():
    with pytest.raises(FileRejectedError, match="JSON Lines"):
        parse_and_validate("note_id,text,entities\nn,CHF,[]\n", "csv", SCHEMA)


def test_a_schema_with_entities_must_point_them_at_a_text_column():
    with pytest.raises(ValueError, match="text_column"):
        DatasetSchema(name="x", version=1, label="e", columns=[
            {"name": "t", "type": "integer"}, {"name": "e", "type": "entities", "categories": ["A"],
                                                "text_column": "t"}])


def test_labelled_spans_follow_the_text_onto_its_de_identified_form():
    text = "Maria Garcia has CHF since 03/04/2021, on Lasix."
    result = deidentify(text)
    spans = [(17, 20, "PROBLEM"), (0, 12, "NAME"), (42, 47, "DRUG")]
    moved = {kind: result.text[result.moved(start):result.moved(end, end=True)] for start, end, kind in spans}
    assert moved == {"PROBLEM": "CHF", "NAME": "[NAME]", "DRUG": "Lasix"}


def test_entity_scores_strict_and_overlap_per_type():
    gold = [(0, 4, "PROBLEM"), (8, 18, "DRUG"), (20, 25, "TEST")]
    predicted = [(0, 4, "PROBLEM"), (8, 12, "DRUG"), (13, 18, "DRUG"), (30, 33, "TEST")]
    result = entity_scores([(gold, predicted)])
    strict, overlap = result["strict"], result["overlap"]
    assert (strict["overall"]["tp"], strict["overall"]["fp"], strict["overall"]["fn"]) == (1, 3, 2)
    assert overlap["per_type"]["DRUG"] == {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5, "recall": 1.0,
                                           "f1": pytest.approx(2 / 3)}
    assert overlap["per_type"]["TEST"]["recall"] == 0.0
    assert entity_scores([([{"type": "A", "start": 0, "end": 1}], [])])["strict"]["overall"]["recall"] == 0.0
