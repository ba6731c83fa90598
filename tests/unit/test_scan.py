"""The scanner gate: unexplained findings and stale skips both fail; every skip has a reason."""

from __future__ import annotations

import json

from stacks.scan import SKIPS_FILE, Finding, judge

SKIP = {"tool": "checkov", "id": "CKV_AWS_117", "environments": ["dev"], "resources": ["Ingestion"], "reason": "r"}


def test_a_finding_is_explained_only_by_a_skip_of_its_tool_id_environment_and_resource():
    explained = Finding("checkov", "CKV_AWS_117", "dev", "IngestionIngestFunction1", "in a VPC")
    others = [Finding("checkov", "CKV_AWS_117", "prod", "IngestionIngestFunction1", ""),  # another environment
              Finding("checkov", "CKV_AWS_117", "dev", "RegistryDeployerFunction", ""),  # another resource
              Finding("cfn-lint", "CKV_AWS_117", "dev", "IngestionIngestFunction1", "")]  # another tool
    unexplained, stale = judge([explained, *others], [SKIP])
    assert unexplained == others and stale == []


def test_a_skip_that_matches_nothing_is_stale():
    assert judge([], [SKIP]) == ([], [SKIP])


def test_every_listed_skip_names_its_reason():
    skips = json.loads(SKIPS_FILE.read_text())["skips"]
    assert skips and all(len(skip["reason"]) >= 40 and skip["environments"] and skip["resources"] for skip in skips)
