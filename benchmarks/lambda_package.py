"""Lambda package sizes (ingest, inference): pruned vs. a plain pip install; ingest cold import.

Builds each package exactly as `cdk deploy` does (stacks/lambda_code.py: Linux x86_64 wheels for
the Lambda runtime), measures it unpruned and pruned against the 250 MB unzipped limit (the
inference function's own goal is 150 MB), then checks the ingest pruning on this machine's
Python: the pruned pyarrow still imports and writes parquet,
and times a cold import of the handler in a fresh process. Needs the package index (pip).
Run: make bench  (or .venv/bin/python -m benchmarks.lambda_package)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import save_result
from stacks.lambda_code import LAMBDAS_DIR, LocalPythonBundling, prune_package

LAMBDA_LIMIT_MB = 250
REPO_ROOT = Path(__file__).resolve().parent.parent
_CHECK = """
import io, time
started = time.perf_counter()
import lambdas.ingest.handler
import pyarrow as pa, pyarrow.parquet as pq, pyarrow.fs
print(round((time.perf_counter() - started) * 1000), pa.__file__)
pq.write_table(pa.table({"x": [1.5, 2.5]}), io.BytesIO())
"""


def _size_mb(root: Path) -> float:
    return round(sum(path.stat().st_size for path in root.rglob("*") if path.is_file()) / 1e6, 1)


def lambda_package(function_name: str) -> dict:
    """Unpruned and pruned unzipped sizes of the function package for the Lambda platform."""
    with tempfile.TemporaryDirectory() as out:
        bundler = LocalPythonBundling(function_name)
        bundler.try_bundle(out, image=None, prune=False)
        unpruned = _size_mb(Path(out))
        prune_package(Path(out))
        return {"function": function_name, "unpruned_mb": unpruned, "pruned_mb": _size_mb(Path(out)),
                "limit_mb": LAMBDA_LIMIT_MB}


def host_check(function_name: str) -> dict:
    """Install the same requirements for this Python, prune, import the handler and write parquet."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",  # noqa: S603
                        "-r", str(LAMBDAS_DIR / function_name / "requirements.txt"), "-t", out], check=True)
        prune_package(Path(out))
        env = {**os.environ, "PYTHONPATH": f"{out}{os.pathsep}{REPO_ROOT}", "POWERTOOLS_TRACE_DISABLED": "true"}
        timings = []
        for _ in range(3):
            # boto3 comes from this environment, as the Lambda runtime provides it; pyarrow must not.
            result = subprocess.run([sys.executable, "-c", _CHECK], env=env, check=True,  # noqa: S603
                                    capture_output=True, text=True)
            milliseconds, pyarrow_path = result.stdout.split()
            if not pyarrow_path.startswith(out):
                raise RuntimeError(f"imported pyarrow from {pyarrow_path}, not the pruned package")
            timings.append(int(milliseconds))
        return {"pruned_imports_and_writes_parquet": True, "cold_import_ms_best_of_3": min(timings)}


def main() -> None:
    started = time.perf_counter()
    result = {"ingest": {**lambda_package("ingest"), **host_check("ingest")}, "inference": lambda_package("inference")}
    for name, package in result.items():
        print(f"{name} function package (unzipped):")
        print(f"  plain pip install  {package['unpruned_mb']:>6} MB")
        print(f"  pruned (deployed)  {package['pruned_mb']:>6} MB   "
              f"ratio {package['pruned_mb'] / package['unpruned_mb']:.2f}, limit {LAMBDA_LIMIT_MB} MB")
    ingest = result["ingest"]
    print(f"  ingest: pruned pyarrow imports and writes parquet: {ingest['pruned_imports_and_writes_parquet']}")
    print(f"  ingest: cold import of the handler (this machine): {ingest['cold_import_ms_best_of_3']} ms")
    out = save_result("lambda_package", result)
    print(f"  json: {out}  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
