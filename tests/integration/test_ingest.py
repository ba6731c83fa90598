"""The ingest handler, called in-process under moto, on real S3 objects: nothing is ever lost.

Every case checks the manifest invariant rows_in == rows_valid + rows_quarantined and that
the curated and quarantine objects hold exactly those rows.
"""

from __future__ import annotations

import gzip
import io
import json

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.embedded_aws import provision_lake
from local.ingestion import LocalIngestion
from mlstack.config import load_environments
from mlstack.datasets.samples import breast_cancer_rows, clinical_notes_rows, sample_files, to_csv
from mlstack.schema import load_schema

COLUMNS = list(load_schema("breast_cancer").column_names)


@pytest.fixture
def lake_env():
    """A fresh embedded lake (in-process moto) and the ingest function configured for it."""
    with mock_aws():
        config = load_environments()["dev"]
        lake = provision_lake(config)
        yield config, lake, boto3.client("s3")


@pytest.fixture
def ingestion(lake_env):
    config, lake, _ = lake_env
    return LocalIngestion(config, lake)


def _manifest(s3, lake, result_key_prefix: str) -> dict:
    listing = s3.list_objects_v2(Bucket=lake.buckets["curated"], Prefix=result_key_prefix)["Contents"]
    assert len(listing) == 1
    return json.loads(s3.get_object(Bucket=lake.buckets["curated"], Key=listing[0]["Key"])["Body"].read())


def _curated_rows(s3, lake, dataset: str) -> int:
    listing = s3.list_objects_v2(Bucket=lake.buckets["curated"], Prefix=f"curated/{dataset}/").get("Contents", [])
    return sum(pq.read_table(io.BytesIO(s3.get_object(Bucket=lake.buckets["curated"], Key=o["Key"])["Body"].read()))
               .num_rows for o in listing)


def _quarantined(s3, lake, dataset: str) -> list[dict]:
    listing = s3.list_objects_v2(Bucket=lake.buckets["raw"], Prefix=f"quarantine/{dataset}/").get("Contents", [])
    lines = []
    for obj in listing:
        if obj["Key"].endswith(".jsonl"):
            body = s3.get_object(Bucket=lake.buckets["raw"], Key=obj["Key"])["Body"].read()
            lines += [json.loads(line) for line in body.splitlines()]
    return lines


def _reconciles(result: dict) -> bool:
    return result["rows_in"] == result["rows_valid"] + result["rows_quarantined"]


def test_clean_csv_lands_as_typed_parquet_partitioned_by_ingest_date(lake_env, ingestion):
    _, lake, s3 = lake_env
    result = ingestion.ingest("breast_cancer", "clean.csv", to_csv(breast_cancer_rows(), COLUMNS))
    assert (result["outcome"], result["rows_in"], result["rows_valid"]) == ("accepted", 569, 569)
    [obj] = s3.list_objects_v2(Bucket=lake.buckets["curated"], Prefix="curated/breast_cancer/")["Contents"]
    assert "/ingest_date=" in obj["Key"]
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=lake.buckets["curated"], Key=obj["Key"])["Body"].read()))
    assert table.num_rows == 569
    assert str(table.schema.field("mean_radius").type) == "double"
    assert table.schema.metadata[b"mlstack.schema_version"] == b"1"


def test_landed_objects_are_encrypted_with_the_lake_key(lake_env, ingestion):
    _, lake, s3 = lake_env
    ingestion.ingest("breast_cancer", "clean.csv", to_csv(breast_cancer_rows()[:10], COLUMNS))
    [obj] = s3.list_objects_v2(Bucket=lake.buckets["curated"], Prefix="curated/")["Contents"]
    head = s3.head_object(Bucket=lake.buckets["curated"], Key=obj["Key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == lake.key_arn


@pytest.mark.parametrize("dataset", ["breast_cancer", "clinical_notes"])
def test_corrupted_files_quarantine_exactly_the_bad_rows_with_reasons(lake_env, ingestion, dataset):
    _, lake, s3 = lake_env
    _, corrupted = sample_files()[dataset]
    result = ingestion.ingest(dataset, corrupted.name, corrupted.content)
    assert result["outcome"] == "partial"
    assert _reconciles(result)
    assert result["rows_in"] == corrupted.rows
    quarantined = _quarantined(s3, lake, dataset)
    assert sorted(item["row"] for item in quarantined) == sorted(corrupted.bad_rows)
    assert all(item["reason"] for item in quarantined)
    assert _curated_rows(s3, lake, dataset) == corrupted.rows - len(corrupted.bad_rows)


REJECTIONS = {
    "empty": ("breast_cancer", "empty.csv", b"", "empty file"),
    "blank": ("breast_cancer", "blank.csv", b"\n\n  \n", "empty file"),
    "not utf-8": ("clinical_notes", "latin1.jsonl",
                  json.dumps({"note_text": "caf\u00e9"}, ensure_ascii=False).encode("latin-1"), "not valid UTF-8"),
    "truncated gzip": ("breast_cancer", "cut.csv.gz",
                       gzip.compress(to_csv(breast_cancer_rows()[:50], COLUMNS))[:-40], "truncated gzip"),
    "missing column": ("breast_cancer", "missing.csv", to_csv(
        [{k: v for k, v in r.items() if k != "mean_radius"} for r in breast_cancer_rows()[:5]],
        [c for c in COLUMNS if c != "mean_radius"]), "missing required columns ['mean_radius']"),
    "extra column": ("breast_cancer", "extra.csv", to_csv(
        [{**r, "patient_name": "x"} for r in breast_cancer_rows()[:5]], [*COLUMNS, "patient_name"]),
        "1 of 32 header fields are not columns of schema breast_cancer v1 (positions 32)"),
    "unsupported type": ("breast_cancer", "data.xlsx", b"PK\x03\x04", "unsupported file type"),
    "unknown dataset": ("genomes", "a.csv", b"x\n1\n", "unknown dataset 'genomes'"),
}


@pytest.mark.parametrize("case", REJECTIONS, ids=list(REJECTIONS))
def test_whole_file_problems_are_rejected_with_a_reason_and_the_file_quarantined(lake_env, ingestion, case):
    _, lake, s3 = lake_env
    dataset, name, content, reason = REJECTIONS[case]
    result = ingestion.ingest(dataset, name, content)
    assert result["outcome"] == "rejected"
    assert _reconciles(result)
    folder = dataset if dataset != "genomes" else "_unrouted"
    manifest = _manifest(s3, lake, f"manifests/{folder}/")
    assert reason in manifest["reason"]
    copy = s3.get_object(Bucket=lake.buckets["raw"], Key=manifest["quarantine_key"])
    assert copy["Body"].read() == content
    tags = s3.get_object_tagging(Bucket=lake.buckets["raw"], Key=manifest["quarantine_key"])["TagSet"]
    assert tags[0]["Key"] == "mlstack-reason"


def test_objects_over_the_size_limit_are_rejected_without_being_read(lake_env):
    config, lake, s3 = lake_env
    small = config.model_copy(update={"ingest": config.ingest.model_copy(update={"max_object_mb": 1})})
    ingestion = LocalIngestion(small, lake)
    rows = breast_cancer_rows() * 12  # ~1.4 MB of CSV
    result = ingestion.ingest("breast_cancer", "big.csv", to_csv(rows, COLUMNS))
    assert result["outcome"] == "rejected"
    manifest = _manifest(s3, lake, "manifests/breast_cancer/")
    assert "over the configured limit of 1048576 bytes" in manifest["reason"]
    assert _curated_rows(s3, lake, "breast_cancer") == 0


def test_keys_outside_raw_dataset_folders_are_rejected(lake_env, ingestion):
    _, lake, s3 = lake_env
    event = ingestion.land("breast_cancer", "x.csv", b"a\n1\n")
    event["Records"][0]["s3"]["object"]["key"] = "raw/x.csv"
    s3.put_object(Bucket=lake.buckets["raw"], Key="raw/x.csv", Body=b"a\n1\n")
    event["Records"][0]["s3"]["object"].pop("versionId")
    result = ingestion.deliver(event)["results"][0]
    assert result["outcome"] == "rejected"
    assert "key must look like raw/<dataset>/<file>" in _manifest(s3, lake, "manifests/_unrouted/")["reason"]


def test_the_same_object_version_twice_adds_no_duplicate_rows(lake_env, ingestion):
    _, lake, s3 = lake_env
    event = ingestion.land("breast_cancer", "clean.csv", to_csv(breast_cancer_rows(), COLUMNS))
    first = ingestion.deliver(event)["results"][0]
    second = ingestion.deliver(event)["results"][0]
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert second["rows_valid"] == first["rows_valid"]
    assert _curated_rows(s3, lake, "breast_cancer") == 569


def test_a_new_version_of_the_same_key_is_ingested_separately(lake_env, ingestion):
    _, lake, s3 = lake_env
    rows = breast_cancer_rows()
    ingestion.ingest("breast_cancer", "daily.csv", to_csv(rows[:100], COLUMNS))
    ingestion.ingest("breast_cancer", "daily.csv", to_csv(rows[100:150], COLUMNS))
    assert _curated_rows(s3, lake, "breast_cancer") == 150


def test_gzipped_json_lines_with_a_bom_and_blank_lines_are_accepted(lake_env, ingestion):
    rows = clinical_notes_rows(20)
    body = "\ufeff" + "".join(json.dumps(row) + "\n\n" for row in rows)
    result = ingestion.ingest("clinical_notes", "notes.jsonl.gz", gzip.compress(body.encode()))
    assert (result["outcome"], result["rows_valid"]) == ("accepted", 20)


def test_an_unterminated_quote_costs_its_row_and_every_later_row_is_still_read(lake_env, ingestion):
    _, lake, s3 = lake_env
    rows = to_csv(breast_cancer_rows()[:20], COLUMNS).decode().splitlines(keepends=True)
    text = "".join(rows[:11]) + '1.0,"unterminated\n' + "".join(rows[11:])
    result = ingestion.ingest("breast_cancer", "quote.csv", text.encode())
    assert (result["rows_in"], result["rows_valid"], result["rows_quarantined"]) == (21, 20, 1)  # 20 rows + the bad one
    assert "malformed CSV" in _quarantined(s3, lake, "breast_cancer")[0]["reason"]


def test_aws_faults_raise_for_lambda_to_retry_instead_of_being_recorded(lake_env, ingestion):
    _, lake, s3 = lake_env
    s3.delete_bucket(Bucket=lake.buckets["curated"])  # the lake is broken, not the data
    event = ingestion.land("breast_cancer", "clean.csv", to_csv(breast_cancer_rows()[:5], COLUMNS))
    with pytest.raises(ClientError, match="NoSuchBucket"):
        ingestion.deliver(event)
    assert _quarantined(s3, lake, "breast_cancer") == []


def test_logs_carry_counts_and_ids_but_never_row_contents(lake_env):
    config, lake, _ = lake_env
    ingestion = LocalIngestion(config, lake, quiet=False)
    rows = clinical_notes_rows(30)
    broken = [*rows, {**rows[0], "patient_age": 4321987}]  # no timestamp or random id contains it
    stream = io.StringIO()
    log_handler = ingestion.handler.logger.registered_handler
    # Swap the stream directly: the one bound at import may belong to an earlier test's capture.
    previous, log_handler.stream = log_handler.stream, stream
    try:
        ingestion.ingest("clinical_notes", "notes.jsonl", "".join(json.dumps(r) + "\n" for r in broken).encode())
    finally:
        log_handler.stream = previous
    logged = stream.getvalue()
    assert '"rows_quarantined":1' in logged
    for row in rows:
        assert row["note_text"][:30] not in logged
    assert "4321987" not in logged
