"""The deploy-time defects the rehearsal and the MlStack.Deploy rules found, each guarded in the templates."""

from __future__ import annotations

import json

import pytest

from pipelines.bundle import image_tag

ENVIRONMENTS = ("dev", "prod")


def _resources(template, resource_type):
    return template.find_resources(resource_type)


def _our_functions(template):
    """The project's functions (CDK's own custom-resource providers are not ours to package)."""
    return {logical_id: function for logical_id, function in _resources(template, "AWS::Lambda::Function").items()
            if function["Properties"]["Handler"].startswith("lambdas.")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_function_is_created_after_the_policy_that_holds_its_permissions(templates, env):
    template = templates[env]
    policies = {logical_id for logical_id in _resources(template, "AWS::IAM::ManagedPolicy")}
    for logical_id, function in _our_functions(template).items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        own = {pid for pid in policies if {"Ref": role} in template.to_json()["Resources"][pid]["Properties"]["Roles"]}
        assert own and own <= set(function.get("DependsOn", [])), logical_id


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ops_topic_lets_this_accounts_alarms_publish(templates, env):
    [policy] = [p for p in _resources(templates[env], "AWS::SNS::TopicPolicy").values()
                if "Alerts" in json.dumps(p["Properties"]["Topics"])]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow" and s.get("Principal") == {
        "Service": "cloudwatch.amazonaws.com"}]
    assert allow and allow[0]["Action"] == "sns:Publish" and "aws:SourceArn" in allow[0]["Condition"]["ArnLike"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_statements_for_publishing_services_carry_no_condition_they_never_send(templates, env):
    [key] = _resources(templates[env], "AWS::KMS::Key").values()
    [statement] = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                   if s.get("Sid") == "ServicesPublishToEncryptedTopicsAndQueues"]
    assert "Condition" not in statement
    # S3 publishes to the encrypted raw-object topic; SNS redrives to the encrypted dead-letter queue.
    assert {f"{service}.amazonaws.com" for service in ("cloudwatch", "events", "s3", "sns")} == set(
        statement["Principal"]["Service"])


def test_the_prod_waf_counts_the_8_kb_body_rule_instead_of_blocking(templates):
    [acl] = _resources(templates["prod"], "AWS::WAFv2::WebACL").values()
    [common] = [r for r in acl["Properties"]["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet"]
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}} in overrides


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_pipeline_role_lists_the_code_assets_and_encrypts_outputs(templates, env):
    [policy] = [p for p in _resources(templates[env], "AWS::IAM::ManagedPolicy").values()
                if "training pipeline" in p["Properties"].get("Description", "")]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["ListCodeAssets"]["Action"] == "s3:ListBucket"
    assert "cdk-hnb659fds-assets" in json.dumps(statements["ListCodeAssets"]["Resource"])
    assert "kms:Encrypt" in statements["UseLakeKey"]["Action"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_functions_run_on_a_python_whose_interpreter_the_rehearsal_has(templates, env):
    runtimes = {function["Properties"]["Runtime"] for function in _our_functions(templates[env]).values()}
    assert runtimes == {"python3.12"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_run_the_projects_image_from_the_stacks_own_repository_in_its_region(templates, env):
    template = templates[env]
    [(repository_id, repository)] = _resources(template, "AWS::ECR::Repository").items()
    assert repository["Properties"]["RepositoryName"] == f"mlstack-{env}-training"
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    [pipeline] = _resources(template, "AWS::SageMaker::Pipeline").values()
    variables = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Sub"][1]
    image = json.dumps(variables["ImageUri"])
    # The repository in the deploying account and region (from its ARN), not a fixed region's image.
    assert repository_id in image and "AWS::URLSuffix" in image and "us-east-1" not in image
    assert f":{image_tag()}" in image  # the content tag `make image` pushes: the image the rehearsal builds
    [policy] = [p for p in _resources(template, "AWS::IAM::ManagedPolicy").values()
                if "training pipeline" in p["Properties"].get("Description", "")]
    [pull] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "PullImage"]
    assert pull["Resource"] == {"Fn::GetAtt": [repository_id, "Arn"]}


def test_one_api_gateway_account_setting_per_account_that_every_stage_waits_for(stages, templates):
    # dev and prod share an (unnamed) account in cdk.json: dev's shared stack manages the setting, prod's does not.
    [(account_id, account)] = _resources(templates["dev"], "AWS::ApiGateway::Account").items()
    assert "CloudWatchRoleArn" in account["Properties"] and account["DeletionPolicy"] == "Retain"
    assert not _resources(templates["prod"], "AWS::ApiGateway::Account")
    dev = stages["dev"]
    shared = dev.synth().get_stack_artifact(dev.stacks["shared"].artifact_id).template
    assert account_id in shared["Resources"] and all(  # every serving stack deploys after it
        dev.stacks["shared"] in dev.stacks[f"serving-{stage}"].dependencies for stage in ("staging", "prod"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stateful_resources_are_retained_except_when_a_first_create_fails(templates, env):
    template = templates[env]
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SageMaker::ModelPackageGroup"):
        for logical_id, resource in _resources(template, resource_type).items():
            assert resource["DeletionPolicy"] == "RetainExceptOnCreate", logical_id
