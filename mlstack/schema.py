"""Dataset schemas: the declared columns of each data set, and validation of one record.

The schema files under mlstack/datasets/schemas/ are versioned (a `version` field, bumped on
any incompatible change). Ingestion validates raw records with them; the data catalog, and
later API validation and training, derive their column definitions from the same files.
Pure Python (pydantic only) so every Lambda package can carry it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_DIR = Path(__file__).resolve().parent / "datasets" / "schemas"

ColumnType = Literal["integer", "float", "boolean", "category", "text", "entities"]
# An entities value: labelled spans of another (text) column, [{"type", "start", "end"}], offsets into it.
Entity = dict[str, Any]
Value = int | float | bool | str | list[Entity] | None

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class InvalidValueError(ValueError):
    """A value that does not match its column; the message never contains the value (PHI)."""


class Column(BaseModel):
    """One declared column. Range and category checks apply to non-missing values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    type: ColumnType
    required: bool = True
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None
    max_length: int | None = Field(None, ge=1)
    # Free text that may carry protected health information (de-identified downstream).
    phi: bool = False
    # entities only: the text column the spans point into (their types are `categories`).
    text_column: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        numeric = self.type in ("integer", "float")
        if (self.minimum is not None or self.maximum is not None) and not numeric:
            raise ValueError(f"column {self.name!r}: minimum/maximum only apply to integer/float")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"column {self.name!r}: minimum is greater than maximum")
        if (self.type in ("category", "entities")) != bool(self.categories):
            raise ValueError(f"column {self.name!r}: categories are required for, and only for, types 'category' "
                             "and 'entities' (the entity types)")
        if (self.type == "entities") != (self.text_column is not None):
            raise ValueError(f"column {self.name!r}: text_column is required for, and only for, type 'entities'")
        if self.max_length is not None and self.type != "text":
            raise ValueError(f"column {self.name!r}: max_length only applies to text")
        if self.phi and self.type != "text":
            raise ValueError(f"column {self.name!r}: only text columns can be marked phi")
        return self

    def parse(self, raw: Any) -> Value:
        """Convert a CSV string or a JSON value to the column's type, or raise InvalidValueError."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise InvalidValueError("required value is missing")
            return None
        if self.type == "entities":
            return to_entities(raw, self.categories or ())
        value = _CONVERTERS[self.type](raw)
        self.check_bounds(value)
        return value

    def check_bounds(self, value: Value) -> None:
        """Raise InvalidValueError when a typed value is outside the column's range, categories or length."""
        if self.minimum is not None and value < self.minimum:
            raise InvalidValueError(f"below minimum {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise InvalidValueError(f"above maximum {self.maximum:g}")
        if self.categories is not None and value not in self.categories:
            raise InvalidValueError(f"not one of the categories {list(self.categories)}")
        if self.max_length is not None and len(value) > self.max_length:
            raise InvalidValueError(f"longer than max_length {self.max_length}")


_INT64 = range(-(2**63), 2**63)
_INT64_DIGITS = len(str(2**63))
# The accepted text forms of numbers (after trimming whitespace): ASCII decimal only, so no
# "1_000", "0x10" or non-ASCII digits. Shared with the vectorized CSV validator (RE2-compatible).
INTEGER_PATTERN = r"[+-]?[0-9]+"
FLOAT_PATTERN = r"(?i)[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)"
_INTEGER_TEXT = re.compile(INTEGER_PATTERN)
_FLOAT_TEXT = re.compile(FLOAT_PATTERN)


def _to_integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise InvalidValueError("expected an integer, got a boolean")
    integral_float = isinstance(raw, float) and raw.is_integer()
    integer_text = isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw.strip())
    if not (isinstance(raw, int) or integral_float or integer_text):
        raise InvalidValueError("expected an integer")
    if integer_text and len(raw.strip().lstrip("+-").lstrip("0")) > _INT64_DIGITS:
        raise InvalidValueError("integer outside the 64-bit range")  # before int(): no digit-limit error
    value = int(raw)
    if value not in _INT64:
        raise InvalidValueError("integer outside the 64-bit range")
    return value


def _to_float(raw: Any) -> float:
    number = isinstance(raw, int | float) and not isinstance(raw, bool)
    if not (number or (isinstance(raw, str) and _FLOAT_TEXT.fullmatch(raw.strip()))):
        raise InvalidValueError("expected a number")
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidValueError("expected a finite number")
    return value


def _to_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise InvalidValueError("expected a boolean (true/false)")


def _to_string(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidValueError("expected a string")
    return raw


_CONVERTERS = {
    "integer": _to_integer,
    "float": _to_float,
    "boolean": _to_boolean,
    "category": lambda raw: _to_string(raw).strip(),
    "text": _to_string,
}


def to_entities(raw: Any, types: tuple[str, ...]) -> list[Entity]:
    """Spans as [{"type", "start", "end"}] with integer offsets and a declared type, sorted by start and
    non-overlapping; checked against their text by DatasetSchema.validate_record."""
    if not isinstance(raw, list):
        raise InvalidValueError("expected a list of spans")
    spans, end = [], -1
    for position, span in enumerate(raw, 1):
        if not (isinstance(span, dict) and set(span) == {"type", "start", "end"}):
            raise InvalidValueError(f"span {position} must be an object with exactly type, start and end")
        start, stop = span["start"], span["end"]
        if not (type(start) is int and type(stop) is int and 0 <= start < stop):
            raise InvalidValueError(f"span {position}: start and end must be integers with 0 <= start < end")
        if span["type"] not in types:
            raise InvalidValueError(f"span {position}: not one of the entity types {list(types)}")
        if start < end:
            raise InvalidValueError(f"span {position} starts before span {position - 1} ends (spans must be sorted "
                                    "and must not overlap)")
        spans.append({"type": span["type"], "start": start, "end": stop})
        end = stop
    return spans


class RecordError(ValueError):
    """A record that fails its schema; `field` names the first offending column."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        super().__init__(f"column {field!r}: {message}" if field else message)


class DatasetSchema(BaseModel):
    """A data set's columns, its label, and its version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    version: int = Field(ge=1)
    description: str = ""
    label: str
    columns: tuple[Column, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSchema:
        names = [column.name for column in self.columns]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate column names {duplicates}")
        if self.label not in names:
            raise ValueError(f"label {self.label!r} is not a declared column")
        texts = {column.name for column in self.columns if column.type == "text"}
        dangling = [c.name for c in self.columns if c.type == "entities" and c.text_column not in texts]
        if dangling:
            raise ValueError(f"entities columns {dangling} must name a text column as text_column")
        return self

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @cached_property
    def _declared(self) -> frozenset[str]:
        return frozenset(self.column_names)

    def header_problems(self, header: list[str]) -> list[str]:
        """File-level problems with a CSV header: missing required, unknown, repeated columns. Linear in the
        header's length; names only what the schema declares and positions of the rest: a header that is
        really a data row (a headerless export) must not put a patient's values into a reason."""
        counts = Counter(header)
        problems = []
        repeated = [position for position, name in enumerate(header, 1)
                    if counts[name] > 1 and name in self._declared]
        if repeated:
            problems.append(f"repeated declared columns at positions {_positions(repeated)}")
        missing = [column.name for column in self.columns if column.required and column.name not in counts]
        if missing:
            problems.append(f"missing required columns {missing}")
        unknown = [position for position, name in enumerate(header, 1) if name not in self._declared]
        if unknown:
            problems.append(f"{len(unknown)} of {len(header)} header fields are not columns of schema "
                            f"{self.name} v{self.version} (positions {_positions(unknown)})")
        return problems

    def validate_record(self, record: Mapping[str, Any]) -> dict[str, Value]:
        """Typed row for a raw record, or RecordError naming the first bad column (an undeclared key by its
        position only: keys come from the file)."""
        unknown = [position for position, key in enumerate(record, 1) if key not in self._declared]
        if unknown:
            raise RecordError(None, f"{len(unknown)} of {len(record)} keys are not declared columns "
                                    f"(positions {_positions(unknown)})")
        row = {}
        for column in self.columns:
            try:
                row[column.name] = column.parse(record.get(column.name))
            except InvalidValueError as error:
                raise RecordError(column.name, str(error)) from None
        for column in self.columns:
            spans, text = row[column.name], row.get(column.text_column or "")
            if column.type == "entities" and spans and (text is None or spans[-1]["end"] > len(text)):
                raise RecordError(column.name, f"a span ends after the {column.text_column!r} text ends")
        return row

    @cached_property
    def csv_readable(self) -> bool:
        """CSV cannot hold a list of spans: data sets with an entities column are JSON Lines only."""
        return all(column.type != "entities" for column in self.columns)


def _positions(positions: list[int], shown: int = 10) -> str:
    """Positions for a reason: the first few, and how many more (a reason stays short)."""
    listed = ", ".join(map(str, positions[:shown]))
    return listed + (f" and {len(positions) - shown} more" if len(positions) > shown else "")


@cache
def load_schema(name: str) -> DatasetSchema:
    """The current schema of a data set, from its file in the repository."""
    path = SCHEMA_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"unknown dataset {name!r}; schema files exist for {available_datasets()}")
    return DatasetSchema.model_validate(json.loads(path.read_text()))


def available_datasets() -> list[str]:
    return sorted(path.stem for path in SCHEMA_DIR.glob("*.json"))
