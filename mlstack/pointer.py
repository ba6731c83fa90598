"""The serving pointer: which model version is live in a stage (one SSM parameter per stage, JSON).

The deployer moves it (one PutParameter: atomic, and SSM keeps every version as history); the
inference function reads it to know which model to serve. One home for its shape and name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol


class _Version(Protocol):
    arn: str
    version: int


@dataclass(frozen=True)
class Live:
    model_package_arn: str
    version: int
    model_uri: str  # s3://.../model.onnx (lambda backend) or endpoint:<name> (sagemaker backend)
    deployed_at: str
    signature_uri: str = ""


def pointer_name(prefix: str, stage: str) -> str:
    return f"{prefix.rstrip('/')}/{stage}/model"


def parse_live(value: str) -> Live:
    return Live(**json.loads(value))


class ServingPointer:
    def __init__(self, ssm: Any, prefix: str) -> None:
        self.ssm, self.prefix = ssm, prefix.rstrip("/")

    def name(self, stage: str) -> str:
        return pointer_name(self.prefix, stage)

    def current(self, stage: str) -> Live | None:
        try:
            value = self.ssm.get_parameter(Name=self.name(stage))["Parameter"]["Value"]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return parse_live(value)

    def move(self, stage: str, version: _Version, model_uri: str, signature_uri: str = "") -> Live:
        live = Live(version.arn, version.version, model_uri, datetime.now(UTC).isoformat(timespec="seconds"),
                    signature_uri)
        self.ssm.put_parameter(Name=self.name(stage), Value=json.dumps(asdict(live)), Type="String", Overwrite=True)
        return live

    def clear(self, stage: str) -> None:
        self.ssm.delete_parameter(Name=self.name(stage))
