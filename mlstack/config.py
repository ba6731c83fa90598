"""Typed, validated per-environment configuration, read from cdk.json context.

One source of truth: the CDK app builds every stack from these objects and local mode
provisions the embedded AWS from the same objects, so names and limits never drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlstack.schema import available_datasets

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"
CONTEXT_PREFIX = "mlstack:"
ENVIRONMENTS_KEY = "mlstack:environments"
DESTROY_FLAG_KEY = "mlstack:destroy-data-on-removal"

# CloudWatch Logs accepts only these retention values (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)

Zone = Literal["raw", "curated", "artifacts", "capture", "access-logs", "audit"]
ZONES: tuple[Zone, ...] = ("raw", "curated", "artifacts", "capture", "access-logs", "audit")


class ConfigError(ValueError):
    """Raised when cdk.json context is invalid; the message names the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LakeLifecycle(_Strict):
    """Storage-tier transitions and expirations, in days."""

    raw_infrequent_access_days: int = Field(30, ge=30)
    raw_glacier_days: int = Field(90, ge=31)
    # 0: capture stays in Standard until it expires (short retention; IA needs >= 30 days).
    capture_infrequent_access_days: int = Field(30, ge=0)
    # Capture may hold PHI: it expires, and so do its noncurrent versions.
    capture_expiration_days: int = Field(90, ge=1)
    access_log_expiration_days: int = Field(365, ge=1)
    noncurrent_version_expiration_days: int = Field(90, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> LakeLifecycle:
        if self.raw_glacier_days <= self.raw_infrequent_access_days:
            raise ValueError("raw_glacier_days must be greater than raw_infrequent_access_days")
        ia_days = self.capture_infrequent_access_days
        if 0 < ia_days < 30:
            raise ValueError("capture_infrequent_access_days must be 0 (no transition) or at least 30")
        if ia_days and self.capture_expiration_days <= ia_days:
            raise ValueError(
                "capture_expiration_days must be greater than capture_infrequent_access_days "
                "(set the latter to 0 for short retention)"
            )
        return self


PhiPolicy = Literal["redact", "pseudonymize", "refuse"]
# Who finds the identifiers: the offline patterns, Amazon Comprehend Medical's DetectPHI (on AWS), or both.
PhiDetector = Literal["builtin", "comprehend-medical", "both"]
DEFAULT_PHI_POLICY: PhiPolicy = "redact"  # for data sets ingest.phi_policy does not list


class IngestSettings(_Strict):
    """The ingestion function's limits, failure handling, and PHI policy (docs/deid.md)."""

    max_object_mb: int = Field(256, ge=1, le=2048)
    memory_mb: int = Field(2048, ge=256, le=10240)
    timeout_seconds: int = Field(300, ge=30, le=900)
    reserved_concurrency: int = Field(5, ge=1, le=1000)
    retry_attempts: int = Field(2, ge=0, le=2)
    max_event_age_hours: int = Field(6, ge=1, le=6)
    # Per data set: what happens to identifiers in its PHI-bearing text columns before rows reach
    # curated/ (redact: [TYPE] tags; pseudonymize: keyed [TYPE-hash]; refuse: the whole file is
    # quarantined when any is found). Data sets not listed are redacted.
    phi_policy: dict[str, PhiPolicy] = {}
    # Per data set: the PHI detector (default builtin). comprehend-medical and both call DetectPHI from the
    # ingest function (IAM, and in a VPC an interface endpoint, are added; cost: docs/cost.md).
    phi_detector: dict[str, PhiDetector] = {}
    # SSM SecureString holding the pseudonymization key (required when any data set pseudonymizes).
    phi_key_parameter: str | None = Field(None, pattern=r"^/[\w./-]+$")

    def policy_for(self, dataset: str) -> PhiPolicy:
        return self.phi_policy.get(dataset, DEFAULT_PHI_POLICY)

    @property
    def uses_comprehend_medical(self) -> bool:
        return any(detector != "builtin" for detector in self.phi_detector.values())

    @model_validator(mode="after")
    def _key_when_pseudonymizing(self) -> IngestSettings:
        if "pseudonymize" in self.phi_policy.values() and not self.phi_key_parameter:
            raise ValueError("phi_key_parameter is required when a data set's phi_policy is pseudonymize")
        return self


class TrainingSettings(_Strict):
    """The training pipeline: container image, and an optional schedule that starts it."""

    # None (default): the project's image (pipelines/image) in the stack's own ECR repository,
    # <account>.dkr.ecr.<region>.amazonaws.com/<project>-<env>-training:img-<hash>, pushed by `make image`.
    # Another image must hold what pipelines/image/requirements.txt holds (the stock SageMaker
    # scikit-learn image does not: no ONNX packages, Python 3.10); make rehearse cannot verify it.
    image_uri: str | None = None
    # EventBridge schedule expression, e.g. "rate(7 days)" or "cron(0 3 ? * MON *)"; null: no schedule.
    schedule: str | None = Field(None, pattern=r"^(rate|cron)\(.+\)$")
    recipe: Literal["tabular", "text", "ner"] = "tabular"


ENVIRONMENT_NAME = r"^[a-z][a-z0-9]{1,11}$"
ACCOUNT_ID = r"^\d{12}$"


class RegistrySource(_Strict):
    """The environment, in another account, whose registry approves the versions this environment deploys."""

    account: str = Field(pattern=ACCOUNT_ID)
    environment: str = Field(pattern=ENVIRONMENT_NAME)


class DeploymentSettings(_Strict):
    """How approved versions reach staging and prod, and the gate in between."""

    # Promotion to prod refuses until staging has served the version this long.
    soak_hours: float = Field(24, ge=0)
    # Refuse promotion by the same person who approved the version (people compared: mlstack/identity.py).
    two_person_prod: bool = True
    # Who is who for that rule: a Studio user profile name, or an exact IAM ARN, -> a person
    # (e.g. {"jane-doe": "jane@example.org"}). Studio approvals must be mapped; assumed-role
    # sessions and IAM users name their person themselves. Unmapped approvers are refused, not guessed.
    people: dict[str, str] = {}
    # Share of a stage's traffic a new version takes first.
    canary_percent: int = Field(10, ge=1, le=50)
    # How long the canary runs before it takes all traffic (0: all at once, no canary).
    canary_bake_minutes: float = Field(30, ge=0, le=1440)
    # Audit records cannot be altered or deleted for this long (S3 Object Lock, governance mode).
    audit_retention_days: int = Field(2557, ge=1)
    # Registry side: environments in other accounts that deploy this registry's approved versions, name ->
    # account id. Their deployer and promoter roles (named <project>-<name>-deployer / -promoter) may read the
    # group's versions and the runs' artifacts, and approvals are forwarded to their event bus.
    consumers: dict[str, str] = {}
    # Consumer side: deploy versions approved in that environment's registry (another account), not this one's.
    registry: RegistrySource | None = None

    @field_validator("consumers")
    @classmethod
    def _consumers(cls, consumers: dict[str, str]) -> dict[str, str]:
        bad = {name: account for name, account in consumers.items()
               if not (re.fullmatch(ENVIRONMENT_NAME, name) and re.fullmatch(ACCOUNT_ID, account))}
        if bad:
            raise ValueError(f"expected environment name -> 12-digit account id, got {bad}")
        return consumers


class ServingSettings(_Strict):
    """The inference API: auth, limits, throttling, capture, WAF (stacks/serving.py, docs/serving.md)."""

    # iam: callers sign with SigV4 (default); api_key: x-api-key plus a usage plan (rate, burst, quota).
    auth: Literal["iam", "api_key"] = "iam"
    throttle_rate_per_second: float = Field(50, gt=0)
    throttle_burst: int = Field(100, ge=1)
    # api_key auth only: requests per day per key.
    quota_per_day: int = Field(100_000, ge=1)
    max_instances: int = Field(1000, ge=1, le=10_000)
    max_body_bytes: int = Field(1_048_576, ge=1024, le=10_485_760)
    # Share of requests whose features and predictions are captured for drift monitoring.
    capture_sample_rate: float = Field(0.1, ge=0, le=1)
    memory_mb: int = Field(1024, ge=256, le=10240)
    reserved_concurrency: int = Field(10, ge=1, le=1000)
    # AWS managed rule groups (common, known bad inputs, IP reputation) plus a per-IP rate limit; ~$8/month.
    waf: bool = False
    waf_rate_limit_per_5_minutes: int = Field(2000, ge=100)
    # API Gateway's CloudWatch logging role is one setting per account and region (AWS::ApiGateway::Account):
    # exactly one environment per account and region manages it; set false in the others.
    manage_api_gateway_account: bool = True


class MonitoringSettings(_Strict):
    """Drift monitoring, operational alarms and guarded retraining (stacks/monitoring.py, docs/monitoring.md)."""

    # Which stage's live version the drift function watches.
    stage: Literal["staging", "prod"] = "prod"
    # The drift function runs this often; each run is one alarm period (one datapoint).
    schedule_minutes: int = Field(60, ge=5, le=1440)
    # Captured traffic of the last window_hours is compared with the version's training baseline.
    window_hours: int = Field(24, ge=1, le=24 * 14)
    # Fewer captured rows than this: no drift metrics (the alarms see missing data, not breaching).
    min_rows: int = Field(200, ge=1)
    psi_threshold: float = Field(0.2, gt=0)
    # A drift alarm fires when datapoints_to_alarm of the last evaluation_periods runs found drift.
    evaluation_periods: int = Field(3, ge=1, le=24)
    datapoints_to_alarm: int = Field(2, ge=1, le=24)
    # The drift alarm starts the training pipeline (then a person approves the new version, as always).
    retrain_on_drift: bool = True
    # No retraining start within this many hours of the previous one (storm guard).
    retrain_cooldown_hours: float = Field(24, ge=0)
    # Operational alarm thresholds.
    api_5xx_rate: float = Field(0.05, gt=0, le=1)
    p99_latency_ms: int = Field(1000, ge=10)
    quarantine_rate: float = Field(0.1, gt=0, le=1)

    @model_validator(mode="after")
    def _datapoints_fit(self) -> MonitoringSettings:
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError("datapoints_to_alarm must not exceed evaluation_periods")
        return self


class EnvironmentConfig(_Strict):
    """Everything that differs between dev, prod and other environments."""

    name: str = Field(pattern=ENVIRONMENT_NAME)
    project: str = Field("mlstack", pattern=r"^[a-z][a-z0-9-]{1,15}$")
    account: str | None = Field(None, pattern=ACCOUNT_ID)
    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    # Protected environments refuse the destroy-data flag.
    protected: bool = False
    # HIPAA/NIST packs want Lambdas in a VPC; see docs/decisions/lambda-vpc.md for the cost.
    lambda_in_vpc: bool = False
    vpc_cidr: str = "10.40.0.0/16"
    max_azs: int = Field(2, ge=2, le=3)
    # The account's Lambda concurrent-executions quota (1000 by default; new accounts may have 10).
    # The functions' reserved concurrency must leave 100 unreserved (rule MlStack.Deploy-DP7).
    lambda_concurrency_quota: int = Field(1000, ge=10)
    log_retention_days: int = 365
    # Subscribed to the ops alerts topic (each address confirms by email).
    alert_emails: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ("breast_cancer", "clinical_notes", "clinical_entities")
    lifecycle: LakeLifecycle = LakeLifecycle()
    ingest: IngestSettings = IngestSettings()
    training: TrainingSettings = TrainingSettings()
    deployment: DeploymentSettings = DeploymentSettings()
    serving: ServingSettings = ServingSettings()
    monitoring: MonitoringSettings = MonitoringSettings()

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {LOG_RETENTION_DAYS}")
        return days

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, addresses: tuple[str, ...]) -> tuple[str, ...]:
        bad = [address for address in addresses if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address)]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        return addresses

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        known = available_datasets()
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"unknown dataset(s) {unknown}; schema files exist for {sorted(known)}")
        return names

    @model_validator(mode="after")
    def _one_registry(self) -> EnvironmentConfig:
        source = self.deployment.registry
        if source is None:
            return self
        if self.deployment.consumers:
            raise ValueError("deployment: an environment either has consumers (it is a registry) or a registry "
                             "(it consumes one), not both")
        if source.account == self.account:
            raise ValueError("deployment.registry.account is this environment's own account; a registry in the "
                             "same account needs no cross-account setup")
        if self.monitoring.retrain_on_drift:
            raise ValueError("monitoring.retrain_on_drift: retraining runs where the registry is "
                             f"({source.environment}); set it false in an environment that consumes a registry")
        return self

    def resource_prefix(self) -> str:
        return f"{self.project}-{self.name}"

    def role_name(self, function: str) -> str:
        """Fixed names for the roles other accounts' policies name: <project>-<env>-deployer, -promoter."""
        return f"{self.resource_prefix()}-{function}"

    def source_registry(self) -> tuple[str | None, str]:
        """(account id or None for this one, model package group name) of the registry this environment deploys."""
        source = self.deployment.registry
        if source is None:
            return None, self.model_package_group_name()
        return source.account, f"{self.project}-{source.environment}-models"

    def source_artifacts_bucket(self, region: str) -> str:
        """The artifacts bucket holding the pipeline runs of the versions this environment deploys."""
        source = self.deployment.registry
        if source is None:
            raise ValueError("this environment's own artifacts bucket depends on the deploying account")
        return f"{self.project}-{source.environment}-artifacts-{source.account}-{region}"

    def bucket_name(self, zone: Zone, account: str, region: str) -> str:
        """Globally unique bucket name; account/region may be CDK tokens or concrete values."""
        return f"{self.resource_prefix()}-{zone}-{account}-{region}"

    def serving_parameter_prefix(self) -> str:
        """SSM path of the per-stage pointers to the live model version."""
        return f"/{self.project}/{self.name}/serving"

    def raw_objects_topic_name(self) -> str:
        """The topic S3 notifies of new raw objects (the ingest function subscribes to it)."""
        return f"{self.resource_prefix()}-raw-objects"

    def model_package_group_name(self) -> str:
        return f"{self.resource_prefix()}-models"

    def glue_database_name(self) -> str:
        return f"{self.project}_{self.name}".replace("-", "_")


def _format_error(env_name: str, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"])
        lines.append(f"{ENVIRONMENTS_KEY}.{env_name}.{path}: {item['msg']}")
    return "invalid cdk.json context:\n  " + "\n  ".join(lines)


def parse_environments(raw: Any) -> dict[str, EnvironmentConfig]:
    """Validate the `mlstack:environments` context value into config objects."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{ENVIRONMENTS_KEY} must be a non-empty object of environment name -> settings")
    environments = {}
    for env_name, settings in raw.items():
        if not isinstance(settings, dict):
            raise ConfigError(f"{ENVIRONMENTS_KEY}.{env_name} must be an object")
        try:
            environments[env_name] = EnvironmentConfig(name=env_name, **settings)
        except ValidationError as error:
            raise ConfigError(_format_error(env_name, error)) from None
    _one_api_gateway_account_each(environments)
    return environments


def _one_api_gateway_account_each(environments: dict[str, EnvironmentConfig]) -> None:
    """Two environments in one account and region must not both manage API Gateway's account setting: the
    second overwrites the first, and deleting either leaves the other's APIs without a logging role.
    Environments without an account id (deployed wherever the CLI's credentials point) count as one account."""
    managers: dict[tuple[str | None, str], str] = {}
    for name, config in environments.items():
        if not config.serving.manage_api_gateway_account:
            continue
        place = (config.account, config.region)
        if place in managers:
            where = f"account {config.account}" if config.account else "the same (unnamed) account"
            raise ConfigError(
                f"{ENVIRONMENTS_KEY}.{name}.serving.manage_api_gateway_account: {managers[place]!r} already manages "
                f"API Gateway's logging role in {where} and {config.region}; set it false in all environments "
                "of an account and region but one")
        managers[place] = name


def select_environments(
    environments: dict[str, EnvironmentConfig], selected: str | None
) -> list[EnvironmentConfig]:
    """All environments by default, or the comma-separated ones named by `-c env=...`."""
    if not selected:
        return list(environments.values())
    names = [name.strip() for name in selected.split(",") if name.strip()]
    unknown = [name for name in names if name not in environments]
    if unknown:
        raise ConfigError(f"env={selected!r}: unknown environment(s) {unknown}; configured: {sorted(environments)}")
    return [environments[name] for name in names]


def load_environments(cdk_json: Path = CDK_JSON) -> dict[str, EnvironmentConfig]:
    """Read environments straight from cdk.json (local mode and tools, outside a CDK app)."""
    context = json.loads(cdk_json.read_text())["context"]
    return parse_environments(context.get(ENVIRONMENTS_KEY))
