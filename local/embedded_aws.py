"""The embedded AWS: a moto server on 127.0.0.1 and the data lake provisioned in it from config.

Provisioning reads the same EnvironmentConfig the CDK app uses (bucket names, encryption,
versioning, TLS-only policy, lifecycle), so local mode exercises the names and settings that
`cdk deploy` ships. Differences, stated: the TLS-only bucket policy is left out because the
embedded endpoint is plain HTTP on loopback (moto enforces the policy and would refuse every
request); lifecycle rules are not created (moto never ages objects); moto does not invoke
Lambda, so local mode calls handlers in-process (local/lambda_runtime.py).
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from local.lambda_runtime import LOCAL_ACCOUNT
from mlstack.config import ZONES, EnvironmentConfig

_LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


@dataclass(frozen=True)
class LocalLake:
    """Names of what was provisioned, keyed like the CDK constructs."""

    key_arn: str
    buckets: dict[str, str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on a free loopback port; point every boto3 client in this process at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request access log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its state per process: start every embedded AWS empty.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()  # noqa: S310 - loopback
    saved = {name: os.environ.get(name) for name in (*_LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL")}
    os.environ.update(_LOCAL_CREDENTIALS, AWS_ENDPOINT_URL=endpoint)
    try:
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def provision_lake(config: EnvironmentConfig, *, region: str | None = None, s3: Any = None,
                   kms: Any = None) -> LocalLake:
    """Create the lake's key and buckets as the DataLake construct defines them."""
    region = region or config.region
    s3 = s3 or boto3.client("s3", region_name=region)
    kms = kms or boto3.client("kms", region_name=region)
    key = kms.create_key(Description=f"{config.resource_prefix()}: data lake (local)")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName=f"alias/{config.resource_prefix()}-data-lake", TargetKeyId=key["KeyId"])
    buckets = {zone: config.bucket_name(zone, LOCAL_ACCOUNT, region) for zone in ZONES}
    for zone, name in buckets.items():
        _create_bucket(s3, name, region, object_lock=zone == "audit")
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        rule = ({"SSEAlgorithm": "AES256"} if zone == "access-logs"
                else {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]})
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": zone != "access-logs"}]})
    s3.put_object_lock_configuration(Bucket=buckets["audit"], ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {
            "Mode": "GOVERNANCE", "Days": config.deployment.audit_retention_days}}})
    return LocalLake(key_arn=key["Arn"], buckets=buckets)


def _create_bucket(s3: Any, name: str, region: str, *, object_lock: bool) -> None:
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock, **location)
