"""Property-based fuzzing: no body, header set or content type makes the API answer 5xx.

The handler runs in-process with a model store that serves a real ONNX model (no AWS needed).
"""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.inference.model import LoadedModel, OnnxPredictor
from lambdas.inference.validation import InstanceValidator
from local.api import proxy_event
from local.lambda_runtime import LocalLambdaContext, cold_start
from mlstack.pointer import Live
from pipelines.sample_model import train_sample_model

ENVIRONMENT = {"STAGE": "staging", "SERVING_PARAMETER": "/mlstack/test/serving/staging/model",
               "CAPTURE_BUCKET": "capture", "CAPTURE_SAMPLE_RATE": "0", "MAX_INSTANCES": "50"}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20)


class _FixedStore:
    def __init__(self, model: LoadedModel) -> None:
        self.model = model

    def require(self) -> LoadedModel:
        return self.model


@pytest.fixture(scope="module")
def handler():
    sample = train_sample_model("tabular")
    module = cold_start("inference", ENVIRONMENT, "us-east-1")
    live = Live("arn:local", 1, "s3://x/model.onnx", "2026-11-25T00:00:00+00:00", "s3://x/signature.json")
    model = LoadedModel(live, sample.signature, InstanceValidator(sample.signature, 50),
                        OnnxPredictor(sample.onnx_bytes, sample.signature))
    original = module.store
    module.store = lambda: _FixedStore(model)
    yield module, sample
    module.store = original


def _call(module, method, path, headers, body: bytes):
    response = module.handler(proxy_event(method, path, headers, body), LocalLambdaContext("inference"))
    return response["statusCode"], json.loads(response["body"])


def _instances_near_valid(sample):
    valid = st.sampled_from(sample.instances[:20])
    return st.lists(st.one_of(valid, valid.flatmap(lambda inst: st.fixed_dictionaries(
        {name: st.one_of(st.just(value), JSON_VALUES) for name, value in inst.items()}))), min_size=0, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_json_body_causes_a_5xx(handler, data):
    module, sample = handler
    body = data.draw(st.one_of(
        JSON_VALUES.map(orjson.dumps),
        _instances_near_valid(sample).map(lambda instances: orjson.dumps({"instances": instances})),
        st.binary(max_size=200)))
    status, payload = _call(module, "POST", "/v1/predict", {"Content-Type": "application/json"}, body)
    assert status in (200, 400, 413)
    if status != 200:
        assert set(payload["error"]) <= {"code", "message", "field"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=st.dictionaries(st.sampled_from(["Content-Type", "content-type", "Accept", "X-Api-Key", "x-foo"]),
                               st.text(max_size=40), max_size=4),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
       path=st.sampled_from(["/v1/predict", "/v1/health", "/v1/schema", "/v2/predict", "/"]))
def test_no_method_path_or_header_combination_causes_a_5xx(handler, headers, method, path):
    module, sample = handler
    status, payload = _call(module, method, path, headers, orjson.dumps({"instances": sample.instances[:1]}))
    assert status < 500
    assert "error" in payload or status == 200


def test_an_unknown_key_is_echoed_capped_and_printable(handler):
    module, sample = handler
    long_key = "k\x00\n" + "x" * 900_000
    instance = {**sample.instances[0], long_key: 1}
    status, body = _call(module, "POST", "/v1/predict", {"content-type": "application/json"},
                         orjson.dumps({"instances": [instance]}))
    assert status == 400
    field = body["error"]["field"]
    assert field.startswith("instances[0].k??x") and field.endswith("...") and len(field) <= 128
    status, body = _call(module, "POST", "/v1/predict", {"content-type": "application/json"},
                         orjson.dumps({"instances": [sample.instances[0]], long_key: 1}))
    assert status == 400 and len(body["error"]["field"]) <= 64


DIRECT_INVOKES = {
    "invalid base64": {"isBase64Encoded": True, "body": "not base64 !!!"},
    "a non-string body": {"body": {"instances": []}},
    "no httpMethod": {"httpMethod": None},
    "no path": {"path": None},
    "headers not an object": {"headers": ["content-type"]},
}


@pytest.mark.parametrize("case", DIRECT_INVOKES, ids=list(DIRECT_INVOKES))
def test_events_only_a_direct_invoke_can_send_get_a_400_not_a_500(handler, case):
    module, sample = handler
    event = proxy_event("POST", "/v1/predict", {"content-type": "application/json"},
                        orjson.dumps({"instances": sample.instances[:1]}))
    event.update(DIRECT_INVOKES[case])
    response = module.handler({k: v for k, v in event.items() if v is not None}, LocalLambdaContext("inference"))
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"]["code"] in ("invalid_event", "invalid_body")


def test_a_non_object_event_gets_a_400(handler):
    module, _ = handler
    for event in ([], "GET /v1/health", None, 7):
        assert module.handler(event, LocalLambdaContext("inference"))["statusCode"] == 400
