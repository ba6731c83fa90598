"""Each Lambda package, as `cdk deploy` uploads it, imported and invoked by its runtime's Python.

The interpreter is python<runtime version> (stacks/lambda_code.runtime_interpreter) started with
-I; on its path only the package (the cdk.out asset directory that cdk zips and uploads) and the
boto3 the Lambda runtime provides, at the runtime's version (lambda-runtime.txt), installed once
per hash into .mlstack/rehearse/. A module imported from anywhere else fails the check.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.lambda_code import REPO_ROOT, runtime_interpreter

HERE = Path(__file__).resolve().parent
IAM_MODULE = HERE.parent / "iam.py"  # loaded by path into the function's interpreter (standard library only)
RUNTIME_REQUIREMENTS = HERE / "lambda-runtime.txt"
CACHE = REPO_ROOT / ".mlstack" / "rehearse"
LAMBDA_UNZIPPED_LIMIT_MB = 250


class PackageError(RuntimeError):
    """A package could not be prepared or run; the message says why."""


def runtime_packages(version: str) -> Path:
    """What the Lambda runtime itself provides (boto3 and its dependencies), for `version`."""
    digest = hashlib.sha256(f"{RUNTIME_REQUIREMENTS.read_text()}|{version}".encode()).hexdigest()[:12]
    target = CACHE / f"lambda-runtime-{version}-{digest}"
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix="runtime-", dir=CACHE))
    completed = subprocess.run(  # noqa: S603 - fixed argv: the runtime interpreter's pip, a repo file
        [str(runtime_interpreter(version)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "-r", str(RUNTIME_REQUIREMENTS), "-t", str(staging)],
        capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise PackageError(f"installing the Lambda runtime's boto3 for Python {version}:\n{completed.stderr[-2000:]}")
    staging.rename(target)
    return target


def size_mb(root: Path) -> float:
    return round(sum(path.stat().st_size for path in root.rglob("*") if path.is_file()) / 1e6, 1)


@dataclass
class FunctionRun:
    """One function's package run: its size, cold start, invocations and every IAM request checked."""

    name: str
    package: Path
    size_mb: float
    result: dict[str, Any] = field(default_factory=dict)
    wall_ms: float = 0.0
    log: str = ""

    @property
    def foreign_modules(self) -> list[str]:
        """Modules imported from outside the package, the runtime's boto3 and the interpreter itself."""
        allowed = (str(self.package), self.result.get("runtime", ""), self.result.get("stdlib", ""), str(HERE),
                   str(IAM_MODULE))
        return [path for path in self.result.get("modules", []) if not path.startswith(allowed)]


def run_package(*, name: str, package: Path, handler: str, version: str,
                environment: dict[str, str], events: list[dict[str, Any]], principal_arn: str,
                policies: list[dict[str, Any]], facts: dict[str, Any], memory_mb: int, timeout_seconds: int,
                function_arn: str, timeout: float = 300) -> FunctionRun:
    """Import `handler` from `package` in a clean python<version> and invoke it with each event."""
    interpreter = runtime_interpreter(version)
    runtime = runtime_packages(version)
    run = FunctionRun(name, package, size_mb(package))
    with tempfile.TemporaryDirectory(prefix=f"rehearse-{name.replace('/', '-')}-") as scratch:
        spec_path, result_path = Path(scratch, "spec.json"), Path(scratch, "result.json")
        spec_path.write_text(json.dumps({
            "package": str(package), "runtime": str(runtime), "iam_module": str(IAM_MODULE),
            "handler": handler, "events": events, "principal_arn": principal_arn, "policies": policies,
            "facts": facts, "result": str(result_path), "function_name": name, "function_arn": function_arn,
            "memory_mb": memory_mb, "timeout_seconds": timeout_seconds}, default=str))
        started = time.perf_counter()
        completed = subprocess.run(  # noqa: S603 - the runtime interpreter on our own bootstrap
            [str(interpreter), "-I", "-B", str(HERE / "bootstrap.py"), str(spec_path)], env=_lambda_environment(
                environment), capture_output=True, text=True, timeout=timeout, check=False, cwd=scratch)
        run.wall_ms = round((time.perf_counter() - started) * 1000, 1)
        run.log = completed.stdout + completed.stderr
        if not result_path.is_file():
            raise PackageError(f"{name}: the runtime exited with {completed.returncode} before any result:\n"
                               f"{run.log[-3000:]}")
        run.result = json.loads(result_path.read_text())
    run.result["runtime"] = str(runtime)
    run.result["stdlib"] = str(Path(interpreter).resolve().parent.parent / "lib")
    return run


def _lambda_environment(environment: dict[str, str]) -> dict[str, str]:
    """Only what Lambda sets: the function's variables and the runtime's own (no virtualenv, no PYTHONPATH)."""
    keep = {name: os.environ[name] for name in ("PATH", "LANG", "TZ", "HOME") if name in os.environ}
    return {**keep, **environment}  # -I ignores PYTHON* variables; -B: /var/task is read-only on Lambda


def python_version(runtime: str) -> str:
    """python3.12 -> 3.12."""
    if not runtime.startswith("python"):
        raise PackageError(f"runtime {runtime} is not a Python runtime")
    return runtime.removeprefix("python")

