"""The Comprehend Medical backend, stubbed (no AWS account): type mapping, scores, chunked offsets."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from mlstack.deid import Deidentifier, Policy
from mlstack.deid.comprehend import ComprehendMedicalBackend, chunks


def _entity(begin: int, end: int, kind: str, score: float = 0.99) -> dict:
    return {"Id": begin, "BeginOffset": begin, "EndOffset": end, "Score": score, "Text": "x",
            "Category": "PROTECTED_HEALTH_INFORMATION", "Type": kind, "Traits": []}


def test_detect_phi_entities_become_our_spans_and_tags():
    client = boto3.client("comprehendmedical", region_name="us-east-1")
    text = "Pt John Smith, nurse, call 555-123-4567."
    with Stubber(client) as stub:
        stub.add_response("detect_phi", {"Entities": [
            _entity(3, 13, "NAME"), _entity(15, 20, "PROFESSION"), _entity(27, 39, "PHONE_OR_FAX"),
            _entity(0, 2, "NAME", score=0.2)], "ModelVersion": "1"}, {"Text": text})
        result = Deidentifier(Policy(), backend=ComprehendMedicalBackend(client)).deidentify(text)
    assert result.text == "Pt [NAME], nurse, call [PHONE]."
    assert [(s.type, s.start, s.end) for s in result.spans] == [("NAME", 3, 13), ("PHONE", 27, 39)]


def test_long_text_is_sent_in_chunks_and_offsets_map_back():
    client = boto3.client("comprehendmedical", region_name="us-east-1")
    text = "word " * 5000 + "Smith"
    pieces = chunks(text)
    assert len(pieces) >= 2 and all(len(p.encode()) <= 20_000 for _, p in pieces)
    assert "".join(p for _, p in pieces) == text
    with Stubber(client) as stub:
        for _, piece in pieces:
            found = piece.find("Smith")
            entities = [_entity(found, found + 5, "NAME")] if found >= 0 else []
            stub.add_response("detect_phi", {"Entities": entities, "ModelVersion": "1"}, {"Text": piece})
        spans = ComprehendMedicalBackend(client).detect(text)
    assert [(s.start, s.end) for s in spans] == [(len(text) - 5, len(text))]
