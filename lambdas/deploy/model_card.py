"""SageMaker Model Cards: one per approved version, created by the deployer when a person approves it.

The card holds what an auditor asks about a model: its evaluation metrics (evaluate's
evaluation.json), the training data (the curated files the run read, with the raw object
versions they came from: preprocess's train/inputs.json), the recipe and its parameters, the PHI
policy applied to the data set's text, and the approval record (who, when, why). The deployer
writes it to the registry's Model Cards (encrypted with the lake key) and a rendered markdown
copy, with the card JSON, to `model-cards/<group>/v<N>.md|json` in the artifacts bucket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lambdas.deploy.registry import ModelVersion
from mlstack.config import DEFAULT_PHI_POLICY
from mlstack.lake import TRAINING_INPUTS_FILE, read_json_object

MODEL_CARDS_PREFIX = "model-cards/"


def card_name(version: ModelVersion) -> str:
    return f"{version.group}-v{version.version}"[:63]


@dataclass(frozen=True)
class CardFacts:
    version: ModelVersion
    evaluation: dict[str, Any]
    inputs: list[dict[str, Any]]
    phi_policy: str
    approved_at: str


def _metric_groups(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """Classification metrics, or an entity model's strict and overlap scores (overall, then per type)."""
    def number(name: str, value: Any) -> dict[str, Any]:
        return {"name": name, "type": "number", "value": float(value)}

    entities = evaluation.get("entity_metrics")
    if not entities:
        metrics = evaluation.get("multiclass_classification_metrics", {})
        return [{"name": "classification", "metric_data": [number(name, value["value"])
                                                            for name, value in metrics.items()]}]
    groups = []
    for matching, scores in entities.items():
        rows = [("overall", scores["overall"]), *scores["per_type"].items()]
        groups.append({"name": f"entities ({matching} matching)", "metric_data": [
            number(f"{kind} {measure}", values[measure]) for kind, values in rows
            for measure in ("precision", "recall", "f1")]})
    return groups


def card_content(facts: CardFacts) -> dict[str, Any]:
    """The card in SageMaker's model card content schema (model_overview ... additional_information)."""
    version, evaluation = facts.version, facts.evaluation
    onnx = evaluation.get("onnx", {})
    entity_model = "entity_metrics" in evaluation
    difference = (f"max score difference {onnx.get('max_score_difference')}" if entity_model
                  else f"max probability difference {onnx.get('max_probability_difference')}")
    return {
        "model_overview": {
            "model_description": f"{evaluation.get('recipe', version.recipe)} recipe on the "
                                 f"{evaluation.get('dataset', '?')} data set, version {version.version} of "
                                 f"{version.group}",
            "problem_type": "Named entity recognition" if entity_model else "Classification",
            "algorithm_type": str(evaluation.get("recipe_params", {}).get("model", "scikit-learn pipeline")),
            "model_artifact": [version.onnx_uri],
        },
        "intended_uses": {
            "purpose_of_model": "Served by the mlstack inference API after approval; see docs/serving.md.",
            "risk_rating": "Medium",
        },
        "training_details": {
            "training_job_details": {
                "training_datasets": sorted({item["source"] for item in facts.inputs if item.get("source")}),
            },
            "training_observations": f"{sum(item['rows'] for item in facts.inputs)} curated rows in "
                                     f"{len(facts.inputs)} file(s); PHI policy for text: {facts.phi_policy}",
        },
        "evaluation_details": [{
            "name": "test split",
            "evaluation_observation": f"{evaluation.get('test_rows', '?')} held-out rows; ONNX parity "
                                      f"{'passed' if onnx.get('passed') else 'not passed'} ({difference})",
            "metric_groups": _metric_groups(evaluation),
        }],
        "additional_information": {
            "caveats_and_recommendations": "Drift is monitored against the version's training baseline "
                                           "(docs/monitoring.md); retraining never deploys without approval.",
            "custom_details": {
                "recipe": str(evaluation.get("recipe", version.recipe)),
                "recipe_params": json.dumps(evaluation.get("recipe_params", {}), sort_keys=True)[:1024],
                "phi_policy": facts.phi_policy,
                "approved_by": version.approver, "approved_at": facts.approved_at,
                "approval_description": version.approval_description[:1024] or "-",
                "model_package_arn": version.arn,
                "training_inputs": json.dumps([{k: item.get(k) for k in ("file", "sha256", "source_version_id")}
                                               for item in facts.inputs])[:1024],
            },
        },
    }


def render_markdown(facts: CardFacts, content: dict[str, Any]) -> str:
    version, details = facts.version, content["additional_information"]["custom_details"]
    groups = content["evaluation_details"][0]["metric_groups"]
    lines = [f"# Model card: {card_name(version)}", "", content["model_overview"]["model_description"], "",
             "| | |", "|---|---|", f"| model package | `{version.arn}` |", f"| status | Approved by "
             f"{version.approver} at {facts.approved_at}: {details['approval_description']} |",
             f"| recipe | {details['recipe']} `{details['recipe_params']}` |",
             f"| PHI policy (text) | {facts.phi_policy} |",
             f"| ONNX artifact | `{version.onnx_uri}` |", "", "## Evaluation (test split)", "",
             content["evaluation_details"][0]["evaluation_observation"], "", "| metric | value |", "|---|---|"]
    for group in groups:
        suffix = f" ({group['name']})" if len(groups) > 1 else ""
        lines += [f"| {item['name']}{suffix} | {item['value']:.4f} |" for item in group["metric_data"]]
    lines += ["", "## Training data", "", content["training_details"]["training_observations"], "",
              "| curated file | rows | sha256 | raw source | raw version |", "|---|---|---|---|---|"]
    lines += [f"| {item['file']} | {item['rows']} | `{item['sha256'][:12]}` | {item.get('source') or '-'} | "
              f"{item.get('source_version_id') or '-'} |" for item in facts.inputs]
    lines += ["", "## Caveats", "", content["additional_information"]["caveats_and_recommendations"], ""]
    return "\n".join(lines)


class ModelCards:
    def __init__(self, *, sagemaker: Any, s3: Any, bucket: str, kms_key_arn: str, phi_policies: dict[str, str]) -> None:
        self.sagemaker, self.s3, self.bucket, self.kms_key_arn = sagemaker, s3, bucket, kms_key_arn
        self.phi_policies = phi_policies

    def publish(self, version: ModelVersion) -> str:
        """Create (or update) the version's card and store its markdown and JSON copies; returns the card name."""
        evaluation = (read_json_object(self.s3, version.metrics_uri) if version.metrics_uri else None) or {}
        # None for runs before the training-inputs record existed: the card then says 0 files.
        inputs = read_json_object(self.s3, f"{version.run_prefix}/{TRAINING_INPUTS_FILE}") if version.run_prefix \
            else None
        facts = CardFacts(version, evaluation, inputs or [],
                          self.phi_policies.get(evaluation.get("dataset", ""), DEFAULT_PHI_POLICY),
                          datetime.now(UTC).isoformat(timespec="seconds"))
        content = card_content(facts)
        name = card_name(version)
        self._upsert(name, content)
        key = f"{MODEL_CARDS_PREFIX}{version.group}/v{version.version}"
        self.s3.put_object(Bucket=self.bucket, Key=f"{key}.md", Body=render_markdown(facts, content).encode(),
                           ContentType="text/markdown")
        self.s3.put_object(Bucket=self.bucket, Key=f"{key}.json", Body=json.dumps(content, indent=1).encode(),
                           ContentType="application/json")
        return name

    def _upsert(self, name: str, content: dict[str, Any]) -> None:
        try:
            self.sagemaker.describe_model_card(ModelCardName=name)
        except self.sagemaker.exceptions.ResourceNotFound:
            security = {"SecurityConfig": {"KmsKeyId": self.kms_key_arn}} if self.kms_key_arn else {}
            self.sagemaker.create_model_card(ModelCardName=name, Content=json.dumps(content),
                                             ModelCardStatus="Approved", **security)
            return
        self.sagemaker.update_model_card(ModelCardName=name, Content=json.dumps(content), ModelCardStatus="Approved")
