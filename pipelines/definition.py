"""The training pipeline, built with the SageMaker Python SDK v3 and rendered to JSON.

preprocess -> train -> evaluate -> quality gate -> register (PendingManualApproval) | fail

Run `python -m pipelines.definition` (or `make pipeline`) after changing the pipeline or its
steps; it rewrites pipelines/definition.json, which the CDK stack embeds and the local runner
executes (a test fails when the file is stale). Rendering is offline and deterministic.
Deployment-specific values are `${Placeholders}` filled by the stack (Fn::Sub) or the runner.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

DEFINITION_PATH = Path(__file__).resolve().parent / "definition.json"
PIPELINE_NAME = "mlstack-training"

# Filled in by the stack (Fn::Sub) and by the local runner.
PLACEHOLDERS = ("ArtifactsBucket", "CuratedBucket", "KmsKeyArn", "RoleName", "ImageUri", "ModelPackageGroup",
                "CodeBucket", "CodeBundleKey", "LauncherKey",
                "AWS::Partition", "AWS::AccountId", "AWS::Region")
# An ARN-shaped role: the SDK looks a bare role name up in IAM (a network call).
ROLE_ARN = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${RoleName}"
OUTPUT_PREFIX = "s3://${ArtifactsBucket}/pipelines/runs/"
# The code bundle (pipelines/bundle.py) reaches processing jobs as an input, training as a channel.
# Keys are slash-free (CDK file assets: <hash>.<ext>), so a key is also the file name in a job.
CODE_BUNDLE_URI = "s3://${CodeBucket}/${CodeBundleKey}"
LAUNCHER_URI = "s3://${CodeBucket}/${LauncherKey}"  # pipelines/steps/launch.py
BUNDLE_DIR_IN_PROCESSING = "/opt/ml/processing/input/bundle"
TRAINING_CODE_CHANNEL_PATH = "/opt/ml/input/data/code"
STEP_SCRIPTS = "pipelines/steps/"

# Step names (the local runner, tests and docs refer to them).
PREPROCESS, TRAIN, EVALUATE, GATE, REGISTER, FAIL = (
    "Preprocess", "Train", "Evaluate", "QualityGate", "Register", "FailQualityGate")
EVALUATION_PROPERTY_FILE = "EvaluationReport"


def _offline_sdk_environment() -> None:
    """What the SDK needs to render with no credentials and no network (see TOOLCHAIN notes)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    config = Path(tempfile.gettempdir()) / "mlstack-sagemaker-config.yaml"
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(config)


def build_pipeline() -> Any:  # noqa: PLR0915 - the pipeline reads top to bottom, step by step
    """The Pipeline object (the SDK is imported here, never on the CDK synth path)."""
    _offline_sdk_environment()
    import boto3
    from sagemaker.core.drift_check_baselines import DriftCheckBaselines
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, Networking, OutputDataConfig

    session = PipelineSession(boto_session=boto3.Session(region_name="us-east-1"),
                              default_bucket="${ArtifactsBucket}")
    session._default_bucket = "${ArtifactsBucket}"  # known: skip the SDK's HeadBucket/CreateBucket
    role, kms, image = ROLE_ARN, "${KmsKeyArn}", "${ImageUri}"

    input_data = ParameterString("InputDataUri", default_value="s3://${CuratedBucket}/curated/breast_cancer/")
    recipe = ParameterString("Recipe", default_value="tabular")
    processing_type = ParameterString("ProcessingInstanceType", default_value="ml.m5.large")
    training_type = ParameterString("TrainingInstanceType", default_value="ml.m5.large")
    training_count = ParameterInteger("TrainingInstanceCount", default_value=1)
    min_accuracy = ParameterFloat("MinAccuracy", default_value=0.9)
    min_macro_f1 = ParameterFloat("MinMacroF1", default_value=0.85)
    # Classifiers: macro precision and recall over classes; ner: strict entity-level precision and recall.
    min_precision = ParameterFloat("MinPrecision", default_value=0.8)
    min_recall = ParameterFloat("MinRecall", default_value=0.8)
    approval_status = ParameterString("ModelApprovalStatus", default_value="PendingManualApproval")
    run_prefix = Join(on="/", values=[OUTPUT_PREFIX.rstrip("/"), ExecutionVariables.PIPELINE_EXECUTION_ID])

    def processor(name: str) -> ScriptProcessor:
        return ScriptProcessor(
            role=role, image_uri=image, command=["python3"], instance_count=1, instance_type=processing_type,
            volume_kms_key=kms, output_kms_key=kms, max_runtime_in_seconds=3600, base_job_name=f"mlstack-{name}",
            sagemaker_session=session, env={"MLSTACK_CODE_ARCHIVE_DIR": BUNDLE_DIR_IN_PROCESSING},
            network_config=NetworkConfig(enable_network_isolation=True, encrypt_inter_container_traffic=True),
        )

    def s3_input(name: str, source: Any, destination: str) -> ProcessingInput:
        return ProcessingInput(input_name=name, s3_input=ProcessingS3Input(
            s3_uri=source, local_path=destination, s3_data_type="S3Prefix", s3_input_mode="File"))

    def s3_output(name: str, source: str) -> ProcessingOutput:
        return ProcessingOutput(output_name=name, s3_output=ProcessingS3Output(
            s3_uri=Join(on="/", values=[run_prefix, name]), local_path=source, s3_upload_mode="EndOfJob"))

    code_bundle = s3_input("bundle", CODE_BUNDLE_URI, BUNDLE_DIR_IN_PROCESSING)
    preprocess = ProcessingStep(PREPROCESS, step_args=processor("preprocess").run(
        code=LAUNCHER_URI,
        inputs=[code_bundle, s3_input("data", input_data, "/opt/ml/processing/input/data")],
        outputs=[s3_output(split, f"/opt/ml/processing/output/{split}") for split in ("train", "validation", "test")],
        arguments=["preprocess", "--recipe", recipe]))

    def split_uri(split: str) -> Any:
        return preprocess.properties.ProcessingOutputConfig.Outputs[split].S3Output.S3Uri

    # The scikit-learn container's script mode runs sagemaker_program from sagemaker_submit_directory;
    # under network isolation the source arrives as the `code` channel (as the v2 SDK staged it).
    # ModelTrainer's own source_code would upload SDK driver files at definition time instead.
    trainer = ModelTrainer(
        sagemaker_session=session, role=role, training_image=image, base_job_name="mlstack-train",
        compute=Compute(instance_type=training_type, instance_count=training_count, volume_kms_key_id=kms),
        networking=Networking(enable_network_isolation=True, enable_inter_container_traffic_encryption=True),
        output_data_config=OutputDataConfig(s3_output_path=Join(on="/", values=[run_prefix, "model"]),
                                            kms_key_id=kms),
        hyperparameters={"recipe": recipe, "sagemaker_program": f"{STEP_SCRIPTS}train.py",
                         "sagemaker_submit_directory": f"{TRAINING_CODE_CHANNEL_PATH}/${{CodeBundleKey}}"},
    )
    train = TrainingStep(TRAIN, step_args=trainer.train(input_data_config=[
        InputData(channel_name="code", data_source=CODE_BUNDLE_URI),
        InputData(channel_name="train", data_source=split_uri("train")),
        InputData(channel_name="validation", data_source=split_uri("validation")),
    ]))
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    evaluation_report = PropertyFile(name=EVALUATION_PROPERTY_FILE, output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(EVALUATE, property_files=[evaluation_report], step_args=processor("evaluate").run(
        code=LAUNCHER_URI,
        inputs=[code_bundle, s3_input("model", model_data, "/opt/ml/processing/model"),
                s3_input("test", split_uri("test"), "/opt/ml/processing/test"),
                s3_input("train", split_uri("train"), "/opt/ml/processing/train")],
        outputs=[s3_output(name, f"/opt/ml/processing/{name}") for name in ("evaluation", "onnx", "baseline")],
        arguments=["evaluate", "--recipe", recipe]))

    def evaluate_output(name: str, file: str) -> Any:
        uri = evaluate.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri
        return Join(on="/", values=[uri, file])

    metrics = ModelMetrics(model_statistics=MetricsSource(
        content_type="application/json", s3_uri=evaluate_output("evaluation", "evaluation.json")))
    baselines = DriftCheckBaselines(model_data_statistics=MetricsSource(
        content_type="application/json", s3_uri=evaluate_output("baseline", "baseline.json")))
    builder = ModelBuilder(image_uri=image, s3_model_data_url=model_data, role_arn=role, sagemaker_session=session)
    register = ModelStep(REGISTER, step_args=builder.register(
        model_package_group_name="${ModelPackageGroup}", approval_status=approval_status,
        content_types=["application/json"], response_types=["application/json"],
        inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
        model_metrics=metrics, drift_check_baselines=baselines,
        customer_metadata_properties={"recipe": recipe, "onnx_model": evaluate_output("onnx", "model.onnx"),
                                      "drift_baseline": evaluate_output("baseline", "baseline.json")},
        description="Trained by the mlstack training pipeline; ONNX parity checked in evaluate"))

    def metric(name: str) -> Any:  # evaluate writes the same quality_gate section for every recipe
        return JsonGet(step_name=EVALUATE, property_file=evaluation_report, json_path=f"quality_gate.{name}.value")

    thresholds = {"accuracy": min_accuracy, "macro_f1": min_macro_f1, "precision": min_precision,
                  "recall": min_recall}
    fail = FailStep(FAIL, error_message=Join(on=" ", values=[
        "Quality gate failed: a metric below its threshold or ONNX parity failed (MinAccuracy", min_accuracy,
        ", MinMacroF1", min_macro_f1, ", MinPrecision", min_precision, ", MinRecall", min_recall,
        "). See quality_gate in the Evaluate step's evaluation.json."]))
    gate = ConditionStep(GATE, conditions=[
        *(ConditionGreaterThanOrEqualTo(left=metric(name), right=threshold) for name, threshold in thresholds.items()),
        ConditionGreaterThanOrEqualTo(left=JsonGet(step_name=EVALUATE, property_file=evaluation_report,
                                                   json_path="onnx_parity.value"), right=1),
    ], if_steps=[register], else_steps=[fail])

    # No experiment tracking: nothing reads it, and it would need more permissions on the role.
    return Pipeline(name=PIPELINE_NAME, sagemaker_session=session, pipeline_experiment_config=None,
                    parameters=[input_data, recipe, processing_type, training_type, training_count, min_accuracy,
                                min_macro_f1, min_precision, min_recall, approval_status],
                    steps=[preprocess, train, evaluate, gate])


def render() -> str:
    """Deterministic definition JSON (sorted keys, stable indentation)."""
    text = build_pipeline().definition()
    # The SDK inlines the session's region into the model container environment.
    text = text.replace('"SAGEMAKER_REGION": "us-east-1"', '"SAGEMAKER_REGION": "${AWS::Region}"')
    return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def main() -> None:
    DEFINITION_PATH.write_text(render())
    print(f"wrote {DEFINITION_PATH}")


if __name__ == "__main__":
    main()
