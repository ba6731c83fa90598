"""Request validation in bulk: a `POST /v1/predict` body -> the model's input array, or a 4xx.

Fast path (the common, valid request): orjson parses the body; for tabular models one C-level
itemgetter per instance, one C-level type scan and one numpy conversion build the matrix, and bounds
are checked vectorized (no per-value Python, no scans of the raw body). The fast path only
*accepts*: whenever it is unsure (strings, booleans or nulls where numbers belong, missing or extra
keys, a value out of range), the exact per-field validator runs
and names the first offending field, e.g. `instances[3].mean_radius`. Error messages never echo
values (they may be PHI).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from mlstack.schema import Column, InvalidValueError
from mlstack.signature import ModelSignature

MAX_ECHOED_KEY = 64  # characters of a caller's key echoed back in an error's `field` (and its log line)
_NUMBERS = frozenset((int, float))  # exact types: bool is a subclass of int and must not pass
_FLOAT_MAX = float(np.finfo(np.float64).max)


class RequestError(Exception):
    """A request the contract rejects: HTTP status, error code, message, and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field = echoable(field, 2 * MAX_ECHOED_KEY) if field is not None else None
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def echoable(key: str, limit: int = MAX_ECHOED_KEY) -> str:
    """A caller's key as an error echoes it: printable characters only, at most `limit` of them (a 900 KB key
    must not become a 900 KB response and log line)."""
    shown = "".join(c if c.isprintable() else "?" for c in key[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def invalid(message: str, field: str | None = None) -> RequestError:
    return RequestError(400, "invalid_request", message, field)


class InstanceValidator:
    """Validates request bodies against one model signature; built once per loaded model."""

    def __init__(self, signature: ModelSignature, max_instances: int) -> None:
        self.signature, self.max_instances = signature, max_instances
        self.columns = signature.columns
        self.names = tuple(column.name for column in self.columns)
        self._keys = frozenset(self.names)
        self._required = frozenset(column.name for column in self.columns if column.required)
        # Always a tuple per instance, also for a one-feature model.
        self._getter = itemgetter(*self.names) if len(self.names) > 1 else lambda instance: (instance[self.names[0]],)
        self._tabular = signature.kind == "tabular"
        self._fast = self._tabular and all(c.required and c.type in ("integer", "float") for c in self.columns)
        # Finite stand-ins for "unbounded", so one comparison also rejects inf and NaN.
        self._low = np.array([-_FLOAT_MAX if c.minimum is None else c.minimum for c in self.columns])
        self._high = np.array([_FLOAT_MAX if c.maximum is None else c.maximum for c in self.columns])
        self._integers = np.array([c.type == "integer" for c in self.columns])

    def parse(self, body: bytes) -> tuple[list[dict[str, Any]], np.ndarray]:
        """(the instances as sent, the model input: float32 (n, features) or object strings (n, 1))."""
        instances = self._instances(body)
        if self._fast:
            matrix = self._fast_matrix(instances)
            if matrix is not None:
                return instances, matrix
        rows = [self._exact_row(index, instance) for index, instance in enumerate(instances)]
        if self._tabular:
            return instances, np.asarray(rows, dtype=np.float64).astype(np.float32)
        return instances, np.asarray([row[0] for row in rows], dtype=object).reshape(-1, 1)

    def _instances(self, body: bytes) -> list[Any]:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RequestError(400, "invalid_json", "the body is not valid JSON") from None
        if type(document) is not dict:
            raise invalid("the body must be a JSON object with an 'instances' array")
        extra = sorted(set(document) - {"instances"})
        if extra:
            raise invalid("unknown top-level field (only 'instances' is accepted)", echoable(extra[0]))
        instances = document.get("instances")
        if type(instances) is not list:
            raise invalid("'instances' must be an array of objects", "instances")
        if not 1 <= len(instances) <= self.max_instances:
            raise invalid(f"'instances' must hold 1 to {self.max_instances} objects", "instances")
        return instances

    def _fast_matrix(self, instances: list[Any]) -> np.ndarray | None:
        """The float32 matrix when every value is certainly a valid number; None means "check exactly"."""
        width = len(self.names)
        try:
            if not all(type(instance) is dict and len(instance) == width for instance in instances):
                return None
            rows = list(map(self._getter, instances))  # same size + every name present = exactly the keys
            if not _NUMBERS.issuperset(map(type, chain.from_iterable(rows))):
                return None
            matrix = np.array(rows, dtype=np.float64)
        except (KeyError, OverflowError):
            return None
        if not ((matrix >= self._low) & (matrix <= self._high)).all():
            return None
        if self._integers.any() and not (matrix[:, self._integers] == np.floor(matrix[:, self._integers])).all():
            return None
        return matrix.astype(np.float32)

    def _exact_row(self, index: int, instance: Any) -> list[Any]:
        where = f"instances[{index}]"
        if type(instance) is not dict:
            raise invalid("each instance must be a JSON object", where)
        unknown = sorted(set(instance) - self._keys)
        if unknown:
            raise invalid("not an input of this model (see GET /v1/schema)", f"{where}.{echoable(unknown[0])}")
        missing = sorted(self._required - set(instance))
        if missing:
            raise invalid("required input is missing", f"{where}.{missing[0]}")
        row = []
        for column in self.columns:
            value = instance.get(column.name)
            problem = value_problem(column, value)
            if problem:
                raise invalid(problem, f"{where}.{column.name}")
            row.append(np.nan if value is None else value)
        return row


_TYPE_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "integer": (lambda v: type(v) in (int, float) and math.isfinite(v) and float(v).is_integer(),
                "expected an integer"),
    "float": (lambda v: type(v) in (int, float) and math.isfinite(v), "expected a finite number"),
    "boolean": (lambda v: type(v) is bool, "expected true or false"),
    "category": (lambda v: type(v) is str, "expected a string"),
    "text": (lambda v: type(v) is str, "expected a string"),
}


def value_problem(column: Column, value: Any) -> str | None:
    """Why a JSON value does not fit its column (None when it fits). Strict JSON types, no coercion."""
    if value is None:
        return "required input is null" if column.required else None
    fits_type, expected = _TYPE_CHECKS[column.type]
    if not fits_type(value):
        return expected
    try:
        column.check_bounds(value)
    except InvalidValueError as error:
        return str(error)
    return None
