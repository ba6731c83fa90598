"""The inference API on 127.0.0.1: HTTP requests -> API Gateway proxy events -> the real handler.

What API Gateway does before the function, emulated here and stated: the route table (only the
three contract routes reach the function; others get 404), the API key check when one is set
(403 without a valid `x-api-key`), and the payload limit (413). IAM (SigV4) auth, usage-plan
throttling and WAF exist only on AWS. The function and its model pointer are the real ones, on
the embedded AWS.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lambdas.inference.settings import function_environment
from lambdas.inference.validation import echoable
from local.embedded_aws import LocalLake
from local.lambda_runtime import LOCAL_ACCOUNT, cold_start, invoke
from mlstack.config import EnvironmentConfig
from mlstack.lake import serving_key
from mlstack.pointer import ServingPointer, pointer_name
from mlstack.signature import SIGNATURE_FILE

ROUTES = {("POST", "/v1/predict"), ("GET", "/v1/health"), ("GET", "/v1/schema")}
GATEWAY_BODY_LIMIT = 10 * 1024 * 1024  # API Gateway's own payload limit


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def proxy_event(method: str, path: str, headers: dict[str, str], body: bytes, *, stage: str = "v1",
                query: dict[str, str] | None = None) -> dict[str, Any]:
    """A REST API (v1 payload) proxy event as API Gateway builds it."""
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": path, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "path": f"/{stage}{path}", "stage": stage,
                           "accountId": LOCAL_ACCOUNT, "requestId": str(uuid.uuid4()),
                           "requestTimeEpoch": int(time.time() * 1000),
                           "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "")},
                           "protocol": "HTTP/1.1", "domainName": "127.0.0.1", "apiId": "local"},
        "body": text if body else None, "isBase64Encoded": encoded,
    }


class LocalApi:
    """The inference function deployed for one stage, behind an emulated API Gateway."""

    def __init__(self, config: EnvironmentConfig, lake: LocalLake, *, stage: str = "staging",
                 api_key: str | None = None, capture_sample_rate: float | None = None) -> None:
        serving = config.serving
        self.stage, self.api_key, self.region = stage, api_key, config.region
        self.handler = cold_start("inference", function_environment(
            stage=stage, serving_parameter=pointer_name(config.serving_parameter_prefix(), stage),
            capture_bucket=lake.buckets["capture"],
            capture_sample_rate=serving.capture_sample_rate if capture_sample_rate is None else capture_sample_rate,
            max_instances=serving.max_instances, max_body_bytes=serving.max_body_bytes,
            metrics_namespace=config.resource_prefix(), recheck_seconds=0), config.region)
        self.checker = lake.checker("inference", stage)
        self.max_body_bytes = serving.max_body_bytes  # what the function would refuse: refused before reading
        self.lock = threading.Lock()  # one request at a time, as one Lambda execution environment

    def call(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> ApiResponse:
        split = urlsplit(path)
        lowered = {name.lower(): value for name, value in headers.items()}
        if self.api_key and lowered.get("x-api-key") != self.api_key:
            return _gateway_error(403, "forbidden", "a valid x-api-key header is required")
        if (method, split.path) not in ROUTES:
            return _gateway_error(404, "not_found", "no such route; see GET /v1/schema")
        if len(body) > GATEWAY_BODY_LIMIT:
            return _gateway_error(413, "payload_too_large", "the body exceeds the API's limit")
        event = proxy_event(method, split.path, headers, body, query=dict(parse_qsl(split.query)) or None)
        with self.lock:
            result = invoke(self.handler, event, function_name="inference", region=self.region, checker=self.checker)
        response_headers = {**(result.get("headers") or {}),
                            **{k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}}
        body_text = result.get("body") or ""
        raw = base64.b64decode(body_text) if result.get("isBase64Encoded") else body_text.encode()
        return ApiResponse(result["statusCode"], response_headers, raw)

    def flush_capture(self) -> None:
        self.handler.capture().flush(wait=True)


def _gateway_error(status: int, code: str, message: str) -> ApiResponse:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return ApiResponse(status, {"Content-Type": "application/json"}, body)


# What http.server itself refuses (a bad request line, too many or too long headers, an unknown method),
# answered in the API's JSON error contract instead of its HTML pages.
SERVER_ERROR_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 411: "length_required",
                      413: "payload_too_large", 414: "uri_too_long", 431: "headers_too_large",
                      501: "not_implemented", 505: "http_version_not_supported"}


class _Handler(BaseHTTPRequestHandler):
    api: LocalApi
    server_version = "mlstack-local-api"
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = self._declared_length()
        if length is None:
            return  # refused by its declared length, before any of the body was read
        body = self.rfile.read(length) if length else b""
        self._respond(self.api.call(self.command, self.path, dict(self.headers.items()), body))

    def _declared_length(self) -> int | None:
        """The body's length from Content-Length, or None after answering: a non-numeric or negative length
        (400), chunked bodies (411: API Gateway's REST APIs need a length), a body over the limit (413)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_error(411, "a Content-Length is required (chunked bodies are not accepted)")
            return None
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not declared.isdigit():
            self.send_error(400, "Content-Length must be a non-negative integer")
            return None
        if int(declared) > self.api.max_body_bytes:
            self.send_error(413, f"the body is larger than {self.api.max_body_bytes} bytes")
            return None
        return int(declared)

    def _respond(self, response: ApiResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every refusal in the JSON error contract; the connection closes (a refused body stays unread)."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unparsable request line: answer with a status line anyway
            self.request_version = "HTTP/1.1"
        # http.server's own messages quote the request line or method: echoed capped and printable.
        body = json.dumps({"error": {"code": SERVER_ERROR_CODES.get(code, "bad_request"),
                                     "message": echoable(message or HTTPStatus(code).phrase, 200)}}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    # Every method reaches the route table (404 for what it does not hold), as API Gateway's does.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def http_server(api: LocalApi, port: int = 0) -> Iterator[str]:
    """Serve the API on 127.0.0.1 in a background thread; yields its base URL."""
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class _LocalVersion:
    arn: str
    version: int


def publish_model(config: EnvironmentConfig, lake: LocalLake, *, stage: str, version: int, onnx_bytes: bytes,
                  signature_json: str, s3: Any, ssm: Any) -> str:
    """Place a model where the deployer's lambda backend does and move the stage's pointer.

    A shortcut for `make serve` (re-serving the last local run's model in a fresh embedded AWS) and
    tests; the demo deploys through the real approval -> deployer path instead.
    """
    bucket = lake.buckets["artifacts"]
    model_key, signature_key = serving_key(stage, version, "model.onnx"), serving_key(stage, version, SIGNATURE_FILE)
    s3.put_object(Bucket=bucket, Key=model_key, Body=onnx_bytes)
    s3.put_object(Bucket=bucket, Key=signature_key, Body=signature_json.encode())
    group = config.model_package_group_name()
    arn = f"arn:aws:sagemaker:{config.region}:{LOCAL_ACCOUNT}:model-package/{group}/{version}"
    ServingPointer(ssm, config.serving_parameter_prefix()).move(
        stage, _LocalVersion(arn, version), f"s3://{bucket}/{model_key}", f"s3://{bucket}/{signature_key}")
    return arn
