"""The data lake as deployed: encryption, TLS, versioning, logging, lifecycle, retention, catalog."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

from mlstack.config import load_environments
from mlstack.schema import load_schema

DATA_ZONES = ("raw", "curated", "artifacts", "capture")


def _buckets(template: Template) -> dict[str, dict]:
    """Zone -> bucket resource, by the zone in the deterministic bucket name."""
    found = {}
    for logical_id, resource in template.find_resources("AWS::S3::Bucket").items():
        name_parts = resource["Properties"]["BucketName"]["Fn::Join"][1][0]
        for zone in (*DATA_ZONES, "access-logs"):
            if name_parts.endswith(f"-{zone}-"):
                found[zone] = {"id": logical_id, **resource}
    return found


@pytest.fixture(scope="module", params=["dev", "prod"])
def env(request, templates):
    return request.param, templates[request.param], _buckets(templates[request.param])


def test_every_zone_bucket_uses_the_customer_managed_key_with_bucket_keys(env):
    _, template, buckets = env
    key_id = next(iter(template.find_resources("AWS::KMS::Key")))
    assert set(buckets) == {*DATA_ZONES, "access-logs"}
    for zone in DATA_ZONES:
        rule = buckets[zone]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert rule["BucketKeyEnabled"] is True


def test_the_key_rotates_and_is_retained(env):
    _, template, _ = env
    template.has_resource("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True},
                                            "DeletionPolicy": "RetainExceptOnCreate",
                                            "UpdateReplacePolicy": "Retain"})


def test_buckets_are_private_versioned_logged_and_retained(env):
    _, _, buckets = env
    for zone, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, zone
        assert all(props["PublicAccessBlockConfiguration"][flag] for flag in
                   ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")), zone
        # Kept on update and delete; a failed first create cleans up (its fixed names would block the retry).
        assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain"), zone
        if zone != "access-logs":
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": buckets["access-logs"]["id"]}
            assert props["LoggingConfiguration"]["LogFilePrefix"] == f"{zone}/"


def test_every_bucket_denies_insecure_transport_and_old_tls(env):
    _, template, buckets = env
    policies = template.find_resources("AWS::S3::BucketPolicy")
    for zone, bucket in buckets.items():
        policy = next(p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": bucket["id"]})
        conditions = [s.get("Condition", {}) for s in policy["Properties"]["PolicyDocument"]["Statement"]
                      if s["Effect"] == "Deny"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions, zone
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions, zone


def test_lifecycle_tiers_raw_and_expires_capture_per_config(env):
    name, _, buckets = env
    lifecycle = load_environments()[name].lifecycle
    raw_rules = buckets["raw"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [t["TransitionInDays"] for t in raw_rules[0]["Transitions"]] == [
        lifecycle.raw_infrequent_access_days, lifecycle.raw_glacier_days]
    capture_rule = buckets["capture"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert capture_rule["ExpirationInDays"] == lifecycle.capture_expiration_days
    assert capture_rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    if lifecycle.capture_infrequent_access_days:
        assert capture_rule["Transitions"][0]["TransitionInDays"] == lifecycle.capture_infrequent_access_days


def test_dev_and_prod_capture_retention_differ_as_configured(templates):
    days = {name: _buckets(t)["capture"]["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"]
            for name, t in templates.items()}
    assert days == {"dev": 30, "prod": 90}


@pytest.mark.parametrize("dataset", ["breast_cancer", "clinical_notes"])
def test_curated_tables_are_partitioned_by_ingest_date_with_schema_columns(templates, dataset):
    schema = load_schema(dataset)
    templates["dev"].has_resource_properties("AWS::Glue::Table", {"TableInput": Match.object_like({
        "Name": dataset,
        "PartitionKeys": [{"Name": "ingest_date", "Type": "string", "Comment": Match.any_value()}],
        "Parameters": Match.object_like({"classification": "parquet", "projection.enabled": "true",
                                         "projection.ingest_date.type": "date"}),
        "StorageDescriptor": Match.object_like({
            "Columns": [Match.object_like({"Name": column.name}) for column in schema.columns],
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        }),
    })})


def test_athena_results_are_kms_encrypted_and_enforced(env):
    _, template, _ = env
    template.has_resource_properties("AWS::Athena::WorkGroup", {"WorkGroupConfiguration": Match.object_like({
        "EnforceWorkGroupConfiguration": True,
        "ResultConfiguration": Match.object_like({
            "EncryptionConfiguration": Match.object_like({"EncryptionOption": "SSE_KMS"})}),
    })})


def test_an_entities_data_set_is_catalogued_with_its_spans_as_an_array_of_structs():
    from stacks.app import build_app
    from stacks.stage import MlStackStage
    from tests.conftest import cdk_context, environment_template

    context = cdk_context(env="dev")
    context["mlstack:environments"]["dev"]["datasets"] = ["clinical_entities"]
    [stage] = [c for c in build_app(context).node.children if isinstance(c, MlStackStage)]
    tables = [r["Properties"]["TableInput"] for r in environment_template(stage)["Resources"].values()
              if r["Type"] == "AWS::Glue::Table"]
    [curated] = [t for t in tables if t["Name"] == "clinical_entities"]
    columns = {c["Name"]: c["Type"] for c in curated["StorageDescriptor"]["Columns"]}
    assert columns["entities"] == "array<struct<type:string,start:bigint,end:bigint>>"
