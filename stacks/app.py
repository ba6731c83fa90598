"""The CDK app from cdk.json context: one Stage per selected environment, every cdk-nag pack (see app.py)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

from mlstack.config import DESTROY_FLAG_KEY, ENVIRONMENTS_KEY, ConfigError, parse_environments, select_environments
from stacks.nag import add_nag_packs
from stacks.stage import MlStackStage

BUNDLE_FLAG_KEY = "mlstack:bundle"


def _flag(app: cdk.App, key: str, default: bool) -> bool:
    value = app.node.try_get_context(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ConfigError(f"context {key}={value!r}: expected true or false")


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """Build (not synthesize) the app; tests pass cdk.json's context plus overrides."""
    app = cdk.App(context=context, outdir=outdir)
    environments = parse_environments(app.node.try_get_context(ENVIRONMENTS_KEY))
    selected = select_environments(environments, app.node.try_get_context("env"))
    bundle = _flag(app, BUNDLE_FLAG_KEY, default=True)
    destroy_data = _flag(app, DESTROY_FLAG_KEY, default=False)
    for config in selected:
        if destroy_data and config.protected:
            raise ConfigError(f"{DESTROY_FLAG_KEY}=true is refused for protected environment {config.name!r}")
        MlStackStage(app, config, bundle=bundle, destroy_data=destroy_data)
    add_nag_packs(app)
    return app
