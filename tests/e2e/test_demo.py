"""`mlstack demo` end to end on the embedded moto server (127.0.0.1 only)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from local import demo
from local.embedded_aws import free_port
from local.serve import serve
from mlstack.cli import main as cli_main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One full demo run for the module (the lifecycle takes ~10 s); its output folder and stdout."""
    out = tmp_path_factory.mktemp("demo")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert cli_main(["demo", "--out", str(out)]) == 0
    return out, buffer.getvalue()


def test_demo_ingests_the_samples_and_writes_a_report(demo_run):
    tmp_path, output = demo_run
    for number, stage in enumerate(("embedded-aws", "ingest", "train", "deploy", "serve", "monitor"), start=1):
        assert f"[{number}/6] {stage}" in output
    assert "PendingManualApproval -> routed to deployer: False" in output
    assert "http://127.0.0.1:" in output
    ingested = json.loads((tmp_path / "ingestion.json").read_text())
    assert {r["file"]: r["outcome"] for r in ingested} == {
        "breast_cancer.csv": "accepted", "breast_cancer.corrupted.csv": "partial",
        "clinical_notes.jsonl": "accepted", "clinical_notes.corrupted.jsonl": "partial",
        "clinical_entities.jsonl": "accepted", "clinical_entities.corrupted.jsonl": "partial"}
    assert all(r["rows_in"] == r["rows_valid"] + r["rows_quarantined"] for r in ingested)
    report = (tmp_path / "report.md").read_text()
    assert "| ingest |" in report
    assert "model-package/mlstack-dev-models/1" in report
    assert "| deploy | staging | succeeded | v1 |" in report
    assert "| promote | prod | succeeded | v1 | release-manager |" in report
    assert "## Model card: mlstack-dev-models-v1" in report and "| PHI policy (text) | redact |" in report
    assert "model card mlstack-dev-models-v1 (Approved) written at approval" in output
    assert "PHI de-identified before curated/ (redact): " in output


def test_the_served_api_answers_the_contract_over_http(demo_run):
    _, output = demo_run
    expected = {"health": "200", "one instance": "200", "100 instances": "200", "invalid field": "400",
                "not JSON": "400", "wrong content type": "415", "unknown route": "404"}
    for what, status in expected.items():
        assert re.search(rf"{what}\s+-> {status} in", output), what
    assert "field instances[0]." in output
    assert "captured for drift monitoring: 1 object(s)" in output


def test_drifted_traffic_fires_the_alarm_and_retraining_starts_once(demo_run):
    out, output = demo_run
    monitor = output.split("] monitor", 1)[1]
    runs = re.findall(r"drift run at \S+ \(simulated\): (\d+) rows: (\d+) of \d+ features drifted(.*?);", monitor)
    assert [int(drifted) for _, drifted, _ in runs] == [0, 3, 3]  # normal traffic: no false alarm
    assert runs[1][2].strip() == "mean_perimeter, mean_radius, mean_texture"  # exactly the shifted ones
    assert re.search(r"mlstack-dev-model-drift\s+ALARM\s+2 of the last 3 datapoints \[0, 3, 3\]", monitor)
    assert "on-call notified (SNS -> local subscriber): mlstack-dev-model-drift is ALARM" in monitor
    assert "mlstack-dev-model-drift -> retrain rule -> started" in monitor
    assert "the same alarm event delivered again -> held-cooldown" in monitor
    assert "model-package/mlstack-dev-models/2: PendingManualApproval" in monitor
    report = (out / "report.md").read_text()
    assert "| mlstack-dev-model-drift | ALARM |" in report and "| held-cooldown |" in report
    for plot in ("metrics.png", "drift-psi.png", "drift-top-feature.png"):
        assert (out / plot).read_bytes()[:4] == b"\x89PNG"


def test_serve_answers_on_loopback_with_the_last_runs_model(demo_run):
    out, _ = demo_run
    port, stop = free_port(), threading.Event()
    server = threading.Thread(target=serve, kwargs={"port": port, "api_key": "k", "env_name": "dev",
                                                   "stage": "prod", "demo_dir": out, "stop": stop})
    server.start()
    try:
        health = _get_when_up(f"http://127.0.0.1:{port}/v1/health", {"x-api-key": "k"}, server)
    finally:
        stop.set()
        server.join(timeout=30)
    assert health == {"status": "ok", "model_version": "v1"}
    assert not server.is_alive()


def _get_when_up(url: str, headers: dict[str, str], server: threading.Thread, deadline_seconds: float = 90.0) -> dict:
    """Polls until the server answers (it first provisions a fresh embedded AWS: seconds, more on a busy machine),
    or its thread ends."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline and server.is_alive():
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            threading.Event().wait(0.1)
    raise AssertionError(f"{url} never answered (server thread alive: {server.is_alive()})")


def test_demo_can_stop_after_a_named_stage(tmp_path, capsys):
    assert cli_main(["demo", "--out", str(tmp_path), "--stop-after", "embedded-aws"]) == 0
    assert "ingest" not in capsys.readouterr().out.split("[1/1] embedded-aws")[1]


def test_a_failing_stage_exits_non_zero_and_is_named(tmp_path, capsys, monkeypatch):
    def broken(run):
        raise RuntimeError("bucket vanished")

    monkeypatch.setitem(demo.STAGE_FUNCTIONS, "ingest", broken)
    assert cli_main(["demo", "--out", str(tmp_path)]) == 1
    assert "stage 'ingest' failed: RuntimeError: bucket vanished" in capsys.readouterr().err


def test_no_embedded_server_outlives_the_demo(tmp_path):
    cli_main(["demo", "--out", str(tmp_path), "--stop-after", "embedded-aws"])
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_every_handler_call_in_the_demo_passes_its_role_from_the_template(demo_run):
    _, output = demo_run
    summary = next(line for line in output.splitlines() if line.startswith("IAM: "))
    checked, functions = (int(word) for word in re.findall(r"(\d+) (?:requests|functions)", summary))
    assert checked > 100 and functions == 5
    assert summary.endswith(", 0 denied")
    assert "resources: " in output and " created, " in output


def test_the_ner_recipe_trains_gates_deploys_serves_and_drifts(tmp_path):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert cli_main(["demo", "--out", str(tmp_path), "--recipe", "ner"]) == 0
    output = buffer.getvalue()
    assert "step QualityGate: Succeeded in" in output and "(outcome: true)" in output
    assert re.search(r"DRUG\s+precision \d\.\d{3}\s+recall \d\.\d{3}", output)
    assert "ONNX parity: spans identical=True" in output
    assert re.search(r"100 instances\s+-> 200 in .* first \d+ entities \(", output)
    assert "mlstack-dev-model-drift            ALARM" in output
    report = (tmp_path / "report.md").read_text()
    assert "| entity type | strict P | strict R | strict F1 | overlap F1 | in test split |" in report
    assert "(entities (strict matching))" in report  # the model card's per-type scores
