"""Approval gates and audited deployment under moto: only Approved deploys; rejection rolls back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from lambdas.deploy.audit import AuditLog
from lambdas.deploy.deployer import CanaryPolicy, Deployer, PromotionPolicy, PromotionRefusedError
from lambdas.deploy.events import approval_event_pattern
from lambdas.deploy.registry import Registry
from lambdas.deploy.serving import LambdaBackend, ServingArtifacts
from local.registry import set_approval
from mlstack.events import matches
from mlstack.pointer import ServingPointer

GROUP = "mlstack-dev-models"


@pytest.fixture
def aws():
    with mock_aws():
        clients = {name: boto3.client(name) for name in ("s3", "sagemaker", "ssm", "sns", "cloudwatch")}
        clients["s3"].create_bucket(Bucket="artifacts")
        clients["s3"].create_bucket(Bucket="audit", ObjectLockEnabledForBucket=True)
        clients["sagemaker"].create_model_package_group(ModelPackageGroupName=GROUP)
        clients["sagemaker"].create_model_package_group(ModelPackageGroupName="someone-elses-models")
        yield clients


def _register(aws, accuracy: float, group: str = GROUP) -> str:
    s3 = aws["s3"]
    run = f"runs/{accuracy}"
    s3.put_object(Bucket="artifacts", Key=f"{run}/onnx/model.onnx", Body=b"onnx-bytes")
    s3.put_object(Bucket="artifacts", Key=f"{run}/onnx/signature.json", Body=b"{}")
    s3.put_object(Bucket="artifacts", Key=f"{run}/evaluation/evaluation.json", Body=json.dumps(
        {"multiclass_classification_metrics": {"accuracy": {"value": accuracy}}}).encode())
    return aws["sagemaker"].create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={"Containers": [{"Image": "img", "ModelDataUrl": "s3://artifacts/m.tar.gz"}],
                                "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]},
        ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                                      "S3Uri": f"s3://artifacts/{run}/evaluation/evaluation.json"}}},
        CustomerMetadataProperties={"onnx_model": f"s3://artifacts/{run}/onnx/model.onnx"})["ModelPackageArn"]


@pytest.fixture
def deployer(aws):
    audit = AuditLog(aws["s3"], "audit", aws["sns"], aws["sns"].create_topic(Name="deployments")["TopicArn"])
    artifacts = ServingArtifacts(aws["s3"], "artifacts")
    return Deployer(registry=Registry(aws["sagemaker"]), pointer=ServingPointer(aws["ssm"], "/mlstack/dev/serving"),
                    backend=LambdaBackend(artifacts), artifacts=artifacts, audit=audit, s3=aws["s3"])


def _route(deployer, event):
    """What the EventBridge rule does: deliver only matching events to the deployer."""
    if matches(approval_event_pattern([GROUP]), event):
        return deployer.handle_state_change(event["detail"])
    return None


def test_only_approved_or_rejected_transitions_in_our_group_reach_the_deployer(aws, deployer):
    arn = _register(aws, 0.95)
    pending = set_approval(aws["sagemaker"], arn, "PendingManualApproval", "back to review")
    assert _route(deployer, pending) is None
    assert deployer.pointer.current("staging") is None
    other = set_approval(aws["sagemaker"], _register(aws, 0.5, "someone-elses-models"), "Approved", "ok")
    assert not matches(approval_event_pattern([GROUP]), other)
    approved = set_approval(aws["sagemaker"], arn, "Approved", "reviewed by the ML lead")
    record = _route(deployer, approved)
    assert (record.action, record.outcome, record.stage) == ("deploy", "succeeded", "staging")
    assert deployer.pointer.current("staging").model_package_arn == arn


def test_a_deployment_copies_the_onnx_model_and_audits_who_what_and_metrics(aws, deployer):
    arn = _register(aws, 0.97)
    record = _route(deployer, set_approval(aws["sagemaker"], arn, "Approved", "meets the bar"))
    live = deployer.pointer.current("staging")
    assert live.model_uri == "s3://artifacts/serving/staging/v1/model.onnx"
    assert live.signature_uri == "s3://artifacts/serving/staging/v1/signature.json"
    assert aws["s3"].get_object(Bucket="artifacts", Key="serving/staging/v1/model.onnx")["Body"].read() == b"onnx-bytes"
    [stored] = deployer.audit.trail()
    assert stored == record
    assert stored.approval_description == "meets the bar"
    assert stored.approver == "fake-user-profile-name"
    assert stored.metrics == {"accuracy": 0.97}
    assert stored.model_version == 1


def test_the_same_event_twice_deploys_once(aws, deployer):
    event = set_approval(aws["sagemaker"], _register(aws, 0.95), "Approved", "ok")
    first, second = _route(deployer, event), _route(deployer, event)
    assert (first.outcome, second.outcome) == ("succeeded", "no-op")
    history = aws["ssm"].get_parameter_history(Name="/mlstack/dev/serving/staging/model")["Parameters"]
    assert len(history) == 1


def test_rejecting_the_live_version_rolls_back_to_the_previous_approved_one(aws, deployer):
    first, second = _register(aws, 0.95), _register(aws, 0.96)
    _route(deployer, set_approval(aws["sagemaker"], first, "Approved", "v1"))
    _route(deployer, set_approval(aws["sagemaker"], second, "Approved", "v2"))
    deployer.promote(PromotionPolicy(0, False, "mlstack-dev-staging"), "release-manager", aws["cloudwatch"])
    assert deployer.pointer.current("prod").version == 2
    record = _route(deployer, set_approval(aws["sagemaker"], second, "Rejected", "bias found"))
    assert (record.action, record.detail) == ("rollback", "v2 -> v1")
    assert deployer.pointer.current("staging").version == 1
    assert deployer.pointer.current("prod").version == 1


def test_rejecting_the_only_live_version_withdraws_it(aws, deployer):
    arn = _register(aws, 0.95)
    _route(deployer, set_approval(aws["sagemaker"], arn, "Approved", "ok"))
    record = _route(deployer, set_approval(aws["sagemaker"], arn, "Rejected", "leak"))
    assert "no other approved version" in record.detail
    assert deployer.pointer.current("staging") is None


def test_rejecting_a_version_that_is_not_live_changes_nothing(aws, deployer):
    record = _route(deployer, set_approval(aws["sagemaker"], _register(aws, 0.95), "Rejected", "no"))
    assert (record.action, record.outcome) == ("reject", "no-op")


@pytest.mark.parametrize(("policy", "principal", "alarm", "expected"), [
    (PromotionPolicy(24, False, "mlstack-dev-staging"), "lead", False, "the soak period is 24 h"),
    (PromotionPolicy(0, False, "mlstack-dev-staging"), "lead", True,
     "staging alarms in ALARM: mlstack-dev-staging-5xx"),
    # moto records approvals as the Studio user profile "fake-user-profile-name"; the promoter is an STS ARN.
    (PromotionPolicy(0, True, "mlstack-dev-staging", {"fake-user-profile-name": "jane"}),
     "arn:aws:sts::123456789012:assumed-role/Release/jane", False, "two-person rule: jane approved v1"),
    (PromotionPolicy(0, True, "mlstack-dev-staging"), "arn:aws:sts::123456789012:assumed-role/Release/bob", False,
     "cannot tell which person approved"),
])
def test_the_prod_gate_refuses_and_audits_the_refusal(aws, deployer, policy, principal, alarm,  # noqa: PLR0917
                                                      expected):
    _route(deployer, set_approval(aws["sagemaker"], _register(aws, 0.95), "Approved", "ok"))
    if alarm:
        aws["cloudwatch"].put_metric_alarm(AlarmName="mlstack-dev-staging-5xx", MetricName="5xx", Namespace="n",
                                           Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                           ComparisonOperator="GreaterThanThreshold")
        aws["cloudwatch"].set_alarm_state(AlarmName="mlstack-dev-staging-5xx", StateValue="ALARM", StateReason="t")
    with pytest.raises(PromotionRefusedError, match=expected):
        deployer.promote(policy, principal, aws["cloudwatch"])
    assert deployer.pointer.current("prod") is None
    assert deployer.audit.trail()[-1].outcome == "refused"


def test_promotion_after_the_soak_period_moves_prod(aws, deployer):
    _route(deployer, set_approval(aws["sagemaker"], _register(aws, 0.95), "Approved", "ok"))
    later = datetime.now(UTC) + timedelta(hours=25)
    promoter = "arn:aws:sts::123456789012:assumed-role/Release/bob"
    record = deployer.promote(PromotionPolicy(24, True, "mlstack-dev-staging", {"fake-user-profile-name": "jane"}),
                              promoter, aws["cloudwatch"], now=later)
    assert (record.action, record.outcome, record.stage, record.actor) == ("promote", "succeeded", "prod", promoter)


@pytest.fixture
def canary_deployer(aws, deployer):
    deployer.canary = CanaryPolicy(percent=10, bake_minutes=30, resource_prefix="mlstack-dev")
    return deployer


def _alarm(aws, stage: str, state: str) -> None:
    name = f"mlstack-dev-{stage}-canary-errors"
    aws["cloudwatch"].put_metric_alarm(AlarmName=name, MetricName="CanaryErrors", Namespace="mlstack-dev",
                                       Dimensions=[{"Name": "Stage", "Value": stage}], Statistic="Sum", Period=60,
                                       EvaluationPeriods=1, Threshold=1,
                                       ComparisonOperator="GreaterThanOrEqualToThreshold")
    aws["cloudwatch"].set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def _two_versions_with_a_canary(aws, deployer) -> tuple[str, str]:
    first, second = _register(aws, 0.95), _register(aws, 0.96)
    assert _route(deployer, set_approval(aws["sagemaker"], first, "Approved", "v1")).outcome == "succeeded"
    record = _route(deployer, set_approval(aws["sagemaker"], second, "Approved", "v2"))
    assert (record.action, record.outcome) == ("deploy", "canary-started")
    assert "v2 takes 10% beside v1" in record.detail
    return first, second


def test_a_new_version_starts_as_a_canary_beside_the_live_one(aws, canary_deployer):
    first, second = _two_versions_with_a_canary(aws, canary_deployer)
    live = canary_deployer.pointer.current("staging")
    assert (live.model_package_arn, live.canary.model_package_arn, live.canary_weight) == (first, second, 0.1)
    assert live.canary.model_uri == "s3://artifacts/serving/staging/v2/model.onnx"
    redelivered = _route(canary_deployer, set_approval(aws["sagemaker"], second, "Approved", "v2"))
    assert redelivered.outcome == "no-op"
    with pytest.raises(PromotionRefusedError, match="canary of v2"):
        canary_deployer.promote(PromotionPolicy(0, False, "mlstack-dev-staging"), "release-manager", aws["cloudwatch"])


def test_a_canary_completes_after_the_bake_time_when_its_alarm_is_quiet(aws, canary_deployer):
    _, second = _two_versions_with_a_canary(aws, canary_deployer)
    _alarm(aws, "staging", "OK")
    assert canary_deployer.check_canaries(aws["cloudwatch"]) == []  # still baking
    later = datetime.now(UTC) + timedelta(minutes=31)
    [record] = canary_deployer.check_canaries(aws["cloudwatch"], now=later)
    assert (record.action, record.stage, record.model_package_arn) == ("canary-complete", "staging", second)
    live = canary_deployer.pointer.current("staging")
    assert (live.model_package_arn, live.canary) == (second, None)
    assert canary_deployer.check_canaries(aws["cloudwatch"], now=later) == []


def test_a_canary_whose_alarm_fires_is_rolled_back_and_audited(aws, canary_deployer):
    first, second = _two_versions_with_a_canary(aws, canary_deployer)
    _alarm(aws, "staging", "ALARM")
    [record] = canary_deployer.check_canaries(aws["cloudwatch"])
    assert (record.action, record.outcome, record.model_package_arn) == ("canary-rollback", "succeeded", second)
    assert "mlstack-dev-staging-canary-errors in ALARM" in record.detail
    live = canary_deployer.pointer.current("staging")
    assert (live.model_package_arn, live.canary) == (first, None)
    assert [r.action for r in canary_deployer.audit.trail()][-1] == "canary-rollback"


def test_rejecting_a_canary_withdraws_only_the_canary(aws, canary_deployer):
    first, second = _two_versions_with_a_canary(aws, canary_deployer)
    record = _route(canary_deployer, set_approval(aws["sagemaker"], second, "Rejected", "bias found"))
    assert (record.action, record.detail) == ("rollback", "canary v2 withdrawn; v1 takes all")
    live = canary_deployer.pointer.current("staging")
    assert (live.model_package_arn, live.canary) == (first, None)


def test_the_first_version_of_a_stage_takes_all_traffic_at_once(aws, canary_deployer):
    record = _route(canary_deployer, set_approval(aws["sagemaker"], _register(aws, 0.95), "Approved", "v1"))
    assert (record.outcome, canary_deployer.pointer.current("staging").canary) == ("succeeded", None)


# --- deployments that cannot go backwards ------------------------------------------------------

def _audit_records(deploying) -> list[dict]:
    s3 = deploying.audit.s3
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="audit", Prefix="audit/").get("Contents", [])]
    return sorted((json.loads(s3.get_object(Bucket="audit", Key=k)["Body"].read()) for k in keys),
                  key=lambda record: record["at"])


def _approve(aws, deployer, arn, note="ok"):
    return _route(deployer, set_approval(aws["sagemaker"], arn, "Approved", note))


def test_a_promotion_racing_a_rejection_never_puts_the_rejected_version_in_prod(aws, deployer, monkeypatch):
    arn = _register(aws, 0.95)
    _approve(aws, deployer, arn)
    publish = deployer.artifacts.publish_baseline

    def rejected_while_publishing(stage, version):  # the ML lead rejects between the gate and the pointer
        set_approval(aws["sagemaker"], arn, "Rejected", "leak found in the training data")
        return publish(stage, version)

    monkeypatch.setattr(deployer.artifacts, "publish_baseline", rejected_while_publishing)
    with pytest.raises(PromotionRefusedError, match="became Rejected"):
        deployer.promote(PromotionPolicy(0, False, "mlstack-dev-staging"), "arn:aws:sts::1:assumed-role/r/bob",
                         aws["cloudwatch"], now=datetime.now(UTC) + timedelta(hours=1))
    assert deployer.pointer.current("prod") is None
    assert (_audit_records(deployer)[-1]["action"], _audit_records(deployer)[-1]["outcome"]) == ("promote", "refused")


def test_an_older_approval_arriving_late_never_replaces_the_newer_live_version(aws, deployer):
    older, newer = _register(aws, 0.95), _register(aws, 0.96)
    set_approval(aws["sagemaker"], older, "Approved", "v1")
    late_event = set_approval(aws["sagemaker"], older, "Approved", "v1 again")  # delivered after v2's
    assert _approve(aws, deployer, newer).outcome == "succeeded"
    record = _route(deployer, late_event)
    assert (record.outcome, deployer.pointer.current("staging").model_package_arn) == ("ignored", newer)
    assert "older than v2" in record.detail


def test_during_a_canary_a_newer_version_replaces_the_candidate_with_an_audit_record_and_an_older_one_is_ignored(
        aws, deployer):
    deployer.canary = CanaryPolicy(percent=10, bake_minutes=30, resource_prefix="mlstack-dev")
    first, second, third = (_register(aws, accuracy) for accuracy in (0.95, 0.96, 0.97))
    _approve(aws, deployer, first)
    assert _approve(aws, deployer, second).outcome == "canary-started"
    assert _approve(aws, deployer, third).outcome == "canary-started"
    live = deployer.pointer.current("staging")
    assert (live.model_package_arn, live.canary.model_package_arn) == (first, third)
    replaced = [r for r in _audit_records(deployer) if r["action"] == "canary-replaced"]
    assert [r["model_package_arn"] for r in replaced] == [second]
    assert _approve(aws, deployer, second, "redelivered").outcome == "ignored"
    assert deployer.pointer.current("staging").canary.model_package_arn == third


@pytest.mark.parametrize("cause", ["the canary alarm does not exist", "the candidate was rejected meanwhile"])
def test_a_canary_fails_safe_instead_of_completing(aws, deployer, cause):
    deployer.canary = CanaryPolicy(percent=10, bake_minutes=30, resource_prefix="mlstack-dev")
    first, second = _register(aws, 0.95), _register(aws, 0.96)
    _approve(aws, deployer, first)
    _approve(aws, deployer, second)
    if cause == "the candidate was rejected meanwhile":
        _alarm(aws, "staging", "OK")
        set_approval(aws["sagemaker"], second, "Rejected", "the rejection event was lost")  # not routed
    [record] = deployer.check_canaries(aws["cloudwatch"], now=datetime.now(UTC) + timedelta(minutes=31))
    assert record.action == "canary-rollback"
    assert ("does not exist" if "alarm" in cause else "is Rejected") in record.detail
    live = deployer.pointer.current("staging")
    assert (live.model_package_arn, live.canary) == (first, None)
