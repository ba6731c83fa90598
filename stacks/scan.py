"""Template scanners on the synthesized cloud assembly: cfn-lint and checkov, zero unexplained findings.

`python -m stacks.scan cdk.out --checkov PATH/TO/checkov` (make scan) runs both on every stack
template of every environment, then compares each finding with stacks/scanner_skips.json (tool,
check id, environment, logical-id prefix, reason). It fails on a finding no skip explains and on a
skip that matches nothing (so the list never outlives its reasons). checkov runs from its own
virtual environment: it pins a boto3 older than sagemaker-core needs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.inventory import stack_templates

SKIPS_FILE = Path(__file__).resolve().parent / "scanner_skips.json"


@dataclass(frozen=True)
class Finding:
    tool: str
    id: str
    environment: str
    resource: str  # logical id
    message: str


def cfn_lint(environment: str, template: Path, executable: str) -> list[Finding]:
    result = subprocess.run([executable, "--format", "json", str(template)], capture_output=True, text=True,  # noqa: S603
                            check=False)
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) and not result.stdout.strip():
        raise SystemExit(f"cfn-lint failed to run: {result.stderr[-500:]}")
    findings = []
    for item in json.loads(result.stdout or "[]"):
        path = item.get("Location", {}).get("Path") or []
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        findings.append(Finding("cfn-lint", item["Rule"]["Id"], environment, resource, item.get("Message", "")))
    return findings


def checkov(environment: str, template: Path, executable: str) -> list[Finding]:
    result = subprocess.run([executable, "-f", str(template), "--framework", "cloudformation", "--quiet",  # noqa: S603
                             "--compact", "--skip-download", "-o", "json"], capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(f"checkov failed to run: {result.stderr[-500:]}")
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    return [Finding("checkov", item["check_id"], environment, item["resource"].split(".", 1)[-1], item["check_name"])
            for report in reports for item in report.get("results", {}).get("failed_checks", [])]


def _matches(skip: dict[str, Any], finding: Finding) -> bool:
    return (skip["tool"] == finding.tool and skip["id"] == finding.id and finding.environment in skip["environments"]
            and any(prefix == "*" or finding.resource.startswith(prefix) for prefix in skip["resources"]))


def judge(findings: list[Finding], skips: list[dict[str, Any]]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """(findings no skip explains, skips that explain no finding)."""
    unexplained = [f for f in findings if not any(_matches(skip, f) for skip in skips)]
    stale = [skip for skip in skips if not any(_matches(skip, f) for f in findings)]
    return unexplained, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assembly", type=Path, help="the cloud assembly folder (cdk.out)")
    parser.add_argument("--cfn-lint", default=str(Path(sys.executable).parent / "cfn-lint"))
    parser.add_argument("--checkov", required=True, help="the checkov executable (its own virtual environment)")
    args = parser.parse_args(argv)
    skips = json.loads(SKIPS_FILE.read_text())["skips"]
    found = stack_templates(args.assembly)
    if not found:
        raise SystemExit(f"no templates under {args.assembly}: run `make synth` first")
    findings: list[Finding] = []
    for environment, template in found:
        findings += cfn_lint(environment, template, args.cfn_lint) + checkov(environment, template, args.checkov)
    unexplained, stale = judge(findings, skips)
    by_tool = {tool: sum(f.tool == tool for f in findings) for tool in ("cfn-lint", "checkov")}
    print(f"scanned {len(found)} templates: cfn-lint {by_tool['cfn-lint']} finding(s), "
          f"checkov {by_tool['checkov']} failed check(s); {len(findings) - len(unexplained)} explained by "
          f"{len(skips) - len(stale)} skip(s) in {SKIPS_FILE.name}")
    for finding in unexplained:
        print(f"  UNEXPLAINED {finding.tool} {finding.id} [{finding.environment}] {finding.resource}: "
              f"{finding.message}")
    for skip in stale:
        print(f"  STALE SKIP {skip['tool']} {skip['id']} {skip['environments']} {skip['resources']}: matches nothing")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
