"""Synthesize the app once for the whole infrastructure suite (every nag pack runs during it)."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from stacks.app import build_app
from stacks.stage import MlStackStage
from tests.conftest import cdk_context, environment_template


@pytest.fixture(scope="session")
def stages(tmp_path_factory) -> dict[str, MlStackStage]:
    app = build_app(cdk_context(), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    return {child.stage_name: child for child in app.node.children if isinstance(child, MlStackStage)}


@pytest.fixture(scope="session")
def templates(stages) -> dict[str, Template]:
    return {name: Template.from_json(environment_template(stage)) for name, stage in stages.items()}
