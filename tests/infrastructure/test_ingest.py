"""The ingestion function as deployed: trigger, failure handling, least privilege, environment."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from lambdas.ingest.settings import IngestEnvironment
from mlstack.config import load_environments
from tests.conftest import refers_to


@pytest.fixture(scope="module", params=["dev", "prod"])
def env(request, templates):
    return request.param, templates[request.param]


def _function(template):
    functions = template.find_resources("AWS::Lambda::Function")
    return next(f for f in functions.values() if f["Properties"]["Handler"] == "lambdas.ingest.handler.handler")


def _policy_statements(template):
    return [s for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
            if p["Properties"]["Description"].startswith("ingest function")
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_only_object_created_under_raw_reaches_ingestion_through_the_raw_object_topic(env):
    name, template = env
    body = template.to_json()
    [(topic_id, _)] = [(k, t) for k, t in template.find_resources("AWS::SNS::Topic").items()
                       if t["Properties"]["TopicName"] == f"mlstack-{name}-raw-objects"]
    [bucket] = [b for b in template.find_resources("AWS::S3::Bucket").values()
                if "NotificationConfiguration" in b["Properties"]]
    assert bucket["Properties"]["NotificationConfiguration"] == {"TopicConfigurations": [{
        "Event": "s3:ObjectCreated:*", "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "raw/"}]}},
        "Topic": {"Ref": topic_id}}]}
    # S3 may publish only for the raw bucket of this account; the data stack never names the function.
    [policy] = [p for p in template.find_resources("AWS::SNS::TopicPolicy").values()
                if p["Properties"]["Topics"] == [{"Ref": topic_id}]]
    [publish] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "RawBucketPublishes"]
    assert publish["Principal"] == {"Service": "s3.amazonaws.com"} and set(publish["Condition"]) == {
        "ArnEquals", "StringEquals"}
    [subscription] = template.find_resources("AWS::SNS::Subscription", {"Properties": {"Protocol": "lambda"}}).values()
    function_id = next(k for k, f in template.find_resources("AWS::Lambda::Function").items()
                       if f["Properties"]["Handler"] == "lambdas.ingest.handler.handler")
    assert refers_to(body, subscription["Properties"]["TopicArn"], topic_id)
    assert subscription["Properties"]["Endpoint"] == {"Fn::GetAtt": [function_id, "Arn"]}
    queue_id = _function(template)["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    assert subscription["Properties"]["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    [permission] = [p for p in template.find_resources("AWS::Lambda::Permission").values()
                    if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}]
    assert permission["Properties"]["Principal"] == "sns.amazonaws.com"
    assert refers_to(body, permission["Properties"]["SourceArn"], topic_id)


def test_failures_have_a_bounded_retry_and_an_encrypted_dead_letter_queue(env):
    name, template = env
    settings = load_environments()[name].ingest
    function = _function(template)
    queue_id = function["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    queue = template.find_resources("AWS::SQS::Queue")[queue_id]
    assert "KmsMasterKeyId" in queue["Properties"]
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "MaximumRetryAttempts": settings.retry_attempts,
        "MaximumEventAgeInSeconds": settings.max_event_age_hours * 3600})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1,
        "AlarmActions": [Match.object_like({"Fn::ImportValue": Match.string_like_regexp("-shared:")})]})


def test_function_limits_follow_config(env):
    name, template = env
    settings = load_environments()[name].ingest
    props = _function(template)["Properties"]
    assert props["ReservedConcurrentExecutions"] == settings.reserved_concurrency
    assert props["MemorySize"] == settings.memory_mb
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Environment"]["Variables"]["MAX_OBJECT_BYTES"] == str(settings.max_object_mb * 1024 * 1024)


def test_the_deployed_environment_provides_every_variable_the_handler_requires(env):
    _, template = env
    variables = _function(template)["Properties"]["Environment"]["Variables"]
    required = {name for name, field in IngestEnvironment.model_fields.items() if field.is_required()}
    assert required | {"PHI_POLICIES"} <= set(variables)
    assert json.loads(variables["PHI_POLICIES"]) == {}  # every data set redacted by default


def test_permissions_are_scoped_no_service_wildcards(env):
    _, template = env
    statements = _policy_statements(template)
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a.endswith(":*") or a == "*"]
    wildcard_resources = [s for s in statements if s["Resource"] == "*"]
    assert all(a.startswith(("xray:", "ec2:")) for s in wildcard_resources
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    key_statements = [s for s in statements if any(str(a).startswith("kms:") for a in s["Action"])]
    assert key_statements and all("kms:ViaService" in s["Condition"]["StringEquals"] for s in key_statements)
    # The function role has no inline policy and no AWS-managed policy.
    assert not template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": Match.any_value()}}) or all(
        "FlowLog" in logical_id for logical_id in template.find_resources("AWS::IAM::Policy"))


def test_prod_functions_run_in_isolated_subnets_without_nat(templates):
    prod, dev = templates["prod"], templates["dev"]
    assert "VpcConfig" in _function(prod)["Properties"]
    assert "VpcConfig" not in _function(dev)["Properties"]
    assert not prod.find_resources("AWS::EC2::NatGateway")
    assert not prod.find_resources("AWS::EC2::InternetGateway")
    prod.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})
    prod.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})


def test_comprehend_medical_is_wired_only_where_a_data_set_uses_it(templates):
    from stacks.app import build_app
    from stacks.stage import MlStackStage
    from tests.conftest import cdk_context, environment_template

    context = cdk_context(env="prod")
    prod = context["mlstack:environments"]["prod"]
    prod["ingest"] = {**prod.get("ingest", {}), "phi_detector": {"clinical_notes": "both"}}
    [stage] = [c for c in build_app(context).node.children if isinstance(c, MlStackStage)]
    template = environment_template(stage)  # nag-clean, or it raises
    [policy] = [p for p in template["Resources"].values() if p["Type"] == "AWS::IAM::ManagedPolicy"
                and p["Properties"]["Description"].startswith("ingest function")]
    [detect] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "DetectPhi"]
    assert detect["Action"] == "comprehendmedical:DetectPHI"
    endpoints = json.dumps([r["Properties"]["ServiceName"] for r in template["Resources"].values()
                            if r["Type"] == "AWS::EC2::VPCEndpoint"])
    assert "comprehendmedical" in endpoints
    function = next(f for f in template["Resources"].values() if f["Type"] == "AWS::Lambda::Function"
                    and f["Properties"]["Handler"] == "lambdas.ingest.handler.handler")
    assert json.loads(function["Properties"]["Environment"]["Variables"]["PHI_DETECTORS"]) == {
        "clinical_notes": "both"}
    for name in ("dev", "prod"):  # the repository's config: builtin everywhere, so neither is granted
        assert "comprehendmedical" not in json.dumps(templates[name].to_json())
