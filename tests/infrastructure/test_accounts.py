"""Promotion across accounts: a registry environment and a consumer environment in another account.

The registry's group, artifacts bucket and key grant the consumer's deployer and promoter roles (by name, through
aws:PrincipalArn) exactly what they read; the consumer's roles ask for exactly that; approvals cross by EventBridge.
The policies are judged together by the project's IAM evaluator with AWS's cross-account rule (both sides allow).
"""

from __future__ import annotations

import json

import pytest

from local.iam import Request, evaluate
from stacks.app import build_app
from stacks.stage import MlStackStage
from tests.conftest import cdk_context, environment_template

REGISTRY, CONSUMER = "111111111111", "222222222222"
DEPLOYER = f"arn:aws:iam::{CONSUMER}:role/mlstack-prod-deployer"
PROMOTER = f"arn:aws:iam::{CONSUMER}:role/mlstack-prod-promoter"
RUNS = f"arn:aws:s3:::mlstack-dev-artifacts-{REGISTRY}-us-east-1/pipelines/runs/run-1/model.onnx"
VERSION = f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package/mlstack-dev-models/3"


def _resolved(value, account):
    """Pseudo parameters as deployed in us-east-1 of the aws partition, in the environment's account."""
    text = json.dumps(value)
    pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com",
              "AWS::AccountId": account}
    for name, concrete in pseudo.items():
        text = text.replace(json.dumps({"Ref": name}), json.dumps(concrete))
    return json.loads(text)


def _joined(value):
    """Joins of literals as strings (what the policies under test are); others stay as they are."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        parts = [_joined(part) for part in parts]
        literal = all(isinstance(part, str) for part in parts)
        return separator.join(parts) if literal else {"Fn::Join": [separator, parts]}
    if isinstance(value, list):
        return [_joined(item) for item in value]
    if isinstance(value, dict):
        return {key: _joined(item) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def environments(tmp_path_factory):
    context = cdk_context()
    envs = context["mlstack:environments"]
    envs["dev"] = {**envs["dev"], "account": REGISTRY, "deployment": {
        **envs["dev"].get("deployment", {}), "consumers": {"prod": CONSUMER}}}
    envs["prod"] = {**envs["prod"], "account": CONSUMER,
                    "serving": {**envs["prod"]["serving"], "manage_api_gateway_account": True},
                    "monitoring": {"retrain_on_drift": False},
                    "deployment": {**envs["prod"]["deployment"],
                                   "registry": {"account": REGISTRY, "environment": "dev"}}}
    app = build_app(context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    app.synth()  # every nag pack, in both accounts
    stages = {child.stage_name: child for child in app.node.children if isinstance(child, MlStackStage)}
    return {name: _joined(_resolved(environment_template(stage), stage.config.account))
            for name, stage in stages.items()}


def _of_type(template, kind):
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _consumer_identity(template, description):
    [policy] = [p for p in _of_type(template, "AWS::IAM::ManagedPolicy").values()
                if p["Properties"]["Description"].startswith(description)]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _registry_policies(template):
    [group] = _of_type(template, "AWS::SageMaker::ModelPackageGroup").values()
    documents = [p["Properties"]["PolicyDocument"] for p in _of_type(template, "AWS::S3::BucketPolicy").values()]
    [bucket_policy] = [d for d in documents if any(s.get("Sid") == "ConsumersReadRuns" for s in d["Statement"])]
    [key] = _of_type(template, "AWS::KMS::Key").values()
    return group["Properties"]["ModelPackageGroupPolicy"], bucket_policy, key["Properties"]["KeyPolicy"]


@pytest.mark.parametrize("principal", [DEPLOYER, PROMOTER])
def test_the_consumers_roles_read_approved_versions_and_their_runs_across_accounts(environments, principal):
    group_policy, bucket_policy, key_policy = _registry_policies(environments["dev"])
    identity = _consumer_identity(environments["prod"], "deploy function" if principal == DEPLOYER else "promoter")
    requests = [
        (Request("sagemaker:DescribeModelPackage", VERSION, {}), group_policy),
        (Request("sagemaker:DescribeModelPackageGroup",
                 f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package-group/mlstack-dev-models", {}), group_policy),
        (Request("s3:GetObject", RUNS, {}), bucket_policy),
        (Request("kms:Decrypt", f"arn:aws:kms:us-east-1:{REGISTRY}:key/k-1",
                 {"kms:ViaService": "s3.us-east-1.amazonaws.com"}), key_policy),
    ]
    for request, resource_policy in requests:
        decision = evaluate(identity, resource_policy, request, principal, resource_account=REGISTRY)
        assert decision.allowed, (request.action, decision.reason)


def test_nothing_else_of_the_registry_is_shared_and_no_other_role_gets_it(environments):
    group_policy, bucket_policy, key_policy = _registry_policies(environments["dev"])
    identity = _consumer_identity(environments["prod"], "deploy function")
    curated = f"arn:aws:s3:::mlstack-dev-artifacts-{REGISTRY}-us-east-1/serving/prod/v3/model.onnx"
    denied = [
        (Request("s3:GetObject", curated, {}), bucket_policy, DEPLOYER),  # not a pipeline run
        (Request("kms:Decrypt", f"arn:aws:kms:us-east-1:{REGISTRY}:key/k-1", {}), key_policy, DEPLOYER),  # not via S3
        (Request("sagemaker:UpdateModelPackage", VERSION, {}), group_policy, DEPLOYER),  # approving is not reading
        (Request("sagemaker:DescribeModelPackage", VERSION, {}), group_policy,
         f"arn:aws:iam::{CONSUMER}:role/someone-else"),  # the account's other roles
    ]
    for request, resource_policy, principal in denied:
        assert not evaluate(identity, resource_policy, request, principal, resource_account=REGISTRY).allowed, request
    for policy in (group_policy, bucket_policy, key_policy):
        for statement in policy["Statement"]:
            if str(CONSUMER) in json.dumps(statement.get("Principal")):  # account roots only with the role condition
                assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [DEPLOYER, PROMOTER]


def test_approvals_cross_to_the_consumers_bus_and_its_deployer_listens_for_the_registrys_group(environments):
    registry, consumer = environments["dev"], environments["prod"]
    [forward] = [r for r in _of_type(registry, "AWS::Events::Rule").values()
                 if "ForwardApprovals" in json.dumps(r.get("Metadata", {})) or any(
                     f"{CONSUMER}:event-bus/default" in json.dumps(t["Arn"]) for t in r["Properties"]["Targets"])]
    target = forward["Properties"]["Targets"][0]
    assert target["Arn"] == f"arn:aws:events:us-east-1:{CONSUMER}:event-bus/default"
    assert "DeadLetterConfig" in target and "RoleArn" in target
    assert forward["Properties"]["EventPattern"]["detail"]["ModelPackageGroupName"] == ["mlstack-dev-models"]
    [bus_policy] = _of_type(consumer, "AWS::Events::EventBusPolicy").values()
    statement = bus_policy["Properties"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{REGISTRY}:root"}
    assert statement["Action"] == "events:PutEvents"
    [approvals] = [r for r in _of_type(consumer, "AWS::Events::Rule").values()
                   if r["Properties"].get("EventPattern", {}).get("source") == ["aws.sagemaker"]]
    assert approvals["Properties"]["EventPattern"]["account"] == [REGISTRY]
    assert approvals["Properties"]["EventPattern"]["detail"]["ModelPackageGroupName"] == ["mlstack-dev-models"]


def test_the_roles_other_accounts_name_have_fixed_names(environments):
    names = {r["Properties"].get("RoleName") for r in _of_type(environments["prod"], "AWS::IAM::Role").values()}
    assert {"mlstack-prod-deployer", "mlstack-prod-promoter"} <= names
