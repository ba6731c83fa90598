"""Ingestion probed as an attacker and a careless data engineer would: every file handled, counted, and no value
from a file in any reason (log line, manifest, S3 tag). Events are S3's own (URL-encoded keys) through the topic."""

from __future__ import annotations

import gzip
import io
import json
import re
from urllib.parse import parse_qs

import boto3
import pytest
from moto import mock_aws

from local.embedded_aws import provision_lake
from local.ingest_file import main as ingest_main
from local.ingestion import LocalIngestion
from mlstack.config import load_environments
from mlstack.datasets.samples import breast_cancer_rows, clinical_notes_rows, to_csv
from mlstack.schema import load_schema

COLUMNS = list(load_schema("breast_cancer").column_names)
NOTES = list(load_schema("clinical_notes").column_names)


@pytest.fixture
def lake():
    with mock_aws():
        config = load_environments()["dev"]
        yield config, provision_lake(config), boto3.client("s3")


@pytest.fixture
def ingestion(lake):
    config, local_lake, _ = lake
    return LocalIngestion(config, local_lake, quiet=False)


@pytest.mark.parametrize("name", ["notes 2025-11.csv", "notes+2025-11.csv", "r\u00e9sum\u00e9.csv", "100% done.csv",
                                  "a&b=c;d.csv", "sub dir/x y.csv"])
def test_keys_as_s3_encodes_them_in_notifications_are_ingested(ingestion, name):
    event = ingestion.land("breast_cancer", name, to_csv(breast_cancer_rows()[:5], COLUMNS))
    encoded = event["Records"][0]["s3"]["object"]["key"]
    assert encoded != f"raw/breast_cancer/{name}" or (name.isascii() and " " not in name and "+" not in name)
    [result] = ingestion.deliver(event)["results"]
    assert (result["outcome"], result["rows_valid"], result["source_key"]) == ("accepted", 5,
                                                                               f"raw/breast_cancer/{name}")


def test_a_headerless_notes_export_puts_no_patient_value_into_reason_log_manifest_or_tag(lake, ingestion):
    _, local_lake, s3 = lake
    first = {"note_id": "N-77", "patient_age": 66, "specialty": "cardiology",
             "note_text": "Maria Garcia MRN 4471823 phone (617) 555-0199", "diagnosis": "copd"}
    body = "".join(to_csv([first, *clinical_notes_rows(3)], NOTES).decode().splitlines(keepends=True)[1:])
    stream = io.StringIO()
    handler = ingestion.handler.logger.registered_handler
    previous, handler.stream = handler.stream, stream
    try:
        [result] = ingestion.deliver(ingestion.land("clinical_notes", "export.csv", body.encode()))["results"]
    finally:
        handler.stream = previous
    assert (result["outcome"], result["rows_in"], result["rows_quarantined"]) == ("rejected", 3, 3)  # all counted
    [quarantined] = s3.list_objects_v2(Bucket=local_lake.buckets["raw"], Prefix="quarantine/")["Contents"]
    tag = s3.get_object_tagging(Bucket=local_lake.buckets["raw"], Key=quarantined["Key"])["TagSet"]
    manifests = s3.list_objects_v2(Bucket=local_lake.buckets["curated"], Prefix="manifests/")["Contents"]
    manifest = s3.get_object(Bucket=local_lake.buckets["curated"], Key=manifests[0]["Key"])["Body"].read().decode()
    reason = json.loads(manifest)["reason"]
    assert "5 of 5 header fields are not columns" in reason
    for where in (reason, stream.getvalue(), json.dumps(tag), manifest):
        for value in ("Maria", "Garcia", "4471823", "555-0199", "N-77", "66"):  # as a value, not inside a request id
            assert not re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", where), (value, where)


def _rows(result):
    return result["rows_in"], result["rows_valid"], result["rows_quarantined"]


def test_a_multi_member_gzip_is_read_to_its_end_and_bytes_after_it_reject_the_file(ingestion):
    rows = breast_cancer_rows()[:30]
    first = gzip.compress(to_csv(rows[:10], COLUMNS))
    rest = gzip.compress("".join(to_csv(rows[10:], COLUMNS).decode().splitlines(keepends=True)[1:]).encode())
    [joined] = ingestion.deliver(ingestion.land("breast_cancer", "cat.csv.gz", first + rest))["results"]
    assert (joined["outcome"], *_rows(joined)) == ("accepted", 30, 30, 0)
    [garbage] = ingestion.deliver(ingestion.land("breast_cancer", "junk.csv.gz", first + b"garbage!"))["results"]
    assert garbage["outcome"] == "rejected"


def test_one_impossible_value_quarantines_its_row_instead_of_failing_the_file(ingestion):
    rows = [json.dumps(row) for row in clinical_notes_rows(4)]
    huge = '{"note_id": "n", "patient_age": ' + "9" * 5000 + ', "specialty": "cardiology"}'
    deep = "[" * 100_000 + "]" * 100_000
    body = "\n".join([rows[0], huge, rows[1], deep, rows[2], rows[3]]) + "\n"
    [result] = ingestion.deliver(ingestion.land("clinical_notes", "odd.jsonl", body.encode()))["results"]
    assert (result["outcome"], *_rows(result)) == ("partial", 6, 4, 2)
    csv_rows = to_csv(breast_cancer_rows()[:3], COLUMNS).decode().splitlines(keepends=True)
    digits = csv_rows[1].split(",", 1)
    csv_body = "".join(csv_rows) + "9" * 5000 + "," + digits[1]
    [result] = ingestion.deliver(ingestion.land("breast_cancer", "digits.csv", csv_body.encode()))["results"]
    assert _rows(result) == (4, 3, 1)


def test_a_redelivered_event_counts_nothing_twice(ingestion, monkeypatch):
    emitted = []
    monkeypatch.setattr(ingestion.handler, "_record_metrics", emitted.append)
    event = ingestion.land("breast_cancer", "twice.csv", to_csv(breast_cancer_rows()[:5], COLUMNS))
    first, again = ingestion.deliver(event), ingestion.deliver(event)
    assert again["results"][0]["duplicate"] and not first["results"][0]["duplicate"]
    assert len(emitted) == 1


def test_mlstack_ingest_prints_the_manifest_and_exits_0_for_every_handled_outcome(tmp_path, capsys):
    clean, broken = tmp_path / "clean notes.csv", tmp_path / "broken.csv"
    clean.write_bytes(to_csv(breast_cancer_rows()[:5], COLUMNS))
    broken.write_bytes(b"not,a,header\n1,2,3\n")
    assert ingest_main(str(clean), "breast_cancer", None, True, "dev") == 0
    manifest = json.loads(capsys.readouterr().out)
    assert (manifest["outcome"], manifest["rows_in"], manifest["source_key"]) == (
        "accepted", 5, "raw/breast_cancer/clean notes.csv")
    assert ingest_main(str(broken), "breast_cancer", "2025/11/in.csv", False, "dev") == 0
    table = capsys.readouterr().out
    assert "rejected" in table and "raw/breast_cancer/2025/11/in.csv" in table and "header fields" in table
    assert ingest_main(str(tmp_path / "missing.csv"), "breast_cancer", None, True, "dev") == 2
    assert ingest_main(str(clean), "breast_cancer", "../escape.csv", True, "dev") == 2


def test_mlstack_ingest_exits_1_only_when_the_handler_itself_fails(tmp_path, capsys, monkeypatch):
    from lambdas.ingest.ingestion import Ingestor

    path = tmp_path / "a.csv"
    path.write_bytes(to_csv(breast_cancer_rows()[:2], COLUMNS))
    monkeypatch.setattr(Ingestor, "ingest", lambda self, source: 1 / 0)
    assert ingest_main(str(path), "breast_cancer", None, True, "dev") == 1
    assert "the ingest handler failed: ZeroDivisionError" in capsys.readouterr().err


def test_the_reject_tag_stays_within_s3s_tag_rules(lake, ingestion):
    _, local_lake, s3 = lake
    ingestion.deliver(ingestion.land("breast_cancer", "h.csv", b"\xff\xfe\x00bad"))
    [quarantined] = s3.list_objects_v2(Bucket=local_lake.buckets["raw"], Prefix="quarantine/")["Contents"]
    [tag] = s3.get_object_tagging(Bucket=local_lake.buckets["raw"], Key=quarantined["Key"])["TagSet"]
    assert tag["Key"] == "mlstack-reason" and len(tag["Value"]) <= 256 and parse_qs(f"v={tag['Value']}")
