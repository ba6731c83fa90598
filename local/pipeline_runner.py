"""Runs the rendered SageMaker pipeline definition on this machine (moto does not run steps).

The runner reads pipelines/definition.json, fills its ${placeholders} as the stack's Fn::Sub
does, and walks the steps in dependency order: each Processing/Training step runs its real
script in a subprocess with the SageMaker directory layout mapped under a work folder (inputs
downloaded from the embedded S3, outputs uploaded back); property references (Get, Std:Join,
Std:JsonGet on PropertyFiles) are resolved from what earlier steps produced; the ConditionStep is
evaluated; RegisterModel calls CreateModelPackage on the embedded SageMaker registry; Fail stops
the run with its message. Processing jobs run their ContainerEntrypoint, training jobs the image's
`train` command (pipelines/image/train) on the hyperparameters.json SageMaker writes. Emulated,
stated: jobs run with `interpreter` (this machine's Python unless given; `make rehearse` gives an
environment built from the image's own requirements at its Python version), not the ${ImageUri}
container; network isolation, KMS on volumes and instance types do not apply.
"""

from __future__ import annotations

import graphlib
import io
import json
import operator
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlstack.lake import split_s3_uri

TRAIN_COMMAND = Path(__file__).resolve().parent.parent / "pipelines" / "image" / "train"

_GET_TOKEN = re.compile(r"\.?([A-Za-z0-9_]+)|\['([^']+)'\]|\[(\d+)\]")
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "GreaterThanOrEqualTo": operator.ge, "GreaterThan": operator.gt, "LessThanOrEqualTo": operator.le,
    "LessThan": operator.lt, "Equals": operator.eq,
}
_LOG_TAIL = 3000


class StepFailedError(RuntimeError):
    """A step failed; the message names it and carries the tail of its log."""


@dataclass
class StepResult:
    name: str
    type: str
    status: str
    seconds: float
    detail: str = ""


@dataclass
class RunResult:
    execution_id: str
    status: str
    steps: list[StepResult] = field(default_factory=list)
    model_package_arn: str | None = None
    failure_reason: str | None = None
    evaluation: dict[str, Any] | None = None


def substitute(text: str, values: dict[str, str]) -> str:
    """Fill ${Name} placeholders (as CloudFormation Fn::Sub does); refuse unknown ones."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for placeholder ${{{name}}}")
        return values[name]

    return re.sub(r"\$\{([A-Za-z0-9:]+)\}", replace, text)


def dependency_order(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps ordered so each runs after the steps it references (Steps.X...) or DependsOn."""
    by_name = {step["Name"]: step for step in steps}
    graph = {
        name: (set(re.findall(r"Steps\.([A-Za-z0-9_-]+)", json.dumps(step.get("Arguments", {})))) |
               set(step.get("DependsOn", []))) & (set(by_name) - {name})
        for name, step in by_name.items()
    }
    return [by_name[name] for name in graphlib.TopologicalSorter(graph).static_order()]


class LocalPipelineRunner:
    """Executes one pipeline definition against S3/SageMaker clients (the embedded AWS)."""

    def __init__(self, definition_text: str, substitutions: dict[str, str], *, s3: Any, sagemaker: Any,
                 work_dir: Path, progress: Callable[[str], None] = print, interpreter: str = sys.executable) -> None:
        self.definition = json.loads(substitute(definition_text, substitutions))
        self.interpreter = interpreter
        self.s3, self.sagemaker = s3, sagemaker
        self.work_dir = work_dir.resolve()
        self.progress = progress
        self.parameters: dict[str, Any] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self.property_files: dict[str, dict[str, tuple[str, str]]] = {}
        self.execution_id = ""
        self._branch: list[dict[str, Any]] = []

    def run(self, parameters: dict[str, Any] | None = None) -> RunResult:
        self.execution_id = uuid.uuid4().hex[:12]
        self.parameters = self._parameters(parameters or {})
        result = RunResult(self.execution_id, "Executing")
        try:
            self._run_steps(self.definition["Steps"], result)
            result.status = "Succeeded"
        except StepFailedError as error:
            result.status, result.failure_reason = "Failed", str(error)
        return result

    def _parameters(self, overrides: dict[str, Any]) -> dict[str, Any]:
        declared = {p["Name"]: p.get("DefaultValue") for p in self.definition["Parameters"]}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise ValueError(f"unknown pipeline parameter(s) {unknown}; declared: {sorted(declared)}")
        return {**declared, **overrides}

    def _run_steps(self, steps: list[dict[str, Any]], result: RunResult) -> None:
        for step in dependency_order(steps):
            started = time.perf_counter()
            self.progress(f"  step {step['Name']} ({step['Type']}) ...")
            try:
                detail = self._run_step(step, result)
            except StepFailedError as error:
                result.steps.append(StepResult(step["Name"], step["Type"], "Failed",
                                               time.perf_counter() - started, str(error)))
                self.progress(f"  step {step['Name']}: Failed")
                raise
            result.steps.append(StepResult(step["Name"], step["Type"], "Succeeded",
                                           time.perf_counter() - started, detail))
            self.progress(f"  step {step['Name']}: Succeeded in {time.perf_counter() - started:.1f} s {detail}")
            if step["Type"] == "Condition":
                self._run_steps(self._branch, result)

    def _run_step(self, step: dict[str, Any], result: RunResult) -> str:
        handlers = {"Processing": self._processing, "Training": self._training, "Condition": self._condition,
                    "RegisterModel": self._register, "Fail": self._fail}
        if step["Type"] not in handlers:
            raise StepFailedError(f"{step['Name']}: step type {step['Type']} is not supported locally")
        return handlers[step["Type"]](step, result)

    # --- property references -------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Get"}:
                return self._get(value["Get"])
            if set(value) == {"Std:Join"}:
                join = value["Std:Join"]
                return join["On"].join(str(self.resolve(v)) for v in join["Values"])
            if set(value) == {"Std:JsonGet"}:
                return self._json_get(value["Std:JsonGet"])
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _get(self, path: str) -> Any:
        root, _, rest = path.partition(".")
        if root == "Parameters":
            return self.parameters[rest]
        if root == "Execution":
            return {"PipelineExecutionId": self.execution_id, "PipelineName": "local"}[rest]
        if root == "Steps":
            name, _, rest = rest.partition(".")
            node: Any = self.properties[name]
            for match in _GET_TOKEN.finditer(rest):
                key = next(group for group in match.groups() if group is not None)
                node = node[int(key)] if match.group(3) else node[key]
            return node
        raise KeyError(f"unsupported property reference {path}")

    def _property_file(self, reference: str) -> dict[str, Any]:
        """A step's PropertyFile (Steps.<step>.PropertyFiles.<name>) as JSON."""
        _, step_name, _, file_name = reference.split(".")
        output_name, file_path = self.property_files[step_name][file_name]
        uri = self.properties[step_name]["ProcessingOutputConfig"]["Outputs"][output_name]["S3Output"]["S3Uri"]
        bucket, key = split_s3_uri(f"{uri.rstrip('/')}/{file_path}")
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def _json_get(self, spec: dict[str, Any]) -> Any:
        node = self._property_file(spec["PropertyFile"]["Get"])
        for part in spec["Path"].split("."):
            node = node[part]
        return node

    # --- S3 <-> local folders ----------------------------------------------------------------

    def _download(self, uri: str, destination: Path) -> int:
        bucket, prefix = split_s3_uri(uri)
        count = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                relative = obj["Key"][len(prefix):].lstrip("/") or obj["Key"].rsplit("/", 1)[-1]
                target = destination / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, obj["Key"], str(target))
                count += 1
        if count == 0:
            raise StepFailedError(f"no objects at {uri}")
        return count

    def _fresh_container(self, step: str) -> Path:
        """An empty container file system per step run: files of an earlier run (say, an older code
        bundle) would otherwise be read as this run's inputs."""
        root = self.work_dir / step / "container"
        if root.exists():
            shutil.rmtree(root)
        return root

    def _upload(self, source: Path, uri: str) -> None:
        bucket, prefix = split_s3_uri(uri)
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            self.s3.upload_file(str(path), bucket, f"{prefix.rstrip('/')}/{path.relative_to(source)}")

    def _execute(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        log = self.work_dir / name / "step.log"
        completed = subprocess.run(command, env={**os.environ, **env}, cwd=cwd, capture_output=True,  # noqa: S603
                                   text=True, check=False)
        log.write_text(completed.stdout + completed.stderr)
        if completed.returncode != 0:
            tail = (completed.stdout + completed.stderr)[-_LOG_TAIL:]
            raise StepFailedError(f"step {name} exited with {completed.returncode}; log {log}:\n{tail}")

    # --- step types --------------------------------------------------------------------------

    def _processing(self, step: dict[str, Any], _: RunResult) -> str:
        name, args = step["Name"], self.resolve(step["Arguments"])
        root = self._fresh_container(name)
        for item in args["ProcessingInputs"]:
            s3_input = item["S3Input"]
            self._download(s3_input["S3Uri"], root / s3_input["LocalPath"].lstrip("/"))
        app = args["AppSpecification"]
        program, *rest = app["ContainerEntrypoint"]
        if program not in ("python", "python3"):
            raise StepFailedError(f"{name}: entry point {program} is not a Python interpreter")
        entry = [self.interpreter,
                 *(str(root / arg.lstrip("/")) if arg.startswith("/opt/ml/") else arg for arg in rest)]
        env = {key: str(root / value.lstrip("/")) if str(value).startswith("/opt/ml/") else str(value)
               for key, value in args.get("Environment", {}).items()}
        env["MLSTACK_CONTAINER_ROOT"] = str(root)
        self._execute(name, entry + [str(a) for a in app.get("ContainerArguments", [])], env, root)
        outputs = {}
        for item in args["ProcessingOutputConfig"]["Outputs"]:
            s3_output = item["S3Output"]
            self._upload(root / s3_output["LocalPath"].lstrip("/"), s3_output["S3Uri"])
            outputs[item["OutputName"]] = {"S3Output": {"S3Uri": s3_output["S3Uri"]}}
        self.properties[name] = {"ProcessingOutputConfig": {"Outputs": outputs}}
        self.property_files[name] = {f["PropertyFileName"]: (f["OutputName"], f["FilePath"])
                                     for f in step.get("PropertyFiles", [])}
        return ""

    def _training(self, step: dict[str, Any], _: RunResult) -> str:
        name, args = step["Name"], self.resolve(step["Arguments"])
        root = self._fresh_container(name)
        channels = {}
        for channel in args["InputDataConfig"]:
            local = root / "opt/ml/input/data" / channel["ChannelName"]
            self._download(channel["DataSource"]["S3DataSource"]["S3Uri"], local)
            channels[channel["ChannelName"]] = local
        config = root / "opt/ml/input/config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(
            {k: str(v) for k, v in args.get("HyperParameters", {}).items()}))
        (config / "inputdataconfig.json").write_text(json.dumps({c: {} for c in channels}))
        self._execute(name, [self.interpreter, str(TRAIN_COMMAND)], {"MLSTACK_CONTAINER_ROOT": str(root)}, root)
        model_dir = root / "opt/ml/model"
        job_name = f"{name.lower()}-{self.execution_id}"
        uri = f"{args['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{job_name}/output/model.tar.gz"
        bucket, key = split_s3_uri(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=_tar_gz(model_dir))
        self.properties[name] = {"ModelArtifacts": {"S3ModelArtifacts": uri}}
        return ""

    def _condition(self, step: dict[str, Any], result: RunResult) -> str:
        args = step["Arguments"]
        passed = True
        for condition in args["Conditions"]:
            left, right = self.resolve(condition["LeftValue"]), self.resolve(condition["RightValue"])
            passed &= _COMPARISONS[condition["Type"]](float(left), float(right))
            if "Std:JsonGet" in condition["LeftValue"]:  # keep the report the gate read, for the caller
                result.evaluation = self._property_file(condition["LeftValue"]["Std:JsonGet"]["PropertyFile"]["Get"])
        self._branch = args["IfSteps"] if passed else args["ElseSteps"]
        return f"(outcome: {str(passed).lower()})"

    def _register(self, step: dict[str, Any], result: RunResult) -> str:
        args = self.resolve(step["Arguments"])
        arn = self.sagemaker.create_model_package(**args)["ModelPackageArn"]
        self.properties[step["Name"]] = {"ModelPackageArn": arn}
        result.model_package_arn = arn
        return f"({arn}, {args.get('ModelApprovalStatus')})"

    def _fail(self, step: dict[str, Any], _: RunResult) -> str:
        raise StepFailedError(self.resolve(step["Arguments"]["ErrorMessage"]))


def _tar_gz(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            tar.add(path, arcname=str(path.relative_to(directory)))
    return buffer.getvalue()
