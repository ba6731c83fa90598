"""The training pipeline as deployed: the rendered definition, its role, registry, code and trigger."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest

from pipelines.definition import DEFINITION_PATH, PLACEHOLDERS
from stacks.app import build_app
from tests.conftest import cdk_context, environment_template


@pytest.fixture(scope="module", params=["dev", "prod"])
def env(request, templates):
    return request.param, templates[request.param]


def _pipeline(template):
    [pipeline] = template.find_resources("AWS::SageMaker::Pipeline").values()
    return pipeline["Properties"]


def _statements(template, sid_prefix=""):
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    return [s for p in policies.values() if "training pipeline" in p["Properties"].get("Description", "")
            for s in p["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid", "").startswith(sid_prefix)]


def test_the_pipeline_body_is_the_committed_definition_with_every_placeholder_filled(env):
    _, template = env
    body, variables = _pipeline(template)["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"]
    assert body == DEFINITION_PATH.read_text()
    used = set(re.findall(r"\$\{([A-Za-z0-9:]+)\}", body))
    assert used - {p for p in PLACEHOLDERS if p.startswith("AWS::")} == set(variables)


def test_the_pipeline_runs_as_a_sagemaker_role_scoped_to_the_lake(env):
    _, template = env
    role_id = _pipeline(template)["RoleArn"]["Fn::GetAtt"][0]
    trust = template.find_resources("AWS::IAM::Role")[role_id]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    statements = _statements(template)
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a.endswith(":*") or a == "*"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["PassOwnRoleToJobs"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert by_sid["EncryptJobVolumes"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert "curated/*" in json.dumps(by_sid["ReadCurated"]["Resource"])


def test_the_model_registry_group_is_retained(env):
    name, template = env
    template.has_resource("AWS::SageMaker::ModelPackageGroup", {
        "Properties": {"ModelPackageGroupName": f"mlstack-{name}-models"}, "DeletionPolicy": "RetainExceptOnCreate"})


def _pipeline_schedules(rules) -> list[dict]:
    return [r for r in rules if "ScheduleExpression" in r["Properties"]
            and "SageMakerPipelineParameters" in r["Properties"]["Targets"][0]]


def test_no_schedule_unless_configured(templates):
    assert not _pipeline_schedules(templates["dev"].find_resources("AWS::Events::Rule").values())


def test_a_configured_schedule_starts_the_pipeline_with_the_recipe():
    context = cdk_context(env="dev")
    context["mlstack:environments"]["dev"]["training"] = {"schedule": "rate(7 days)", "recipe": "text"}
    app = build_app(context)
    stage = next(child for child in app.node.children if isinstance(child, cdk.Stage))
    template = environment_template(stage)
    [rule] = _pipeline_schedules(r for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    assert rule["Properties"]["ScheduleExpression"] == "rate(7 days)"
    target = rule["Properties"]["Targets"][0]
    assert target["SageMakerPipelineParameters"]["PipelineParameterList"] == [{"Name": "Recipe", "Value": "text"}]


def test_an_environment_serving_the_ner_recipe_validates_text_and_charts_the_entity_outputs():
    context = cdk_context(env="dev")
    context["mlstack:environments"]["dev"]["training"] = {"recipe": "ner"}
    stage = next(child for child in build_app(context).node.children if isinstance(child, cdk.Stage))
    resources = environment_template(stage)["Resources"].values()
    models = [r["Properties"]["Schema"] for r in resources if r["Type"] == "AWS::ApiGateway::Model"]
    instance = models[0]["properties"]["instances"]["items"]
    assert instance["required"] == ["text"] and instance["properties"]["text"]["type"] == "string"
    [dashboard] = [r for r in resources if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "entities_per_1000_chars" in body and "entity_score" in body
