"""cdk-nag 3.x wiring: six rule packs on every synth, and specific, reasoned acknowledgments."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct

from stacks.nag_deploy import DeployChecks
from stacks.nag_sagemaker import SageMakerChecks

# The four cdk-nag packs, and ours: SageMaker resources they do not cover, and deploy-time rules.
NAG_PACKS = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks, SageMakerChecks,
             DeployChecks)


def add_nag_packs(app: cdk.App) -> None:
    """Synth fails (ValidationFailed) on any finding not acknowledged."""
    for pack in NAG_PACKS:
        cdk.Validations.of(app).add_plugins(pack(app))


def acknowledge(construct: IConstruct, finding_id: str, reason: str) -> None:
    """Acknowledge one finding on one construct; the reason is recorded in the report."""
    if len(reason) < 20:
        raise ValueError(f"acknowledgment of {finding_id} needs a real reason")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


def unacknowledged_findings(assembly_dir: str) -> list[str]:
    """`rule: construct path` for every finding in the synth's validation report.

    The CDK CLI synthesizes with failSynthOnValidationErrors=false (it only writes the report),
    so app.py reads the report itself and fails: findings stop `cdk synth` and `cdk deploy` too.
    """
    report = Path(assembly_dir) / "validation-report.json"
    if not report.is_file():
        return []
    return [
        f"{violation['ruleName']}: {construct['constructPath']}"
        for plugin in json.loads(report.read_text()).get("pluginReports", [])
        if plugin.get("conclusion") != "success"
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]
