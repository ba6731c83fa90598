"""A model's input contract: which columns one instance carries, as a JSON Schema and an example.

One source of truth for three readers: the API Gateway request model (built at synth from the
configured recipe), the inference function's validation (from the signature.json that evaluate
writes beside model.onnx and the deployer publishes with it), and training (the recipe's feature
columns). Column types and bounds come from the dataset schema file. Pure Python (pydantic).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mlstack.schema import Column, load_schema

SIGNATURE_FILE = "signature.json"
_JSON_TYPES = {"integer": "integer", "float": "number", "boolean": "boolean", "category": "string", "text": "string",
               "entities": "array"}


class ModelSignature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recipe: str
    dataset: str
    schema_version: int = Field(ge=1)
    kind: Literal["tabular", "text", "ner"]
    features: tuple[str, ...] = Field(min_length=1)
    classes: tuple[str, ...] = ()
    # One real instance (from the test split) so clients see plausible values; None: built from bounds.
    example: dict[str, Any] | None = None

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        """The feature columns, in model input order, as the dataset schema declares them."""
        by_name = {column.name: column for column in load_schema(self.dataset).columns}
        unknown = [name for name in self.features if name not in by_name]
        if unknown:
            raise ValueError(f"signature features {unknown} are not columns of dataset {self.dataset!r}")
        return tuple(by_name[name] for name in self.features)

    def instance_schema(self) -> dict[str, Any]:
        """JSON Schema (draft-04 subset, as API Gateway models accept) of one instance."""
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [column.name for column in self.columns if column.required],
            "properties": {column.name: column_schema(column) for column in self.columns},
        }

    def request_schema(self, max_instances: int) -> dict[str, Any]:
        """JSON Schema of the whole `POST /v1/predict` body."""
        return {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "title": f"{self.recipe} prediction request",
            "type": "object",
            "additionalProperties": False,
            "required": ["instances"],
            "properties": {"instances": {"type": "array", "minItems": 1, "maxItems": max_instances,
                                         "items": self.instance_schema()}},
        }

    def output_schema(self) -> dict[str, Any]:
        """JSON Schema of one prediction: a label with class probabilities, or entity spans (ner) with their
        type, character offsets into the instance's text (end exclusive) and the model's confidence."""
        types = {"type": "string", **({"enum": list(self.classes)} if self.classes else {})}
        if self.kind == "ner":
            span = {"type": "object", "required": ["type", "start", "end", "score"], "properties": {
                "type": types, "start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 1},
                "score": {"type": "number", "minimum": 0, "maximum": 1}}}
            return {"type": "object", "required": ["entities"],
                    "properties": {"entities": {"type": "array", "items": span}}}
        return {"type": "object", "required": ["label", "probabilities"], "properties": {
            "label": types, "probabilities": {"type": "object", "additionalProperties": {
                "type": "number", "minimum": 0, "maximum": 1}}}}

    def example_instance(self) -> dict[str, Any]:
        return dict(self.example) if self.example else {column.name: _example_value(column)
                                                        for column in self.columns}


def column_schema(column: Column) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _JSON_TYPES[column.type]}
    if column.description:
        schema["description"] = column.description
    if column.minimum is not None:
        schema["minimum"] = column.minimum
    if column.maximum is not None:
        schema["maximum"] = column.maximum
    if column.categories:
        schema["enum"] = list(column.categories)
    if column.max_length is not None:
        schema["maxLength"] = column.max_length
    if not column.required:
        schema["type"] = [schema["type"], "null"]
    return schema


def _example_value(column: Column) -> Any:
    if column.categories:
        return column.categories[0]
    if column.type == "boolean":
        return False
    if column.type == "text":
        return "example text"
    low = column.minimum if column.minimum is not None else 0.0
    high = column.maximum if column.maximum is not None else low + 1.0
    middle = (low + high) / 2
    return int(middle) if column.type == "integer" else middle
