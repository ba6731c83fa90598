"""cdk-nag 3.x wiring: four rule packs on every synth, and specific, reasoned acknowledgments."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct

NAG_PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks)


def add_nag_packs(app: cdk.App) -> None:
    """Synth fails (ValidationFailed) on any finding not acknowledged."""
    for pack in NAG_PACKS:
        cdk.Validations.of(app).add_plugins(pack(app))


def acknowledge(construct: IConstruct, finding_id: str, reason: str) -> None:
    """Acknowledge one finding on one construct; the reason is recorded in the report."""
    if len(reason) < 20:
        raise ValueError(f"acknowledgment of {finding_id} needs a real reason")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))
