"""The embedded AWS: a moto server on 127.0.0.1, and the environment's stacks created in it from their templates.

Provisioning synthesizes the environment's stacks (bundling off, as `make synth`; once per process), reads
them as one deployment (local/cfn.py) and creates their resources from their definitions (local/provision.py):
the key with its policy, the buckets with their encryption, versioning and object lock, queues, topics and
topic policies, roles and policies, alarms, rules, the catalog, the model package group and pipeline. What
cannot be held is stated per resource (bucket policies are evaluated by the IAM check rather than by moto,
which would judge aws:SecureTransport against its plain-HTTP loopback endpoint; lifecycle rules are not
applied; moto does not invoke Lambda, so local mode calls handlers in-process, each AWS call checked against
the function's role from the template: local/iam.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3

from local.cfn import Template, environment_templates
from local.iam import CallChecker, Facts
from local.lambda_runtime import LOCAL_ACCOUNT
from local.provision import Provisioner, ProvisionReport
from mlstack.config import CDK_JSON, ENVIRONMENTS_KEY, REPO_ROOT, ZONES, EnvironmentConfig

_LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}
SYNTH_CACHE = REPO_ROOT / ".mlstack" / "synth"
SYNTH_CACHE_KEPT = 24  # more than the configs one process (a test session) synthesizes
SYNTH_INPUTS = tuple(REPO_ROOT / name for name in ("app.py", "cdk.json", "stacks", "mlstack", "lambdas", "pipelines"))
_TEMPLATES: dict[str, list[Path]] = {}  # config JSON -> synthesized templates (one synth per process)


@dataclass(frozen=True)
class LocalLake:
    """What was provisioned: the key, the buckets by zone, and the template it came from."""

    key_arn: str
    buckets: dict[str, str]
    template: Template | None = None
    facts: Facts | None = None
    report: ProvisionReport | None = None
    checkers: dict[str, CallChecker] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.key_arn.split(":")[4]

    def checker(self, function: str, stage: str | None = None) -> CallChecker | None:
        """The IAM check for a function's calls, with its role's policies from the template (one per function)."""
        if self.template is None or self.facts is None:
            return None
        label = f"{stage}-{function}" if stage else function
        if label not in self.checkers:
            role_id = _function_role(self.template, function, stage)
            self.checkers[label] = CallChecker(self.template.attributes[role_id]["Arn"],
                                               role_documents(self.template, role_id), self.facts)
        return self.checkers[label]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto on a free loopback port; point every boto3 client in this process at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request access log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its state per process: start every embedded AWS empty.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()  # noqa: S310 - loopback
    saved = {name: os.environ.get(name) for name in (*_LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL")}
    os.environ.update(_LOCAL_CREDENTIALS, AWS_ENDPOINT_URL=endpoint)
    try:
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def synthesized_templates(config: EnvironmentConfig, out_dir: Path | None = None) -> list[Path]:
    """This environment's stack templates, synthesized offline (bundling off) as `make synth` does.

    The templates depend only on the code and the config: once per process, and kept on disk under
    .mlstack/synth/<hash of both> (a synth costs ~20 s of CDK start-up; `mlstack ingest` runs often)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # as the Makefile sets it
    from stacks.app import BUNDLE_FLAG_KEY, build_app

    # This config, not cdk.json's (a caller may have changed it), synthesized as the CLI does it.
    context = {**json.loads(CDK_JSON.read_text())["context"], "env": config.name, BUNDLE_FLAG_KEY: False,
               ENVIRONMENTS_KEY: {config.name: config.model_dump(mode="json", exclude={"name"})},
               "aws:cdk:enable-path-metadata": True}
    if out_dir is not None:
        build_app(context, outdir=str(out_dir)).synth()
        return environment_templates(Path(out_dir), config.name)
    cache_key = hashlib.sha256(json.dumps(context, sort_keys=True).encode() + _code_digest()).hexdigest()[:24]
    if cache_key not in _TEMPLATES:
        cached = SYNTH_CACHE / cache_key
        if not (cached / "manifest.json").is_file():
            SYNTH_CACHE.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=f"{cache_key}-", dir=SYNTH_CACHE))
            build_app(context, outdir=str(building)).synth()
            try:
                building.rename(cached)
            except OSError:  # another process cached the same synth meanwhile
                shutil.rmtree(building, ignore_errors=True)
            for stale in sorted(SYNTH_CACHE.iterdir(), key=lambda p: p.stat().st_mtime)[:-SYNTH_CACHE_KEPT]:
                shutil.rmtree(stale, ignore_errors=True)  # synths of code that has changed since
        _TEMPLATES[cache_key] = environment_templates(cached, config.name)
    return _TEMPLATES[cache_key]


@cache
def _code_digest() -> bytes:
    """Every source the templates are built from (the app, its stacks, and what they read)."""
    digest = hashlib.sha256()
    for root in SYNTH_INPUTS:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()
                                                      and "__pycache__" not in p.parts)
        for path in paths:
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.digest()


def provision_lake(config: EnvironmentConfig, *, region: str | None = None,
                   out_dir: Path | None = None) -> LocalLake:
    """Create the environment's stacks in the embedded AWS from their synthesized templates.

    The buckets the config names must be the template's: a difference raises (config and template
    disagree), rather than local mode running on resources the deploy would not create."""
    region = region or config.region
    template = Template.from_files(synthesized_templates(config, out_dir), config.account or LOCAL_ACCOUNT, region,
                                   config.resource_prefix())
    provisioner = Provisioner(template, lambda service: boto3.client(service, region_name=region))
    report = provisioner.provision()
    created = {template.physical[logical_id] for logical_id in template.of_type("AWS::S3::Bucket")}
    buckets = {zone: config.bucket_name(zone, template.account, region) for zone in ZONES}
    missing = {zone: name for zone, name in buckets.items() if name not in created}
    if missing:
        raise RuntimeError(f"the template creates no bucket named {missing}; it creates {sorted(created)}")
    key_id = next(iter(template.of_type("AWS::KMS::Key")))
    return LocalLake(key_arn=template.attributes[key_id]["Arn"], buckets=buckets, template=template,
                     facts=provisioner.facts(), report=report)


def _function_role(template: Template, function: str, stage: str | None) -> str:
    """Logical id of the role of lambdas/<function> (for inference, the given stage's function)."""
    for resource in template.of_type("AWS::Lambda::Function").values():
        path = resource["Metadata"]["aws:cdk:path"]
        if resource["Properties"]["Handler"] == f"lambdas.{function}.handler.handler" and (
                stage is None or f"/{stage.title()}Api/" in path):
            return resource["Properties"]["Role"]["Fn::GetAtt"][0]
    raise KeyError(f"the template has no function for lambdas/{function}" + (f" ({stage})" if stage else ""))


def role_documents(template: Template, role_logical_id: str) -> list[dict[str, Any]]:
    """Every policy document on a role, as the template attaches them (inline, managed, AWS::IAM::Policy)."""
    role_name = template.physical[role_logical_id]
    documents = [policy["PolicyDocument"] for policy in template.properties(role_logical_id).get("Policies", [])]
    for logical_id, resource in template.resources.items():
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            properties = template.properties(logical_id)
            if role_name in properties.get("Roles", []):
                documents.append(properties["PolicyDocument"])
    return documents
