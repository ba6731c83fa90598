"""Dataset schemas: column typing, bounds, and file-level header checks."""

import pytest
from pydantic import ValidationError

from mlstack.schema import Column, DatasetSchema, RecordError, available_datasets, load_schema


@pytest.fixture(scope="module")
def notes():
    return load_schema("clinical_notes")


def test_both_sample_datasets_have_versioned_schemas():
    assert set(available_datasets()) >= {"breast_cancer", "clinical_notes"}
    for name in available_datasets():
        schema = load_schema(name)
        assert schema.version >= 1
        assert schema.label in schema.column_names


def test_csv_strings_are_converted_to_column_types(notes):
    row = notes.validate_record({"note_id": "n1", "patient_age": " 42 ", "specialty": "cardiology",
                                 "note_text": "Pt seen.", "diagnosis": "copd"})
    assert row["patient_age"] == 42
    assert row["specialty"] == "cardiology"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("patient_age", "forty", "expected an integer"),
    ("patient_age", 121, "above maximum 120"),
    ("patient_age", True, "expected an integer, got a boolean"),
    ("specialty", "dermatology", "not one of the categories"),
    ("note_text", "", "required value is missing"),
    ("note_text", 12, "expected a string"),
    ("note_text", "x" * 20001, "longer than max_length"),
])
def test_invalid_values_name_the_column_and_never_echo_the_value(notes, field, value, message):
    record = {"note_id": "n1", "patient_age": 40, "specialty": "copd", "note_text": "t", "diagnosis": "copd"}
    record["specialty"] = "pulmonology"
    record[field] = value
    with pytest.raises(RecordError) as error:
        notes.validate_record(record)
    assert error.value.field == field
    assert message in str(error.value)
    if isinstance(value, str) and len(value) > 3:
        assert value not in str(error.value)


def test_non_finite_numbers_are_rejected():
    column = Column(name="x", type="float", minimum=0)
    for raw in ("nan", "inf", float("inf")):
        with pytest.raises(ValueError, match="finite"):
            column.parse(raw)


def test_undeclared_fields_are_errors(notes):
    with pytest.raises(RecordError, match="not a declared column") as error:
        notes.validate_record({"note_id": "n", "patient_age": 1, "specialty": "cardiology", "note_text": "t",
                               "diagnosis": "copd", "ssn": "123"})
    assert error.value.field == "ssn"


def test_optional_blank_values_become_null():
    column = Column(name="x", type="integer", required=False)
    assert column.parse("  ") is None


def test_header_problems_list_missing_unknown_and_repeated_columns(notes):
    problems = notes.header_problems(["note_id", "note_id", "specialty", "extra"])
    text = " ".join(problems)
    assert "repeated columns ['note_id']" in text
    assert "missing required columns ['diagnosis', 'note_text', 'patient_age']" in text
    assert "unknown columns ['extra']" in text


@pytest.mark.parametrize(("columns", "message"), [
    ([{"name": "a", "type": "integer"}, {"name": "a", "type": "float"}], "duplicate column names"),
    ([{"name": "a", "type": "category"}], "categories are required"),
    ([{"name": "a", "type": "text", "minimum": 1}], "minimum/maximum only apply"),
    ([{"name": "a", "type": "integer", "phi": True}], "only text columns can be marked phi"),
])
def test_inconsistent_schema_files_are_refused(columns, message):
    with pytest.raises(ValidationError, match=message):
        DatasetSchema(name="d", version=1, label="a", columns=columns)
