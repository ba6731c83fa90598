"""ARNs from pseudo parameters, and how cdk-nag renders them in finding ids (for acknowledgments)."""

from __future__ import annotations

import aws_cdk as cdk


def arn(service: str, resource: str) -> str:
    """An ARN in the deploying account and region (pseudo parameters, whatever the stack's env)."""
    return f"arn:{cdk.Aws.PARTITION}:{service}:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:{resource}"


def nag_rendered(value: str) -> str:
    """A string built from pseudo parameters, as cdk-nag prints it inside a finding id."""
    return (value.replace(cdk.Aws.PARTITION, "<AWS::Partition>").replace(cdk.Aws.REGION, "<AWS::Region>")
            .replace(cdk.Aws.ACCOUNT_ID, "<AWS::AccountId>"))
