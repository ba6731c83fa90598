"""The serving pointer: which model version is live in a stage (one SSM parameter per stage, JSON).

The deployer moves it (one PutParameter: atomic, and SSM keeps every version as history); the
inference function reads it to know which model to serve. One home for its shape and name.

Canary (lambda backend): the pointer keeps the stable version and adds `canary` (the candidate)
with `canary_weight`, the share of requests the inference function sends to it. The deployer later
completes the canary (the candidate becomes the plain pointer) or rolls it back (the stable one
does), depending on the stage's canary alarm.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol


class _Version(Protocol):
    arn: str
    version: int


@dataclass(frozen=True)
class Live:
    model_package_arn: str
    version: int
    model_uri: str  # s3://.../model.onnx
    deployed_at: str
    signature_uri: str = ""
    canary: Live | None = None  # the candidate during a canary; deployed_at is when the canary started
    canary_weight: float = 0.0

    def serves(self, arn: str) -> bool:
        """The version with this ARN takes traffic here (stable or canary)."""
        return arn in (self.model_package_arn, self.canary.model_package_arn if self.canary else None)

    def stable(self) -> Live:
        return replace(self, canary=None, canary_weight=0.0)


def version_label(version: int) -> str:
    """`v<N>`: how responses, capture keys and reports name a model version."""
    return f"v{version}"


MODEL_STAGES = ("staging", "prod")  # where an approved version serves, in promotion order


def canary_alarm_names(resource_prefix: str) -> list[str]:
    return [canary_alarm_name(resource_prefix, stage) for stage in MODEL_STAGES]


def pointer_name(prefix: str, stage: str) -> str:
    return f"{prefix.rstrip('/')}/{stage}/model"


def canary_alarm_name(resource_prefix: str, stage: str) -> str:
    """The alarm on the canary's model errors in a stage (the stack creates it; the deployer reads it)."""
    return f"{resource_prefix}-{stage}-canary-errors"


def parse_live(value: str) -> Live:
    data = json.loads(value)
    canary = data.pop("canary", None)
    return Live(**data, canary=Live(**canary) if canary else None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
        """The version takes all traffic of the stage."""
        return self.write(stage, Live(version.arn, version.version, model_uri, _now(), signature_uri))

    def start_canary(self, stage: str, stable: Live, version: _Version, model_uri: str, signature_uri: str, *,
                     weight: float) -> Live:
        """The version takes `weight` of the traffic; the stable one keeps the rest."""
        candidate = Live(version.arn, version.version, model_uri, _now(), signature_uri)
        return self.write(stage, replace(stable.stable(), canary=candidate, canary_weight=weight))

    def complete_canary(self, stage: str, live: Live) -> Live:
        assert live.canary is not None
        return self.write(stage, replace(live.canary, deployed_at=_now()))

    def write(self, stage: str, live: Live) -> Live:
        self.ssm.put_parameter(Name=self.name(stage), Value=json.dumps(asdict(live)), Type="String", Overwrite=True)
        return live

    def clear(self, stage: str) -> None:
        self.ssm.delete_parameter(Name=self.name(stage))
