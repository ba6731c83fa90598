"""PHI policy in ingestion under moto: no original identifier reaches curated/; refuse quarantines the file."""

from __future__ import annotations

import io
import json
import re

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from local.embedded_aws import provision_lake
from local.ingestion import LocalIngestion
from mlstack.config import load_environments
from mlstack.datasets.samples import clinical_notes_rows

KEY_PARAMETER = "/mlstack/dev/deid-key"


def _identifiers(note: str) -> list[str]:
    """The sample generator's identifiers in one note: name, MRN, phone, visit date, doctor."""
    patterns = (r"Pt: ([A-Z][a-z]+ [A-Z][a-z]+)", r"MRN (\d+)", r"contact (\(\d{3}\) \d{3}-\d{4})",
                r"seen on (\d\d/\d\d/\d{4})", r"Dr\. ([A-Z][a-z]+)")
    return [match.group(1) for pattern in patterns for match in [re.search(pattern, note)] if match]


@pytest.fixture
def lake_env():
    with mock_aws():
        yield boto3.client("s3"), boto3.client("ssm")


def _ingest(config, rows):
    lake = provision_lake(config)
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    return lake, LocalIngestion(config, lake).ingest("clinical_notes", "notes.jsonl", body)


def _curated_notes(s3, lake) -> list[str]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=lake.buckets["curated"], Prefix="curated/").get("Contents", [])]
    return [note for key in keys for note in pq.read_table(io.BytesIO(
        s3.get_object(Bucket=lake.buckets["curated"], Key=key)["Body"].read())).column("note_text").to_pylist()]


def _every_curated_object(s3, lake) -> bytes:
    listing = s3.list_objects_v2(Bucket=lake.buckets["curated"]).get("Contents", [])
    return b"".join(s3.get_object(Bucket=lake.buckets["curated"], Key=o["Key"])["Body"].read() for o in listing)


def test_redact_by_default_leaves_no_original_identifier_in_any_curated_object(lake_env):
    s3, _ = lake_env
    rows = clinical_notes_rows(60)
    lake, result = _ingest(load_environments()["dev"], rows)
    assert (result["outcome"], result["rows_valid"]) == ("accepted", 60)
    notes = _curated_notes(s3, lake)
    assert len(notes) == 60 and all("[NAME]" in note and "[MRN]" in note for note in notes)
    written = _every_curated_object(s3, lake)  # parquet (uncompressed pages may hold text) and the manifest
    for row in rows:
        for value in _identifiers(row["note_text"]):
            assert value.encode() not in written, value
    assert result["phi_identifiers"]["NAME"] >= 120 and result["phi_identifiers"]["MRN"] == 60


def test_refuse_quarantines_a_file_with_identifiers_and_curates_nothing(lake_env):
    s3, _ = lake_env
    config = load_environments()["dev"]
    config = config.model_copy(update={"ingest": config.ingest.model_copy(update={
        "phi_policy": {"clinical_notes": "refuse"}})})
    lake, result = _ingest(config, clinical_notes_rows(5))
    assert result["outcome"] == "rejected"
    assert _curated_notes(s3, lake) == []
    quarantined = s3.list_objects_v2(Bucket=lake.buckets["raw"], Prefix="quarantine/clinical_notes/")["Contents"]
    assert quarantined and quarantined[0]["Key"].endswith("/notes.jsonl")
    manifest_key = s3.list_objects_v2(Bucket=lake.buckets["curated"], Prefix="manifests/")["Contents"][0]["Key"]
    manifest = json.loads(s3.get_object(Bucket=lake.buckets["curated"], Key=manifest_key)["Body"].read())
    assert "PHI policy refuses" in manifest["reason"]
    # the rows are all quarantined with the file, and counted: nothing is lost from the manifest
    assert (manifest["rows_in"], manifest["rows_valid"], manifest["rows_quarantined"]) == (5, 0, 5)


def test_refuse_accepts_notes_that_hold_no_identifier(lake_env):
    s3, _ = lake_env
    config = load_environments()["dev"]
    config = config.model_copy(update={"ingest": config.ingest.model_copy(update={
        "phi_policy": {"clinical_notes": "refuse"}})})
    clean = [{**row, "note_text": "Findings: dyspnea on exertion; started on furosemide."}
             for row in clinical_notes_rows(3)]
    lake, result = _ingest(config, clean)
    assert result["outcome"] == "accepted" and _curated_notes(s3, lake)[0] == clean[0]["note_text"]


def test_pseudonymize_gives_one_pseudonym_per_person_within_a_note(lake_env):
    s3, ssm = lake_env
    ssm.put_parameter(Name=KEY_PARAMETER, Value="a-secret-of-32-characters-000000", Type="SecureString")
    config = load_environments()["dev"]
    config = config.model_copy(update={"ingest": config.ingest.model_copy(update={
        "phi_policy": {"clinical_notes": "pseudonymize"}, "phi_key_parameter": KEY_PARAMETER})})
    row = clinical_notes_rows(1)[0]
    name = _identifiers(row["note_text"])[0]
    row["note_text"] += f" {name} agreed with the plan."
    lake, result = _ingest(config, [row])
    [note] = _curated_notes(s3, lake)
    pseudonyms = re.findall(r"\[NAME-[0-9a-f]{6}\]", note)
    assert len(pseudonyms) >= 3 and pseudonyms.count(pseudonyms[0]) == 2  # the patient twice, the doctor once
    assert name not in note and result["phi_identifiers"]["NAME"] >= 3


def test_pseudonymize_without_a_key_parameter_is_a_config_error():
    from mlstack.config import IngestSettings

    with pytest.raises(ValueError, match="phi_key_parameter is required"):
        IngestSettings(phi_policy={"clinical_notes": "pseudonymize"})


def test_an_entities_data_set_is_curated_de_identified_with_its_spans_moved_onto_the_new_text(lake_env):
    s3, _ = lake_env
    config = load_environments()["dev"]
    lake = provision_lake(config)
    text = "Pt Maria Garcia seen 03/04/2021 for CHF; started Lasix."
    record = {"note_id": "n1", "text": text, "entities": [
        {"type": "NAME", "start": 3, "end": 15}, {"type": "PROBLEM", "start": 36, "end": 39},
        {"type": "DRUG", "start": 49, "end": 54}]}
    result = LocalIngestion(config, lake).ingest("clinical_entities", "labelled.jsonl",
                                                 (json.dumps(record) + "\n").encode())
    assert (result["outcome"], result["rows_valid"]) == ("accepted", 1)
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=lake.buckets["curated"], Prefix="curated/")["Contents"]]
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=lake.buckets["curated"], Key=key)["Body"].read()))
    [curated] = table.to_pylist()
    assert "Garcia" not in curated["text"]
    assert [curated["text"][e["start"]:e["end"]] for e in curated["entities"]] == ["[NAME]", "CHF", "Lasix"]
