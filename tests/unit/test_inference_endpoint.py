"""The sagemaker backend: faults of invoke_endpoint map to the contract (Stubber, no AWS)."""

from __future__ import annotations

import io

import boto3
import numpy as np
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lambdas.inference.model import EndpointPredictor
from lambdas.inference.validation import RequestError

FEATURES = np.array([[1.5, 2.0], [3.0, 4.25]], dtype=np.float32)


@pytest.fixture
def runtime():
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def _body(payload: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(payload), len(payload))


def test_rows_go_as_csv_and_labels_come_back_in_order(runtime):
    client, stubber = runtime
    stubber.add_response("invoke_endpoint", {"Body": _body(b'["benign", "malignant"]')},
                         {"EndpointName": "ep", "ContentType": "text/csv", "Accept": "application/json",
                          "Body": b"1.5,2.0\n3.0,4.25"})
    assert EndpointPredictor(client, "ep").predict(FEATURES) == [{"label": "benign"}, {"label": "malignant"}]


def test_throttling_is_retried_with_backoff_then_succeeds(runtime):
    client, stubber = runtime
    delays = []
    stubber.add_client_error("invoke_endpoint", "ThrottlingException", http_status_code=400)
    stubber.add_client_error("invoke_endpoint", "ThrottlingException", http_status_code=400)
    stubber.add_response("invoke_endpoint", {"Body": _body(b'["a", "b"]')})
    labels = EndpointPredictor(client, "ep", sleep=delays.append).predict(FEATURES)
    assert [item["label"] for item in labels] == ["a", "b"]
    assert len(delays) == 2
    assert all(0 <= delay <= 0.05 * 2 ** (i + 1) for i, delay in enumerate(delays))


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("ModelError", 500),
                                              ("ValidationError", 400)])
def test_persistent_faults_become_503_with_retry_after(runtime, code, status):
    client, stubber = runtime
    for _ in range(3):
        stubber.add_client_error("invoke_endpoint", code, http_status_code=status)
    with pytest.raises(RequestError) as unavailable:
        EndpointPredictor(client, "ep", sleep=lambda _: None).predict(FEATURES)
    assert unavailable.value.status == 503
    assert unavailable.value.headers == {"Retry-After": "5"}


def test_a_read_timeout_becomes_503(monkeypatch):
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")

    def timeout(**_):
        raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker")

    monkeypatch.setattr(client, "invoke_endpoint", timeout)
    with pytest.raises(RequestError) as unavailable:
        EndpointPredictor(client, "ep", sleep=lambda _: None).predict(FEATURES)
    assert unavailable.value.status == 503


def test_an_answer_of_the_wrong_length_is_503_not_a_wrong_prediction(runtime):
    client, stubber = runtime
    stubber.add_response("invoke_endpoint", {"Body": _body(b'["only-one"]')})
    with pytest.raises(RequestError) as unavailable:
        EndpointPredictor(client, "ep").predict(FEATURES)
    assert unavailable.value.status == 503
