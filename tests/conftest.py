"""Test-wide settings: offline AWS defaults, quiet Powertools, and the repository's cdk.json context."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Before any boto3/Powertools import: fake credentials, a region, no metadata lookups, no X-Ray.
os.environ.update({
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "mlstack-test",
})
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (as the CDK CLI would pass it) with overrides; bundling off."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    return {**context, "mlstack:bundle": False, **overrides}


def environment_template(stage: Any) -> dict[str, Any]:
    """All stacks of an environment's Stage as one template (Resources, Outputs, Parameters merged; cross-stack
    references stay Fn::ImportValue), for assertions about the environment as a whole."""
    assembly = stage.synth()
    merged: dict[str, Any] = {"Resources": {}, "Outputs": {}, "Parameters": {}}
    for stack in stage.stacks.values():
        template = assembly.get_stack_artifact(stack.artifact_id).template
        for section, values in merged.items():
            values.update(template.get(section, {}))
    return merged


def refers_to(template: dict[str, Any], value: Any, logical_id: str) -> bool:
    """Whether a property value is a Ref to the resource, directly or through another stack's export of it."""
    if value == {"Ref": logical_id}:
        return True
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        exported = [output["Value"] for output in template.get("Outputs", {}).values()
                    if output.get("Export", {}).get("Name") == value["Fn::ImportValue"]]
        return exported == [{"Ref": logical_id}]
    return False


@pytest.fixture(autouse=True)
def _restore_environment():
    """Local-mode helpers set a function's environment as a cold start would; undo it per test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
