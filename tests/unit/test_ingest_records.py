"""The columnar CSV fast path agrees with the reference validator (Column.parse) on every value."""

from __future__ import annotations

import math

import pytest

from lambdas.ingest.records import _reference, parse_and_validate, validate_column
from mlstack.schema import Column, load_schema

NUMBERS = ["1", " 2 ", "+3", "-4", "007", "1.5", ".5", "5.", "1e3", "-2.5E-3", "1_000", "0x10", "nan", "NaN", "inf",
           "-inf", "Infinity", "1e400", "", "   ", "abc", "1,5", "\u00a07\u00a0", "\u0663", "9223372036854775807",
           "9223372036854775808", "-9223372036854775808", "12abc", "--1"]
COLUMNS = [
    Column(name="f", type="float", minimum=0, maximum=100),
    Column(name="g", type="float", required=False),
    Column(name="i", type="integer", minimum=-5, maximum=10**19),
    Column(name="j", type="integer", required=False),
    Column(name="c", type="category", categories=("cardiology", "copd")),
    Column(name="t", type="text", max_length=5),
    Column(name="u", type="text", required=False),
]
STRINGS = {
    "c": ["cardiology", " copd ", "Cardiology", "", " ", "x", "copd\t"],
    "t": ["short", "toolong", "", "  ", "\u00e9\u00e9\u00e9\u00e9\u00e9", "\u00e9" * 6, " a "],
    "u": ["", "  ", "free text", "\u00e9"],
}


def _same(left, right):
    return left == right or (isinstance(left, float) and isinstance(right, float) and math.isnan(left)
                             and math.isnan(right))


def _assert_agree(column, raw):
    fast_values, fast_errors = validate_column(column, raw)
    ref_values, ref_errors = _reference(column, raw)
    assert fast_errors == ref_errors, raw
    for index, (fast, ref) in enumerate(zip(fast_values.to_pylist(), ref_values.to_pylist(), strict=True)):
        if index not in ref_errors:
            assert _same(fast, ref), (raw[index], fast, ref)


@pytest.mark.parametrize("column", COLUMNS, ids=[c.name for c in COLUMNS])
def test_fast_path_matches_the_reference_value_by_value(column):
    values = STRINGS.get(column.name, NUMBERS)
    _assert_agree(column, tuple(values))  # mixed: an uncastable value sends the column to the reference
    for value in values:  # alone: every castable value goes through the vectorized path
        _assert_agree(column, (value, "5" if column.type != "text" else "ok"))


def test_clean_numeric_columns_never_touch_the_per_value_reference(monkeypatch):
    def forbidden(*_):
        raise AssertionError("reference path used")

    monkeypatch.setattr("lambdas.ingest.records._reference", forbidden)
    values, errors = validate_column(Column(name="f", type="float", minimum=0), ("1.5", " 2", "3e2"))
    assert (values.to_pylist(), errors) == ([1.5, 2.0, 300.0], {})


def test_csv_rows_beyond_one_chunk_keep_their_row_numbers(monkeypatch):
    monkeypatch.setattr("lambdas.ingest.records.CSV_CHUNK_ROWS", 7)
    schema = load_schema("clinical_notes")
    lines = ["note_id,patient_age,specialty,note_text,diagnosis"]
    lines += [f"n{i},{200 if i % 10 == 0 else 40},copd,text,copd".replace("copd,text", "pulmonology,text")
              for i in range(1, 31)]
    parsed = parse_and_validate("\n".join(lines) + "\n", "csv", schema)
    assert [item.row for item in parsed.quarantined] == [10, 20, 30]
    assert parsed.table.num_rows == 27
    assert parsed.table.column("note_id").to_pylist()[:3] == ["n1", "n2", "n3"]
