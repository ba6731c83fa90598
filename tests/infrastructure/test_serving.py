"""The inference API as deployed: request model from the signature, auth, throttling, logs, WAF, scoped IAM."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from lambdas.inference.settings import InferenceEnvironment
from pipelines.recipes import get_recipe
from stacks.app import build_app
from tests.conftest import cdk_context, environment_template


@pytest.fixture(scope="module", params=["dev", "prod"])
def env(request, templates):
    return request.param, templates[request.param]


def _resources(template, kind):
    return list(template.find_resources(kind).values())


def _inference_functions(template):
    return [f for f in _resources(template, "AWS::Lambda::Function")
            if f["Properties"]["Handler"] == "lambdas.inference.handler.handler"]


def test_each_model_stage_has_its_own_api_and_function_reading_its_pointer(env):
    name, template = env
    pointers = sorted(f["Properties"]["Environment"]["Variables"]["SERVING_PARAMETER"]
                      for f in _inference_functions(template))
    assert pointers == [f"/mlstack/{name}/serving/prod/model", f"/mlstack/{name}/serving/staging/model"]
    stages = sorted(s["Properties"]["StageName"] for s in _resources(template, "AWS::ApiGateway::Stage"))
    assert stages == ["prod", "staging"]


def test_the_function_environment_parses_into_its_settings(env):
    _, template = env
    for function in _inference_functions(template):
        variables = {k: v for k, v in function["Properties"]["Environment"]["Variables"].items()
                     if isinstance(v, str)}
        variables["CAPTURE_BUCKET"] = "capture-bucket"
        assert InferenceEnvironment.model_validate(
            {k: v for k, v in variables.items() if k in InferenceEnvironment.model_fields})


def test_the_request_model_is_the_recipe_signature(env):
    _, template = env
    [model] = {json.dumps(m["Properties"]["Schema"], sort_keys=True): m
               for m in _resources(template, "AWS::ApiGateway::Model")}.values()
    schema = model["Properties"]["Schema"]
    expected = get_recipe("tabular").signature().request_schema(1000)
    assert schema["properties"]["instances"]["items"]["properties"] == \
        expected["properties"]["instances"]["items"]["properties"]
    assert schema["properties"]["instances"]["maxItems"] == 1000
    assert schema["additionalProperties"] is False


def test_every_route_requires_iam_auth_and_predict_validates_its_body(env):
    _, template = env
    methods = [m["Properties"] for m in _resources(template, "AWS::ApiGateway::Method")]
    assert {m["HttpMethod"] for m in methods} == {"POST", "GET"}
    assert all(m["AuthorizationType"] == "AWS_IAM" for m in methods)
    posts = [m for m in methods if m["HttpMethod"] == "POST"]
    assert all("RequestValidatorId" in m and "application/json" in m["RequestModels"] for m in posts)
    validators = [v["Properties"] for v in _resources(template, "AWS::ApiGateway::RequestValidator")]
    assert all(v["ValidateRequestBody"] for v in validators)


def test_stages_trace_throttle_and_log_access_without_bodies(env):
    name, template = env
    for stage in _resources(template, "AWS::ApiGateway::Stage"):
        props = stage["Properties"]
        [settings] = props["MethodSettings"]
        assert props["TracingEnabled"] is True
        assert settings["DataTraceEnabled"] is False
        assert settings["MetricsEnabled"] is True
        assert settings["ThrottlingRateLimit"] == (200 if name == "prod" else 50)
        log_format = props["AccessLogSetting"]["Format"]
        assert "requestId" in log_format
        assert "body" not in log_format.lower()


def test_gateway_errors_use_the_contract_shape(env):
    _, template = env
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in _resources(template, "AWS::ApiGateway::GatewayResponse")}
    assert responses["DEFAULT_5XX"]["StatusCode"] == "503"
    assert responses["DEFAULT_5XX"]["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'5'"
    assert responses["THROTTLED"]["StatusCode"] == "429"
    assert responses["REQUEST_TOO_LARGE"]["StatusCode"] == "413"
    body = responses["BAD_REQUEST_BODY"]["ResponseTemplates"]["application/json"]
    assert json.loads(body.replace("$context.error.validationErrorString", "x"))["error"]["code"] == "invalid_request"


def test_waf_guards_both_stages_in_prod_only(env):
    name, template = env
    associations = _resources(template, "AWS::WAFv2::WebACLAssociation")
    acls = _resources(template, "AWS::WAFv2::WebACL")
    if name == "dev":
        assert (acls, associations) == ([], [])
        return
    [acl] = acls
    groups = {r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") for r in acl["Properties"]["Rules"]}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= groups
    assert any("RateBasedStatement" in r["Statement"] for r in acl["Properties"]["Rules"])
    assert len(associations) == 2
    [logging] = _resources(template, "AWS::WAFv2::LoggingConfiguration")
    assert {f["SingleHeader"]["Name"] for f in logging["Properties"]["RedactedFields"]} >= {"authorization",
                                                                                           "x-api-key"}


def test_the_function_reads_only_its_stage_models_and_writes_only_capture(env):
    _, template = env
    policies = [p["Properties"] for p in _resources(template, "AWS::IAM::ManagedPolicy")
                if "inference function" in p["Properties"].get("Description", "")]
    assert len(policies) == 2
    for policy in policies:
        statements = {s.get("Sid"): s for s in policy["PolicyDocument"]["Statement"]}
        assert statements["ReadServedModels"]["Action"] == "s3:GetObject"
        resource = json.dumps(statements["ReadServedModels"]["Resource"])
        assert "/serving/staging/*" in resource or "/serving/prod/*" in resource
        assert "/capture/*" in json.dumps(statements["WriteCapture"]["Resource"])
        assert statements["ReadServingPointer"]["Action"] == "ssm:GetParameter"
        assert not any("*" in json.dumps(s["Action"]) for s in statements.values())


@pytest.fixture(scope="module")
def api_key_template(tmp_path_factory):
    context = cdk_context(env="dev")
    dev = context["mlstack:environments"]["dev"]
    context["mlstack:environments"] = {"dev": {**dev, "serving": {**dev.get("serving", {}), "auth": "api_key",
                                                                  "quota_per_day": 5000}}}
    app = build_app(context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    app.synth()  # nag runs here too
    [stage] = [child for child in app.node.children if hasattr(child, "stacks")]
    return Template.from_json(environment_template(stage))


def test_the_api_key_option_requires_keys_and_meters_them_with_a_usage_plan(api_key_template):
    methods = [m["Properties"] for m in _resources(api_key_template, "AWS::ApiGateway::Method")]
    assert all(m["ApiKeyRequired"] and m["AuthorizationType"] == "NONE" for m in methods)
    plans = [p["Properties"] for p in _resources(api_key_template, "AWS::ApiGateway::UsagePlan")]
    assert len(plans) == 2
    assert all(p["Quota"] == {"Limit": 5000, "Period": "DAY"} for p in plans)
    assert all(p["Throttle"] == {"BurstLimit": 100, "RateLimit": 50} for p in plans)
