"""Approval -> staging; rejection of a live version -> rollback; promotion -> prod (gated). All audited.

With a canary policy, a new version first takes `percent` of a stage's
traffic beside the stable one (weighted pointer, mlstack/pointer.py); `check_canaries` (on a
schedule and whenever the stage's canary alarm changes state) rolls it back while the alarm is in
ALARM, or completes it after the bake time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lambdas.deploy.audit import AuditLog, AuditRecord, read_metrics
from lambdas.deploy.model_card import ModelCards
from lambdas.deploy.registry import ModelVersion, Registry
from lambdas.deploy.serving import LambdaBackend, ServingArtifacts
from mlstack.config import EnvironmentConfig
from mlstack.identity import two_person_refusal
from mlstack.pointer import MODEL_STAGES, Live, ServingPointer, canary_alarm_name

STAGING, PROD = MODEL_STAGES


class Backend(Protocol):
    def publish(self, stage: str, version: ModelVersion) -> str: ...


class PromotionRefusedError(RuntimeError):
    """The prod gate said no; the reasons are in the message and in the audit record."""


class NoLongerApprovedError(RuntimeError):
    """The version's registry status changed (rejected, say) after the decision to make it live."""


@dataclass(frozen=True)
class CanaryPolicy:
    percent: int
    bake_minutes: float
    resource_prefix: str  # names the per-stage canary alarms

    def alarm(self, stage: str) -> str:
        return canary_alarm_name(self.resource_prefix, stage)


@dataclass(frozen=True)
class PromotionPolicy:
    soak_hours: float
    two_person: bool
    alarm_prefix: str
    people: Mapping[str, str] = field(default_factory=dict)  # identity -> person (mlstack/identity.py)


class Deployer:
    @classmethod
    def from_config(cls, config: EnvironmentConfig, *, account: str, region: str, session: Any) -> Deployer:
        """The deployer of an environment, as operators use it (`mlstack promote`) and local mode does."""
        s3 = session.client("s3", region_name=region)
        artifacts = ServingArtifacts(s3, config.bucket_name("artifacts", account, region))
        partition = session.get_partition_for_region(region)
        topic = f"arn:{partition}:sns:{region}:{account}:{config.resource_prefix()}-deployments"
        return cls(registry=Registry(session.client("sagemaker", region_name=region)),
                   pointer=ServingPointer(session.client("ssm", region_name=region), config.serving_parameter_prefix()),
                   backend=LambdaBackend(artifacts), artifacts=artifacts,
                   audit=AuditLog(s3, config.bucket_name("audit", account, region),
                                  session.client("sns", region_name=region), topic),
                   s3=s3, canary=cls.canary_for(config))

    @staticmethod
    def canary_for(config: EnvironmentConfig) -> CanaryPolicy | None:
        settings = config.deployment
        if not settings.canary_bake_minutes:
            return None
        return CanaryPolicy(settings.canary_percent, settings.canary_bake_minutes, config.resource_prefix())

    @staticmethod
    def policy_for(config: EnvironmentConfig) -> PromotionPolicy:
        settings = config.deployment
        return PromotionPolicy(settings.soak_hours, settings.two_person_prod, f"{config.resource_prefix()}-staging",
                               settings.people)

    def __init__(self, *, registry: Registry, pointer: ServingPointer, backend: Backend, artifacts: ServingArtifacts,
                 audit: AuditLog, s3: Any, canary: CanaryPolicy | None = None, cards: ModelCards | None = None) -> None:
        self.registry, self.pointer, self.backend, self.audit, self.s3 = registry, pointer, backend, audit, s3
        self.artifacts, self.canary, self.cards = artifacts, canary, cards

    def _make_live(self, stage: str, version: ModelVersion, *, canary_beside: Live | None = None) -> None:
        """Publish the signature, drift baseline and model, then move the pointer (the one atomic step): all traffic,
        or the canary share beside the stable version. The registry is asked again just before the pointer
        moves: a rejection that raced this deployment wins (NoLongerApprovedError, nothing moved)."""
        signature_uri = self.artifacts.publish_signature(stage, version)
        self.artifacts.publish_baseline(stage, version)
        model_uri = self.backend.publish(stage, version)
        self._still_approved(version)
        if canary_beside is None:
            self.pointer.move(stage, version, model_uri, signature_uri)
        else:
            assert self.canary is not None
            self.pointer.start_canary(stage, canary_beside, version, model_uri, signature_uri,
                                      weight=self.canary.percent / 100)

    def _still_approved(self, version: ModelVersion) -> None:
        status = self.registry.describe(version.arn).status
        if status != "Approved":
            raise NoLongerApprovedError(f"v{version.version} became {status} while it was being deployed")

    def handle_state_change(self, detail: dict[str, Any]) -> AuditRecord | None:
        """React to a registry state change; the registry (not the event) says the current status."""
        version = self.registry.describe(detail["ModelPackageArn"])
        if version.status == "Approved":
            record = self.deploy(STAGING, version, action="deploy", actor=version.approver)
            if self.cards and record.outcome in ("succeeded", "canary-started"):
                self.cards.publish(version)  # the approval record and evaluation, for auditors
            return record
        if version.status == "Rejected":
            return self.reject(version)
        return None  # pending: the rule never routes it; nothing to do if it arrives anyway

    def deploy(self, stage: str, version: ModelVersion, *, action: str, actor: str) -> AuditRecord:
        """Make an approved version live on a stage, unless that would move the stage backwards: events arrive
        out of order and are redelivered, so a version older than the one serving (or than the candidate of
        a running canary) is recorded and ignored. Going back to an older version is a rollback: reject the
        live version (the deployer then serves the newest other approved one)."""
        live = self.pointer.current(stage)
        if live and live.serves(version.arn):  # a redelivered event, or a repeated promotion
            return self._record(action, "no-op", stage, actor=actor, version=version,
                                detail=f"v{version.version} is already live")
        newest = max((v for v in (live, live and live.canary) if v), key=lambda v: v.version, default=None)
        if newest and version.version < newest.version:
            return self._record(action, "ignored", stage, actor=actor, version=version,
                                detail=f"v{version.version} is older than v{newest.version} on {stage}; an older "
                                       "version replaces a newer one only by a rollback (reject the newer one)")
        try:
            return self._deploy_newer(stage, version, live, action=action, actor=actor)
        except NoLongerApprovedError as error:
            return self._record(action, "refused", stage, actor=actor, version=version, detail=str(error))

    def _deploy_newer(self, stage: str, version: ModelVersion, live: Live | None, *, action: str,
                      actor: str) -> AuditRecord:
        if live and self.canary:
            stable = live.stable()
            self._make_live(stage, version, canary_beside=stable)
            if live.canary:  # the candidate it replaces gets its own record: no canary ends unaudited
                replaced = self.registry.describe(live.canary.model_package_arn)
                self._record("canary-replaced", "succeeded", stage, actor=actor, version=replaced,
                             detail=f"canary v{replaced.version} replaced by the newer v{version.version}")
            return self._record(action, "canary-started", stage, actor=actor, version=version,
                                detail=f"v{version.version} takes {self.canary.percent}% beside v{stable.version} "
                                       f"for {self.canary.bake_minutes:g} min; rollback on {self.canary.alarm(stage)}")
        self._make_live(stage, version)
        previous = f"v{live.version}" if live else "nothing"
        return self._record(action, "succeeded", stage, actor=actor, version=version,
                            detail=f"{previous} -> v{version.version}")

    def check_canaries(self, cloudwatch: Any, now: datetime | None = None) -> list[AuditRecord]:
        """Roll back each stage's canary whose alarm is in ALARM; complete those that baked long enough."""
        if self.canary is None:
            return []
        now, records = now or datetime.now(UTC), []
        for stage in MODEL_STAGES:
            live = self.pointer.current(stage)
            if live is None or live.canary is None:
                continue
            alarm = self.canary.alarm(stage)
            candidate = self.registry.describe(live.canary.model_package_arn)
            states = [a["StateValue"] for a in cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
                      if a["AlarmName"] == alarm]
            # Fail safe: a canary completes only with its alarm present and quiet and the candidate still approved.
            problem = ("ALARM" in states and f"{alarm} in ALARM") or (not states and f"{alarm} does not exist") or (
                candidate.status != "Approved" and f"v{candidate.version} is {candidate.status}")
            if problem:
                self.pointer.write(stage, live.stable())
                action = "canary-rollback"
                detail = f"{problem}: v{live.canary.version} withdrawn, v{live.version} takes all"
            elif now - datetime.fromisoformat(live.canary.deployed_at) >= timedelta(minutes=self.canary.bake_minutes):
                self.pointer.complete_canary(stage, live)
                action = "canary-complete"
                detail = f"v{live.version} -> v{live.canary.version} after {self.canary.bake_minutes:g} min"
            else:
                continue  # still baking, alarm quiet
            records.append(self._record(action, "succeeded", stage, actor="canary-check", version=candidate,
                                        detail=detail))
        return records

    def reject(self, version: ModelVersion) -> AuditRecord:
        """Withdraw the rejected version wherever it takes traffic: a canary of it is dropped (the stable
        version takes all); where it is the stable version, the newest other approved one replaces it."""
        lives = {stage: live for stage in MODEL_STAGES if (live := self.pointer.current(stage))}
        stages = [stage for stage, live in lives.items() if live.serves(version.arn)]
        if not stages:
            return self._record("reject", "no-op", "-", actor=version.approver, version=version,
                                detail="not live anywhere")
        fallbacks = [v for v in self.registry.approved_versions(version.group) if v.arn != version.arn]
        for stage in stages:
            live = lives[stage]
            if live.model_package_arn != version.arn:
                self.pointer.write(stage, live.stable())
                detail = f"canary v{version.version} withdrawn; v{live.version} takes all"
            elif (fallback := self._first_still_approved(stage, fallbacks)) is None:
                self.pointer.clear(stage)
                detail = f"v{version.version} withdrawn; no other approved version, {stage} serves nothing"
            else:
                detail = f"v{version.version} -> v{fallback.version}"
            record = self._record("rollback", "succeeded", stage, actor=version.approver, version=version,
                                  detail=detail)
        return record

    def _first_still_approved(self, stage: str, candidates: list[ModelVersion]) -> ModelVersion | None:
        """Make the newest candidate live that is still approved when its pointer moves (a rejection racing
        this rollback skips that one)."""
        for candidate in candidates:
            try:
                self._make_live(stage, candidate)
            except NoLongerApprovedError:
                continue
            return candidate
        return None

    def promote(self, policy: PromotionPolicy, principal: str, cloudwatch: Any,
                now: datetime | None = None) -> AuditRecord:
        """Move the staging version to prod if it soaked, nothing alarms, and (if set) two people agree."""
        live = self.pointer.current(STAGING)
        if live is None:
            raise PromotionRefusedError("nothing is deployed to staging")
        if live.canary:
            raise PromotionRefusedError(f"staging is running a canary of v{live.canary.version}; promote after it "
                                        "completes (or is rolled back)")
        version = self.registry.describe(live.model_package_arn)
        reasons = self._refusals(policy, principal=principal, cloudwatch=cloudwatch, deployed_at=live.deployed_at,
                                 version=version, now=now or datetime.now(UTC))
        if reasons:
            self._record("promote", "refused", PROD, actor=principal, version=version, detail="; ".join(reasons))
            raise PromotionRefusedError("promotion refused: " + "; ".join(reasons))
        record = self.deploy(PROD, version, action="promote", actor=principal)
        if record.outcome in ("refused", "ignored"):  # rejected meanwhile, or older than prod's version
            raise PromotionRefusedError(f"promotion refused: {record.detail}")
        return record

    @staticmethod
    def _refusals(policy: PromotionPolicy, *, principal: str, cloudwatch: Any, deployed_at: str,
                  version: ModelVersion, now: datetime) -> list[str]:
        reasons = []
        if version.status != "Approved":
            reasons.append(f"v{version.version} is {version.status}, not Approved")
        served = now - datetime.fromisoformat(deployed_at)
        if served < timedelta(hours=policy.soak_hours):
            reasons.append(f"staging has served v{version.version} for {served.total_seconds() / 3600:.1f} h; "
                           f"the soak period is {policy.soak_hours} h")
        alarms = [alarm for alarm in cloudwatch.describe_alarms(AlarmNamePrefix=policy.alarm_prefix,
                                                                 StateValue="ALARM")["MetricAlarms"]
                  if alarm["StateValue"] == "ALARM"]  # moto ignores StateValue beside a prefix
        if alarms:
            reasons.append("staging alarms in ALARM: " + ", ".join(a["AlarmName"] for a in alarms))
        refusal = two_person_refusal(version.approver, principal, policy.people, version.version) \
            if policy.two_person else None
        return reasons + ([refusal] if refusal else [])

    def _record(self, action: str, outcome: str, stage: str, *, actor: str, version: ModelVersion,
                detail: str) -> AuditRecord:
        return self.audit.write(AuditRecord(
            action=action, outcome=outcome, stage=stage, actor=actor, model_package_arn=version.arn,
            model_version=version.version, model_group=version.group,
            approval_description=version.approval_description, approver=version.approver,
            metrics=read_metrics(self.s3, version.metrics_uri), detail=detail))
