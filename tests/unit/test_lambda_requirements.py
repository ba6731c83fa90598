"""Every third-party module a function's code imports is in its package: its requirements (with their
dependencies) or the Lambda runtime's own boto3. The development virtualenv hides a missing one
(the ingest function imported numpy without requiring it); make rehearse shows it too, slower."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from stacks.lambda_code import LAMBDAS_DIR, REPO_ROOT

OURS = {"lambdas", "mlstack", "__future__"}
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}
FUNCTIONS = sorted(path.name for path in LAMBDAS_DIR.iterdir() if (path / "handler.py").is_file())


def _module_file(name: str) -> Path | None:
    base = REPO_ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Absolute module names imported anywhere in a file (relative ones resolved)."""
    package = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names if _module_file(f"{base}.{alias.name}")}
    return names


def third_party_imports(function: str) -> set[str]:
    """Top-level third-party modules reachable from lambdas/<function> through our own modules."""
    queue = [*(LAMBDAS_DIR / function).glob("*.py")]
    seen, found = set(), set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top in OURS:
                module = _module_file(name)
                if module:
                    queue.append(module)
            elif top not in sys.stdlib_module_names:
                found.add(top)
    return found


def _closure(requirements: Path) -> set[str]:
    """Distribution names a requirements file installs (its pins and what they depend on)."""
    pending = [Requirement(line.split("#")[0].strip()) for line in requirements.read_text().splitlines()
               if line.split("#")[0].strip()]
    names: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in names:
            continue
        names.add(name)
        for text in metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": extra})
                                                for extra in requirement.extras or {""}):
                pending.append(dependency)
    return names


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_imported_package_is_in_the_function_package(function):
    provided = _closure(LAMBDAS_DIR / function / "requirements.txt") | RUNTIME_PROVIDED
    distributions = metadata.packages_distributions()
    missing = {module: distributions.get(module, ["?"]) for module in third_party_imports(function)
               if not {d.lower().replace("_", "-") for d in distributions.get(module, [module])} & provided}
    assert not missing, f"lambdas/{function} imports modules its package lacks: {missing}"
