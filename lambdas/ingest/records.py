"""Decoding and validating a raw file into a typed Arrow table plus quarantined rows with reasons.

CSV is validated column by column: a vectorized pyarrow cast and vectorized checks find the bad
rows, and `Column.parse` (the one reference for what a valid value is) gives each bad row its
reason. A column the fast path cannot decide (a value pyarrow will not cast, or any disagreement
with the reference) is validated value by value with `Column.parse` instead, so both paths
accept exactly the same values. JSON Lines records are validated one by one (JSON decoding
dominates their cost).
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlstack.schema import FLOAT_PATTERN, INTEGER_PATTERN, Column, DatasetSchema, InvalidValueError, RecordError

ARROW_TYPES = {"integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(),
               "category": pa.string(), "text": pa.string()}


class FileRejectedError(Exception):
    """A whole-file problem: the object is quarantined as is, with this reason."""


@dataclass
class Quarantined:
    row: int
    reason: str
    field: str | None
    raw: Any


@dataclass
class ParsedFile:
    table: pa.Table
    quarantined: list[Quarantined] = field(default_factory=list)
    blank_lines: int = 0

    @property
    def rows_in(self) -> int:
        return self.table.num_rows + len(self.quarantined)


def arrow_schema(schema: DatasetSchema, metadata: dict[str, str] | None = None) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in schema.columns],
                     metadata=metadata)


def decompress(body: bytes, limit: int) -> bytes:
    """gunzip with a cap on the output (no zip bombs) and a clear error on truncation."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise FileRejectedError(f"not a valid gzip stream ({error})") from None
    if len(data) > limit:
        raise FileRejectedError(f"decompressed size exceeds the limit of {limit} bytes")
    if not inflater.eof:
        raise FileRejectedError("truncated gzip stream (the upload is incomplete)")
    return data


def decode(body: bytes) -> str:
    if not body.strip():
        raise FileRejectedError("empty file (no records)")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejectedError(
            f"not valid UTF-8: byte 0x{body[error.start]:02x} at offset {error.start}; re-export the file as UTF-8"
        ) from None


def parse_and_validate(text: str, fmt: str, schema: DatasetSchema) -> ParsedFile:
    """Split a decoded file into a typed table of valid rows and quarantined rows with reasons."""
    parsed = _parse_csv(text, schema) if fmt == "csv" else _parse_jsonl(text, schema)
    parsed.quarantined.sort(key=lambda item: item.row)
    return parsed


# The reference's accepted number forms, anchored for RE2 (pyarrow casts more, e.g. "0x10").
_NUMBER_FORMS = {"integer": f"^(?:{INTEGER_PATTERN})$", "float": f"^(?:{FLOAT_PATTERN})$"}
CSV_CHUNK_ROWS = 50_000  # rows validated at a time: bounds memory to one chunk of Python strings


def lines(text: str) -> Iterator[str]:
    """Lines with their endings, sliced from the text (io.StringIO would copy it, up to 4 bytes a char)."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


def _csv_reader(text: str, schema: DatasetSchema) -> tuple[Any, list[str]]:
    reader = csv.reader(lines(text), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as error:
        raise FileRejectedError(f"unreadable CSV header: {error}") from None
    problems = schema.header_problems(header)
    if problems:
        raise FileRejectedError("CSV header does not match the schema: " + "; ".join(problems))
    return reader, header


def _csv_chunks(reader: Any, header: list[str], parsed: ParsedFile) -> Iterator[tuple[list[list[str]], list[int]]]:
    """Well-formed rows with their 1-based numbers, a chunk at a time; malformed rows go to quarantine."""
    rows, numbers, row_number = [], [], 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # The csv module cannot resynchronise after a broken quote: keep the rest as one record.
            parsed.quarantined.append(Quarantined(row_number + 1, f"malformed CSV: {error}", None,
                                                  {"from_line": reader.line_num}))
            break
        if not fields:
            parsed.blank_lines += 1
            continue
        row_number += 1
        if len(fields) != len(header):
            parsed.quarantined.append(Quarantined(
                row_number, f"expected {len(header)} fields, got {len(fields)} (truncated or misquoted row)",
                None, fields))
            continue
        rows.append(fields)
        numbers.append(row_number)
        if len(rows) == CSV_CHUNK_ROWS:
            yield rows, numbers
            rows, numbers = [], []
    yield rows, numbers


def _parse_csv(text: str, schema: DatasetSchema) -> ParsedFile:
    reader, header = _csv_reader(text, schema)
    parsed = ParsedFile(table=pa.table({}))
    tables = [_validate_csv_chunk(rows, numbers, header, schema, parsed)
              for rows, numbers in _csv_chunks(reader, header, parsed)]
    parsed.table = pa.concat_tables(tables)  # chunked: parquet writes it without another copy
    return parsed


def _validate_csv_chunk(rows: list[list[str]], numbers: list[int], header: list[str], schema: DatasetSchema,
                        parsed: ParsedFile) -> pa.Table:
    """Validate a chunk column by column; return its valid rows, quarantine the rest."""
    raw_columns = dict(zip(header, zip(*rows, strict=True), strict=False)) if rows else {}
    first_error: dict[int, tuple[str, str]] = {}
    arrays = []
    for column in schema.columns:
        if column.name in raw_columns:
            array, errors = validate_column(column, raw_columns[column.name])
        else:  # an optional column the file leaves out (or an empty chunk)
            array, errors = _reference(column, (None,) * len(rows))
        arrays.append(array)
        for index, message in errors.items():
            first_error.setdefault(index, (column.name, message))
    valid = np.ones(len(rows), dtype=bool)
    for index, (name, message) in first_error.items():
        valid[index] = False
        parsed.quarantined.append(Quarantined(numbers[index], f"column {name!r}: {message}", name,
                                              dict(zip(header, rows[index], strict=True))))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(schema)).filter(pa.array(valid))


def validate_column(column: Column, raw: tuple[str, ...]) -> tuple[pa.Array, dict[int, str]]:
    """Typed values for one column of CSV strings and {row index: reason} for the values that fail."""
    if column.type != "boolean":
        fast = _vectorized(column, pa.array(raw, pa.string()))
        if fast is not None:
            array, suspects = fast
            errors = _reasons(column, raw, suspects)
            if errors is not None:
                return array, errors
    return _reference(column, raw)


def _vectorized(column: Column, strings: pa.Array) -> tuple[pa.Array, np.ndarray] | None:
    """Cast and check a column in bulk; (values, indices of rows that fail), or None if undecidable."""
    trimmed = pc.utf8_trim_whitespace(strings)
    missing = pc.equal(trimmed, "")
    values = strings if column.type == "text" else trimmed
    if column.type in ("integer", "float"):
        try:
            values = pc.cast(pc.if_else(missing, None, trimmed), ARROW_TYPES[column.type])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None  # a value pyarrow does not parse: let the reference decide every value
    values = pc.if_else(missing, None, values)
    bad = [missing] if column.required else []
    if column.type in _NUMBER_FORMS:
        malformed = pc.invert(pc.match_substring_regex(trimmed, _NUMBER_FORMS[column.type]))
        bad.append(pc.and_(pc.invert(missing), malformed))
    if column.type == "float":
        bad.append(pc.invert(pc.is_finite(values)))
    if column.minimum is not None:
        bad.append(pc.less(values, _bound(column, column.minimum, math.ceil)))
    if column.maximum is not None:
        bad.append(pc.greater(values, _bound(column, column.maximum, math.floor)))
    if column.categories is not None:
        bad.append(pc.invert(pc.is_in(values, value_set=pa.array(column.categories))))
    if column.max_length is not None:
        bad.append(pc.greater(pc.utf8_length(values), column.max_length))
    suspects = np.zeros(len(strings), dtype=bool)
    for mask in bad:
        suspects |= mask.fill_null(False).to_numpy(zero_copy_only=False)
    return values, np.flatnonzero(suspects)


def _bound(column: Column, bound: float, to_integer: Callable[[float], int]) -> pa.Scalar:
    """A bound as a scalar of the column's type (int64 vs float64 comparison would go through float)."""
    if column.type == "float":
        return pa.scalar(bound, pa.float64())
    return pa.scalar(min(max(to_integer(bound), -(2**63)), 2**63 - 1), pa.int64())


def _reasons(column: Column, raw: tuple[Any, ...], suspects: np.ndarray) -> dict[int, str] | None:
    """The reference's reason for each suspect row; None if the reference accepts one (disagreement)."""
    errors = {}
    for index in suspects.tolist():
        try:
            column.parse(raw[index])
        except InvalidValueError as error:
            errors[index] = str(error)
        else:
            return None
    return errors


def _reference(column: Column, raw: tuple[Any, ...]) -> tuple[pa.Array, dict[int, str]]:
    values, errors = [], {}
    for index, value in enumerate(raw):
        try:
            values.append(column.parse(value))
        except InvalidValueError as error:
            values.append(None)
            errors[index] = str(error)
    return pa.array(values, ARROW_TYPES[column.type]), errors


def _parse_jsonl(text: str, schema: DatasetSchema) -> ParsedFile:
    parsed = ParsedFile(table=pa.table({}))
    valid_rows = []
    row_number = 0
    for line in lines(text):
        if not line.strip():
            parsed.blank_lines += 1
            continue
        row_number += 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            parsed.quarantined.append(Quarantined(
                row_number, f"invalid JSON (truncated or malformed) at char {error.pos}", None, line))
            continue
        if not isinstance(record, dict):
            parsed.quarantined.append(Quarantined(row_number, "a JSON Lines record must be an object", None, line))
            continue
        try:
            valid_rows.append(schema.validate_record(record))
        except RecordError as error:
            parsed.quarantined.append(Quarantined(row_number, str(error), error.field, record))
    parsed.table = pa.Table.from_pylist(valid_rows, schema=arrow_schema(schema))
    return parsed


def quarantine_lines(parsed: ParsedFile) -> bytes:
    return "".join(
        json.dumps({"row": item.row, "field": item.field, "reason": item.reason, "record": item.raw},
                   ensure_ascii=False, default=str) + "\n"
        for item in parsed.quarantined
    ).encode("utf-8")
