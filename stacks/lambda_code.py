"""Lambda packages built without Docker: function folder + shared mlstack package + pinned wheels.

The dependencies are built by aws-lambda-builders (what SAM uses) for the function's runtime,
Python 3.12, with that interpreter (pyenv or PATH: `python3.12`); they are cached under
`.mlstack/lambda-deps/<hash of requirements, runtime, architecture>` so a repeated synth copies
instead of downloading. Bundling needs the package index on a cold cache; `-c mlstack:bundle=false`
skips it for offline synth and tests (templates only: such a cloud assembly is not deployable).

Python 3.12 because an interpreter of that version exists on the machines this project is
tested on: `make rehearse` imports and invokes every package with it (a 3.14 package could
not be loaded by any interpreter here, so it would ship unverified).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = REPO_ROOT / "lambdas"
SHARED_PACKAGE = REPO_ROOT / "mlstack"
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"
ARCHITECTURE = lambda_.Architecture.X86_64
DEPENDENCY_CACHE = REPO_ROOT / ".mlstack" / "lambda-deps"
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


class BundlingError(RuntimeError):
    """A Lambda package could not be built; the message says what is missing."""


def runtime_interpreter(version: str = PYTHON_VERSION) -> Path:
    """The python<version> that builds and rehearses packages: PYTHON<major><minor>, pyenv, or PATH."""
    override = os.environ.get(f"PYTHON{version.replace('.', '')}")
    candidates = [Path(override)] if override else []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(pyenv_root.glob(f"{version}.*/bin/python{version}"), reverse=True)
    on_path = shutil.which(f"python{version}")
    candidates += [Path(on_path)] if on_path else []
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BundlingError(f"Lambda packages are built for Python {version}: install python{version} "
                        f"(pyenv install {version}) or set PYTHON{version.replace('.', '')} to its path")


def prune_package(root: Path) -> None:
    """Remove runtime-provided packages and unused pyarrow parts from an installed package tree."""
    doomed = [path for pattern in RUNTIME_PROVIDED for path in root.glob(pattern)]
    doomed += [path for pattern in PYARROW_UNUSED for path in (root / "pyarrow").glob(pattern)]
    for path in doomed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def requirements_hash(requirements: Path) -> str:
    """Cache key of a dependency build: the pins, the runtime, the architecture, the builder's version."""
    from aws_lambda_builders import __version__ as builder_version

    text = f"{requirements.read_text()}|{PYTHON_VERSION}|{ARCHITECTURE.name}|{builder_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def built_dependencies(requirements: Path, *, prune: bool = True) -> Path:
    """The pruned dependency tree for one requirements file, built once per hash and then reused."""
    cached = DEPENDENCY_CACHE / f"{requirements_hash(requirements)}{'' if prune else '-unpruned'}"
    if cached.is_dir():
        return cached
    from aws_lambda_builders.builder import LambdaBuilder

    interpreter = runtime_interpreter()
    DEPENDENCY_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DEPENDENCY_CACHE) as scratch:
        source, artifacts = Path(scratch, "source"), Path(scratch, "artifacts")
        source.mkdir()
        shutil.copy2(requirements, source / "requirements.txt")
        builder = LambdaBuilder(language="python", dependency_manager="pip", application_framework=None)
        path = f"{interpreter.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        saved_path, os.environ["PATH"] = os.environ.get("PATH", ""), path  # the builder finds python3.12 on PATH
        try:
            builder.build(str(source), str(artifacts), str(Path(scratch, "work")), str(source / "requirements.txt"),
                          runtime=PYTHON_RUNTIME.name, architecture=ARCHITECTURE.name)
        except Exception as error:  # the builder raises its own error types; name the file and cause
            raise BundlingError(f"building {requirements} for {PYTHON_RUNTIME.name}: {error}") from error
        finally:
            os.environ["PATH"] = saved_path
        (artifacts / "requirements.txt").unlink(missing_ok=True)
        if prune:
            prune_package(artifacts)
        artifacts.rename(cached)
    return cached


@jsii.implements(cdk.ILocalBundling)
class LocalPythonBundling:
    """Copies the function's code and the shared package, plus its cached dependency build."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, prune: bool = True, **_: object) -> bool:
        out = Path(output_dir)
        source = LAMBDAS_DIR / self.function_name
        shutil.copytree(built_dependencies(source / "requirements.txt", prune=prune), out, dirs_exist_ok=True)
        (out / "lambdas").mkdir(exist_ok=True)
        shutil.copy2(LAMBDAS_DIR / "__init__.py", out / "lambdas" / "__init__.py")
        shutil.copytree(source, out / "lambdas" / self.function_name, ignore=_IGNORE, dirs_exist_ok=True)
        shutil.copytree(SHARED_PACKAGE, out / "mlstack", ignore=_IGNORE, dirs_exist_ok=True)
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
