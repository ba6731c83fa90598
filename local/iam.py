"""IAM for the rehearsal: every AWS call checked against the caller's policies from the template.

moto's own IAM enforcement judges every non-S3 call against the resource "*" (so a policy scoped
to a queue or parameter ARN is denied) and skips conditions it has no value for, so it cannot
show least-privilege policies working. This module does the evaluation instead, for each call a
handler or job makes, before the call reaches the emulator:

- the call becomes IAM requests (action, resource ARN, context keys), as the service authorizes
  it: S3 operations map to their IAM actions (ListObjectsV2 -> s3:ListBucket, HeadObject ->
  s3:GetObject, a versioned read -> s3:GetObjectVersion, CopyObject reads the source and writes
  the target); a call to an SSE-KMS bucket, or a KMS-encrypted queue or topic, also asks the
  caller's policy for the key (kms:GenerateDataKey to write, kms:Decrypt to read) with
  kms:ViaService set, as S3, SQS and SNS do on the caller's behalf;
- each request is judged like AWS does in one account: an explicit Deny in the identity or the
  resource's policy wins, then an Allow in either, else an implicit deny.
- condition keys the rehearsal knows (aws:SecureTransport, kms:ViaService, s3:prefix,
  cloudwatch:namespace, aws:PrincipalArn/Account) are evaluated; any other key is listed as not
  evaluated (and the statement is taken to match an Allow, not to match a Deny).

Pure Python and standard library only: the package runner loads it, by path, into the clean
interpreter a Lambda package runs in.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# botocore endpoint prefix -> IAM service prefix, where they differ.
IAM_PREFIX = {"monitoring": "cloudwatch", "api.sagemaker": "sagemaker", "runtime.sagemaker": "sagemaker",
              "email": "ses"}
S3_ACTIONS = {"ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadObject": "GetObject",
              "HeadBucket": "ListBucket", "ListObjectVersions": "ListBucketVersions",
              "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
              "DeleteObjects": "DeleteObject", "GetBucketLocation": "GetBucketLocation"}
S3_BUCKET_OPERATIONS = {"ListObjectsV2", "ListObjects", "HeadBucket", "ListObjectVersions", "GetBucketLocation",
                        "GetBucketVersioning", "GetBucketEncryption", "DeleteObjects"}
VERSIONED = {"GetObject": "GetObjectVersion", "GetObjectTagging": "GetObjectVersionTagging",
             "PutObjectTagging": "PutObjectVersionTagging", "DeleteObject": "DeleteObjectVersion"}
# Condition keys the rehearsal gives a value to (others are listed as not evaluated).
KNOWN_KEYS = {"aws:securetransport", "kms:viaservice", "s3:prefix", "cloudwatch:namespace", "aws:principalarn",
              "aws:principalaccount", "kms:grantisforawsresource"}


@dataclass(frozen=True)
class Request:
    """One authorization request: what IAM evaluates."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass
class Decision:
    allowed: bool
    reason: str
    unevaluated: set[str] = field(default_factory=set)


@dataclass
class Facts:
    """What the deployed resources add to a request: encryption keys and resource policies."""

    account: str
    region: str
    bucket_keys: dict[str, str | None] = field(default_factory=dict)
    queue_keys: dict[str, str | None] = field(default_factory=dict)
    topic_keys: dict[str, str | None] = field(default_factory=dict)
    resource_policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def key_arn(self, key: str | None) -> str | None:
        if not key:
            return None
        return key if key.startswith("arn:") else self.arn("kms", key if key.startswith("alias/") else f"key/{key}")


# --- calls -> requests ------------------------------------------------------------------------

def requests_for(endpoint_prefix: str, operation: str, params: dict[str, Any], facts: Facts) -> list[Request]:
    """The IAM requests one API call makes (its own, plus the KMS use the service does for it)."""
    service = IAM_PREFIX.get(endpoint_prefix, endpoint_prefix)
    if service == "s3":
        return _s3_requests(operation, params, facts)
    resource = _resource(service, operation, params, facts)
    requests = [Request(f"{service}:{operation}", resource, _context(service, params))]
    key = None
    if service == "sqs" and operation == "SendMessage":
        key = facts.queue_keys.get(resource)
    elif service == "sns" and operation == "Publish":
        key = facts.topic_keys.get(resource)
    if key:
        requests.append(Request("kms:GenerateDataKey", facts.key_arn(key) or "*",
                                {"kms:ViaService": f"{service}.{facts.region}.amazonaws.com"}))
    return requests


def _s3_requests(operation: str, params: dict[str, Any], facts: Facts) -> list[Request]:
    bucket = params.get("Bucket", "")
    if operation == "CopyObject":
        source = params["CopySource"]
        source_bucket, _, source_key = (source if isinstance(source, str) else
                                        f"{source['Bucket']}/{source['Key']}").lstrip("/").partition("/")
        reads = _s3_requests("GetObject", {"Bucket": source_bucket, "Key": source_key.split("?")[0]}, facts)
        return reads + _s3_requests("PutObject", {"Bucket": bucket, "Key": params["Key"]}, facts)
    action = S3_ACTIONS.get(operation, operation)
    if params.get("VersionId") and operation in VERSIONED:
        action = VERSIONED[operation]
    context = {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
    resource = f"arn:aws:s3:::{bucket}" if operation in S3_BUCKET_OPERATIONS else \
        f"arn:aws:s3:::{bucket}/{params.get('Key', '')}"
    requests = [Request(f"s3:{action}", resource, context)]
    if operation == "PutObject" and params.get("Tagging"):
        requests.append(Request("s3:PutObjectTagging", resource))
    key = facts.key_arn(params.get("SSEKMSKeyId") or facts.bucket_keys.get(bucket))
    via = {"kms:ViaService": f"s3.{facts.region}.amazonaws.com"}
    if key and action in ("PutObject",):
        requests.append(Request("kms:GenerateDataKey", key, via))
    elif key and action in ("GetObject", "GetObjectVersion") and operation != "HeadObject":
        requests.append(Request("kms:Decrypt", key, via))
    return requests


def _resource(service: str, operation: str, params: dict[str, Any], facts: Facts) -> str:  # noqa: PLR0911
    """The resource ARN the service authorizes the call against ("*" where IAM has none)."""
    if service == "sqs" and "QueueUrl" in params:
        return facts.arn("sqs", params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1])
    if service == "sns" and "TopicArn" in params:
        return params["TopicArn"]
    if service == "ssm":
        name = params.get("Name") or params.get("Path") or ""
        return facts.arn("ssm", f"parameter/{name.lstrip('/')}")
    if service == "kms" and "KeyId" in params:
        return facts.key_arn(params["KeyId"]) or "*"
    if service == "cloudwatch" and operation == "DescribeAlarms" and params.get("AlarmNames"):
        return facts.arn("cloudwatch", f"alarm:{params['AlarmNames'][0]}")
    if service == "sagemaker":
        return _sagemaker_resource(operation, params, facts)
    if service == "events" and operation == "PutEvents":
        return facts.arn("events", "event-bus/default")
    return "*"


def _sagemaker_resource(operation: str, params: dict[str, Any], facts: Facts) -> str:
    for arn_param in ("ModelPackageArn", "ModelPackageName", "ModelPackageGroupName", "PipelineName", "ModelCardName",
                      "EndpointName", "EndpointConfigName", "ModelName"):
        value = params.get(arn_param)
        if not isinstance(value, str):
            continue
        if value.startswith("arn:"):
            return value
        kind = {"ModelPackageGroupName": "model-package-group", "PipelineName": "pipeline",
                "ModelCardName": "model-card", "EndpointName": "endpoint", "EndpointConfigName": "endpoint-config",
                "ModelName": "model", "ModelPackageName": "model-package"}[arn_param]
        return facts.arn("sagemaker", f"{kind}/{value.lower()}")
    return "*"


def _context(service: str, params: dict[str, Any]) -> dict[str, str]:
    if service == "cloudwatch" and "Namespace" in params:
        return {"cloudwatch:namespace": params["Namespace"]}
    return {}


# --- evaluation -------------------------------------------------------------------------------

def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _matches(patterns: Any, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _as_list(patterns))
    return any(fnmatch.fnmatchcase(value, str(p)) for p in _as_list(patterns))


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, str],
                     unevaluated: set[str]) -> bool | None:
    """True/False, or None when the key is not one the rehearsal gives a value to."""
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists").split(":")[-1]
    if key.lower() not in KNOWN_KEYS and key not in context:
        unevaluated.add(f"{operator} {key}")
        return None
    actual = next((value for name, value in context.items() if name.lower() == key.lower()), None)
    if base == "Null":
        return (actual is None) == (str(_as_list(expected)[0]).lower() == "true")
    if actual is None:
        return if_exists
    expected_values = [str(value) for value in _as_list(expected)]
    tests = {
        "StringEquals": lambda: actual in expected_values, "StringNotEquals": lambda: actual not in expected_values,
        "StringEqualsIgnoreCase": lambda: actual.lower() in [v.lower() for v in expected_values],
        "StringLike": lambda: _matches(expected_values, actual),
        "StringNotLike": lambda: not _matches(expected_values, actual),
        "ArnEquals": lambda: actual in expected_values, "ArnLike": lambda: _matches(expected_values, actual),
        "ArnNotEquals": lambda: actual not in expected_values,
        "ArnNotLike": lambda: not _matches(expected_values, actual),
        "Bool": lambda: actual.lower() in [v.lower() for v in expected_values],
    }
    if base not in tests:
        unevaluated.add(f"{operator} {key}")
        return None
    return tests[base]()


def _statement_applies(statement: dict[str, Any], request: Request, unevaluated: set[str], *,
                       deny: bool) -> bool:
    if "NotAction" in statement:
        if _matches(statement["NotAction"], request.action, ignore_case=True):
            return False
    elif not _matches(statement.get("Action"), request.action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if _matches(statement["NotResource"], request.resource):
            return False
    elif "Resource" in statement and not _matches(statement["Resource"], request.resource):
        return False
    for operator, block in (statement.get("Condition") or {}).items():
        for key, expected in block.items():
            holds = _condition_holds(operator, key, expected, request.context, unevaluated)
            if holds is None:
                holds = not deny  # unknown: assume it lets an Allow through, never that it denies
            if not holds:
                return False
    return True


def _account_of(arn: str) -> str:
    return arn.split(":")[4] if arn.count(":") >= 4 else ""


def _principal_matches(statement: dict[str, Any], principal_arn: str) -> bool:
    """The statement names the principal, `*`, or its account (`arn:...:iam::<id>:root` or the bare id: every
    principal of that account, as far as the statement's conditions let)."""
    principal = statement.get("Principal")
    if principal == "*":
        return True
    values = [str(v) for v in _as_list(principal.get("AWS"))] if isinstance(principal, dict) else []
    account = _account_of(principal_arn)
    return "*" in values or principal_arn in values or any(
        value in (account, f"arn:aws:iam::{account}:root") for value in values)


def evaluate(identity: list[dict[str, Any]], resource_policy: dict[str, Any] | None, request: Request,
             principal_arn: str, *, resource_account: str | None = None) -> Decision:
    """AWS's evaluation: explicit Deny, then Allow (identity or resource policy), else deny. When the resource
    is in another account than the principal (`resource_account`), both must allow: the principal's identity
    policy and the resource's policy."""
    unevaluated: set[str] = set()
    context = {"aws:SecureTransport": "true", "aws:PrincipalArn": principal_arn,
               "aws:PrincipalAccount": _account_of(principal_arn),
               **request.context}
    request = Request(request.action, request.resource, context)
    resource_statements = [s for s in _as_list((resource_policy or {}).get("Statement"))
                           if _principal_matches(s, principal_arn)]
    for statement in identity + resource_statements:
        if statement.get("Effect") == "Deny" and _statement_applies(statement, request, unevaluated, deny=True):
            return Decision(False, f"explicitly denied by {statement.get('Sid', 'a statement')}", unevaluated)
    def allowing(statements: list[dict[str, Any]]) -> dict[str, Any] | None:
        return next((s for s in statements if s.get("Effect") == "Allow"
                     and _statement_applies(s, request, unevaluated, deny=False)), None)

    if resource_account and resource_account != context["aws:PrincipalAccount"]:
        by_identity, by_resource = allowing(identity), allowing(resource_statements)
        if by_identity and by_resource:
            return Decision(True, f"allowed across accounts by {by_identity.get('Sid', 'a statement')} and the "
                                  f"resource policy's {by_resource.get('Sid', 'statement')}", unevaluated)
        missing = "the resource policy" if by_identity else "the identity policy"
        return Decision(False, f"across accounts {missing} allows nothing (both must)", unevaluated)
    statement = allowing(identity + resource_statements)
    if statement:
        return Decision(True, f"allowed by {statement.get('Sid', 'a statement')}", unevaluated)
    return Decision(False, "no statement allows it (implicit deny)", unevaluated)


def resource_policy_for(resource: str, facts: Facts) -> dict[str, Any] | None:
    """The resource policy that governs an ARN (an object's bucket policy, a queue's or topic's policy)."""
    if resource.startswith("arn:aws:s3:::"):
        return facts.resource_policies.get(resource.split("/", 1)[0])
    return facts.resource_policies.get(resource)


def identity_statements(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [statement for document in documents for statement in _as_list(document.get("Statement"))]


class CallChecker:
    """Checks each call a principal makes; keeps the record the rehearsal reports."""

    def __init__(self, principal_arn: str, documents: list[dict[str, Any]], facts: Facts) -> None:
        self.principal_arn, self.facts = principal_arn, facts
        self.statements = identity_statements(documents)
        self.checked: list[dict[str, Any]] = []

    def check(self, endpoint_prefix: str, operation: str, params: dict[str, Any]) -> list[Request]:
        """The denied requests of one call (empty: allowed); each request is recorded."""
        return [request for request in requests_for(endpoint_prefix, operation, params, self.facts)
                if not self.check_request(request, f"{endpoint_prefix}.{operation}")]

    def check_request(self, request: Request, call: str) -> bool:
        """Evaluate one request (a call's, or one a service makes for this principal) and record it."""
        decision = evaluate(self.statements, resource_policy_for(request.resource, self.facts), request,
                            self.principal_arn)
        self.checked.append({"call": call, "action": request.action, "resource": request.resource,
                             "allowed": decision.allowed, "reason": decision.reason,
                             "unevaluated": sorted(decision.unevaluated)})
        return decision.allowed

    def authorize(self, endpoint_prefix: str, operation: str, params: dict[str, Any]) -> None:
        """Raise botocore's ClientError AccessDenied, as AWS answers, unless the policies allow the call."""
        denied = self.check(endpoint_prefix, operation, params)
        if denied:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": self.access_denied_message(denied[0])},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)

    def guard(self, client: Any) -> Any:
        """Check every call `client` makes before it is sent."""
        client.meta.events.register("provide-client-params.*.*", lambda params, model, **_: self.authorize(
            model.service_model.endpoint_prefix, model.name, params))
        return client

    def access_denied_message(self, request: Request) -> str:
        """What AWS says: who, which action, which resource."""
        return (f"User: {self.principal_arn} is not authorized to perform: {request.action} on resource: "
                f"{request.resource} because no identity-based policy allows the {request.action} action")


def install_call_guard(acting: Callable[[], CallChecker | None]) -> None:
    """Once per process: every botocore call is authorized as `acting()` (unchecked when it returns None)."""
    import botocore.client

    if getattr(botocore.client.BaseClient._make_api_call, "checked_as_principal", False):
        return
    original = botocore.client.BaseClient._make_api_call

    def checked(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        checker = acting()
        if checker is not None:
            checker.authorize(client.meta.service_model.endpoint_prefix, operation_name, api_params)
        return original(client, operation_name, api_params)

    checked.checked_as_principal = True  # type: ignore[attr-defined]
    botocore.client.BaseClient._make_api_call = checked
