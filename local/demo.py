"""`mlstack demo`: the lifecycle on one machine, stage by stage, on the embedded AWS.

Stages so far: embedded-aws (moto server + lake from config), ingest (sample data, clean and
corrupted, through the real ingest handler), train (the rendered SageMaker pipeline run locally:
preprocess, train, evaluate, quality gate, register PendingManualApproval), deploy (approve as
Studio does, the state-change event through the stack's pattern to the deployer: staging; then the
gated promotion to prod; the audit trail), serve (the inference API on 127.0.0.1 answering real
HTTP requests, valid and invalid, with the prod model). Later stages plug in here as capabilities land.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local.embedded_aws import LocalLake, moto_server, provision_lake
from local.ingestion import LocalIngestion
from local.stages import STAGES
from local.traffic import sample_instances
from mlstack.config import EnvironmentConfig, load_environments
from mlstack.datasets.samples import sample_files
from mlstack.lake import (
    BASELINE_FILE,
    CURATED_PREFIX,
    MANIFESTS_PREFIX,
    QUARANTINE_PREFIX,
    read_json_object,
    serving_key,
)
from pipelines.recipes import get_recipe


class StageFailedError(RuntimeError):
    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        super().__init__(f"stage '{stage}' failed: {type(error).__name__}: {error}")


@dataclass
class DemoRun:
    config: EnvironmentConfig
    out_dir: Path
    recipe: str = "tabular"
    endpoint: str = ""
    lake: LocalLake | None = None
    ingested: list[dict[str, Any]] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    monitoring: dict[str, Any] = field(default_factory=dict)
    model_card: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def _say(message: str) -> None:
    print(message, flush=True)


def stage_embedded_aws(run: DemoRun) -> None:
    started = time.perf_counter()
    run.lake = provision_lake(run.config, out_dir=run.out_dir / "cdk.out")
    _say(f"  moto server at {run.endpoint} (nothing leaves 127.0.0.1); the stack created from its synthesized "
         f"template (cdk synth {run.config.name}, bundling off: {time.perf_counter() - started:.1f} s)")
    counts = {verdict: sum(1 for row in run.lake.report.rows if row[2] == verdict)
              for verdict in ("created", "emulated", "not supported")}
    _say(f"  resources: {counts['created']} created, {counts['emulated']} emulated, {counts['not supported']} not "
         "supported (API Gateway, WAF: the local API stands in); `make rehearse` prints them per type")
    _say(f"  KMS key {run.lake.key_arn}")
    for zone, bucket in run.lake.buckets.items():
        _say(f"  bucket {zone:<12} s3://{bucket}")
    _say("  every AWS call a handler makes is checked against its function's role from the template")


def stage_ingest(run: DemoRun) -> None:
    _say("  (emulated: S3 does not invoke Lambda in moto; the real handler is called in-process)")
    ingestion = LocalIngestion(run.config, run.lake)
    header = f"  {'file':<34} {'outcome':<9} {'rows in':>7} {'valid':>6} {'quarantined':>11}"
    _say(header)
    for dataset, files in sample_files().items():
        for sample in files:
            result = ingestion.ingest(dataset, sample.name, sample.content)
            _say(f"  {sample.name:<34} {result['outcome']:<9} {result['rows_in']:>7} {result['rows_valid']:>6} "
                 f"{result['rows_quarantined']:>11}")
            if result["rows_in"] != result["rows_valid"] + result["rows_quarantined"]:
                raise RuntimeError(f"{sample.name}: counts do not reconcile: {result}")
            for reason, count in result["quarantine_reasons"].items():
                _say(f"      {count} x {reason}")
            if result.get("phi_identifiers"):
                found = ", ".join(f"{kind} {n}" for kind, n in result["phi_identifiers"].items())
                _say(f"      PHI de-identified before curated/ ({run.config.ingest.policy_for(dataset)}): {found}")
            run.ingested.append({"dataset": dataset, "file": sample.name, **result})
    _list_landed(run)


def _list_landed(run: DemoRun) -> None:
    s3 = boto3.client("s3", region_name=run.config.region)
    _say("  landed:")
    for zone, prefixes in (("curated", (CURATED_PREFIX, MANIFESTS_PREFIX)), ("raw", (QUARANTINE_PREFIX,))):
        bucket = run.lake.buckets[zone]
        for prefix in prefixes:
            for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
                _say(f"    s3://{bucket}/{obj['Key']}  ({obj['Size']} bytes)")


def stage_train(run: DemoRun) -> None:
    from local.training import run_training

    recipe = get_recipe(run.recipe)
    input_uri = f"s3://{run.lake.buckets['curated']}/{CURATED_PREFIX}{recipe.dataset}/"
    _say(f"  recipe {recipe.name} on {input_uri}")
    _say("  (emulated: steps run with this machine's Python, not SageMaker containers; definition: "
         "pipelines/definition.json)")
    result = run_training(run.config, run.lake, recipe=recipe.name, input_uri=input_uri,
                          work_dir=run.out_dir / "pipeline", progress=_say)
    if result.status != "Succeeded":
        raise RuntimeError(result.failure_reason)
    evaluation = result.evaluation
    metrics = {k: round(v["value"], 4) for k, v in evaluation["quality_gate"].items()}
    onnx = evaluation["onnx"]
    _say(f"  test metrics (what the quality gate compares): {metrics}")
    if "entity_metrics" in evaluation:
        for kind, scores in evaluation["entity_metrics"]["strict"]["per_type"].items():
            _say(f"    {kind:<10} precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  "
                 f"F1 {scores['f1']:.3f}  (strict, {scores['tp'] + scores['fn']} in the test split)")
    _say(f"  ONNX parity: {_parity_line(onnx)}")
    _say(f"  registered {result.model_package_arn} (PendingManualApproval: waits for a person to approve)")
    run.training = {"recipe": recipe.name, "model_package_arn": result.model_package_arn, "metrics": metrics,
                    "onnx": onnx, "entity_metrics": evaluation.get("entity_metrics"),
                    "steps": [(s.name, s.status, round(s.seconds, 1)) for s in result.steps]}


def _parity_line(onnx: dict[str, Any]) -> str:
    if "spans_identical" in onnx:
        return f"spans identical={onnx['spans_identical']}, max score difference={onnx['max_score_difference']:.1e}"
    return (f"labels identical={onnx['labels_identical']}, "
            f"max probability difference={onnx['max_probability_difference']:.1e}")


def stage_deploy(run: DemoRun) -> None:
    from lambdas.deploy.deployer import Deployer
    from local.lambda_runtime import LOCAL_ACCOUNT
    from local.registry import LocalDeployment, set_approval

    region = run.config.region
    sagemaker = boto3.client("sagemaker", region_name=region)
    deployment = LocalDeployment(run.config, run.lake, region)
    arn = run.training["model_package_arn"]
    _say("  (emulated: moto emits no registry state-change events; each is built from DescribeModelPackage and "
         "routed through the stack's event pattern to the deployer handler, in-process)")
    event = set_approval(sagemaker, arn, "PendingManualApproval", "back in review")
    _say(f"  PendingManualApproval -> routed to deployer: {deployment.deliver(event) is not None}")
    event = set_approval(sagemaker, arn, "Approved", "Approved in the demo: test metrics above the gate")
    _say(f"  Approved (as the Studio button does) -> deployer: {deployment.deliver(event)}")
    _show_model_card(run, sagemaker, arn)
    deployer = Deployer.from_config(run.config, account=LOCAL_ACCOUNT, region=region, session=boto3.session.Session())
    record = deployer.promote(Deployer.policy_for(run.config), "release-manager",
                              boto3.client("cloudwatch", region_name=region))
    _say(f"  mlstack promote -> {record.stage}: {record.outcome} ({record.detail}); soak "
         f"{run.config.deployment.soak_hours} h and two-person={run.config.deployment.two_person_prod} in "
         f"{run.config.name} config")
    _say("  audit trail (Object Lock bucket, also announced on the deployments topic):")
    for entry in deployer.audit.trail():
        _say(f"    {entry.at}  {entry.action:<8} {entry.stage:<8} {entry.outcome:<9} v{entry.model_version} "
             f"by {entry.actor}: {entry.detail}; metrics {entry.metrics}")
        run.audit.append(entry.model_dump())
    from local.serve import save_served_model

    live = deployer.pointer.current("prod")
    saved = save_served_model(deployer.s3, run.lake.buckets["artifacts"], live.model_uri, run.out_dir)
    _say(f"  prod model saved to {saved} (make serve serves it)")


def _show_model_card(run: DemoRun, sagemaker: Any, arn: str) -> None:
    from lambdas.deploy.model_card import MODEL_CARDS_PREFIX, card_name
    from lambdas.deploy.registry import ModelVersion

    version = ModelVersion.from_description(sagemaker.describe_model_package(ModelPackageName=arn))
    name = card_name(version)
    status = sagemaker.describe_model_card(ModelCardName=name)["ModelCardStatus"]
    key = f"{MODEL_CARDS_PREFIX}{version.group}/v{version.version}.md"
    run.model_card = boto3.client("s3", region_name=run.config.region).get_object(
        Bucket=run.lake.buckets["artifacts"], Key=key)["Body"].read().decode()
    _say(f"  model card {name} ({status}) written at approval; rendered copy s3://{run.lake.buckets['artifacts']}/{key}")


def _demo_requests(example: dict[str, Any], rows: list[dict[str, Any]]) -> list[tuple[str, str, str, dict[str, str],
                                                                                     bytes]]:
    """(what, method, path, headers, body): the contract exercised as a client would."""
    json_type = {"Content-Type": "application/json"}
    name = next(iter(example))
    bad = dict(example, **{name: "not a number" if isinstance(example[name], int | float) else 12345})
    return [
        ("health", "GET", "/v1/health", {}, b""),
        ("one instance", "POST", "/v1/predict", json_type, json.dumps({"instances": [example]}).encode()),
        ("100 instances", "POST", "/v1/predict", json_type, json.dumps({"instances": rows}).encode()),
        ("invalid field", "POST", "/v1/predict", json_type, json.dumps({"instances": [bad]}).encode()),
        ("not JSON", "POST", "/v1/predict", json_type, b"{oops"),
        ("wrong content type", "POST", "/v1/predict", {"Content-Type": "text/csv"}, b"1,2,3"),
        ("unknown route", "GET", "/v1/nothing", {}, b""),
    ]


def _http(url: str, method: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes, float]:
    """(status, body, milliseconds) of one request to the local API on loopback, as a client sends it."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body or None, headers=headers, method=method)  # noqa: S310 - loopback
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    return status, payload, (time.perf_counter() - started) * 1000


def stage_serve(run: DemoRun) -> None:
    from local.api import LocalApi, http_server

    _say("  (emulated: API Gateway's routing, API key check and payload limit run in a local HTTP server that "
         "builds proxy events for the real inference handler; IAM auth, throttling and WAF exist only on AWS)")
    api = LocalApi(run.config, run.lake, stage="prod", capture_sample_rate=1.0)
    with http_server(api) as url:
        _say(f"  local API at {url} (prod stage)")
        schema = json.loads(_http(f"{url}/v1/schema", "GET", {})[1])
        rows = sample_instances(get_recipe(run.recipe), 100)
        for what, method, path, headers, body in _demo_requests(schema["example"], rows):
            status, payload, milliseconds = _http(f"{url}{path}", method, headers, body)
            summary = _summarize(json.loads(payload))
            _say(f"  {method:<4} {path:<12} {what:<19} -> {status} in {milliseconds:5.1f} ms  {summary}")
            run.requests.append({"what": what, "method": method, "path": path, "status": status,
                                 "ms": round(milliseconds, 1), "summary": summary})
    api.flush_capture()
    captured = boto3.client("s3", region_name=run.config.region).list_objects_v2(
        Bucket=run.lake.buckets["capture"], Prefix="capture/").get("KeyCount", 0)
    _say(f"  captured for drift monitoring: {captured} object(s) in s3://{run.lake.buckets['capture']}/capture/")


def _summarize(payload: dict[str, Any]) -> str:
    if "error" in payload:
        error = payload["error"]
        return f"{error['code']}" + (f" (field {error['field']})" if error.get("field") else "")
    if "predictions" in payload:
        first = payload["predictions"][0]
        shown = (f"{len(first['entities'])} entities ({', '.join(span['type'] for span in first['entities'][:4])}"
                 f"{', ...' if len(first['entities']) > 4 else ''})" if "entities" in first else first["label"])
        return f"{payload['model_version']}: {len(payload['predictions'])} prediction(s), first {shown}"
    return json.dumps(payload)


def _post_instances(url: str, instances: list[dict[str, Any]], batch: int = 100) -> dict[int, int]:
    """POST /v1/predict in batches, as a client would; returns {status: requests}."""
    statuses: dict[int, int] = {}
    for start in range(0, len(instances), batch):
        body = json.dumps({"instances": instances[start:start + batch]}).encode()
        status = _http(f"{url}/v1/predict", "POST", {"Content-Type": "application/json"}, body)[0]
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def _drift_line(result: dict[str, Any]) -> str:
    summary = result["summary"]
    if result["outcome"] != "compared":
        return f"{result['outcome']} ({summary.get('window_rows', 0)} rows)"
    drifted = f" {', '.join(summary['drifted'])}" if summary["drifted"] else ""
    return (f"{summary['window_rows']} rows: {summary['drifted_features']} of {summary['features']} features "
            f"drifted{drifted}; max PSI {summary['max_psi']:.2f} ({summary['max_psi_feature']}), "
            f"prediction PSI {summary['prediction_psi'] or 0:.2f}")


def stage_monitor(run: DemoRun) -> None:
    from datetime import UTC, datetime, timedelta

    from local.api import LocalApi, http_server
    from local.monitoring import LocalMonitoring
    from local.traffic import drift, drifted_features

    config, recipe = run.config, get_recipe(run.recipe)
    settings = config.monitoring
    monitoring = LocalMonitoring(config, run.lake, run.lake.template.body, recipe=recipe.name)
    _say(f"  alarms ({len(monitoring.alarms)}) and the retrain rule taken from the synthesized template")
    _say("  (emulated: moto evaluates no alarms. Local mode evaluates the template's alarm definitions against the "
         "metrics recorded in moto, the way CloudWatch does, and fires their actions: SNS to a local on-call queue, "
         "the state-change event through the retrain rule's pattern to the retrain handler, in-process. The drift "
         f"schedule (every {settings.schedule_minutes} min) is played back on a simulated clock.)")
    api = LocalApi(config, run.lake, stage=settings.stage, capture_sample_rate=1.0)
    normal = sample_instances(recipe, 400, seed=11)
    shifted = drift(recipe, sample_instances(recipe, 1600, seed=12))
    period = timedelta(minutes=settings.schedule_minutes)
    runs = []
    with http_server(api) as url:
        _say(f"  normal traffic: {len(normal)} instances -> {_post_instances(url, normal)} (status: requests)")
        api.flush_capture()
        first = datetime.now(UTC) + timedelta(seconds=1)
        runs.append((first, monitoring.run_drift(first)))
        _say(f"  drift run at {first:%H:%M} (simulated): {_drift_line(runs[-1][1])}")
        _say(f"  drifted traffic: {len(shifted)} instances, {', '.join(drifted_features(recipe))} shifted -> "
             f"{_post_instances(url, shifted)}")
        api.flush_capture()
    for step in (1, 2):
        at = first + step * period
        runs.append((at, monitoring.run_drift(at)))
        _say(f"  drift run at {at:%H:%M} (simulated): {_drift_line(runs[-1][1])}")
    evaluations, firings = monitoring.evaluate_all(runs[-1][0])
    evaluated = [e for e in evaluations if e.state != "NOT_EVALUATED"]
    _say(f"  alarms evaluated locally: {len(evaluated)} of {len(evaluations)} (the rest need AWS metrics: "
         "API Gateway, Lambda, metric math)")
    for evaluation in evaluated:
        if evaluation.state == "ALARM" or evaluation.alarm.endswith("drift"):
            _say(f"    {evaluation.alarm:<34} {evaluation.state:<17} {evaluation.reason}")
    run.monitoring = {"runs": [{"at": at.isoformat(timespec="minutes"), **result} for at, result in runs],
                      "alarms": [vars(e) | {"datapoints": list(e.datapoints)} for e in evaluated], "retrain": []}
    if not firings:
        raise RuntimeError("the drifted traffic fired no alarm")
    for notification in monitoring.notifications():
        _say(f"  on-call notified (SNS -> local subscriber): {notification['AlarmName']} is "
             f"{notification['NewStateValue']}")
    for firing in firings:
        _say(f"  {firing.evaluation.alarm} -> retrain rule -> {_retrain_line(firing.retrain)}")
        run.monitoring["retrain"].append(firing.retrain)
    started_runs = [f.retrain for f in firings if f.retrain and f.retrain["decision"] == "started"]
    if len(started_runs) != 1:
        raise RuntimeError(f"expected exactly one retraining start, got {len(started_runs)}")
    again = monitoring.deliver(firings[0].event)  # EventBridge delivers at least once: a duplicate must not start
    _say(f"  the same alarm event delivered again -> {_retrain_line(again)}")
    run.monitoring["retrain"].append(again)
    _retrain_locally(run, started_runs[0])
    s3, last = boto3.client("s3", region_name=config.region), runs[-1][1]
    run.monitoring["drift_report"] = read_json_object(s3, last["report_uri"])
    baseline_key = serving_key(settings.stage, last["model_version"], BASELINE_FILE)
    run.monitoring["baseline"] = read_json_object(s3, f"s3://{run.lake.buckets['artifacts']}/{baseline_key}")
    _say(f"  drift report: {last['report_uri']}")



def _retrain_line(record: dict[str, Any] | None) -> str:
    if record is None:
        return "not routed"
    return f"{record['decision']}: {record['detail']}"


def _retrain_locally(run: DemoRun, started: dict[str, Any]) -> None:
    """moto marks the execution Succeeded without running it: local mode runs the steps with its parameters."""
    from local.training import run_training

    parameters = started["parameters"]
    _say(f"  execution {started['execution_arn'].rsplit('/', 1)[-1]} (moto runs no steps; running them locally, "
         f"parameters {parameters})")
    result = run_training(run.config, run.lake, recipe=parameters["Recipe"], input_uri=parameters["InputDataUri"],
                          work_dir=run.out_dir / "pipeline-retrain", progress=lambda line: _say(f"  {line}"))
    if result.status != "Succeeded":
        raise RuntimeError(f"retraining failed: {result.failure_reason}")
    status = boto3.client("sagemaker", region_name=run.config.region).describe_model_package(
        ModelPackageName=result.model_package_arn)["ModelApprovalStatus"]
    _say(f"  new version {result.model_package_arn}: {status} (a person approves it, as always)")
    run.monitoring["new_version"] = {"arn": result.model_package_arn, "status": status}


STAGE_FUNCTIONS: dict[str, Callable[[DemoRun], None]] = {
    "embedded-aws": stage_embedded_aws,
    "ingest": stage_ingest,
    "train": stage_train,
    "deploy": stage_deploy,
    "serve": stage_serve,
    "monitor": stage_monitor,
}


def write_report(run: DemoRun) -> Path:
    run.out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# mlstack local run", "", f"Environment: `{run.config.name}` (embedded AWS at {run.endpoint})", "",
             "## Stages", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {seconds:.2f} |" for stage, seconds in run.timings.items()]
    if run.ingested:
        lines += ["", "## Ingestion", "", "| dataset | file | outcome | rows in | valid | quarantined |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['dataset']} | {r['file']} | {r['outcome']} | {r['rows_in']} | {r['rows_valid']} | "
                  f"{r['rows_quarantined']} |" for r in run.ingested]
    if run.training:
        lines += ["", "## Training", "", f"Recipe `{run.training['recipe']}`, registered "
                  f"`{run.training['model_package_arn']}` (PendingManualApproval).", "",
                  "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in run.training["metrics"].items()]
        lines += [f"| ONNX parity | {_parity_line(run.training['onnx'])} |"]
        if run.training.get("entity_metrics"):
            lines += ["", "| entity type | strict P | strict R | strict F1 | overlap F1 | in test split |",
                      "|---|---|---|---|---|---|"]
            strict, overlap = (run.training["entity_metrics"][m]["per_type"] for m in ("strict", "overlap"))
            lines += [f"| {kind} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
                      f"{overlap[kind]['f1']:.3f} | {s['tp'] + s['fn']} |" for kind, s in strict.items()]
    if run.audit:
        lines += ["", "## Audit trail", "", "| at | action | stage | outcome | version | actor | detail |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {a['at']} | {a['action']} | {a['stage']} | {a['outcome']} | v{a['model_version']} | "
                  f"{a['actor']} | {a['detail']} |" for a in run.audit]
    if run.requests:
        lines += ["", "## Inference API (local, prod stage)", "", "| request | status | ms | result |",
                  "|---|---|---|---|"]
        lines += [f"| {r['method']} {r['path']} ({r['what']}) | {r['status']} | {r['ms']} | {r['summary']} |"
                  for r in run.requests]
    if run.model_card:  # its headings one level down, inside the report
        lines += ["", *("#" + line if line.startswith("#") else line for line in run.model_card.splitlines())]
    lines += _plots(run) + _monitoring_section(run)
    report = run.out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (run.out_dir / "ingestion.json").write_text(json.dumps(run.ingested, indent=2))
    return report


def _plots(run: DemoRun) -> list[str]:
    """PNG plots beside the report: test metrics, PSI per feature, the most drifted feature's distribution."""
    from mlstack.drift import ranked_features
    from mlstack.drift_report import distribution_png, metrics_png, psi_chart_png

    plots: list[tuple[str, str, bytes]] = []
    if run.training:
        plots.append(("Test metrics of the registered version", "metrics.png", metrics_png(run.training["metrics"])))
    report, baseline = run.monitoring.get("drift_report"), run.monitoring.get("baseline")
    if report and baseline:
        plots.append(("Drift per feature (last drift run)", "drift-psi.png", psi_chart_png(report)))
        top = ranked_features(report)[0]
        plots.append((f"Distribution of {top}: training baseline vs window", "drift-top-feature.png",
                      distribution_png(baseline, report, top)))
    lines = ["", "## Plots"] if plots else []
    for title, name, png in plots:
        (run.out_dir / name).write_bytes(png)
        lines += ["", f"![{title}]({name})"]
    return lines


def _monitoring_section(run: DemoRun) -> list[str]:
    monitoring = run.monitoring
    if not monitoring:
        return []
    lines = ["", "## Monitoring (drift, alarms, retraining)", "", "| drift run (simulated time) | outcome | rows | "
             "drifted features | max PSI |", "|---|---|---|---|---|"]
    lines += [f"| {r['at']} | {r['outcome']} | {r['summary'].get('window_rows')} | "
              f"{', '.join(r['summary'].get('drifted') or []) or '-'} | {r['summary'].get('max_psi') or 0:.3f} |"
              for r in monitoring["runs"]]
    lines += ["", "| alarm (evaluated locally) | state | reason |", "|---|---|---|"]
    lines += [f"| {a['alarm']} | {a['state']} | {a['reason']} |" for a in monitoring["alarms"]]
    lines += ["", "| retrain decision | detail |", "|---|---|"]
    lines += [f"| {r['decision']} | {r['detail']} |" for r in monitoring["retrain"] if r]
    if "new_version" in monitoring:
        lines += ["", f"New version `{monitoring['new_version']['arn']}`: {monitoring['new_version']['status']}."]
    return lines


def iam_summary(run: DemoRun) -> str:
    """How many of the handlers' AWS requests were checked against their roles, and any denied."""
    checked = [call for checker in run.lake.checkers.values() for call in checker.checked] if run.lake else []
    denied = [f"{call['action']} on {call['resource']}" for call in checked if not call["allowed"]]
    return (f"IAM: {len(checked)} requests by {len(run.lake.checkers) if run.lake else 0} functions checked against "
            f"their roles from the template, {len(denied)} denied" + "".join(f"\n  DENIED {d}" for d in denied))


def run_demo(out_dir: Path, env_name: str = "dev", stop_after: str | None = None,
             recipe: str = "tabular") -> DemoRun:
    """Run every stage (or up to stop_after); raise StageFailedError naming the failing stage."""
    config = load_environments()[env_name]
    run = DemoRun(config=config, out_dir=out_dir, recipe=recipe)
    stages = STAGES[: STAGES.index(stop_after) + 1] if stop_after else STAGES
    with moto_server() as endpoint:
        run.endpoint = endpoint
        for number, stage in enumerate(stages, start=1):
            _say(f"[{number}/{len(stages)}] {stage}")
            started = time.perf_counter()
            try:
                STAGE_FUNCTIONS[stage](run)
            except Exception as error:
                raise StageFailedError(stage, error) from error
            run.timings[stage] = time.perf_counter() - started
            _say(f"  done in {run.timings[stage]:.2f} s")
        _say(iam_summary(run))
    report = write_report(run)
    _say(f"report: {report}")
    return run


def main(out_dir: Path, env_name: str, stop_after: str | None, recipe: str = "tabular") -> int:
    try:
        run_demo(out_dir, env_name, stop_after, recipe)
    except StageFailedError as error:
        print(f"mlstack demo: {error}", file=sys.stderr)
        return 1
    return 0
