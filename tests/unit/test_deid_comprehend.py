"""The Comprehend Medical backend, stubbed (no AWS account): type mapping, scores, chunked offsets."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from mlstack.deid import Deidentifier, Policy
from mlstack.deid.comprehend import ComprehendMedicalBackend, chunks
from mlstack.schema import load_schema


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


def _ingestor(detector: str, client):
    from lambdas.ingest.ingestion import Ingestor, IngestSettings

    settings = IngestSettings(curated_bucket="curated", quarantine_bucket="raw", max_object_bytes=10**6,
                              phi_detectors={"clinical_notes": detector})
    return Ingestor(s3=None, settings=settings, comprehend=lambda: client)


def test_ingestion_uses_the_data_sets_detector_comprehend_medical_alone_or_with_the_patterns():
    import pyarrow as pa

    from lambdas.ingest.ingestion import SourceObject
    from lambdas.ingest.records import ParsedFile

    # The lower-case name is found by Comprehend Medical only, the MRN by the patterns only.
    note = "Seen with xochitl quispe today. MRN 4471823."
    source = SourceObject("raw", "raw/clinical_notes/n.jsonl", "v1", "e", 1, datetime.now(UTC))
    schema = load_schema("clinical_notes")
    for detector, expected in (("comprehend-medical", "Seen with [NAME] today. MRN 4471823."),
                               ("both", "Seen with [NAME] today. MRN [MRN]."),
                               ("builtin", "Seen with xochitl quispe today. MRN [MRN].")):
        client = boto3.client("comprehendmedical", region_name="us-east-1")
        parsed = ParsedFile(table=pa.table({"note_text": [note]}), rows_in=1)
        with Stubber(client) as stub:
            if detector != "builtin":
                stub.add_response("detect_phi", {"Entities": [_entity(10, 24, "NAME")], "ModelVersion": "1"},
                                  {"Text": note})
            _ingestor(detector, client)._deidentify(parsed, schema, source)
            stub.assert_no_pending_responses()
        assert parsed.table.column("note_text").to_pylist() == [expected], detector


def test_a_data_set_on_comprehend_medical_without_a_client_is_a_clear_fault():
    import pytest

    from lambdas.ingest.ingestion import Ingestor, IngestSettings

    ingestor = Ingestor(None, IngestSettings("c", "r", 1, phi_detectors={"clinical_notes": "both"}))
    with pytest.raises(RuntimeError, match="no Comprehend Medical client"):
        ingestor._phi_backend("clinical_notes")
