"""The rendered pipeline definition: structure, security settings, and freshness."""

from __future__ import annotations

import json

import pytest

from pipelines.definition import DEFINITION_PATH, EVALUATE, FAIL, GATE, PLACEHOLDERS, PREPROCESS, REGISTER, TRAIN


@pytest.fixture(scope="module")
def definition():
    return json.loads(DEFINITION_PATH.read_text())


@pytest.fixture(scope="module")
def steps(definition):
    top = {step["Name"]: step for step in definition["Steps"]}
    gate = top[GATE]["Arguments"]
    return {**top, **{s["Name"]: s for s in gate["IfSteps"] + gate["ElseSteps"]}}


def test_steps_run_preprocess_train_evaluate_then_gate(definition, steps):
    assert [s["Name"] for s in definition["Steps"]] == [PREPROCESS, TRAIN, EVALUATE, GATE]
    assert {steps[REGISTER]["Type"], steps[FAIL]["Type"]} == {"RegisterModel", "Fail"}
    gate = steps[GATE]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == [REGISTER]
    assert [s["Name"] for s in gate["ElseSteps"]] == [FAIL]


def test_each_step_consumes_the_previous_steps_outputs(steps):
    train_inputs = json.dumps(steps[TRAIN]["Arguments"]["InputDataConfig"])
    assert "Steps.Preprocess.ProcessingOutputConfig.Outputs['train']" in train_inputs
    evaluate_inputs = json.dumps(steps[EVALUATE]["Arguments"]["ProcessingInputs"])
    assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in evaluate_inputs
    assert "Outputs['test']" in evaluate_inputs


def test_the_gate_checks_accuracy_f1_precision_recall_and_onnx_parity_against_parameters(definition, steps):
    conditions = steps[GATE]["Arguments"]["Conditions"]
    paths = [c["LeftValue"]["Std:JsonGet"]["Path"] for c in conditions]
    assert paths == ["quality_gate.accuracy.value", "quality_gate.macro_f1.value", "quality_gate.precision.value",
                     "quality_gate.recall.value", "onnx_parity.value"]
    thresholds = ["MinAccuracy", "MinMacroF1", "MinPrecision", "MinRecall"]
    assert [c["RightValue"] for c in conditions] == [*({"Get": f"Parameters.{name}"} for name in thresholds), 1]
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert all(parameters[name]["Type"] == "Float" for name in thresholds)
    assert all(c["Type"] == "GreaterThanOrEqualTo" for c in conditions)


def test_registration_waits_for_approval_with_metrics_baseline_and_onnx_attached(definition, steps):
    parameters = {p["Name"]: p for p in definition["Parameters"]}
    assert parameters["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"
    args = steps[REGISTER]["Arguments"]
    assert args["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert args["ModelPackageGroupName"] == "${ModelPackageGroup}"
    assert "evaluation.json" in json.dumps(args["ModelMetrics"]["ModelQuality"])
    assert "baseline.json" in json.dumps(args["DriftCheckBaselines"])
    assert "model.onnx" in json.dumps(args["CustomerMetadataProperties"]["onnx_model"])


def test_every_job_encrypts_with_the_lake_key_and_runs_network_isolated(steps):
    for name in (PREPROCESS, EVALUATE):
        args = steps[name]["Arguments"]
        assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "${KmsKeyArn}"
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == "${KmsKeyArn}"
        assert args["NetworkConfig"]["EnableNetworkIsolation"] is True
        assert args["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    train = steps[TRAIN]["Arguments"]
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == train["OutputDataConfig"]["KmsKeyId"] == "${KmsKeyArn}"
    assert train["EnableNetworkIsolation"] is True
    assert train["EnableInterContainerTrafficEncryption"] is True


def test_only_declared_placeholders_appear(definition):
    import re

    used = set(re.findall(r"\$\{([A-Za-z0-9:]+)\}", DEFINITION_PATH.read_text()))
    assert used <= set(PLACEHOLDERS)


def test_the_committed_definition_is_what_the_code_renders():
    pytest.importorskip("sagemaker", reason="the SageMaker SDK renders the definition (requirements-dev)")
    from pipelines.definition import render

    assert render() == DEFINITION_PATH.read_text(), "stale pipelines/definition.json: run `make pipeline`"
