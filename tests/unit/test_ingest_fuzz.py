"""Fuzzing the ingest parser: generated files mixing valid rows with malformed ones, in CSV and JSON Lines.

For every generated file: no exception, and rows_in is the number of rows the generator wrote (blank
lines are not rows), every one of them either curated or quarantined.
"""

from __future__ import annotations

import csv
import io
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.ingest.records import ParsedFile, parse_and_validate
from mlstack.schema import load_schema

SCHEMA = load_schema("clinical_notes")
HEADER = list(SCHEMA.column_names)
SPECIALTIES = ("cardiology", "endocrinology", "pulmonology", "internal_medicine")
DIAGNOSES = ("heart_failure", "type2_diabetes", "copd", "pneumonia")
# Note text as exports carry it: commas, quotes (also leading), line breaks, non-ASCII, long runs.
NOTE = st.text(st.sampled_from(list('abcXYZ ,."\n\r\t;\u00e9\u4e2d0123456789')), min_size=0, max_size=60)

# One physical line each: what careless exports and hostile uploads put into a CSV.
MALFORMED_CSV = st.one_of(
    st.just('n-x,40,cardiology,"1.0"x,copd'),  # text after a closing quote
    st.just("n-x,40,cardiology,a\rb,copd"),  # a lone carriage return inside an unquoted field
    st.just('n-x,40,cardiology,"unclosed note,copd'),  # a quote that never closes
    st.just('"'),
    st.just("n-x,40"),  # truncated
    st.just("n-x,40,cardiology,note,copd,extra"),  # a field too many
    st.just("n-x," + "9" * 5000 + ",cardiology,note,copd"),  # over Python's integer digit limit
    st.just('n-x,40,cardiology,"' + "x" * 200_000 + '",copd'),  # a field over csv.field_size_limit
    st.just("n-x,forty,cardiology,note,copd"),
    st.just("n-x,40,oncology,note,copd"),
    st.just("\x00,40,cardiology,note,copd"),
)
MALFORMED_JSON = st.one_of(
    st.just('{"note_id": "n", "patient_age": 40'),  # truncated
    st.just("[1, 2, 3]"),
    st.just('"just a string"'),
    st.just('{"note_id": "n", "patient_age": ' + "9" * 5000 + "}"),
    st.just("[" * 100_000 + "]" * 100_000),  # nested past the recursion limit
    st.just('{"note_id": "n", "Jane Doe": 1}'),
    st.just("{\"note_id\": 'single quotes'}"),
    st.just("\ufffe\x00{}"),
)


@st.composite
def valid_rows(draw: st.DrawFn) -> dict:
    return {"note_id": draw(st.text("abc123-", min_size=1, max_size=12)),
            "patient_age": draw(st.integers(0, 120)), "specialty": draw(st.sampled_from(SPECIALTIES)),
            "note_text": draw(NOTE) or "x", "diagnosis": draw(st.sampled_from(DIAGNOSES))}


def _csv_line(row: dict) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([row[name] for name in HEADER])
    return buffer.getvalue()


ROWS = st.lists(st.one_of(valid_rows(), MALFORMED_CSV, st.just("")), min_size=0, max_size=25)
# FUZZ_EXAMPLES=5000 for a longer hunt (4,000 per test found nothing when written).
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _check(parsed: ParsedFile, written: int) -> None:
    assert parsed.rows_in == written
    assert parsed.table.num_rows + len(parsed.quarantined) == written
    assert all(item.reason for item in parsed.quarantined)


@FUZZ
@given(ROWS)
def test_every_csv_row_written_is_read_and_either_curated_or_quarantined(items):
    lines = [",".join(HEADER) + "\n"]
    written = 0
    for item in items:
        if item == "":
            lines.append("\n")  # a blank line: not a row
        else:
            written += 1
            lines.append(_csv_line(item) if isinstance(item, dict) else item + "\n")
    _check(parse_and_validate("".join(lines), "csv", SCHEMA), written)


@FUZZ
@given(st.lists(st.one_of(valid_rows(), MALFORMED_JSON, st.just("")), min_size=1, max_size=25))
def test_every_json_line_written_is_read_and_either_curated_or_quarantined(items):
    lines, written = [], 0
    for item in items:
        if item == "":
            lines.append("  \n")
            continue
        written += 1
        lines.append((json.dumps(item) if isinstance(item, dict) else item.replace("\n", " ")) + "\n")
    _check(parse_and_validate("".join(lines), "jsonl", SCHEMA), written)


def test_rows_after_a_malformed_one_are_still_curated():
    good = [_csv_line({"note_id": f"n{i}", "patient_age": 40, "specialty": "cardiology", "note_text": "ok",
                       "diagnosis": "copd"}) for i in range(3)]
    for bad in ('n-x,40,cardiology,"1.0"x,copd', "n-x,40,cardiology,a\rb,copd", 'n-x,40,cardiology,"open,copd'):
        text = ",".join(HEADER) + "\n" + good[0] + bad + "\n" + good[1] + good[2]
        parsed = parse_and_validate(text, "csv", SCHEMA)
        assert (parsed.rows_in, parsed.table.num_rows, len(parsed.quarantined)) == (4, 3, 1), bad
        assert parsed.quarantined[0].row == 2 and parsed.quarantined[0].reason.startswith("malformed CSV")
