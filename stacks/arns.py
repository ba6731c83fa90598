"""ARNs from pseudo parameters, how cdk-nag renders them in finding ids, and KMS use scoped to a service."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms


def arn(service: str, resource: str) -> str:
    """An ARN in the deploying account and region (pseudo parameters, whatever the stack's env)."""
    return f"arn:{cdk.Aws.PARTITION}:{service}:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:{resource}"


def nag_rendered(value: str) -> str:
    """A string built from pseudo parameters, as cdk-nag prints it inside a finding id."""
    return (value.replace(cdk.Aws.PARTITION, "<AWS::Partition>").replace(cdk.Aws.REGION, "<AWS::Region>")
            .replace(cdk.Aws.ACCOUNT_ID, "<AWS::AccountId>"))


KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")


def key_through(sid: str, key: kms.IKey, *services: str, actions: tuple[str, ...] = KEY_USE) -> iam.PolicyStatement:
    """Use of the key only through the named AWS services (kms:ViaService), e.g. key_through("UseKey", key, "s3")."""
    via = [f"{service}.{cdk.Aws.REGION}.amazonaws.com" for service in services]
    return iam.PolicyStatement(sid=sid, actions=list(actions), resources=[key.key_arn],
                               conditions={"StringEquals": {"kms:ViaService": via[0] if len(via) == 1 else via}})
