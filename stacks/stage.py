"""One Stage per environment, split into stacks by lifecycle; each stack is named for what it holds.

- `<prefix>-data` (stateful: termination protection in protected environments): the key, the lake's
  buckets, catalog and workgroup, the raw-object topic, the model package group and the audit bucket.
- `<prefix>-shared`: what every stateless stack uses: the alerts topic, the VPC (when the environment
  has one), the WAF web ACL (when enabled), API Gateway's account-wide logging role.
- stateless, each destroyable and redeployable without touching data: `<prefix>-ingestion`,
  `<prefix>-training`, `<prefix>-deployer`, `<prefix>-serving-<stage>` per model stage, `<prefix>-monitoring`.

References between them are few: the stateless stacks import the lake key and (ingestion) the raw-object
topic from the data stack, and the alerts topic (and VPC) from the shared stack. Everything else is
addressed by its deterministic name (buckets, functions, pipeline, parameters). `make synth` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from constructs import Construct

from mlstack.config import EnvironmentConfig
from mlstack.pointer import MODEL_STAGES
from stacks.alerts import OpsAlerts
from stacks.data_lake import DataLake
from stacks.ingest import Ingestion
from stacks.monitoring import Monitoring
from stacks.network import PrivateNetwork
from stacks.registry import ModelRegistry, RegistryStore
from stacks.serving import ServingApi, ServingFirewall, api_gateway_account
from stacks.training import Training


@dataclass(frozen=True)
class StackPlan:
    """What one stack of an environment is called and holds (the stack's description says the same)."""

    suffix: str
    holds: str
    stateful: bool = False


class EnvironmentStack(cdk.Stack):
    """A stack of one environment, named `<prefix>-<suffix>`."""

    def __init__(self, stage: MlStackStage, plan: StackPlan) -> None:
        config = stage.config
        super().__init__(stage, "".join(part.title() for part in plan.suffix.split("-")),
                         stack_name=f"{config.resource_prefix()}-{plan.suffix}",
                         description=f"mlstack {config.name} ({'stateful' if plan.stateful else 'stateless'}): "
                                     f"{plan.holds}",
                         termination_protection=plan.stateful and config.protected)
        self.plan = plan
        self.account_concurrency_quota = config.lambda_concurrency_quota  # read by MlStack.Deploy-DP7


def stack_plans(config: EnvironmentConfig) -> list[StackPlan]:
    shared = ["alerts topic", *(["VPC and its endpoints"] if config.lambda_in_vpc else []),
              *(["WAF web ACL"] if config.serving.waf else []),
              *(["API Gateway logging role (account-wide)"] if config.serving.manage_api_gateway_account else [])]
    return [
        StackPlan("data", "KMS key, lake buckets (raw, curated, artifacts, capture, access logs), Glue catalog, "
                          "Athena workgroup, raw-object topic, model package group, audit bucket", stateful=True),
        StackPlan("shared", ", ".join(shared)),
        StackPlan("ingestion", "ingest function (raw -> curated/quarantine) and its subscription"),
        StackPlan("training", "training pipeline, its SageMaker role, code assets, job image repository"),
        StackPlan("deployer", "deployer function, approval and canary rules, deployments topic"),
        *(StackPlan(f"serving-{stage}", f"{stage} inference API, function, canary alarm") for stage in MODEL_STAGES),
        StackPlan("monitoring", "drift and retrain functions, their rules, operational alarms, dashboard"),
    ]


class MlStackStage(cdk.Stage):
    """Everything for one environment (dev, prod, ...)."""

    def __init__(self, scope: Construct, config: EnvironmentConfig, *, bundle: bool, destroy_data: bool) -> None:
        super().__init__(scope, config.name, env=cdk.Environment(account=config.account, region=config.region))
        self.config = config
        # RetainExceptOnCreate: data is kept on update and delete, but a failed first create rolls back
        # cleanly instead of leaving fixed-name buckets behind that block the retry.
        removal = cdk.RemovalPolicy.DESTROY if destroy_data else cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        self.stacks = {plan.suffix: EnvironmentStack(self, plan) for plan in stack_plans(config)}
        common = {"config": config, "removal_policy": removal}
        self._stateful(common)
        self._stateless(common, bundle)
        if destroy_data:
            cdk.Annotations.of(self.stacks["data"]).add_warning_v2(
                "mlstack:destroy-data",
                "Data is DESTROYED with this stack (mlstack:destroy-data-on-removal=true): buckets, key, logs.")
        for name, value in {"project": config.project, "environment": config.name,
                            "data-classification": "phi-capable"}.items():
            cdk.Tags.of(self).add(name, value)

    def _stateful(self, common: dict) -> None:
        data, shared = self.stacks["data"], self.stacks["shared"]
        self.lake = DataLake(data, "Lake", **common)
        self.registry_store = RegistryStore(data, "Registry", lake=self.lake, **common)
        self.alerts = OpsAlerts(shared, "Alerts", config=self.config, key=self.lake.key)
        self.network = (PrivateNetwork(shared, "Network", key=self.lake.key, **common)
                        if self.config.lambda_in_vpc else None)
        self.firewall = (ServingFirewall(shared, "Firewall", lake=self.lake, **common)
                         if self.config.serving.waf else None)
        self.logging_account = (api_gateway_account(shared) if self.config.serving.manage_api_gateway_account
                                else None)

    def _stateless(self, common: dict, bundle: bool) -> None:
        stacks, lake, network = self.stacks, self.lake, self.network
        functions = {**common, "lake": lake, "network": network, "bundle": bundle}
        self.ingestion = Ingestion(stacks["ingestion"], "Ingestion", **functions)
        self.training = Training(stacks["training"], "Training", lake=lake, **common)
        self.registry = ModelRegistry(stacks["deployer"], "Registry", **functions)
        self.serving = {stage: ServingApi(stacks[f"serving-{stage}"], f"{stage.title()}Api", stage=stage,
                                          firewall=self.firewall, logging_account=self.logging_account, **functions)
                        for stage in MODEL_STAGES}
        watched = {"ingest": self.ingestion.secure, "deploy": self.registry.deployer,
                   **{f"{stage}-inference": api.secure for stage, api in self.serving.items()}}
        self.monitoring = Monitoring(stacks["monitoring"], "Monitoring", training=self.training,
                                     serving=self.serving, functions=watched, **functions)
        failure_alarms = [alarm for api in self.serving.values() for alarm in (api.failure_alarm, api.canary_alarm)]
        for alarm in (self.ingestion.failure_alarm, self.registry.deployer.failure_alarm, *failure_alarms,
                      *self.monitoring.failure_alarms, *self.monitoring.alarms):
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alerts.topic))
