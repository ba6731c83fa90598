"""Approval gates as deployed: the rule's pattern, the deployer, the audit store, scoped permissions."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from lambdas.deploy.events import approval_event_pattern, canary_alarm_event_pattern
from lambdas.deploy.settings import DeployEnvironment
from lambdas.inference.settings import canary_metric_dimensions
from stacks.app import build_app
from tests.conftest import cdk_context


@pytest.fixture(scope="module", params=["dev", "prod"])
def env(request, templates):
    return request.param, templates[request.param]


def _deployer(template):
    return next(f for f in template.find_resources("AWS::Lambda::Function").values()
                if f["Properties"]["Handler"] == "lambdas.deploy.handler.handler")


def test_the_rule_uses_the_one_approval_pattern_for_this_environments_group(env):
    name, template = env
    [rule] = [r for r in template.find_resources("AWS::Events::Rule").values()
              if r["Properties"].get("EventPattern", {}).get("source") == ["aws.sagemaker"]]
    assert rule["Properties"]["EventPattern"] == approval_event_pattern([f"mlstack-{name}-models"])
    assert rule["Properties"]["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    target = rule["Properties"]["Targets"][0]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert "DeadLetterConfig" in target


def test_canaries_are_checked_on_a_schedule_and_when_a_canary_alarm_changes(env):
    name, template = env
    alarms = [f"mlstack-{name}-{stage}-canary-errors" for stage in ("staging", "prod")]
    deployer = next(iter(template.find_resources("AWS::Lambda::Function", {
        "Properties": {"Handler": "lambdas.deploy.handler.handler"}})))
    rules = [r for r in template.find_resources("AWS::Events::Rule").values()
             if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [deployer, "Arn"]}]
    assert [r["Properties"]["ScheduleExpression"] for r in rules if "ScheduleExpression" in r["Properties"]] == [
        "rate(5 minutes)"]
    [alarm_rule] = [r for r in rules if r["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]]
    assert alarm_rule["Properties"]["EventPattern"] == canary_alarm_event_pattern(alarms)
    for alarm in alarms:  # the alarms the rule and the deployer name exist, on the inference functions' metric
        template.has_resource_properties("AWS::CloudWatch::Alarm", {
            "AlarmName": alarm, "MetricName": "CanaryErrors", "Namespace": f"mlstack-{name}",
            "Dimensions": [{"Name": name, "Value": value}
                           for name, value in canary_metric_dimensions(alarm.split("-")[2]).items()],
            "TreatMissingData": "notBreaching"})
    variables = _deployer(template)["Properties"]["Environment"]["Variables"]
    assert (variables["CANARY_PERCENT"], variables["CANARY_BAKE_MINUTES"]) == ("10", "30")


def test_the_deployer_runs_one_at_a_time_with_every_variable_it_needs(env):
    _, template = env
    props = _deployer(template)["Properties"]
    assert props["ReservedConcurrentExecutions"] == 1
    required = {n for n, f in DeployEnvironment.model_fields.items() if f.is_required()}
    assert required <= set(props["Environment"]["Variables"])
    assert "DeadLetterConfig" in props


def test_audit_records_are_locked_against_change_for_the_configured_retention(env):
    name, template = env
    days = {"dev": 30, "prod": 2557}[name]
    template.has_resource("AWS::S3::Bucket", {"Properties": {
        "ObjectLockEnabled": True,
        "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
                                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": days}}},
        "VersioningConfiguration": {"Status": "Enabled"}}, "DeletionPolicy": "RetainExceptOnCreate"})


def test_the_deployer_may_move_only_its_own_pointers_and_serving_prefix(env):
    name, template = env
    policies = [p for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
                if p["Properties"]["Description"].startswith("deploy function")]
    statements = {s.get("Sid"): s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]}
    assert f"parameter/mlstack/{name}/serving/*" in json.dumps(statements["MoveServingPointers"]["Resource"])
    assert "serving/*" in json.dumps(statements["PublishServingModels"]["Resource"])
    assert "DeployEndpoints" not in statements  # lambda backend: no endpoint permissions at all
    assert "canary-errors" in json.dumps(statements["ReadCanaryAlarms"]["Resource"])


def test_the_sagemaker_backend_gets_endpoint_permissions_and_cross_account_reads_are_explicit():
    context = cdk_context(env="dev")
    context["mlstack:environments"]["dev"]["deployment"] = {
        "backend": "sagemaker", "cross_account_ids": ["210987654321"]}
    app = build_app(context)
    stage = next(child for child in app.node.children if isinstance(child, cdk.Stage))
    template = stage.synth().get_stack_artifact(stage.data_lake.artifact_id).template
    text = json.dumps(template)
    assert '"DeployEndpoints"' in text
    assert '"ReadCanaryAlarms"' not in text and "pointer canaries" not in text  # SageMaker canaries itself
    [group] = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    principal = group["Properties"]["ModelPackageGroupPolicy"]["Statement"][0]["Principal"]["AWS"]
    assert "210987654321" in json.dumps(principal)


def test_with_a_vpc_sagemaker_models_get_its_subnets_and_their_images_an_ecr_path():
    context = cdk_context(env="prod")
    context["mlstack:environments"]["prod"]["deployment"] = {"backend": "sagemaker"}
    app = build_app(context)
    stage = next(child for child in app.node.children if isinstance(child, cdk.Stage))
    template = stage.synth().get_stack_artifact(stage.data_lake.artifact_id).template  # nag-clean, or it raises
    [deployer] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
                  and r["Properties"]["Handler"] == "lambdas.deploy.handler.handler"]
    variables = deployer["Properties"]["Environment"]["Variables"]
    assert "Fn::Join" in variables["MODEL_SUBNET_IDS"] and variables["MODEL_SECURITY_GROUP_IDS"]
    services = json.dumps([r["Properties"]["ServiceName"] for r in template["Resources"].values()
                           if r["Type"] == "AWS::EC2::VPCEndpoint"])
    assert ".ecr.dkr" in services and ".ecr.api" in services and ".sagemaker.runtime" in services
    assert "ec2:CreateNetworkInterface" in json.dumps(template) and '"ModelsInVpc"' in json.dumps(template)
