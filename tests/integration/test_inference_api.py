"""The inference API contract (docs/serving.md), end to end through the real handler on moto.

Given a model published to staging (ONNX + signature, pointer moved) in the embedded AWS, when a
request arrives as API Gateway delivers it, then the status and JSON body follow the contract.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import numpy as np
import orjson
import pytest
from moto import mock_aws

from local.api import LocalApi, http_server, publish_model
from local.embedded_aws import provision_lake
from mlstack.config import load_environments
from mlstack.pointer import ServingPointer
from pipelines.sample_model import train_sample_model

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def tabular():
    return train_sample_model("tabular")


@pytest.fixture(scope="module")
def text():
    return train_sample_model("text")


@pytest.fixture
def world():
    with mock_aws():
        config = load_environments()["dev"]
        yield config, provision_lake(config), boto3.client("s3"), boto3.client("ssm")


def _publish(world, model, version=1, stage="staging"):
    config, lake, s3, ssm = world
    publish_model(config, lake, stage=stage, version=version, onnx_bytes=model.onnx_bytes,
                  signature_json=model.signature.model_dump_json(), s3=s3, ssm=ssm)


@pytest.fixture
def api(world, tabular):
    _publish(world, tabular)
    config, lake, _, _ = world
    return LocalApi(config, lake, capture_sample_rate=1.0)


def _predict_captured(world, model, instances):
    """(status, body, the one capture object's bytes) of a request to a freshly published model, capturing all."""
    _publish(world, model)
    config, lake, s3, _ = world
    api = LocalApi(config, lake, capture_sample_rate=1.0)
    status, body = _predict(api, instances)
    api.flush_capture()
    [obj] = s3.list_objects_v2(Bucket=lake.buckets["capture"], Prefix="capture/")["Contents"]
    return status, body, s3.get_object(Bucket=lake.buckets["capture"], Key=obj["Key"])["Body"].read()


def _predict(api, instances, headers=JSON):
    response = api.call("POST", "/v1/predict", headers, orjson.dumps({"instances": instances}))
    return response.status, json.loads(response.body)


def test_predictions_come_back_in_input_order_with_the_model_version(api, tabular):
    instances = tabular.instances[:50]
    status, body = _predict(api, instances)
    assert status == 200
    assert body["model_version"] == "v1"
    expected = tabular.sklearn_model.predict(np.array([[i[n] for n in tabular.signature.features]
                                                       for i in instances], dtype=np.float32))
    assert [p["label"] for p in body["predictions"]] == list(expected)
    assert all(abs(sum(p["probabilities"].values()) - 1) < 1e-5 for p in body["predictions"])


def test_integers_are_accepted_where_numbers_are_expected(api, tabular):
    instance = {name: round(value) for name, value in tabular.instances[0].items()}
    instance = {name: max(value, 0) for name, value in instance.items()}
    status, _ = _predict(api, [instance])
    assert status == 200


@pytest.mark.parametrize(("mutate", "field", "fragment"), [
    (lambda i: i.pop("mean_radius"), "instances[0].mean_radius", "missing"),
    (lambda i: i.update(mean_radius="12.5"), "instances[0].mean_radius", "finite number"),
    (lambda i: i.update(mean_radius=True), "instances[0].mean_radius", "finite number"),
    (lambda i: i.update(mean_radius=None), "instances[0].mean_radius", "null"),
    (lambda i: i.update(mean_radius=-1.0), "instances[0].mean_radius", "below minimum"),
    (lambda i: i.update(mean_radius=1e9), "instances[0].mean_radius", "above maximum"),
    (lambda i: i.update(shoe_size=42), "instances[0].shoe_size", "not an input"),
])
def test_an_invalid_field_is_a_400_naming_it(api, tabular, mutate, field, fragment):
    instance = dict(tabular.instances[0])
    mutate(instance)
    status, body = _predict(api, [instance])
    assert status == 400
    assert body["error"]["field"] == field
    assert fragment in body["error"]["message"]
    assert body["error"]["code"] == "invalid_request"


def test_the_field_names_the_offending_instance_in_a_batch(api, tabular):
    instances = [dict(i) for i in tabular.instances[:5]]
    instances[3]["mean_texture"] = "oops"
    status, body = _predict(api, instances)
    assert (status, body["error"]["field"]) == (400, "instances[3].mean_texture")


def test_error_messages_never_echo_the_submitted_value(api, tabular):
    instance = dict(tabular.instances[0], mean_radius="Jane Doe 555-0100")
    _, body = _predict(api, [instance])
    assert "Jane" not in json.dumps(body)


@pytest.mark.parametrize(("body", "code", "field"), [
    (b"{not json", "invalid_json", None),
    (b"[]", "invalid_request", None),
    (b'{"instances": []}', "invalid_request", "instances"),
    (b'{"instances": {}}', "invalid_request", "instances"),
    (b'{"instances": [1]}', "invalid_request", "instances[0]"),
    (b'{"instances": [{}], "extra": 1}', "invalid_request", "extra"),
])
def test_malformed_bodies_are_400s(api, body, code, field):
    response = api.call("POST", "/v1/predict", JSON, body)
    error = json.loads(response.body)["error"]
    assert response.status == 400
    assert error["code"] == code
    assert error.get("field") == field


def test_more_instances_than_configured_is_a_400_on_instances(api, tabular, world):
    limit = world[0].serving.max_instances
    status, body = _predict(api, tabular.instances[:1] * (limit + 1))
    assert (status, body["error"]["field"]) == (400, "instances")


def test_a_body_over_the_size_limit_is_a_413(api, world):
    response = api.call("POST", "/v1/predict", JSON, b" " * (world[0].serving.max_body_bytes + 1))
    assert response.status == 413
    assert json.loads(response.body)["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/plain"}, {"content-type": "application/xml"}])
def test_a_body_that_is_not_json_by_content_type_is_a_415(api, tabular, headers):
    response = api.call("POST", "/v1/predict", headers, orjson.dumps({"instances": tabular.instances[:1]}))
    assert response.status == 415


def test_content_type_parameters_and_case_are_accepted(api, tabular):
    status, _ = _predict(api, tabular.instances[:1], {"content-type": "Application/JSON; charset=utf-8"})
    assert status == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nothing"), ("DELETE", "/v1/predict"), ("GET", "/")])
def test_unknown_routes_are_404_json(api, method, path):
    response = api.call(method, path, JSON)
    assert response.status == 404
    assert json.loads(response.body)["error"]["code"] == "not_found"


def test_health_names_the_live_version(api):
    response = api.call("GET", "/v1/health", {})
    assert (response.status, json.loads(response.body)) == (200, {"status": "ok", "model_version": "v1"})


def test_schema_describes_one_instance_and_its_example_is_accepted(api):
    schema = json.loads(api.call("GET", "/v1/schema", {}).body)
    assert schema["input_schema"]["required"] == list(schema["input_schema"]["properties"])
    assert schema["input_schema"]["properties"]["mean_radius"] == {
        "type": "number", "minimum": 0, "maximum": 150.0, "description": "mean radius of the cell nuclei (FNA image)"}
    status, _ = _predict(api, [schema["example"]])
    assert status == 200


def test_with_no_model_deployed_every_route_is_503_with_retry_after(world):
    config, lake, _, _ = world
    api = LocalApi(config, lake)
    for method, path in (("GET", "/v1/health"), ("GET", "/v1/schema"), ("POST", "/v1/predict")):
        response = api.call(method, path, JSON, b'{"instances": [{}]}')
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        assert json.loads(response.body)["error"]["code"] == "backend_unavailable"


def test_a_moved_pointer_is_served_without_a_new_cold_start(api, world, tabular):
    _publish(world, tabular, version=2)
    assert json.loads(api.call("GET", "/v1/health", {}).body)["model_version"] == "v2"


def test_a_withdrawn_version_stops_being_served(api, world):
    config, _, _, ssm = world
    ServingPointer(ssm, config.serving_parameter_prefix()).clear("staging")
    assert api.call("GET", "/v1/health", {}).status == 503


def test_sampled_requests_are_captured_without_changing_the_response(api, world, tabular):
    _, lake, s3, _ = world
    status, _ = _predict(api, tabular.instances[:3])
    api.flush_capture()
    [obj] = s3.list_objects_v2(Bucket=lake.buckets["capture"], Prefix="capture/")["Contents"]
    assert obj["Key"].startswith("capture/breast_cancer/model_version=v1/capture_date=")
    lines = [json.loads(line) for line in s3.get_object(Bucket=lake.buckets["capture"], Key=obj["Key"])[
        "Body"].read().splitlines()]
    assert status == 200
    assert [line["features"] for line in lines] == tabular.instances[:3]
    assert {line["model_version"] for line in lines} == {"v1"}


def test_text_models_take_the_note_and_capture_it_de_identified(world, text):
    note = "Pt John Smith, MRN 12345678, presents with dyspnea, wheezing and chronic cough; smoker."
    status, body, captured = _predict_captured(world, text, [{"note_text": note}])
    assert status == 200
    assert body["predictions"][0]["label"] in text.signature.classes
    assert b"Smith" not in captured and b"12345678" not in captured
    assert json.loads(captured)["features"] == {
        "note_text": "Pt [NAME], MRN [MRN], presents with dyspnea, wheezing and chronic cough; smoker."}


def test_a_text_instance_that_is_too_long_is_a_400(world, text):
    _publish(world, text)
    config, lake, _, _ = world
    status, body = _predict(LocalApi(config, lake), [{"note_text": "x" * 20001}])
    assert (status, body["error"]["field"]) == (400, "instances[0].note_text")


def test_capture_failure_never_fails_the_prediction(api, world, tabular):
    _, lake, s3, _ = world
    s3.delete_bucket_encryption(Bucket=lake.buckets["capture"])
    for page in s3.list_object_versions(Bucket=lake.buckets["capture"]).get("Versions", []):
        s3.delete_object(Bucket=lake.buckets["capture"], Key=page["Key"], VersionId=page["VersionId"])
    s3.delete_bucket(Bucket=lake.buckets["capture"])
    status, _ = _predict(api, tabular.instances[:2])
    api.flush_capture()
    assert status == 200


def test_over_http_with_an_api_key_the_key_is_required(world, tabular):
    _publish(world, tabular)
    config, lake, _, _ = world
    with http_server(LocalApi(config, lake, api_key="s3cret")) as url:
        request = urllib.request.Request(f"{url}/v1/health")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        request.add_header("x-api-key", "s3cret")
        with urllib.request.urlopen(request, timeout=10) as response:
            health = json.loads(response.read())
    assert refused.value.code == 403
    assert health["model_version"] == "v1"


def _start_canary(world, model_uri_override: str | None = None, weight: float = 0.25) -> None:
    """v2's files where the deployer puts them, then v1 stable with v2 as its canary."""
    config, lake, _, ssm = world
    pointer = ServingPointer(ssm, config.serving_parameter_prefix())
    stable = pointer.current("staging")
    bucket = lake.buckets["artifacts"]
    v2 = type("Version", (), {"arn": stable.model_package_arn.replace("/1", "/2"), "version": 2})()
    pointer.start_canary("staging", stable, v2, model_uri_override or f"s3://{bucket}/serving/staging/v2/model.onnx",
                         f"s3://{bucket}/serving/staging/v2/signature.json", weight=weight)


def test_a_canary_takes_its_share_of_requests_beside_the_stable_version(world, tabular):
    _publish(world, tabular, version=2)
    _publish(world, tabular, version=1)
    _start_canary(world, weight=0.25)
    config, lake, _, _ = world
    api = LocalApi(config, lake)
    versions = [_predict(api, tabular.instances[:1])[1]["model_version"] for _ in range(400)]
    # Binomial(400, 0.25): mean 100, sd 8.7; the bounds are more than 4.5 sd away.
    assert set(versions) == {"v1", "v2"}
    assert 60 <= versions.count("v2") <= 140


def test_a_canary_that_fails_to_load_gets_no_traffic_and_is_reported(world, tabular, monkeypatch):
    _publish(world, tabular)
    _start_canary(world, model_uri_override="s3://nowhere-bucket/serving/staging/v2/model.onnx", weight=0.5)
    config, lake, _, _ = world
    api = LocalApi(config, lake)
    reported = []
    monkeypatch.setattr(api.handler, "canary_failed", lambda where, error: reported.append(where))
    versions = {_predict(api, tabular.instances[:1])[1]["model_version"] for _ in range(20)}
    assert versions == {"v1"}
    assert reported and set(reported) == {"load"}  # re-reported at every pointer re-check while the canary is set


def _raw_exchange(url: str, request: bytes, timeout: float = 10) -> tuple[int, dict, bytes]:
    """One raw HTTP exchange with the local server, read until it closes: (status, headers, body)."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


HOSTILE_REQUESTS = {
    "an unknown method": (b"BREW /v1/predict HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    "OPTIONS": (b"OPTIONS /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 404),
    "a non-numeric Content-Length": (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400),
    "a negative Content-Length": (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
    "a 200 MB declared body": (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 209715200\r\n\r\n{", 413),
    "a chunked body": (b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
    "an oversized header": (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    "too many headers": (b"GET /v1/health HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120))
                         + b"\r\n", 431),
    "a garbled request line": (b"GARBAGE\r\n\r\n", 400),
}


@pytest.mark.parametrize("case", HOSTILE_REQUESTS, ids=list(HOSTILE_REQUESTS))
def test_every_local_server_refusal_follows_the_json_error_contract(api, case):
    request, status = HOSTILE_REQUESTS[case]
    with http_server(api) as url:
        got, headers, body = _raw_exchange(url, request)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"]


def test_head_gets_the_status_and_headers_without_a_body(api):
    with http_server(api) as url:
        status, headers, body = _raw_exchange(url, b"HEAD /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 404 and headers["content-type"] == "application/json" and body == b""


@pytest.fixture(scope="module")
def ner():
    return train_sample_model("ner")


def test_an_entity_model_answers_spans_as_trained_and_its_schema_says_so(world, ner):
    _publish(world, ner)
    config, lake, _, _ = world
    api = LocalApi(config, lake)
    instances = ner.instances[:20]
    status, body = _predict(api, instances)
    assert status == 200
    assert [p["entities"] for p in body["predictions"]] == ner.sklearn_model.predict([i["text"] for i in instances])
    schema = json.loads(api.call("GET", "/v1/schema", {}).body)
    assert schema["kind"] == "ner"
    assert list(schema["input_schema"]["properties"]) == ["text"]
    span = schema["output_schema"]["properties"]["entities"]["items"]
    assert span["required"] == ["type", "start", "end", "score"]
    assert set(span["properties"]["type"]["enum"]) == set(ner.signature.classes)
    assert _predict(api, [schema["example"]])[0] == 200


def test_an_entity_model_captures_de_identified_text_with_the_outputs_drift_watches(world, ner):
    from mlstack.drift import ENTITY_DENSITY, ENTITY_SCORE

    note = "Pt John Smith seen 03/04/2025. Started metformin for type 2 diabetes. Ordered HbA1c."
    status, body, captured = _predict_captured(world, ner, [{"text": note}])
    record = json.loads(captured)
    entities = body["predictions"][0]["entities"]
    assert status == 200 and {span["type"] for span in entities} >= {"DRUG", "PROBLEM", "TEST"}
    assert "Smith" not in record["features"]["text"] and "[NAME]" in record["features"]["text"]
    assert record["prediction"] == [span["type"] for span in entities]
    assert record["features"][ENTITY_SCORE] == [span["score"] for span in entities]
    assert record["features"][ENTITY_DENSITY] == pytest.approx(1000 * len(entities) / len(note))
