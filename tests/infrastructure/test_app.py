"""The app: cdk-nag is enforced, config errors stop synth, data is retained unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import aws_cdk.cx_api as cxapi
import pytest
from aws_cdk import aws_s3 as s3

from mlstack.config import ConfigError
from stacks.app import build_app
from stacks.inventory import render, summaries
from stacks.nag import acknowledge, add_nag_packs, unacknowledged_findings
from tests.conftest import cdk_context


def test_the_whole_app_synthesizes_with_no_unacknowledged_nag_findings(stages):
    # The session fixture synthesized every environment with all four packs; it raised otherwise.
    assert set(stages) == {"dev", "prod"}


def test_an_unacknowledged_finding_fails_synth(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Bad")
    s3.Bucket(stack, "Plain")
    add_nag_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def test_findings_fail_the_cli_path_too_where_cdk_only_writes_a_report(tmp_path):
    # The CDK CLI synthesizes with failSynthOnValidationErrors=false; app.py reads the report.
    app = cdk.App(outdir=str(tmp_path), context={"@aws-cdk/core:failSynthOnValidationErrors": False})
    s3.Bucket(cdk.Stack(app, "Bad"), "Plain")
    add_nag_packs(app)
    findings = unacknowledged_findings(app.synth().directory)
    assert "AwsSolutions-S1: Bad/Plain/Resource" in findings


def test_acknowledgments_need_a_reason():
    app = cdk.App()
    with pytest.raises(ValueError, match="real reason"):
        acknowledge(cdk.Stack(app, "S"), "AwsSolutions-S1", "because")


def test_environment_selection_synthesizes_only_the_named_environment():
    app = build_app(cdk_context(env="dev"))
    assert [child.node.id for child in app.node.children if isinstance(child, cdk.Stage)] == ["dev"]


def test_invalid_config_fails_before_synth_and_names_the_key():
    context = cdk_context()
    context["mlstack:environments"]["dev"]["ingest"] = {"max_object_mb": -1}
    with pytest.raises(ConfigError, match=r"mlstack:environments\.dev\.ingest\.max_object_mb"):
        build_app(context)


def test_destroy_flag_is_refused_for_protected_environments():
    with pytest.raises(ConfigError, match="protected environment 'prod'"):
        build_app(cdk_context(**{"mlstack:destroy-data-on-removal": "true"}))


def test_destroy_flag_sets_delete_policies_with_a_warning():
    app = build_app(cdk_context(env="dev", **{"mlstack:destroy-data-on-removal": True}))
    stage = next(child for child in app.node.children if isinstance(child, cdk.Stage))
    template = stage.synth().get_stack_artifact(stage.stacks["data"].artifact_id)
    buckets = [r for r in template.template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert {b["DeletionPolicy"] for b in buckets} == {"Delete"}
    warnings = [m for m in template.messages if m.level == cxapi.SynthesisMessageLevel.WARNING]
    assert any("DESTROYED" in str(m.entry.data) for m in warnings)


def test_make_synth_lists_each_environments_stacks_in_deploy_order_with_what_they_hold(stages):
    listed = summaries(Path(stages["dev"].synth().directory).parent)
    for env in ("dev", "prod"):
        stacks = {s.name: s for s in listed if s.environment == env}
        order = list(stacks)
        assert order[:2] == [f"mlstack-{env}-data", f"mlstack-{env}-shared"]
        assert set(order) == {f"mlstack-{env}-{suffix}" for suffix in (
            "data", "shared", "ingestion", "training", "deployer", "serving-staging", "serving-prod", "monitoring")}
        data = stacks[f"mlstack-{env}-data"]
        assert "(stateful)" in data.description and not data.imports and not data.depends_on
        assert data.termination_protection is (env == "prod")  # protected environments
        for name, stack in stacks.items():
            # Cross-stack references are few and point one way: stateless stacks read the data and shared stacks.
            assert {i.split(":")[0] for i in stack.imports} <= {f"mlstack-{env}-data", f"mlstack-{env}-shared"}, name
            assert all(order.index(d) < order.index(name) for d in stack.depends_on), name
    assert "mlstack-dev-data" in render(listed)
