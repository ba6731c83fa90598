"""Dataset schemas: column typing, bounds, and file-level header checks."""

import timeit

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


def test_undeclared_fields_are_errors_named_by_position_not_by_the_files_key(notes):
    with pytest.raises(RecordError, match=r"1 of 6 keys are not declared columns \(positions 6\)") as error:
        notes.validate_record({"note_id": "n", "patient_age": 1, "specialty": "cardiology", "note_text": "t",
                               "diagnosis": "copd", "Jane Doe MRN 12345": "123"})
    assert error.value.field is None and "Jane" not in str(error.value)


def test_optional_blank_values_become_null():
    column = Column(name="x", type="integer", required=False)
    assert column.parse("  ") is None


def test_header_problems_list_missing_unknown_and_repeated_columns(notes):
    problems = notes.header_problems(["note_id", "note_id", "specialty", "extra"])
    text = " ".join(problems)
    assert "repeated declared columns at positions 1, 2" in text
    assert "missing required columns ['patient_age', 'note_text', 'diagnosis']" in text
    assert "1 of 4 header fields are not columns of schema clinical_notes v1 (positions 4)" in text


def test_a_headerless_export_puts_no_value_of_its_first_row_into_the_reason(notes):
    # The first row of a clinical notes export without a header: a name, an MRN, a phone number.
    row = ["N-1", "Maria Garcia", "MRN 4471823", "(617) 555-0199", "Pt seen for chest pain"]
    text = " ".join(notes.header_problems(row))
    assert not any(value in text or value.split()[0] in text for value in row[1:])
    assert "5 of 5 header fields are not columns" in text


def test_the_header_check_grows_linearly_with_the_number_of_columns(notes):
    # 80,000 columns took 41 s when each name was counted against the whole header (quadratic). The growth
    # is asserted, not a time: 16 times the columns must cost far less than the 256 times of quadratic work.
    def seconds(columns: int) -> float:
        header = [f"c{i}" for i in range(columns)]
        return min(timeit.repeat(lambda: notes.header_problems(header), number=1, repeat=3))

    assert seconds(80_000) / seconds(5_000) < 64


@pytest.mark.parametrize(("columns", "message"), [
    ([{"name": "a", "type": "integer"}, {"name": "a", "type": "float"}], "duplicate column names"),
    ([{"name": "a", "type": "category"}], "categories are required"),
    ([{"name": "a", "type": "text", "minimum": 1}], "minimum/maximum only apply"),
    ([{"name": "a", "type": "integer", "phi": True}], "only text columns can be marked phi"),
])
def test_inconsistent_schema_files_are_refused(columns, message):
    with pytest.raises(ValidationError, match=message):
        DatasetSchema(name="d", version=1, label="a", columns=columns)
