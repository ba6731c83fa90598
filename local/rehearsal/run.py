"""`make rehearse`: synthesize with bundling on, deploy the template into an embedded AWS, run it.

The lifecycle of each environment, every step on what `cdk deploy` ships: a sample file lands in
raw/ and the ingest package curates it; the pipeline definition from the template trains in the
job image's environment and registers a version; a person approves it; the approval event,
matched with the template's own rule, reaches the deployer package; the staging inference
package answers health, schema and predict; `mlstack promote` meets the prod gate; the drift
package runs on its schedule; a drift alarm event matched with the retrain rule reaches the
retrain package; functions in a VPC have an endpoint for every service they called. Every AWS
call is authorized against the caller's role from the template. Exit 0 only when every check
passes and nothing was denied (docs/deployment.md: what this proves, and what it cannot).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from local.api import proxy_event
from local.cfn import Template, environment_templates
from local.embedded_aws import moto_server, role_documents
from local.iam import CallChecker, Facts
from local.lambda_runtime import LOCAL_ACCOUNT, s3_object_created_event, scheduled_event, sns_delivery
from local.provision import FAILED, Provisioner, ProvisionReport
from local.registry import set_approval
from local.rehearsal.jobs import job_images, run_pipeline
from local.rehearsal.packages import CACHE, LAMBDA_UNZIPPED_LIMIT_MB, FunctionRun, python_version, run_package
from mlstack.config import EnvironmentConfig, load_environments
from mlstack.datasets.samples import breast_cancer_files
from mlstack.events import ALARM_DETAIL_TYPE, matches
from pipelines.bundle import image_tag
from stacks.lambda_code import REPO_ROOT

ASSEMBLY = CACHE / "cdk.out"
REGION = "us-east-1"
# botocore endpoint prefix -> the VPC endpoint service a call from an isolated subnet needs.
ENDPOINT_SERVICES = {"api.sagemaker": "sagemaker.api", "runtime.sagemaker": "sagemaker.runtime"}


@dataclass
class Outcome:
    """Everything the report prints."""

    synth_seconds: float = 0.0
    deploy_rule_acknowledgments: int = 0
    provision: ProvisionReport = field(default_factory=ProvisionReport)
    functions: list[FunctionRun] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    iam_checks: list[dict[str, Any]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, ok, detail))
        return ok

    @property
    def denied(self) -> list[dict[str, Any]]:
        return [call for call in self.iam_checks if not call["allowed"]]

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.checks) and not self.denied


# --- synth ------------------------------------------------------------------------------------

def synthesize(env: str, out: Path) -> float:
    """`cdk synth` with bundling on (the deploy path) into `out`; seconds taken."""
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - the project's pinned CDK CLI (package.json)
        [str(REPO_ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices", "-c", f"env={env}",
         "-o", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.exit(f"rehearse: cdk synth failed:\n{(completed.stdout + completed.stderr)[-4000:]}")
    return time.perf_counter() - started


def deploy_rule_acknowledgments(assembly: Path) -> int:
    """Acknowledged MlStack.Deploy findings in the synth's validation report (unacknowledged ones fail synth)."""
    report = assembly / "validation-report.json"
    if not report.is_file():
        return 0
    plugins = json.loads(report.read_text()).get("pluginReports", [])
    return sum(1 for plugin in plugins for violation in plugin.get("violations", [])
               if violation.get("ruleName", "").startswith("MlStack.Deploy"))


# --- the deployed stack -----------------------------------------------------------------------

class Deployment:
    """An environment's stacks, provisioned in the embedded AWS as one deployment, and what runs against it."""

    def __init__(self, template: Template, endpoint: str) -> None:
        self.template, self.endpoint = template, endpoint
        self.session = boto3.Session(region_name=template.region, aws_access_key_id="admin",
                                     aws_secret_access_key="admin")  # noqa: S106 - the emulator's
        self.provisioner = Provisioner(template, self.client)
        self.assembly = template.path.parent  # asset paths are relative to the environment's nested assembly

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    def deploy(self) -> ProvisionReport:
        self._upload_file_assets()
        return self.provisioner.provision()

    def _upload_file_assets(self) -> None:
        """File assets at their destination keys, as cdk deploy publishes them (directories run in place)."""
        s3 = self.client("s3")
        for asset in self.template.assets().values():
            if asset["source"].get("packaging") != "file" or asset["source"]["path"].endswith(".template.json"):
                continue
            for destination in asset["destinations"].values():
                bucket = self.template.sub(destination["bucketName"])
                if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
                    s3.create_bucket(Bucket=bucket)
                s3.upload_file(str(self.assembly / asset["source"]["path"]), bucket, destination["objectKey"])

    @property
    def facts(self) -> Facts:
        return self.provisioner.facts()

    def checker(self, role_logical_id: str) -> CallChecker:
        return CallChecker(self.template.attributes[role_logical_id]["Arn"],
                           role_documents(self.template, role_logical_id), self.facts)

    def functions(self) -> dict[str, str]:
        """cdk path (without stage and stack) -> logical id, for every function."""
        return {resource["Metadata"]["aws:cdk:path"].split("/", 2)[2].removesuffix("/Function/Resource"): logical_id
                for logical_id, resource in self.template.of_type("AWS::Lambda::Function").items()}

    def invoke(self, logical_id: str, events: list[dict[str, Any]], label: str) -> FunctionRun:
        resource = self.template.resources[logical_id]
        properties = self.template.properties(logical_id)
        role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        name = self.template.physical[logical_id]
        environment = {
            **properties.get("Environment", {}).get("Variables", {}),
            "AWS_REGION": self.template.region, "AWS_DEFAULT_REGION": self.template.region,
            "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{properties['Runtime']}", "_HANDLER": properties["Handler"],
            "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal",
            "AWS_SESSION_TOKEN": "rehearsal", "AWS_ENDPOINT_URL": self.endpoint,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here: traces are not emulated
        }
        return run_package(
            name=label, package=self.assembly / resource["Metadata"]["aws:asset:path"],
            handler=properties["Handler"], version=python_version(properties["Runtime"]), environment=environment,
            events=events, principal_arn=self.template.attributes[role_id]["Arn"],
            policies=role_documents(self.template, role_id), facts=vars(self.facts),
            memory_mb=int(properties.get("MemorySize", 128)), timeout_seconds=int(properties.get("Timeout", 3)),
            function_arn=self.template.attributes[logical_id]["Arn"])

    def rule_patterns(self, target_logical_id: str) -> list[dict[str, Any]]:
        """The event patterns of the rules that target a function."""
        arn = self.template.attributes[target_logical_id]["Arn"]
        return [self.template.properties(rule_id)["EventPattern"]
                for rule_id, rule in self.template.of_type("AWS::Events::Rule").items()
                if "EventPattern" in rule["Properties"]
                and any(target["Arn"] == arn for target in self.template.properties(rule_id).get("Targets", []))]


# --- the lifecycle ----------------------------------------------------------------------------

class Lifecycle:
    """The scenarios, in order; each records its checks in the outcome."""

    def __init__(self, deployment: Deployment, outcome: Outcome, work_dir: Path, say: Callable[[str], None],
                 config: EnvironmentConfig) -> None:
        self.deployment, self.outcome, self.work_dir, self.say = deployment, outcome, work_dir, say
        self.template, self.config = deployment.template, config
        self.functions = deployment.functions()
        self.version_arn: str | None = None
        self.example: dict[str, Any] | None = None

    def _invoke(self, path: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        run = self.deployment.invoke(self.functions[path], events, path)
        self.outcome.functions.append(run)
        self.outcome.iam_checks += [dict(call, principal=path) for call in run.result.get("checked", [])]
        error = run.result.get("import_error")
        self.outcome.check(f"{path}: the package imports with only itself and the runtime's boto3",
                           error is None and not run.foreign_modules,
                           error.strip().splitlines()[-1] if error else ", ".join(run.foreign_modules[:3]))
        return run.result.get("invocations") or [{"response": None, "error": "not invoked: the import failed"}
                                                 for _ in events]

    def network(self) -> None:
        """Functions in a VPC reach AWS only through its endpoints: each service they called needs one."""
        for path, logical_id in self.functions.items():
            vpc_config = self.template.resources[logical_id]["Properties"].get("VpcConfig")
            if not vpc_config:
                continue
            group = self.template.resolve(vpc_config["SecurityGroupIds"][0])
            vpc = next(attributes["VpcId"] for attributes in self.template.attributes.values()
                       if attributes.get("GroupId") == group)
            available = self.deployment.provisioner.vpc_endpoints.get(vpc, set())
            called = {call["call"].rsplit(".", 1)[0] for call in self.outcome.iam_checks if call["principal"] == path}
            needed = {f"com.amazonaws.{self.template.region}.{ENDPOINT_SERVICES.get(prefix, prefix)}"
                      for prefix in called}
            missing = sorted(needed - available)
            self.outcome.check(f"network: {path} reaches every service it called through a VPC endpoint",
                               not missing, f"missing {', '.join(missing)}" if missing else
                               f"{len(needed)} service(s)")

    def _bucket(self, path_fragment: str) -> str:
        return next(self.template.physical[logical_id] for logical_id, resource in
                    self.template.of_type("AWS::S3::Bucket").items()
                    if path_fragment in resource["Metadata"]["aws:cdk:path"])

    def _subscribed_raw_topic(self, bucket: str, function_path: str) -> str | None:
        """The topic the raw bucket's ObjectCreated notification goes to, if the function subscribes to it."""
        [bucket_id] = [logical_id for logical_id in self.template.of_type("AWS::S3::Bucket")
                       if self.template.physical[logical_id] == bucket]
        function_arn = self.template.attributes[self.functions[function_path]]["Arn"]
        configured = self.template.properties(bucket_id).get("NotificationConfiguration", {})
        for topic in (item["Topic"] for item in configured.get("TopicConfigurations", [])):
            if any(self.template.properties(subscription_id).get("TopicArn") == topic
                   and self.template.properties(subscription_id).get("Endpoint") == function_arn
                   for subscription_id in self.template.of_type("AWS::SNS::Subscription")):
                return topic
        return None

    def ingest(self) -> None:
        sample = breast_cancer_files()[0]
        bucket, key = self._bucket("/Lake/Raw/"), f"raw/breast_cancer/{sample.name}"
        put = self.deployment.client("s3").put_object(Bucket=bucket, Key=key, Body=sample.content)
        notification = s3_object_created_event(bucket, key, size=len(sample.content), etag=put["ETag"],
                                               version_id=put.get("VersionId"), region=self.template.region)
        topic = self._subscribed_raw_topic(bucket, "Ingestion/Ingest")
        self.outcome.check("ingest: the raw bucket notifies a topic the ingest function subscribes to",
                           topic is not None, topic or "no such topic and subscription in the templates")
        invocation = self._invoke("Ingestion/Ingest", [sns_delivery(topic or "", notification)])[0]
        result = (invocation.get("response") or {}).get("results", [{}])[0]
        self.outcome.check("ingest: a clean sample file is curated", result.get("rows_valid") == sample.rows,
                           invocation.get("error") or f"{result.get('outcome')}: {result.get('rows_valid')} of "
                                                      f"{sample.rows} rows valid")

    def train(self) -> None:
        logical_id, pipeline = next(iter(self.template.of_type("AWS::SageMaker::Pipeline").items()))
        properties = self.template.properties(logical_id)
        role_id = pipeline["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        checker = self.deployment.checker(role_id)
        images = job_images(json.loads(properties["PipelineDefinition"]["PipelineDefinitionBody"]))
        ours = {attributes["RepositoryUri"] for attributes in self.template.attributes.values()
                if "RepositoryUri" in attributes}
        self.outcome.check("pipeline: its jobs run the project's image (pipelines/image, the one rehearsed here)",
                           all(any(image == f"{uri}:{image_tag()}" for uri in ours) for image in images),
                           ", ".join(sorted(images)) + ("" if ours else "; the stack has no job image repository"))
        self.say("  pipeline: the template's definition, jobs in the job image's environment ...")
        result = run_pipeline(properties["PipelineDefinition"]["PipelineDefinitionBody"], checker=checker,
                                      s3=self.deployment.client("s3"), sagemaker=self.deployment.client("sagemaker"),
                                      work_dir=self.work_dir / "pipeline", parameters={"Recipe": "tabular"},
                                      progress=lambda line: self.say(f"  {line}"))
        self.outcome.iam_checks += [dict(call, principal="Training/Role (SageMaker jobs)") for call in checker.checked]
        self.outcome.check("pipeline: trains, evaluates, passes the gate and registers a version",
                           result.status == "Succeeded" and bool(result.model_package_arn),
                           result.failure_reason or str(result.model_package_arn))
        self.version_arn = result.model_package_arn

    def deploy(self) -> None:
        if not self.version_arn:
            self.outcome.check("deploy: an approved version reaches staging", False, "no version was registered")
            return
        event = set_approval(self.deployment.client("sagemaker"), self.version_arn, "Approved",
                             "rehearsal: approved as in SageMaker Studio")
        deployer = self.functions["Registry/Deployer"]
        patterns = self.deployment.rule_patterns(deployer)
        self.outcome.check("deploy: the approval event matches the template's rule",
                           any(matches(pattern, event) for pattern in patterns), f"{len(patterns)} rule(s)")
        invocation = self._invoke("Registry/Deployer", [event])[0]
        response = invocation.get("response") or {}
        self.outcome.check("deploy: the deployer publishes the approved version to staging",
                           invocation.get("error") is None and response.get("outcome") not in (None, "failed"),
                           invocation.get("error") or json.dumps(response)[:300])

    def serve(self) -> None:
        schema_event = proxy_event("GET", "/v1/schema", {}, b"")
        events = [proxy_event("GET", "/v1/health", {}, b""), schema_event]
        first = self._invoke("StagingApi/Inference", events)
        statuses = [item.get("response", {}) and item["response"].get("statusCode") for item in first]
        self.outcome.check("inference: health and schema answer 200", statuses == [200, 200],
                           f"statuses {statuses}; {first[0].get('error') or ''}")
        example = json.loads(first[1]["response"]["body"]).get("example") if statuses[1:] == [200] else None
        if example is None:
            return
        self.example = example
        answer = self._invoke("StagingApi/Inference", [_predict_event(example, 3)])[0].get("response") or {}
        predictions = json.loads(answer.get("body") or "{}").get("predictions", [])
        self.outcome.check("inference: predict answers 200 with a prediction per instance",
                           answer.get("statusCode") == 200 and len(predictions) == 3,
                           f"status {answer.get('statusCode')}, {len(predictions)} predictions")

    def promote(self) -> None:
        """`mlstack promote` as the release manager (admin credentials, as a person has): the gate decides."""
        from mlstack.cli import main as cli

        settings = self.config.deployment
        expected = 0 if settings.soak_hours == 0 else 2  # refused until staging has soaked
        code = cli(["promote", "--env", self.config.name])  # as the caller STS names
        self.outcome.check(f"promote: the prod gate {'promotes' if expected == 0 else 'refuses (soak)'} v1",
                           code == expected, f"exit {code}")
        if code == 0 and self.example is not None:
            answer = self._invoke("ProdApi/Inference", [_predict_event(self.example, 20)])[0].get("response") or {}
            self.outcome.check("inference: prod answers 200 after the promotion", answer.get("statusCode") == 200,
                               f"status {answer.get('statusCode')}")

    def monitor(self) -> None:
        drift = self._invoke("Monitoring/Drift", [scheduled_event(self.template.region, rule="drift-schedule")])[0]
        self.outcome.check("drift: the scheduled run completes", drift.get("error") is None,
                           drift.get("error") or json.dumps(drift.get("response"))[:200])
        retrain = self.functions["Monitoring/Retrain"]
        pattern = next(iter(self.deployment.rule_patterns(retrain)), None)
        alarm = (pattern or {}).get("detail", {}).get("alarmName", ["?"])[0]
        event = _alarm_event(alarm, self.template.region, self.template.account)
        self.outcome.check("retrain: a drift alarm event matches the template's rule",
                           pattern is not None and matches(pattern, event), alarm)
        invocation = self._invoke("Monitoring/Retrain", [event])[0]
        decision = (invocation.get("response") or {}).get("decision")
        self.outcome.check("retrain: the guarded retrain starts the pipeline", decision == "started",
                           invocation.get("error") or str(decision))


def _predict_event(instance: dict[str, Any], count: int) -> dict[str, Any]:
    body = json.dumps({"instances": [instance] * count}).encode()
    return proxy_event("POST", "/v1/predict", {"content-type": "application/json"}, body)


def _alarm_event(alarm: str, region: str, account: str) -> dict[str, Any]:
    when = datetime.now(UTC).isoformat(timespec="milliseconds")
    return {"version": "0", "id": f"rehearsal-{alarm}", "source": "aws.cloudwatch", "detail-type": ALARM_DETAIL_TYPE,
            "account": account, "region": region, "time": when,
            "resources": [f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}"],
            "detail": {"alarmName": alarm, "state": {"value": "ALARM", "reason": "rehearsal", "timestamp": when,
                                                     "reasonData": json.dumps({"recentDatapoints": [3.0, 3.0]})},
                       "previousState": {"value": "OK"}}}


# --- report -----------------------------------------------------------------------------------

def report(outcome: Outcome) -> str:
    lines = [f"synth with bundling: {outcome.synth_seconds:.1f} s; MlStack.Deploy findings: 0 unacknowledged "
             f"(synth fails on any), {outcome.deploy_rule_acknowledgments} acknowledged", "",
             "functions (package as cdk deploy uploads it, run by the runtime's Python with -I):",
             f"  {'function':<24} {'unzipped MB':>11} {'of limit':>8} {'imports':>8} {'invokes':>8} "
             f"{'cold start ms':>13}  (the slowest of its cold starts)"]
    names = dict.fromkeys(run.name for run in outcome.functions)  # each function once, every cold start of it
    for name in names:
        runs = [run for run in outcome.functions if run.name == name]
        ok = all(run.result.get("import_error") is None and not run.foreign_modules for run in runs)
        invokes = [item.get("error") is None for run in runs for item in run.result.get("invocations", [])]
        cold = max(run.result.get("cold_start_ms", 0) for run in runs)
        lines.append(f"  {name:<24} {runs[0].size_mb:>11.1f} {runs[0].size_mb / LAMBDA_UNZIPPED_LIMIT_MB:>8.0%} "
                     f"{'ok' if ok else 'FAILED':>8} {f'{sum(invokes)}/{len(invokes)}':>8} {cold:>13.0f}")
    lines += ["", "resources (from the template's definitions):",
              f"  {'type':<36} {'created':>7} {'emulated':>8} {'not supported':>13} {'failed':>6}"]
    for resource_type, counts in outcome.provision.by_type().items():
        lines.append(f"  {resource_type:<36} {counts['created']:>7} {counts['emulated']:>8} "
                     f"{counts['not supported']:>13} {counts[FAILED]:>6}")
    lines += [f"  {row[0]} {row[1]}: {row[3]}" for row in outcome.provision.rows if row[2] == FAILED]
    unevaluated = sorted({key for call in outcome.iam_checks for key in call["unevaluated"]})
    lines += ["", f"IAM: {len(outcome.iam_checks)} requests checked against the callers' roles, "
                  f"{len(outcome.denied)} denied; condition keys not evaluated: {', '.join(unevaluated) or 'none'}"]
    lines += [f"  DENIED {call['principal']}: {call['action']} on {call['resource']} ({call['call']})"
              for call in outcome.denied]
    lines += ["", "lifecycle checks:"] + [f"  {'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else "")
                                          for name, ok, detail in outcome.checks]
    return "\n".join(lines)


def rehearse_environment(env: str, say: Callable[[str], None] = print) -> Outcome:
    """The lifecycle of one environment on its template from the last synth (ASSEMBLY)."""
    outcome = Outcome(deploy_rule_acknowledgments=deploy_rule_acknowledgments(ASSEMBLY))
    paths = environment_templates(ASSEMBLY, env)
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="rehearse-") as work:
        template = Template.from_files(paths, LOCAL_ACCOUNT, REGION, load_environments()[env].resource_prefix())
        deployment = Deployment(template, endpoint)
        say(f"rehearse: {env}: {len(paths)} stacks, {len(template.resources)} resources into the embedded AWS ...")
        outcome.provision = deployment.deploy()
        lifecycle = Lifecycle(deployment, outcome, Path(work), say, load_environments()[env])
        for stage in (lifecycle.ingest, lifecycle.train, lifecycle.deploy, lifecycle.serve, lifecycle.promote,
                      lifecycle.monitor, lifecycle.network):
            say(f"rehearse {env}: {stage.__name__} ...")
            stage()
    (CACHE / f"report-{env}.json").write_text(json.dumps({
        "checks": outcome.checks, "iam": outcome.iam_checks,
        "functions": [{"name": r.name, "size_mb": r.size_mb, "cold_start_ms": r.result.get("cold_start_ms"),
                       "wall_ms": r.wall_ms, "import_error": r.result.get("import_error")} for r in outcome.functions],
        "resources": outcome.provision.rows}, indent=1, default=str))
    return outcome


def main(argv: list[str] | None = None) -> int:
    environments = list(load_environments())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", choices=environments,
                        help="environment to rehearse, repeatable (default: every environment in cdk.json)")
    parser.add_argument("--no-synth", action="store_true", help="reuse .mlstack/rehearse/cdk.out")
    args = parser.parse_args(argv)
    envs = args.env or environments
    started = time.perf_counter()
    synth_seconds = 0.0
    if not args.no_synth:
        print(f"rehearse: cdk synth -c env={','.join(envs)} with bundling (packages cached by requirements hash) ...")
        synth_seconds = synthesize(",".join(envs), ASSEMBLY)
    outcomes = {env: rehearse_environment(env) for env in envs}
    for env, outcome in outcomes.items():
        outcome.synth_seconds = synth_seconds
        print(f"\n=== {env} ===\n{report(outcome)}")
    passed = all(outcome.passed for outcome in outcomes.values())
    print(f"\nrehearse: {'passed' if passed else 'FAILED'} ({', '.join(envs)}) in "
          f"{time.perf_counter() - started:.0f} s (reports: {CACHE}/report-<env>.json)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
