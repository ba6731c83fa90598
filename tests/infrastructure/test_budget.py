"""The budget guard: dev holds no hourly-billed resource unless its config opts in; prod only what it opts into."""

from __future__ import annotations

from mlstack.config import load_environments
from stacks.app import build_app
from stacks.budget import always_on
from stacks.stage import MlStackStage
from tests.conftest import cdk_context, environment_template


def _template(templates, name):
    return templates[name].to_json()


def test_dev_has_no_always_on_hourly_resource(templates):
    assert load_environments()["dev"].lambda_in_vpc is False
    assert always_on(_template(templates, "dev")) == []


def test_prod_has_only_the_interface_endpoints_its_vpc_setting_asks_for(templates):
    found = always_on(_template(templates, "prod"))
    assert found and {kind for _, kind, _ in found} == {"AWS::EC2::VPCEndpoint"}
    assert all(reason.startswith("lambda_in_vpc=true") for _, _, reason in found)
    assert len(found) == 4  # SSM, SageMaker API, SNS, CloudWatch: ~$58/month at 2 AZs (docs/cost.md)


def test_the_guard_sees_an_opt_in_when_dev_asks_for_a_vpc(tmp_path):
    context = cdk_context(env="dev")
    context["mlstack:environments"]["dev"]["lambda_in_vpc"] = True
    app = build_app(context, outdir=str(tmp_path))
    [stage] = [child for child in app.node.children if isinstance(child, MlStackStage)]
    assert {kind for _, kind, _ in always_on(environment_template(stage))} == {"AWS::EC2::VPCEndpoint"}
