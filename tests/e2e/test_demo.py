"""`mlstack demo` end to end on the embedded moto server (127.0.0.1 only)."""

from __future__ import annotations

import json
import os

from local import demo
from mlstack.cli import main as cli_main


def test_demo_ingests_the_samples_and_writes_a_report(tmp_path, capsys):
    assert cli_main(["demo", "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "[1/4] embedded-aws" in output
    assert "[2/4] ingest" in output
    assert "[3/4] train" in output
    assert "[4/4] deploy" in output
    assert "PendingManualApproval -> routed to deployer: False" in output
    assert "http://127.0.0.1:" in output
    ingested = json.loads((tmp_path / "ingestion.json").read_text())
    assert {r["file"]: r["outcome"] for r in ingested} == {
        "breast_cancer.csv": "accepted", "breast_cancer.corrupted.csv": "partial",
        "clinical_notes.jsonl": "accepted", "clinical_notes.corrupted.jsonl": "partial"}
    assert all(r["rows_in"] == r["rows_valid"] + r["rows_quarantined"] for r in ingested)
    report = (tmp_path / "report.md").read_text()
    assert "| ingest |" in report
    assert "model-package/mlstack-dev-models/1" in report
    assert "| deploy | staging | succeeded | v1 |" in report
    assert "| promote | prod | succeeded | v1 | release-manager |" in report


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
