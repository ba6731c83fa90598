"""Encrypted CloudWatch log groups with the environment's retention (one home for both)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def encrypted_log_group(scope: Construct, id_: str, *, key: kms.IKey, retention_days: int,
                        removal_policy: cdk.RemovalPolicy) -> logs.LogGroup:
    """A log group encrypted with the environment key; retention is any CloudWatch-allowed day count."""
    group = logs.LogGroup(scope, id_, encryption_key=key, removal_policy=removal_policy,
                          retention=logs.RetentionDays.INFINITE)
    # RetentionDays is an enum of names; config holds validated day counts, so set the L1 value.
    group.node.default_child.retention_in_days = retention_days
    return group
