"""One Stage per environment; each stack composes constructs and does the cross-component wiring."""

from __future__ import annotations

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
from stacks.registry import ModelRegistry
from stacks.serving import ServingApi, ServingFirewall, api_gateway_account
from stacks.training import Training


class DataLakeStack(cdk.Stack):
    """Data lake, catalog, validated ingestion, the training pipeline, the registry, the inference APIs and
    monitoring (drift, alarms, guarded retraining, dashboard)."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, bundle: bool,
                 removal_policy: cdk.RemovalPolicy, **kwargs: object) -> None:
        super().__init__(scope, id_, **kwargs)
        self.account_concurrency_quota = config.lambda_concurrency_quota  # read by MlStack.Deploy-DP7
        self.lake = DataLake(self, "Lake", config=config, removal_policy=removal_policy)
        self.network = (PrivateNetwork(self, "Network", config=config, key=self.lake.key,
                                       removal_policy=removal_policy)
                        if config.lambda_in_vpc else None)
        self.ingestion = Ingestion(self, "Ingestion", config=config, lake=self.lake, network=self.network,
                                   bundle=bundle, removal_policy=removal_policy)
        self.training = Training(self, "Training", config=config, lake=self.lake, removal_policy=removal_policy)
        self.registry = ModelRegistry(self, "Registry", config=config, lake=self.lake, training=self.training,
                                      network=self.network, bundle=bundle, removal_policy=removal_policy)
        self.firewall = (ServingFirewall(self, "Firewall", config=config, lake=self.lake, removal_policy=removal_policy)
                         if config.serving.waf else None)
        logging_account = api_gateway_account(self)
        self.serving = {stage: ServingApi(self, f"{stage.title()}Api", config=config, stage=stage, lake=self.lake,
                                          network=self.network, firewall=self.firewall, bundle=bundle,
                                          removal_policy=removal_policy, logging_account=logging_account)
                        for stage in MODEL_STAGES}
        functions = {"ingest": self.ingestion.secure, "deploy": self.registry.deployer,
                     **{f"{stage}-inference": api.secure for stage, api in self.serving.items()}}
        self.monitoring = Monitoring(self, "Monitoring", config=config, lake=self.lake, training=self.training,
                                     serving=self.serving, functions=functions, network=self.network, bundle=bundle,
                                     removal_policy=removal_policy)
        self.alerts = OpsAlerts(self, "Alerts", config=config, key=self.lake.key)
        failure_alarms = [alarm for api in self.serving.values() for alarm in (api.failure_alarm, api.canary_alarm)]
        for alarm in (self.ingestion.failure_alarm, self.registry.deployer.failure_alarm, *failure_alarms,
                      *self.monitoring.failure_alarms, *self.monitoring.alarms):
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alerts.topic))


class MlStackStage(cdk.Stage):
    """Everything for one environment (dev, prod, ...)."""

    def __init__(self, scope: Construct, config: EnvironmentConfig, *, bundle: bool, destroy_data: bool) -> None:
        super().__init__(scope, config.name,
                         env=cdk.Environment(account=config.account, region=config.region))
        # RetainExceptOnCreate: data is kept on update and delete, but a failed first create rolls back
        # cleanly instead of leaving fixed-name buckets behind that block the retry.
        removal_policy = cdk.RemovalPolicy.DESTROY if destroy_data else cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        self.data_lake = DataLakeStack(self, "DataLake", config=config, bundle=bundle,
                                       removal_policy=removal_policy,
                                       stack_name=f"{config.resource_prefix()}-data-lake",
                                       description=f"mlstack {config.name}: data lake, catalog, ingestion")
        if destroy_data:
            cdk.Annotations.of(self.data_lake).add_warning_v2(
                "mlstack:destroy-data",
                "Data is DESTROYED with this stack (mlstack:destroy-data-on-removal=true): buckets, key, logs.")
        for name, value in {"project": config.project, "environment": config.name,
                            "data-classification": "phi-capable"}.items():
            cdk.Tags.of(self).add(name, value)
