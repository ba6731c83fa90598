"""The audit trail: one immutable JSON record per approval, deployment, promotion, rollback, refusal.

Records go to a versioned bucket with Object Lock (the stack sets default retention, so a record
cannot be altered or deleted before it expires) and are announced on an SNS topic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Action = Literal["deploy", "promote", "rollback", "reject", "canary-complete", "canary-rollback", "canary-replaced"]
Outcome = Literal["succeeded", "canary-started", "refused", "no-op", "ignored", "failed"]


class AuditRecord(BaseModel):
    action: Action
    outcome: Outcome
    stage: str
    actor: str
    model_package_arn: str
    model_version: int
    model_group: str
    approval_description: str = ""
    approver: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    detail: str = ""
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))

    def key(self) -> str:
        day = self.at[:10].replace("-", "/")
        return f"audit/{day}/{self.at}-{self.action}-{self.stage}-v{self.model_version}.json"


class AuditLog:
    def __init__(self, s3: Any, bucket: str, sns: Any = None, topic_arn: str | None = None) -> None:
        self.s3, self.bucket, self.sns, self.topic_arn = s3, bucket, sns, topic_arn

    def write(self, record: AuditRecord) -> AuditRecord:
        body = record.model_dump_json(indent=2).encode()
        # Object Lock buckets require an integrity checksum on PUT.
        self.s3.put_object(Bucket=self.bucket, Key=record.key(), Body=body, ChecksumAlgorithm="SHA256")
        if self.sns and self.topic_arn:
            self.sns.publish(TopicArn=self.topic_arn, Subject=f"mlstack {record.action} {record.outcome}"[:100],
                             Message=body.decode())
        return record

    def trail(self) -> list[AuditRecord]:
        records = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="audit/"):
            for obj in page.get("Contents", []):
                records.append(AuditRecord.model_validate_json(
                    self.s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()))
        return sorted(records, key=lambda r: r.at)


def read_metrics(s3: Any, uri: str | None) -> dict[str, Any]:
    """The headline metrics of an evaluation.json: the quality gate's (every recipe), or the classification metrics
    of runs evaluated before it existed (empty if unavailable)."""
    if not uri or not uri.startswith("s3://"):
        return {}
    bucket, key = uri[5:].split("/", 1)
    report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    metrics = report.get("quality_gate") or report.get("multiclass_classification_metrics", {})
    return {name: value["value"] for name, value in metrics.items()}
