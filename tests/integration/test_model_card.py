"""Model cards at approval (moto): created once per version with metrics, data, recipe, PHI policy, approval."""

from __future__ import annotations

import json

from lambdas.deploy.model_card import MODEL_CARDS_PREFIX, ModelCards, card_name
from lambdas.deploy.registry import Registry
from local.registry import set_approval
from tests.integration.test_deploy import GROUP, _register, aws, deployer  # noqa: F401 - fixtures

KEY = "arn:aws:kms:us-east-1:123456789012:key/lake"
INPUTS = [{"file": "ingest_date=2026-11-30/a.parquet", "rows": 500, "sha256": "ab" * 32,
           "source": "s3://raw/raw/clinical_notes/notes.jsonl", "source_version_id": "v-123"}]


def _with_cards(aws, deployer):  # noqa: F811 - fixtures
    deployer.cards = ModelCards(sagemaker=aws["sagemaker"], s3=aws["s3"], bucket="artifacts", kms_key_arn=KEY,
                                phi_policies={"clinical_notes": "pseudonymize"})
    return deployer


def _approve(aws, arn):  # noqa: F811
    return set_approval(aws["sagemaker"], arn, "Approved", "metrics above the gate; reviewed by the ML lead")["detail"]


def test_approval_writes_a_card_with_metrics_data_recipe_phi_policy_and_approval(aws, deployer):  # noqa: F811
    arn = _register(aws, 0.97)
    run = "runs/0.97"
    aws["s3"].put_object(Bucket="artifacts", Key=f"{run}/train/inputs.json", Body=json.dumps(INPUTS).encode())
    aws["s3"].put_object(Bucket="artifacts", Key=f"{run}/evaluation/evaluation.json", Body=json.dumps({
        "recipe": "text", "dataset": "clinical_notes", "recipe_params": {"C": 4.0}, "test_rows": 120,
        "multiclass_classification_metrics": {"accuracy": {"value": 0.97}}, "onnx": {"passed": True}}).encode())
    _with_cards(aws, deployer).handle_state_change(_approve(aws, arn))
    version = Registry(aws["sagemaker"]).describe(arn)
    card = aws["sagemaker"].describe_model_card(ModelCardName=card_name(version))
    content = json.loads(card["Content"])
    assert card["ModelCardStatus"] == "Approved"
    assert content["evaluation_details"][0]["metric_groups"][0]["metric_data"] == [
        {"name": "accuracy", "type": "number", "value": 0.97}]
    assert content["training_details"]["training_job_details"]["training_datasets"] == [INPUTS[0]["source"]]
    details = content["additional_information"]["custom_details"]
    assert (details["phi_policy"], details["recipe"], json.loads(details["recipe_params"])) == (
        "pseudonymize", "text", {"C": 4.0})
    assert "reviewed by the ML lead" in details["approval_description"]
    markdown = aws["s3"].get_object(Bucket="artifacts", Key=f"{MODEL_CARDS_PREFIX}{GROUP}/v1.md")["Body"].read()
    assert b"v-123" in markdown and b"0.9700" in markdown  # the raw object version that trained it


def test_a_redelivered_approval_does_not_rewrite_the_card(aws, deployer):  # noqa: F811 - fixtures
    arn = _register(aws, 0.95)
    cards = _with_cards(aws, deployer)
    cards.handle_state_change(_approve(aws, arn))
    cards.handle_state_change(_approve(aws, arn))  # no-op deployment: no second write
    versions = aws["sagemaker"].list_model_card_versions(ModelCardName=f"{GROUP}-v1")["ModelCardVersionSummaryList"]
    assert len(versions) == 1
    cards.cards.publish(Registry(aws["sagemaker"]).describe(arn))  # an explicit re-publish updates in place
    assert len(aws["sagemaker"].list_model_cards()["ModelCardSummaries"]) == 1


def test_an_entity_model_card_lists_strict_and_overlap_scores_per_type(aws, deployer):  # noqa: F811 - fixtures
    from mlstack.ner_metrics import entity_scores

    arn = _register(aws, 0.96)
    gold = [[{"type": "DRUG", "start": 0, "end": 9}, {"type": "TEST", "start": 14, "end": 19}]]
    found = [[{"type": "DRUG", "start": 0, "end": 9}, {"type": "TEST", "start": 14, "end": 18}]]
    aws["s3"].put_object(Bucket="artifacts", Key="runs/0.96/evaluation/evaluation.json", Body=json.dumps({
        "recipe": "ner", "dataset": "clinical_entities", "test_rows": 1, "entity_metrics": entity_scores(
            zip(gold, found, strict=True)), "onnx": {"passed": True, "max_score_difference": 0.0}}).encode())
    _with_cards(aws, deployer).handle_state_change(_approve(aws, arn))
    content = json.loads(aws["sagemaker"].describe_model_card(
        ModelCardName=card_name(Registry(aws["sagemaker"]).describe(arn)))["Content"])
    assert content["model_overview"]["problem_type"] == "Named entity recognition"
    groups = {group["name"]: {m["name"]: m["value"] for m in group["metric_data"]}
              for group in content["evaluation_details"][0]["metric_groups"]}
    assert groups["entities (strict matching)"]["TEST recall"] == 0.0
    assert groups["entities (overlap matching)"]["TEST recall"] == 1.0
    assert groups["entities (strict matching)"]["overall f1"] == 0.5
    assert "max score difference 0.0" in content["evaluation_details"][0]["evaluation_observation"]
