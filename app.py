#!/usr/bin/env python3
"""The CDK app: one Stage per configured environment, every cdk-nag pack on every synth.

Context (cdk.json, or -c on the command line):
  mlstack:environments            per-environment settings (validated; errors name the key)
  env=dev[,prod]                  synthesize only these environments (default: all)
  mlstack:bundle=false            skip Lambda bundling (offline synth for review and tests)
  mlstack:destroy-data-on-removal=true   DESTROY instead of RETAIN (refused for protected envs)
"""

from __future__ import annotations

import sys

from mlstack.config import ConfigError
from stacks.app import build_app
from stacks.nag import unacknowledged_findings


def main() -> None:
    try:
        app = build_app()
    except ConfigError as error:
        sys.exit(f"mlstack: {error}")
    assembly = app.synth()  # raises ValidationFailed itself when run directly (python app.py)
    findings = unacknowledged_findings(assembly.directory)
    if findings:
        sys.exit(f"mlstack: {len(findings)} unacknowledged cdk-nag finding(s); fix or acknowledge each with a "
                 "reason (stacks/nag.py):\n  " + "\n  ".join(findings))


if __name__ == "__main__":
    main()
