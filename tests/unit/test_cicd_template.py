"""The CI/CD template teams adopt (deploy/github/deploy.yml): linted, OIDC only, one job per environment, prod gated."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT

TEMPLATE = REPO_ROOT / "deploy" / "github" / "deploy.yml"
ACTIONLINT = shutil.which("actionlint", path=str(Path(sys.executable).parent))


def _lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ACTIONLINT, str(path)], capture_output=True, text=True, check=False)


def test_the_template_passes_actionlint_and_the_linter_is_not_vacuous(tmp_path):
    assert ACTIONLINT, "actionlint is installed by requirements-dev.txt"
    assert _lint(TEMPLATE).returncode == 0, _lint(TEMPLATE).stdout
    broken = tmp_path / "broken.yml"
    broken.write_text(TEMPLATE.read_text().replace("${{ vars.AWS_REGION }}", "${{ vars.AWS_REGION.nope( }}"))
    assert _lint(broken).returncode != 0


def test_one_job_per_environment_with_oidc_roles_and_prod_behind_its_reviewers():
    workflow = yaml.safe_load(TEMPLATE.read_text())
    jobs = workflow["jobs"]
    assert jobs["deploy-dev"]["needs"] == "test" and jobs["deploy-prod"]["needs"] == "deploy-dev"
    assert jobs["deploy-prod"]["environment"] == "prod"  # GitHub's required reviewers approve before it runs
    assert workflow["permissions"] == {"contents": "read"}  # least privilege by default
    for name in ("deploy-dev", "deploy-prod", "promote"):
        job = jobs[name]
        assert job["permissions"]["id-token"] == "write", name
        [credentials] = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credent")]
        assert set(credentials["with"]) == {"role-to-assume", "aws-region"}, name  # a role, never stored keys
    assert "secrets." not in TEMPLATE.read_text()
    assert [s["run"] for s in jobs["test"]["steps"] if "run" in s] == ["make test"]
