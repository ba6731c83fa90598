"""Lambda environment variables -> a function's typed settings model (parsed once per cold start)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel

Settings = TypeVar("Settings", bound=BaseModel)


def parse_function_environment(model: type[Settings], environ: Mapping[str, str]) -> Settings:
    """The model's fields that are set in the environment; unset ones take the model's defaults."""
    return model.model_validate({name: environ[name] for name in model.model_fields if name in environ})
