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
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlstack.schema import FLOAT_PATTERN, INTEGER_PATTERN, Column, DatasetSchema, InvalidValueError, RecordError

ENTITY = pa.struct([("type", pa.string()), ("start", pa.int64()), ("end", pa.int64())])
ARROW_TYPES = {"integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(),
               "category": pa.string(), "text": pa.string(), "entities": pa.list_(ENTITY)}


class FileRejectedError(Exception):
    """A whole-file problem: the object is quarantined as is, with this reason; `rows`, when the records could
    still be counted (a CSV whose header does not match), is how many it holds."""

    def __init__(self, reason: str, rows: int = 0) -> None:
        super().__init__(reason)
        self.rows = rows


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
    # The records the file holds, counted as they are read (not derived from the outcome): the manifest's
    # rows_in, which must equal valid + quarantined (Ingestor checks it).
    rows_in: int = 0


def arrow_schema(schema: DatasetSchema, metadata: dict[str, str] | None = None) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in schema.columns],
                     metadata=metadata)


GZIP_MAGIC = b"\x1f\x8b"


def decompress(body: bytes, limit: int) -> bytes:
    """gunzip every member (`cat a.gz b.gz` is one valid gzip file) with a cap on the total output (no zip
    bombs), and a clear error on truncation or on bytes after the last member."""
    parts, size, remaining, member = [], 0, body, 0
    while remaining:
        member += 1
        if not remaining.startswith(GZIP_MAGIC):
            raise FileRejectedError(f"{len(remaining)} byte(s) after gzip member {member - 1} are not gzip data")
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(remaining, limit + 1 - size)
        except zlib.error as error:
            raise FileRejectedError(f"gzip member {member} is not a valid gzip stream ({error})") from None
        size += len(data)
        if size > limit:
            raise FileRejectedError(f"decompressed size exceeds the limit of {limit} bytes")
        if not inflater.eof:
            raise FileRejectedError(f"truncated gzip stream in member {member} (the upload is incomplete)")
        parts.append(data)
        remaining = inflater.unused_data
    return b"".join(parts)


def decode(body: bytes) -> str:
    if not body.strip():
        raise FileRejectedError("empty file (no records)")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejectedError(f"not valid UTF-8 at byte offset {error.start}; re-export the file as UTF-8") from None


def parse_and_validate(text: str, fmt: str, schema: DatasetSchema) -> ParsedFile:
    """Split a decoded file into a typed table of valid rows and quarantined rows with reasons."""
    if fmt == "csv" and not schema.csv_readable:
        raise FileRejectedError(f"data set {schema.name} holds entity spans, which CSV cannot: upload JSON Lines")
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


class _ReplayableLines:
    """The lines of a text, remembering those of the record being read, so that after a malformed record
    reading resumes on the line after its first: one bad quote costs one row, not the rest of the file."""

    def __init__(self, text: str) -> None:
        self._source, self._replay = lines(text), deque[str]()
        self.record: list[str] = []

    def __iter__(self) -> _ReplayableLines:
        return self

    def __next__(self) -> str:
        line = self._replay.popleft() if self._replay else next(self._source)
        self.record.append(line)
        return line

    def start_record(self) -> None:
        self.record = []

    def skip_first_line_of_record(self) -> str:
        """Drop the failed record's first line; its other lines are read again as the next records."""
        first, rest = self.record[0], self.record[1:]
        self._replay.extendleft(reversed(rest))
        self.record = []
        return first


def _csv_reader(lines_: _ReplayableLines, schema: DatasetSchema) -> list[str]:
    try:
        header = [name.strip() for name in next(csv.reader(lines_, strict=True))]
    except csv.Error as error:
        raise FileRejectedError(f"unreadable CSV header: {error}") from None
    problems = schema.header_problems(header)
    if problems:  # every record is quarantined with the file: count them, so the manifest says how many
        counted = ParsedFile(table=pa.table({}))
        for fields in _csv_records(lines_, len(header), counted):
            counted.rows_in += bool(fields)
        raise FileRejectedError("CSV header does not match the schema: " + "; ".join(problems), rows=counted.rows_in)
    return header


def _csv_records(lines_: _ReplayableLines, width: int, parsed: ParsedFile) -> Iterator[list[str]]:
    """Each record's fields. A malformed one (a misquote, a lone CR, a field over the size limit), or one
    that spans lines and looks like an unclosed quote that swallowed the rows after it (the wrong number of
    fields, or a later line that is a complete row on its own), is quarantined as its first line, and
    reading resumes on the next line: every later row is still read and counted."""
    while True:
        reader = csv.reader(lines_, strict=True)
        try:
            while True:
                lines_.start_record()
                fields = next(reader)
                if len(lines_.record) > 1 and _swallowed_rows(fields, lines_.record, width):
                    raise csv.Error("an unclosed quote (a quoted field runs over lines that are rows)")
                yield fields
        except StopIteration:
            return
        except csv.Error as error:
            parsed.rows_in += 1
            first_line = lines_.skip_first_line_of_record()
            parsed.quarantined.append(Quarantined(parsed.rows_in, f"malformed CSV: {error}", None,
                                                  {"line": first_line}))


def _swallowed_rows(fields: list[str], record: list[str], width: int) -> bool:
    """A multi-line record that is really a broken row plus rows after it: a well-formed note with line
    breaks has the right number of fields, and its continuation lines are not rows by themselves."""
    if len(fields) != width:
        return True
    for line in record[1:]:
        try:
            alone = next(csv.reader([line], strict=True), [])
        except csv.Error:
            continue
        if len(alone) == width:
            return True
    return False


def _csv_chunks(lines_: _ReplayableLines, header: list[str], parsed: ParsedFile
                ) -> Iterator[tuple[list[list[str]], list[int]]]:
    """Well-formed rows with their 1-based numbers, a chunk at a time; malformed rows go to quarantine."""
    rows, numbers = [], []
    for fields in _csv_records(lines_, len(header), parsed):
        if not fields:
            parsed.blank_lines += 1
            continue
        parsed.rows_in += 1
        if len(fields) != len(header):
            parsed.quarantined.append(Quarantined(
                parsed.rows_in, f"expected {len(header)} fields, got {len(fields)} (truncated or misquoted row)",
                None, fields))
            continue
        rows.append(fields)
        numbers.append(parsed.rows_in)
        if len(rows) == CSV_CHUNK_ROWS:
            yield rows, numbers
            rows, numbers = [], []
    yield rows, numbers


def _parse_csv(text: str, schema: DatasetSchema) -> ParsedFile:
    lines_ = _ReplayableLines(text)
    header = _csv_reader(lines_, schema)
    parsed = ParsedFile(table=pa.table({}))
    tables = [_validate_csv_chunk(rows, numbers, header, schema, parsed)
              for rows, numbers in _csv_chunks(lines_, header, parsed)]
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
    for line in lines(text):
        if not line.strip():
            parsed.blank_lines += 1
            continue
        parsed.rows_in += 1
        row_number = parsed.rows_in
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            parsed.quarantined.append(Quarantined(
                row_number, f"invalid JSON (truncated or malformed) at char {error.pos}", None, line))
            continue
        except ValueError:  # an integer over Python's digit limit
            parsed.quarantined.append(Quarantined(row_number, "invalid JSON: a number with too many digits", None,
                                                  line))
            continue
        except RecursionError:
            parsed.quarantined.append(Quarantined(row_number, "invalid JSON: nested too deeply", None, line))
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
