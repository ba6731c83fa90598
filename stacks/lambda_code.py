"""Lambda packages built without Docker: function folder + shared mlstack package + pinned wheels.

Bundling downloads Linux wheels with pip (Linux x86_64 wheels for Python 3.14), so it needs the
package index; `-c mlstack:bundle=false` skips it for offline synth and tests (templates only:
such a cloud assembly is not deployable).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = REPO_ROOT / "lambdas"
SHARED_PACKAGE = REPO_ROOT / "mlstack"
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.X86_64
# Lambda Python 3.14 runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels fit.
_PIP_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
                 "--implementation", "cp", "--python-version", "3.14", "--only-binary=:all:"]
# The de-identifier's evaluation corpus (350 KB) is for `mlstack deid --evaluate`, not for functions.
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt", "tests", "eval_corpus.jsonl")
# Provided by the Lambda Python runtime (boto3 and its dependencies); pulled in again by aws-xray-sdk.
RUNTIME_PROVIDED = ("boto3", "boto3-*", "botocore", "botocore-*", "s3transfer", "s3transfer-*", "jmespath",
                    "jmespath-*", "urllib3", "urllib3-*", "dateutil", "python_dateutil-*", "six.py", "six-*")
# pyarrow parts no function uses and nothing else links: Flight RPC, remote filesystems (pyarrow.fs
# imports them optionally), C++ headers, Cython sources and test suites. About 60 MB unzipped.
PYARROW_UNUSED = ("include", "tests", "src", "libarrow_flight.so*", "libarrow_python_flight.so*", "_flight.*.so",
                  "libarrow_s3.so*", "_s3fs.*.so", "_gcsfs.*.so", "_azurefs.*.so", "_hdfs.*.so",
                  "_pyarrow_cpp_tests.*.so", "*.pxd", "*.pyx")


def prune_package(root: Path) -> None:
    """Remove runtime-provided packages and unused pyarrow parts from an installed package tree."""
    doomed = [path for pattern in RUNTIME_PROVIDED for path in root.glob(pattern)]
    doomed += [path for pattern in PYARROW_UNUSED for path in (root / "pyarrow").glob(pattern)]
    for path in doomed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


@jsii.implements(cdk.ILocalBundling)
class LocalPythonBundling:
    """Copies the function's code and installs its requirements for the Lambda platform."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, prune: bool = True, **_: object) -> bool:
        out = Path(output_dir)
        source = LAMBDAS_DIR / self.function_name
        (out / "lambdas").mkdir(exist_ok=True)
        shutil.copy2(LAMBDAS_DIR / "__init__.py", out / "lambdas" / "__init__.py")
        shutil.copytree(source, out / "lambdas" / self.function_name, ignore=_IGNORE, dirs_exist_ok=True)
        shutil.copytree(SHARED_PACKAGE, out / "mlstack", ignore=_IGNORE, dirs_exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed argv: this interpreter, pip, a repo requirements file
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *_PIP_PLATFORM,
             "--no-compile", "-r", str(source / "requirements.txt"), "-t", str(out)],
            check=True,
        )
        if prune:
            prune_package(out)
        return True


def function_code(function_name: str, *, bundle: bool) -> lambda_.Code:
    """Code asset for lambdas/<function_name>; handler path is lambdas.<name>.handler.handler."""
    source = LAMBDAS_DIR / function_name
    if not bundle:
        return lambda_.Code.from_asset(str(source), exclude=["__pycache__", "*.pyc"])
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            image=PYTHON_RUNTIME.bundling_image,
            local=LocalPythonBundling(function_name),
        ),
    )


def handler_path(function_name: str) -> str:
    return f"lambdas.{function_name}.handler.handler"
