"""The inference API: per model stage, a REST API (auth, validation, throttling, logs) -> the inference function.

The request model is the configured recipe's signature (mlstack/signature.py), the same contract
the function validates against. Auth is IAM (SigV4) by default, or API keys with a usage plan.
Access logs are JSON without bodies; data tracing (which would log bodies) stays off. In
environments with `serving.waf`, one WAF web ACL (AWS managed rule groups + a per-IP rate limit)
guards every stage. See docs/serving.md.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from lambdas.inference.settings import CANARY_METRIC, canary_metric_dimensions, function_environment
from mlstack.config import EnvironmentConfig
from mlstack.lake import SERVING_PREFIX
from mlstack.pointer import canary_alarm_name, pointer_name
from pipelines.recipes import get_recipe
from stacks.arns import arn, key_through, nag_rendered
from stacks.data_lake import DataLake
from stacks.functions import SecureFunction
from stacks.logs import encrypted_log_group
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork

ROUTES = (("predict", "POST"), ("health", "GET"), ("schema", "GET"))
_ERROR = '{"error": {"code": "%s", "message": %s}}'
# (response type, status, code, message template): the contract's error shape for what API Gateway answers itself.
GATEWAY_ERRORS = (
    (apigw.ResponseType.BAD_REQUEST_BODY, "400", "invalid_request", '"$context.error.validationErrorString"'),
    (apigw.ResponseType.UNAUTHORIZED, "401", "unauthorized", '"$context.error.message"'),
    (apigw.ResponseType.ACCESS_DENIED, "403", "forbidden", '"$context.error.message"'),
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "403", "forbidden",
     '"missing or invalid credentials, or no such route"'),
    (apigw.ResponseType.INVALID_API_KEY, "403", "forbidden", '"a valid x-api-key header is required"'),
    (apigw.ResponseType.WAF_FILTERED, "403", "forbidden", '"request blocked by the web application firewall"'),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large", '"$context.error.message"'),
    (apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, "415", "unsupported_media_type",
     '"Content-Type must be application/json"'),
    (apigw.ResponseType.THROTTLED, "429", "throttled", '"too many requests; retry with backoff"'),
    (apigw.ResponseType.QUOTA_EXCEEDED, "429", "quota_exceeded", '"the usage plan quota is used up"'),
    (apigw.ResponseType.DEFAULT_5_XX, "503", "backend_unavailable", '"the model backend is unavailable; retry later"'),
)


class ServingFirewall(Construct):
    """A regional WAF web ACL: AWS managed rule groups plus a per-IP rate limit, with redacted logs."""

    MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                           "AWSManagedRulesAmazonIpReputationList")
    # SizeRestrictions_BODY blocks bodies over 8 KB (about 10 instances); the API accepts
    # serving.max_body_bytes, enforced by the inference function from the declared length (413),
    # under API Gateway's own 10 MB cap. Counted, not blocked (rule MlStack.Deploy-DP4).
    OVERRIDES = {"AWSManagedRulesCommonRuleSet": [wafv2.CfnWebACL.RuleActionOverrideProperty(
        name="SizeRestrictions_BODY", action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}))]}

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, lake: DataLake,
                 removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        name = f"{config.resource_prefix()}-api"
        rules = [wafv2.CfnWebACL.RuleProperty(
            name=group, priority=index, override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(managed_rule_group_statement=wafv2.CfnWebACL.
                                                        ManagedRuleGroupStatementProperty(
                                                            vendor_name="AWS", name=group,
                                                            rule_action_overrides=self.OVERRIDES.get(group))),
            visibility_config=_visibility(group)) for index, group in enumerate(self.MANAGED_RULE_GROUPS)]
        rules.append(wafv2.CfnWebACL.RuleProperty(
            name="RatePerIp", priority=len(rules), action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP", limit=config.serving.waf_rate_limit_per_5_minutes)),
            visibility_config=_visibility("RatePerIp")))
        self.web_acl = wafv2.CfnWebACL(
            self, "WebAcl", name=name, scope="REGIONAL", default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules, visibility_config=_visibility(name))
        # WAF writes only to log groups named aws-waf-logs-*; credentials are redacted from them.
        logs = encrypted_log_group(self, "Logs", key=lake.key, retention_days=config.log_retention_days,
                                   removal_policy=removal_policy)
        logs.node.default_child.log_group_name = f"aws-waf-logs-{name}"
        wafv2.CfnLoggingConfiguration(
            self, "Logging", resource_arn=self.web_acl.attr_arn, log_destination_configs=[logs.log_group_arn],
            redacted_fields=[wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                             for header in ("authorization", "x-api-key", "x-amz-security-token")])


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name=name,
                                                    sampled_requests_enabled=True)


def api_gateway_account(scope: Construct) -> apigw.CfnAccount:
    """API Gateway's account-wide logging role (AWS::ApiGateway::Account): one per account and region, in the
    shared stack of the environment with serving.manage_api_gateway_account (mlstack/config.py checks there
    is one per account), not one per REST API: each would overwrite the other's."""
    role = iam.Role(scope, "ApiGatewayLogsRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
                    description="API Gateway writes execution and access logs to CloudWatch Logs",
                    managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(
                        "service-role/AmazonAPIGatewayPushToCloudWatchLogs")])
    acknowledge(role, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                      "AmazonAPIGatewayPushToCloudWatchLogs]",
                "The AWS-managed role API Gateway needs (account-wide) to write execution logs to CloudWatch")
    account = apigw.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.node.add_dependency(role)
    # Other environments' APIs in this account log through it: deleting this stack must not take it away.
    for resource in (role.node.default_child, account):
        resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    return account


class ServingApi(Construct):
    """One model stage (staging or prod) behind its own REST API and inference function."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, stage: str, lake: DataLake,
                 network: PrivateNetwork | None, firewall: ServingFirewall | None, bundle: bool,
                 removal_policy: cdk.RemovalPolicy, logging_account: apigw.CfnAccount | None) -> None:
        super().__init__(scope, id_)
        self.config, self.stage, settings = config, stage, config.serving
        self.pointer = pointer_name(config.serving_parameter_prefix(), stage)
        self.secure = SecureFunction(
            self, "Inference", name="inference", function_name=f"{config.resource_prefix()}-{stage}-inference",
            config=config, key=lake.key, network=network, bundle=bundle,
            removal_policy=removal_policy,
            runbook="docs/runbooks/monitoring.md#function-errors",
            description=f"Inference API ({stage}): the live ONNX model or endpoint",
            environment=function_environment(
                stage=stage, serving_parameter=self.pointer, capture_bucket=DataLake.bucket_name(config, "capture"),
                capture_sample_rate=settings.capture_sample_rate, max_instances=settings.max_instances,
                max_body_bytes=settings.max_body_bytes, metrics_namespace=config.resource_prefix()),
            memory_mb=settings.memory_mb, timeout_seconds=15, reserved_concurrency=settings.reserved_concurrency)
        self.function, self.failure_alarm = self.secure.function, self.secure.failure_alarm
        self.canary_alarm = self._canary_alarm()
        self._grant(lake)
        self.access_logs = encrypted_log_group(self, "AccessLogs", key=lake.key,
                                               retention_days=config.log_retention_days, removal_policy=removal_policy)
        self.api = self._rest_api()
        if logging_account:  # the stage logs: the role must be set first
            self.api.deployment_stage.node.add_dependency(logging_account)
        self._routes()
        if settings.auth == "api_key":
            self._usage_plan()
        if firewall:
            wafv2.CfnWebACLAssociation(self, "Firewall", resource_arn=self.api.deployment_stage.stage_arn,
                                       web_acl_arn=firewall.web_acl.attr_arn)
        self._acknowledge(firewall)

    def _canary_alarm(self) -> cloudwatch.Alarm:
        """Any canary failure (candidate fails to load, or fails a prediction) -> the deployer rolls back."""
        prefix = self.config.resource_prefix()
        return cloudwatch.Alarm(
            self, "CanaryErrorsAlarm", alarm_name=canary_alarm_name(prefix, self.stage),
            alarm_description=f"The canary model version in {self.stage} failed; the deployer rolls it back. "
                              "Runbook: docs/runbooks/deployment.md#canary-errors",
            metric=cloudwatch.Metric(namespace=prefix, metric_name=CANARY_METRIC,
                                     dimensions_map=canary_metric_dimensions(self.stage), statistic="Sum",
                                     period=cdk.Duration.minutes(1)),
            threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)

    def _rest_api(self) -> apigw.RestApi:
        settings = self.config.serving
        api = apigw.RestApi(
            self, "Api", rest_api_name=f"{self.config.resource_prefix()}-{self.stage}-inference",
            description=f"mlstack {self.config.name} inference API ({self.stage})",
            endpoint_types=[apigw.EndpointType.REGIONAL], cloud_watch_role=False,  # api_gateway_account: one
            min_compression_size=cdk.Size.kibibytes(1),
            deploy_options=apigw.StageOptions(
                stage_name=self.stage, tracing_enabled=True, metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR, data_trace_enabled=False,  # no bodies in logs
                throttling_rate_limit=settings.throttle_rate_per_second,
                throttling_burst_limit=settings.throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True, http_method=True, ip=True, protocol=True, request_time=True, resource_path=True,
                    response_length=True, status=True, user=True)))
        for response_type, status, code, message in GATEWAY_ERRORS:
            headers = {"Retry-After": "'5'"} if status == "503" else None
            name = response_type.response_type.title().replace("_", "")
            api.add_gateway_response(name, type=response_type, status_code=status, response_headers=headers,
                                     templates={"application/json": _ERROR % (code, message)})
        return api

    def _routes(self) -> None:
        signature = get_recipe(self.config.training.recipe).signature()
        model = self.api.add_model("PredictRequest", content_type="application/json", model_name="PredictRequest",
                                   schema=json_schema(signature.request_schema(self.config.serving.max_instances)))
        validator = self.api.add_request_validator("Body", validate_request_body=True,
                                                   validate_request_parameters=True)
        integration = apigw.LambdaIntegration(self.function, proxy=True)
        api_key = self.config.serving.auth == "api_key"
        auth = apigw.AuthorizationType.NONE if api_key else apigw.AuthorizationType.IAM
        version = self.api.root.add_resource("v1")
        for route, method in ROUTES:
            options: dict[str, Any] = {"request_models": {"application/json": model},
                                       "request_validator": validator} if method == "POST" else {}
            version.add_resource(route).add_method(method, integration, authorization_type=auth,
                                                   api_key_required=api_key, **options)

    def _usage_plan(self) -> None:
        settings = self.config.serving
        plan = self.api.add_usage_plan(
            "UsagePlan", name=f"{self.config.resource_prefix()}-{self.stage}-clients",
            throttle=apigw.ThrottleSettings(rate_limit=settings.throttle_rate_per_second,
                                            burst_limit=settings.throttle_burst),
            quota=apigw.QuotaSettings(limit=settings.quota_per_day, period=apigw.Period.DAY))
        plan.add_api_stage(stage=self.api.deployment_stage)
        # One key to start with; issue more per client (value generated by API Gateway, never in the template).
        plan.add_api_key(self.api.add_api_key("ClientKey", description=f"first client key ({self.stage})"))

    def _grant(self, lake: DataLake) -> None:
        config, stage = self.config, self.stage
        statements = [
            iam.PolicyStatement(sid="ReadServingPointer", actions=["ssm:GetParameter"],
                                resources=[arn("ssm", f"parameter{self.pointer}")]),
            iam.PolicyStatement(sid="ReadServedModels", actions=["s3:GetObject"],
                                resources=[DataLake.object_arn(config, "artifacts", f"{SERVING_PREFIX}{stage}/")]),
            iam.PolicyStatement(sid="WriteCapture", actions=["s3:PutObject"],
                                resources=[DataLake.object_arn(config, "capture", "capture/")]),
            key_through("UseLakeKeyThroughS3", lake.key, "s3"),
        ]
        self.secure.grant(*statements)
        for zone, prefix, reason in (("artifacts", f"{SERVING_PREFIX}{stage}/", f"reads the {stage} models only"),
                                     ("capture", "capture/", "writes captured predictions under capture/ only")):
            finding = nag_rendered(DataLake.object_arn(config, zone, prefix))
            acknowledge(self.secure.policy, f"AwsSolutions-IAM5[Resource::{finding}]", reason)

    def _acknowledge(self, firewall: ServingFirewall | None) -> None:
        stage = self.api.deployment_stage
        for finding in ("HIPAA.Security-APIGWCacheEnabledAndEncrypted", "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted"):
            acknowledge(stage, finding, "Predictions are POSTs and must reflect the live model: a cache would serve "
                                        "stale answers and bill an always-on cache node")
        for finding in ("HIPAA.Security-APIGWSSLEnabled", "NIST.800.53.R5-APIGWSSLEnabled"):
            acknowledge(stage, finding, "Client certificates authenticate API Gateway to HTTP backends; the only "
                                        "backend is a Lambda proxy integration invoked over AWS's signed API")
        if firewall is None:
            for finding in ("AwsSolutions-APIG3", "NIST.800.53.R5-APIGWAssociatedWithWAF"):
                acknowledge(stage, finding, "serving.waf=false in this environment (a web ACL costs about $8/month "
                                            "idle); routes need IAM auth and stage throttling applies; prod sets "
                                            "serving.waf=true")
        for route, method in ROUTES:
            resource = self.api.root.get_resource("v1").get_resource(route)
            method_construct = resource.node.find_child(method)
            acknowledge(method_construct, "AwsSolutions-COG4",
                        "Callers are services, not end users: IAM (SigV4) auth or API keys with a usage plan "
                        "(serving.auth); no Cognito user pool")
            if self.config.serving.auth == "api_key":
                acknowledge(method_construct, "AwsSolutions-APIG4",
                            "serving.auth=api_key: API keys with a usage plan (rate, burst, daily quota) identify "
                            "app clients; IAM auth is the default")


_SCHEMA_KEYS = {"type": "type", "title": "title", "description": "description", "minimum": "minimum",
                "maximum": "maximum", "enum": "enum", "maxLength": "max_length", "minItems": "min_items",
                "maxItems": "max_items", "required": "required"}


def json_schema(schema: dict[str, Any]) -> apigw.JsonSchema:
    """A JSON Schema dict (mlstack/signature.py) as CDK's JsonSchema, for an API Gateway model."""
    kwargs: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            kwargs["schema"] = apigw.JsonSchemaVersion.DRAFT4
        elif key == "type":
            types = value if isinstance(value, list) else [value]
            converted = [apigw.JsonSchemaType[name.upper()] for name in types]
            kwargs["type"] = converted[0] if len(converted) == 1 else converted
        elif key == "properties":
            kwargs["properties"] = {name: json_schema(item) for name, item in value.items()}
        elif key == "items":
            kwargs["items"] = json_schema(value)
        elif key == "additionalProperties":
            kwargs["additional_properties"] = value
        else:
            kwargs[_SCHEMA_KEYS[key]] = value
    return apigw.JsonSchema(**kwargs)
