"""The training pipeline as SageMaker runs it: the template's definition, the image's environment, the role.

- The definition is the one the template gives CreatePipeline, with every ${...} filled by
  CloudFormation's rules (cfn.py): code at the CDK asset keys, uploaded from cdk.out as cdk does.
- Jobs run with a Python of the job image's version (read from pipelines/image/Dockerfile's FROM
  line) in a virtual environment holding exactly pipelines/image/requirements.txt: a package the
  image lacks, or a wheel missing for its Python, fails here.
- Every S3 read and write the runner does for a job, and the registration, is authorized against
  the SageMaker execution role's policies from the template; so are the requests SageMaker makes
  for a job before it starts (the image pull, the job's log stream, the KMS grant for its volume,
  encryption of its outputs).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path
from typing import Any

from local.iam import CallChecker, Request
from local.pipeline_runner import LocalPipelineRunner, RunResult
from local.rehearsal.packages import CACHE, PackageError
from stacks.lambda_code import REPO_ROOT, runtime_interpreter
from stacks.nag_sagemaker import pipeline_jobs

IMAGE_DIR = REPO_ROOT / "pipelines" / "image"


def image_python_version(dockerfile: Path = IMAGE_DIR / "Dockerfile") -> str:
    """The Python version of the job image, from its FROM line (python:3.12-..., or a py312 tag)."""
    base = next((line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("FROM ")), "")
    match = re.search(r"python:(\d+\.\d+)", base) or re.search(r"py(\d)(\d+)\b", base)
    if not match:
        raise PackageError(f"cannot tell the Python version of the job image from FROM {base!r}; "
                           "use a python:<version> base image")
    return ".".join(match.groups()) if len(match.groups()) == 2 else match.group(1)


def image_environment(requirements: Path = IMAGE_DIR / "requirements.txt") -> Path:
    """A virtual environment of the image's Python with the image's requirements; its python."""
    version = image_python_version()
    digest = hashlib.sha256(f"{requirements.read_text()}|{version}".encode()).hexdigest()[:12]
    venv = CACHE / f"job-image-{version}-{digest}"
    python, complete = venv / "bin" / "python", venv / ".complete"
    if complete.is_file():
        return python
    steps = [[str(runtime_interpreter(version)), "-m", "venv", "--clear", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)]]
    for step in steps:
        completed = subprocess.run(step, capture_output=True, text=True, check=False)  # noqa: S603
        if completed.returncode != 0:
            raise PackageError(f"building the job image's environment (Python {version}, {requirements.name}):\n"
                               f"{completed.stderr[-2000:]}")
    complete.touch()
    return python


def service_requests(definition: dict[str, Any], image_uri: str, region: str, account: str) -> list[Request]:
    """What SageMaker asks of the execution role for each job before and around running it."""
    requests = []
    repository = re.match(r"^(\d+)\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)", image_uri)
    for name, kind, arguments in pipeline_jobs(definition):
        if repository:
            ecr_account, ecr_region, repo = repository.groups()
            requests.append(Request("ecr:BatchGetImage", f"arn:aws:ecr:{ecr_region}:{ecr_account}:repository/{repo}"))
            requests.append(Request("ecr:GetAuthorizationToken", "*"))
        group = "ProcessingJobs" if kind == "Processing" else "TrainingJobs"
        requests.append(Request("logs:CreateLogStream",
                                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/{group}:log-stream:{name}"))
        resources = arguments.get("ProcessingResources", {}).get("ClusterConfig", {}) if kind == "Processing" \
            else arguments.get("ResourceConfig", {})
        if resources.get("VolumeKmsKeyId"):
            requests.append(Request("kms:CreateGrant", resources["VolumeKmsKeyId"],
                                    {"kms:GrantIsForAWSResource": "true"}))
        output = arguments.get("ProcessingOutputConfig" if kind == "Processing" else "OutputDataConfig", {})
        if output.get("KmsKeyId"):
            requests += [Request(action, output["KmsKeyId"]) for action in ("kms:Encrypt", "kms:GenerateDataKey")]
    return requests


def job_images(definition: dict[str, Any]) -> set[str]:
    """The images the pipeline's jobs run."""
    return {arguments.get("AppSpecification", {}).get("ImageUri") or
            arguments.get("AlgorithmSpecification", {}).get("TrainingImage", "")
            for _, _, arguments in pipeline_jobs(definition)}


def run_pipeline(definition_text: str, *, checker: CallChecker, s3: Any, sagemaker: Any, work_dir: Path,
                 parameters: dict[str, Any], progress: Any = print) -> RunResult:
    """One execution of the deployed definition; every request (the jobs' and SageMaker's) recorded by `checker`."""
    runner = LocalPipelineRunner(definition_text, {}, s3=checker.guard(s3), sagemaker=checker.guard(sagemaker),
                                 work_dir=work_dir, progress=progress, interpreter=str(image_environment()))
    image = next(iter(job_images(runner.definition)), "")
    for request in service_requests(runner.definition, image, sagemaker.meta.region_name, checker.facts.account):
        checker.check_request(request, "sagemaker (for the job)")
    return runner.run(parameters)
