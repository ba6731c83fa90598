"""API Gateway (REST, proxy) -> the inference API contract (docs/serving.md). Parses, calls logic, shapes JSON.

Routes: POST /v1/predict, GET /v1/health, GET /v1/schema. Every error is
`{"error": {"code", "message", "field"?}}` with the contract's status; bad input is never a 500
and no response carries a stack trace. Bodies and model inputs are never logged (PHI): only ids,
sizes, the model version and timings.
"""

from __future__ import annotations

import base64
import binascii
import os
from functools import cache
from typing import Any

import botocore.session
import orjson
from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from lambdas.inference.capture import CaptureBuffer
from lambdas.inference.model import ModelStore
from lambdas.inference.settings import (
    CANARY_METRIC,
    InferenceEnvironment,
    canary_metric_dimensions,
    parse_environment,
)
from lambdas.inference.validation import RequestError
from mlstack.log_guard import guard

logger = guard(Logger(service="inference"))  # no payload field ever reaches a log line
tracer = Tracer(service="inference", patch_modules=["botocore"])  # only AWS calls; patching all costs cold start
metrics = Metrics(service="inference")
JSON = "application/json"
app = APIGatewayRestResolver(serializer=lambda value: orjson.dumps(value).decode())


@cache
def settings() -> InferenceEnvironment:
    return parse_environment(os.environ)


FAST = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


@cache
def aws_client(service: str, config: Config = FAST) -> Any:
    """One client per service and cold start, from one botocore session (its loader caches the shared
    endpoint/retry data). botocore directly: importing boto3 (and s3transfer) costs ~80 ms of cold
    start and adds nothing for single GET/PUT calls."""
    return _session().create_client(service, config=config)


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def s3_client() -> Any:
    """For model reads and capture writes."""
    return aws_client("s3")


@cache
def store() -> ModelStore:
    env = settings()
    ssm, s3 = aws_client("ssm"), s3_client()

    def read_pointer() -> str | None:
        try:
            return ssm.get_parameter(Name=env.SERVING_PARAMETER)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            return None

    def read_object(uri: str) -> bytes:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    return ModelStore(read_pointer=read_pointer, read_object=read_object,
                      max_instances=env.MAX_INSTANCES, recheck_seconds=env.POINTER_RECHECK_SECONDS,
                      on_reload_error=lambda error: logger.warning(
                          "pointer re-check failed; serving the loaded version", extra={"error": type(error).__name__}),
                      on_canary_error=lambda error: canary_failed("load", error))


def canary_failed(where: str, error: Exception) -> None:
    """Counted in CanaryErrors{Stage}: the stage's canary alarm; the deployer rolls the canary back."""
    logger.warning("canary failed", extra={"where": where, "error": type(error).__name__})
    dimensions = canary_metric_dimensions(settings().STAGE)
    dimensions.pop("service")  # Powertools adds it from POWERTOOLS_SERVICE_NAME
    with single_metric(name=CANARY_METRIC, unit=MetricUnit.Count, value=1, default_dimensions=dimensions):
        pass


@cache
def capture() -> CaptureBuffer:
    env = settings()
    return CaptureBuffer(s3_client(), env.CAPTURE_BUCKET, sample_rate=env.CAPTURE_SAMPLE_RATE,
                         batch_size=env.CAPTURE_BATCH_SIZE, on_error=lambda error, count: logger.warning(
                             "capture write failed; records dropped",
                             extra={"error": type(error).__name__, "records": count}))


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=orjson.dumps(payload).decode(), headers=headers)


def _request_body() -> bytes:
    event = app.current_event
    content_type = next((value for name, value in (event.headers or {}).items() if name.lower() == "content-type"), "")
    if content_type.split(";")[0].strip().lower() != JSON:
        raise RequestError(415, "unsupported_media_type", "Content-Type must be application/json")
    body = event.body or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.is_base64_encoded else body.encode()
    except binascii.Error:
        raise RequestError(400, "invalid_body", "the body is not valid base64 (isBase64Encoded is true)") from None
    if len(raw) > settings().MAX_BODY_BYTES:
        raise RequestError(413, "payload_too_large", f"the body is larger than {settings().MAX_BODY_BYTES} bytes")
    return raw


@app.post("/v1/predict")
def predict() -> Response:
    raw = _request_body()
    model = store().require()
    instances, features = model.validator.parse(raw)
    try:
        predictions = model.predictor.predict(features)
    except Exception as error:
        if model.is_canary and not isinstance(error, RequestError):
            canary_failed("predict", error)
        raise
    captured = capture().offer(model.signature, model.version, instances, predictions)
    metrics.add_dimension(name="ModelVersion", value=model.version)
    metrics.add_metric(name="PredictedInstances", unit=MetricUnit.Count, value=len(instances))
    logger.info("predicted", extra={"model_version": model.version, "instances": len(instances),
                                    "body_bytes": len(raw), "captured": captured})
    return _json(200, {"model_version": model.version, "predictions": predictions})


@app.get("/v1/health")
def health() -> Response:
    model = store().require()
    return _json(200, {"status": "ok", "model_version": model.version})


@app.get("/v1/schema")
def schema() -> Response:
    model = store().require()
    signature = model.signature
    return _json(200, {"model_version": model.version, "kind": signature.kind,
                       "input_schema": signature.instance_schema(), "output_schema": signature.output_schema(),
                       "example": signature.example_instance(), "max_instances": settings().MAX_INSTANCES})


@app.exception_handler(RequestError)
def request_error(error: RequestError) -> Response:
    logger.info("refused", extra={"status": error.status, "code": error.code, "field": error.field})
    return _json(error.status, error.body(), error.headers)


@app.not_found
def not_found(_: Exception) -> Response:
    return _json(404, {"error": {"code": "not_found", "message": "no such route; see GET /v1/schema and the API docs"}})


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    # A fault on our side: logged with its type and trace; the caller gets no internals.
    logger.exception("unexpected error", extra={"error": type(error).__name__})
    return _json(500, {"error": {"code": "internal_error", "message": "internal error; retry later"}})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)  # responses hold predictions: never into traces
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    problem = not_a_proxy_request(event)
    if problem:  # a direct invoke API Gateway would never send: answered like any bad request
        logger.info("refused", extra={"status": 400, "code": "invalid_event"})
        return {"statusCode": 400, "headers": {"Content-Type": JSON}, "isBase64Encoded": False,
                "body": orjson.dumps({"error": {"code": "invalid_event", "message": problem}}).decode()}
    # The API Gateway request id as correlation id, read directly (a JMESPath query costs ~13 us a call).
    logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
    return app.resolve(event, context)


PROXY_FIELDS = {"httpMethod": (str,), "path": (str,), "body": (str, type(None)), "headers": (dict, type(None)),
                "isBase64Encoded": (bool, type(None)), "requestContext": (dict, type(None))}


def not_a_proxy_request(event: Any) -> str | None:
    """Why an event is not an API Gateway REST proxy request (only a direct invoke can send one), or None."""
    if not isinstance(event, dict):
        return "the event is not an API Gateway proxy request (a JSON object)"
    for name, types in PROXY_FIELDS.items():
        if not isinstance(event.get(name), types):
            return f"the event's {name!r} is missing or has the wrong type for an API Gateway proxy request"
    return None
