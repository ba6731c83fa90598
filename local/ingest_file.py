"""`mlstack ingest FILE --dataset NAME [--key KEY] [--json]`: check a file before uploading it.

The file goes through what a deployed upload goes through: the environment's stacks provisioned in an
embedded AWS (moto on 127.0.0.1, from the synthesized templates), the file put under
raw/<NAME>/<KEY or its name>, S3's notification (key URL-encoded, as S3 sends it) delivered through
the raw-object topic to the real ingest handler, which runs as its role. The manifest it writes is
printed: a table, or one JSON object. Exit 0 whenever the handler handled the file (accepted,
partial, or rejected with a reason); 1 when the handler itself failed; 2 for a usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3

from local.embedded_aws import moto_server, provision_lake
from local.ingestion import LocalIngestion
from mlstack.config import load_environments
from mlstack.lake import MANIFESTS_PREFIX

TABLE_FIELDS = ("outcome", "reason", "rows_in", "rows_valid", "rows_quarantined", "blank_lines_skipped",
                "quarantine_reasons", "phi_policy", "phi_identifiers", "dataset", "schema_version", "source_key",
                "curated_key", "quarantine_key")


class UsageError(ValueError):
    """A bad argument: the message says which and why."""


def object_key(path: Path, key: str | None) -> str:
    """The key under raw/<dataset>/: KEY as given (subfolders allowed), or the file's name."""
    key = key if key is not None else path.name
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise UsageError(f"--key {key!r}: a relative object key without empty, '.' or '..' parts")
    return key


def ingest_file(path: Path, dataset: str, *, key: str | None = None, env: str = "dev") -> dict[str, Any]:
    """The manifest the ingest handler writes for this file (raises only when the handler fails)."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    config = load_environments()[env]
    content = path.read_bytes()
    with moto_server():
        lake = provision_lake(config)
        ingestion = LocalIngestion(config, lake)
        ingestion.deliver(ingestion.land(dataset, object_key(path, key), content))
        return _manifest(boto3.client("s3", region_name=config.region), lake.buckets["curated"])


def _manifest(s3: Any, bucket: str) -> dict[str, Any]:
    [item] = s3.list_objects_v2(Bucket=bucket, Prefix=MANIFESTS_PREFIX)["Contents"]  # a fresh lake: this one file
    return json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())


def render(manifest: dict[str, Any]) -> str:
    rows = [(name, manifest.get(name)) for name in TABLE_FIELDS if manifest.get(name) not in (None, {}, "")]
    width = max(len(name) for name, _ in rows)
    lines = []
    for name, value in rows:
        if isinstance(value, dict):
            lines.append(f"{name:<{width}}")
            lines += [f"  {count:>7}  {reason}" for reason, count in value.items()]
        else:
            lines.append(f"{name:<{width}}  {value}")
    return "\n".join(lines)


def main(path: str, dataset: str, key: str | None, as_json: bool, env: str) -> int:
    try:
        manifest = ingest_file(Path(path), dataset, key=key, env=env)
    except UsageError as error:
        print(f"mlstack ingest: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the handler failed: in AWS, Lambda would retry, then dead-letter the event
        print(f"mlstack ingest: the ingest handler failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(manifest) if as_json else render(manifest))
    return 0
