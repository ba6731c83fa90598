"""The S3 data lake: a customer-managed key, zone buckets, a Glue catalog, an Athena workgroup, and the
topic that announces new raw objects (the stateless ingestion stack subscribes to it)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlstack.config import EnvironmentConfig, Zone
from mlstack.lake import (
    ATHENA_RESULTS_PREFIX,
    CAPTURE_PREFIX,
    CURATED_PREFIX,
    PARTITION_KEY,
    RAW_PREFIX,
    capture_table_name,
)
from mlstack.schema import DatasetSchema, load_schema
from stacks.nag import acknowledge

GLUE_TYPES = {"integer": "bigint", "float": "double", "boolean": "boolean", "category": "string", "text": "string",
              "entities": "array<struct<type:string,start:bigint,end:bigint>>"}
DATA_ZONES: tuple[Zone, ...] = ("raw", "curated", "artifacts", "capture")
RAW_OBJECT_EVENT = "s3:ObjectCreated:*"


class DataLake(Construct):
    """Encrypted, versioned, logged zone buckets plus the catalog that makes curated/ queryable."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig,
                 removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self.config = config
        self._removal_policy = removal_policy
        self.key = kms.Key(
            self, "Key",
            alias=f"alias/{config.resource_prefix()}-data-lake",
            description=f"{config.resource_prefix()}: data lake, queues and logs",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self._allow_service_use_of_key()
        self.access_logs = self._access_logs_bucket()
        self.buckets: dict[Zone, s3.Bucket] = {zone: self._zone_bucket(zone) for zone in DATA_ZONES}
        self.database = self._glue_database()
        self.tables = {name: self._curated_table(load_schema(name)) for name in config.datasets}
        self.capture_tables = {name: self._capture_table(load_schema(name)) for name in config.datasets}
        self.workgroup = self._athena_workgroup()
        self.raw_objects = self._announce_raw_objects()

    @property
    def raw(self) -> s3.Bucket:
        return self.buckets["raw"]

    @property
    def curated(self) -> s3.Bucket:
        return self.buckets["curated"]

    @staticmethod
    def bucket_name(config: EnvironmentConfig, zone: Zone) -> str:
        """The deterministic name of a zone bucket in the deploying account and region."""
        return config.bucket_name(zone, cdk.Aws.ACCOUNT_ID, cdk.Aws.REGION)

    def _allow_service_use_of_key(self) -> None:
        """CloudWatch Logs (log groups), alarms (SNS), EventBridge (dead-letter queues), S3 (the raw-object topic)
        and SNS (its subscription's dead-letter queue) use the key."""
        account, region, partition = cdk.Aws.ACCOUNT_ID, cdk.Aws.REGION, cdk.Aws.PARTITION
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
            actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                    f"arn:{partition}:logs:{region}:{account}:log-group:*"}},
        ))
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="ServicesPublishToEncryptedTopicsAndQueues",
            principals=[iam.ServicePrincipal(f"{service}.amazonaws.com") for service in ("cloudwatch", "events", "s3",
                                                                                         "sns")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            # No condition: SNS and SQS call KMS for these publishers without aws:SourceAccount, so a
            # condition on it would never match (rule MlStack.Deploy-DP3). The topic and queue policies
            # limit who may publish (aws:SourceArn / aws:SourceAccount, which these services send to them).
            resources=["*"],
        ))

    @staticmethod
    def bucket_arn(config: EnvironmentConfig, zone: Zone) -> str:
        """By name, not by reference: other stacks of the environment need no export for it."""
        return f"arn:{cdk.Aws.PARTITION}:s3:::{DataLake.bucket_name(config, zone)}"

    @staticmethod
    def object_arn(config: EnvironmentConfig, zone: Zone, prefix: str) -> str:
        """ARN of every object under a prefix of a zone bucket (by name: safe from reference cycles)."""
        return f"arn:{cdk.Aws.PARTITION}:s3:::{DataLake.bucket_name(config, zone)}/{prefix}*"

    def _access_logs_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self, "AccessLogs",
            bucket_name=self.bucket_name(self.config, "access-logs"),
            # S3 server access log delivery supports only SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs",
                                 expiration=cdk.Duration.days(self.config.lifecycle.access_log_expiration_days),
                                 noncurrent_version_expiration=cdk.Duration.days(1),
                                 abort_incomplete_multipart_upload_after=cdk.Duration.days(7)),
            ],
            removal_policy=self._removal_policy,
        )
        reason = "S3 server access log delivery does not support SSE-KMS on the target bucket; SSE-S3 (AES-256) is used"
        for finding in ("HIPAA.Security-S3DefaultEncryptionKMS", "NIST.800.53.R5-S3DefaultEncryptionKMS"):
            acknowledge(bucket, finding, reason)
        no_self_logging = "This is the access-log target; logging it to itself would loop. Its access is in CloudTrail"
        for finding in ("AwsSolutions-S1", "HIPAA.Security-S3BucketLoggingEnabled",
                        "NIST.800.53.R5-S3BucketLoggingEnabled"):
            acknowledge(bucket, finding, no_self_logging)
        self._acknowledge_replication(bucket)
        return bucket

    def _zone_bucket(self, zone: Zone) -> s3.Bucket:
        bucket = s3.Bucket(
            self, zone.capitalize(),
            bucket_name=self.bucket_name(self.config, zone),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{zone}/",
            lifecycle_rules=self._lifecycle_rules(zone),
            removal_policy=self._removal_policy,
        )
        self._acknowledge_replication(bucket)
        return bucket

    def _announce_raw_objects(self) -> sns.Topic:
        """ObjectCreated under raw/ -> this topic (S3's own notification format, keys URL-encoded).

        A topic, not the function itself: the bucket's notification would otherwise name the ingest function,
        tying the stateful stack to a stateless one. Set on the L1 bucket: no custom resource."""
        raw_arn = self.bucket_arn(self.config, "raw")
        topic = sns.Topic(self, "RawObjects", topic_name=self.config.raw_objects_topic_name(),
                          display_name=f"mlstack {self.config.name}: new raw objects", master_key=self.key,
                          enforce_ssl=True)
        topic.add_to_resource_policy(iam.PolicyStatement(
            sid="RawBucketPublishes", principals=[iam.ServicePrincipal("s3.amazonaws.com")], actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={"ArnEquals": {"aws:SourceArn": raw_arn},
                        "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}))
        cfn_bucket: s3.CfnBucket = self.raw.node.default_child
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            topic_configurations=[s3.CfnBucket.TopicConfigurationProperty(
                event=RAW_OBJECT_EVENT, topic=topic.topic_arn,
                filter=s3.CfnBucket.NotificationFilterProperty(s3_key=s3.CfnBucket.S3KeyFilterProperty(
                    rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=RAW_PREFIX)])))])
        # S3 checks it may publish when the notification is created: the topic policy first.
        cfn_bucket.add_resource_dependency(topic.node.find_child("Policy").node.default_child)
        return topic

    def _lifecycle_rules(self, zone: Zone) -> list[s3.LifecycleRule]:
        lifecycle = self.config.lifecycle
        common = {"abort_incomplete_multipart_upload_after": cdk.Duration.days(7),
                  "noncurrent_version_expiration": cdk.Duration.days(lifecycle.noncurrent_version_expiration_days)}
        if zone == "raw":
            return [s3.LifecycleRule(id="raw-tiering", transitions=[
                s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                              transition_after=cdk.Duration.days(lifecycle.raw_infrequent_access_days)),
                s3.Transition(storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                              transition_after=cdk.Duration.days(lifecycle.raw_glacier_days)),
            ], **common)]
        if zone == "capture":
            # Captured requests may hold PHI: current and noncurrent versions both expire.
            transitions = []
            if lifecycle.capture_infrequent_access_days:
                transitions.append(s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(lifecycle.capture_infrequent_access_days)))
            return [s3.LifecycleRule(
                id="capture-retention", transitions=transitions,
                expiration=cdk.Duration.days(lifecycle.capture_expiration_days),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                noncurrent_version_expiration=cdk.Duration.days(1))]
        return [s3.LifecycleRule(id=f"{zone}-housekeeping", **common)]

    @staticmethod
    def _acknowledge_replication(bucket: s3.Bucket) -> None:
        reason = ("Cross-region replication is a per-organisation DR decision (second region, second key); "
                  "versioning and RETAIN protect against loss within the region")
        for finding in ("HIPAA.Security-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"):
            acknowledge(bucket, finding, reason)

    def _glue_database(self) -> glue.CfnDatabase:
        database = glue.CfnDatabase(
            self, "Database",
            catalog_id=cdk.Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.config.glue_database_name(),
                description=f"{self.config.resource_prefix()}: curated data sets (parquet), one table per data set",
            ),
        )
        database.apply_removal_policy(self._removal_policy)
        return database

    def _curated_table(self, schema: DatasetSchema) -> glue.CfnTable:
        """A parquet table over curated/<dataset>/, partitioned by ingestion date (projected)."""
        location = f"s3://{self.curated.bucket_name}/{CURATED_PREFIX}{schema.name}/"
        table = glue.CfnTable(
            self, f"Table{schema.name.title().replace('_', '')}",
            catalog_id=cdk.Aws.ACCOUNT_ID,
            database_name=self.config.glue_database_name(),
            table_input=glue.CfnTable.TableInputProperty(
                name=schema.name,
                description=f"{schema.description} (schema v{schema.version})",
                table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name=PARTITION_KEY, type="string",
                                                             comment="UTC date of the raw object's arrival")],
                parameters={
                    "classification": "parquet",
                    "mlstack.schema_version": str(schema.version),
                    # Partition projection: new ingestion dates are queryable without crawlers.
                    "projection.enabled": "true",
                    f"projection.{PARTITION_KEY}.type": "date",
                    f"projection.{PARTITION_KEY}.format": "yyyy-MM-dd",
                    f"projection.{PARTITION_KEY}.range": "2020-01-01,NOW",
                    f"projection.{PARTITION_KEY}.interval": "1",
                    f"projection.{PARTITION_KEY}.interval.unit": "DAYS",
                    "storage.location.template": f"{location}{PARTITION_KEY}=${{{PARTITION_KEY}}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name=column.name, type=GLUE_TYPES[column.type],
                                                          comment=column.description[:255] or None)
                             for column in schema.columns],
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
                ),
            ),
        )
        table.add_resource_dependency(self.database)
        table.apply_removal_policy(self._removal_policy)
        return table

    def _capture_table(self, schema: DatasetSchema) -> glue.CfnTable:
        """JSON-lines table over capture/<dataset>/ (model_version, capture_date projected) for drift at scale
        with Athena (mlstack/drift_athena.py). Text features are captured de-identified."""
        location = f"s3://{self.buckets['capture'].bucket_name}/{CAPTURE_PREFIX}{schema.name}/"
        fields = ",".join(f"{c.name}:{GLUE_TYPES[c.type]}" for c in schema.columns if c.name != schema.label)
        table = glue.CfnTable(
            self, f"Capture{schema.name.title().replace('_', '')}",
            catalog_id=cdk.Aws.ACCOUNT_ID, database_name=self.config.glue_database_name(),
            table_input=glue.CfnTable.TableInputProperty(
                name=capture_table_name(schema.name), table_type="EXTERNAL_TABLE",
                description=f"Captured predictions of {schema.name} models (sampled; text de-identified)",
                partition_keys=[glue.CfnTable.ColumnProperty(name="model_version", type="string"),
                                glue.CfnTable.ColumnProperty(name="capture_date", type="string")],
                parameters={
                    "classification": "json", "projection.enabled": "true",
                    "projection.model_version.type": "injected",  # queries name the version they score
                    "projection.capture_date.type": "date", "projection.capture_date.format": "yyyy-MM-dd",
                    "projection.capture_date.range": "2020-01-01,NOW", "projection.capture_date.interval": "1",
                    "projection.capture_date.interval.unit": "DAYS",
                    "storage.location.template": f"{location}model_version=${{model_version}}/"
                                                 "capture_date=${capture_date}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name="at", type="string", comment="UTC ISO 8601"),
                             glue.CfnTable.ColumnProperty(name="features", type=f"struct<{fields}>"),
                             glue.CfnTable.ColumnProperty(name="prediction", type="string")],
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "true"}),
                ),
            ),
        )
        table.add_resource_dependency(self.database)
        table.apply_removal_policy(self._removal_policy)
        return table

    def _athena_workgroup(self) -> athena.CfnWorkGroup:
        """Query results encrypted with the lake key, in the artifacts bucket; settings enforced."""
        return athena.CfnWorkGroup(
            self, "Workgroup",
            name=f"{self.config.resource_prefix()}-lake",
            description="Queries over the curated and capture zones; results encrypted with the data lake key",
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.buckets['artifacts'].bucket_name}/{ATHENA_RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn),
                ),
            ),
        )
