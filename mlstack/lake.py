"""The data lake's key layout, shared by the stacks (IAM scopes, notification filter, Glue
locations) and the ingest function (where it reads and writes). See docs/data-lake.md."""

from __future__ import annotations

import json
from typing import Any

RAW_PREFIX = "raw/"
QUARANTINE_PREFIX = "quarantine/"
CURATED_PREFIX = "curated/"
MANIFESTS_PREFIX = "manifests/"
ATHENA_RESULTS_PREFIX = "athena-results/"
PARTITION_KEY = "ingest_date"


def partition_key(prefix: str, dataset: str, ingest_date: str, name: str) -> str:
    """`<prefix><dataset>/ingest_date=<date>/<name>`: the one partitioned key shape of the lake."""
    return f"{prefix}{dataset}/{PARTITION_KEY}={ingest_date}/{name}"

SERVING_PREFIX = "serving/"
# Written by the pipeline's preprocess step beside the train split: which curated files (and the raw
# object versions behind them) trained a version; the deployer's model card reads it.
TRAINING_INPUTS_FILE = "train/inputs.json"
BASELINE_FILE = "baseline.json"  # the training drift baseline, published beside a served model
CAPTURE_PREFIX = "capture/"


def serving_key(stage: str, version: int, name: str) -> str:
    """`serving/<stage>/v<version>/<name>`: where a deployed version's files live in the artifacts bucket."""
    return f"{SERVING_PREFIX}{stage}/v{version}/{name}"


def capture_key(dataset: str, model_version: str, capture_date: str, name: str) -> str:
    """`capture/<dataset>/model_version=<v>/capture_date=<date>/<name>`: what the drift job reads per version."""
    return f"{CAPTURE_PREFIX}{dataset}/model_version={model_version}/capture_date={capture_date}/{name}"


def capture_table_name(dataset: str) -> str:
    """The Glue table over a data set's capture (Athena drift queries)."""
    return f"capture_{dataset}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URI."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def read_json_object(s3: Any, uri: str) -> Any:
    """The JSON document at an S3 URI, or None when there is no such object."""
    bucket, key = split_s3_uri(uri)
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
