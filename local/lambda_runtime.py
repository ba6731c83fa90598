"""Running Lambda handlers in-process (moto's Lambda invoke needs Docker; this needs nothing).

Local mode and tests call the real handler with the event AWS would send: an S3 event
notification shaped exactly like S3's, and a context object with the attributes Powertools reads.
`invoke` runs it as the function's role: every AWS call it makes, in its own thread or in the
thread pools it starts, is checked first against the role's policies from the template
(local/iam.py) and fails with AccessDenied, naming action and resource, when they do not allow it.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

from mlstack.events import SCHEDULE_DETAIL_TYPE

LOCAL_ACCOUNT = "123456789012"
# Locally there is no X-Ray daemon or CloudWatch: traces and EMF metrics are off, logs warnings-only.
QUIET_RUNTIME = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                 "POWERTOOLS_LOG_LEVEL": "WARNING"}


def cold_start(function_name: str, environment: dict[str, str], region: str, *, quiet: bool = True) -> ModuleType:
    """lambdas/<name>/handler as after a fresh cold start with this environment.

    Sets what the deployed function gets (its variables plus the runtime's AWS_REGION), then
    clears the handler's per-cold-start caches (its functools.cache client factories).
    """
    os.environ.update({**environment, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
                       **(QUIET_RUNTIME if quiet else {})})
    handler = importlib.import_module(f"lambdas.{function_name}.handler")
    for value in vars(handler).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()
    handler.logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
    return handler


@dataclass
class LocalLambdaContext:
    """The subset of the Lambda context object that handlers and Powertools use."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    region: str = "us-east-1"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


_ACTING_AS: contextvars.ContextVar[Any] = contextvars.ContextVar("mlstack_local_principal", default=None)


def _install_call_guard() -> None:
    """Once per process: calls are checked as the principal acting in this context, which goes along
    into the thread pools handlers start (capture, drift reads)."""
    from local.iam import install_call_guard

    if getattr(ThreadPoolExecutor.submit, "carries_principal", False):
        return
    install_call_guard(_ACTING_AS.get)
    submit = ThreadPoolExecutor.submit

    def submit_in_context(pool: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return submit(pool, contextvars.copy_context().run, fn, *args, **kwargs)

    submit_in_context.carries_principal = True  # type: ignore[attr-defined]
    ThreadPoolExecutor.submit = submit_in_context  # type: ignore[method-assign]


def invoke(module: ModuleType, event: dict[str, Any], *, function_name: str, region: str,
           checker: Any = None) -> Any:
    """Call a cold-started handler as Lambda would; with a checker, as its role (see the module docstring)."""
    context = LocalLambdaContext(function_name=function_name, region=region)
    if checker is None:
        return module.handler(event, context)
    _install_call_guard()
    token = _ACTING_AS.set(checker)
    try:
        return module.handler(event, context)
    finally:
        _ACTING_AS.reset(token)


def s3_object_created_event(bucket: str, key: str, *, size: int, etag: str, version_id: str | None,
                            region: str = "us-east-1", event_time: datetime | None = None) -> dict[str, Any]:
    """An `s3:ObjectCreated:Put` notification as S3 delivers it (key URL-encoded)."""
    when = (event_time or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"'),
                           "sequencer": uuid.uuid4().hex[:16].upper()}
    if version_id:
        obj["versionId"] = version_id
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region, "eventTime": when,
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "local"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": "local"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "ingest",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "local"},
                          "arn": f"arn:aws:s3:::{bucket}"},
               "object": obj},
    }]}


def sns_delivery(topic_arn: str, message: dict[str, Any], *, subject: str = "Amazon S3 Notification"
                 ) -> dict[str, Any]:
    """What SNS delivers to a subscribed function: one record, the message as a JSON string."""
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic_arn, "Subject": subject,
                "Message": json.dumps(message), "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "SignatureVersion": "1", "Signature": "local", "SigningCertUrl": "", "UnsubscribeUrl": "",
                "MessageAttributes": {}},
    }]}


def scheduled_event(region: str, at: datetime | None = None, rule: str = "schedule") -> dict[str, Any]:
    """What an EventBridge schedule rule delivers; `time` is the scheduled time."""
    when = (at or datetime.now(UTC)).isoformat(timespec="seconds")
    return {"version": "0", "id": f"local-{rule}-{when}", "source": "aws.events", "detail-type": SCHEDULE_DETAIL_TYPE,
            "account": LOCAL_ACCOUNT, "region": region, "time": when,
            "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{rule}"], "detail": {}}
