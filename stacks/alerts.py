"""The operations topic: alarms notify people here (subscribe an on-call address or chat hook)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlstack.config import EnvironmentConfig
from stacks.arns import arn


class OpsAlerts(Construct):
    """KMS-encrypted, TLS-only SNS topic for operational alarms; runbooks live in docs/runbooks/."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, key: kms.IKey) -> None:
        super().__init__(scope, id_)
        self.topic = sns.Topic(
            self, "Topic",
            topic_name=f"{config.resource_prefix()}-ops-alerts",
            display_name=f"mlstack {config.name} alerts",
            master_key=key,
            enforce_ssl=True,
        )
        # A topic policy replaces the default one: alarms of this account must be allowed to publish.
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="AlarmsOfThisAccountPublish", principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"], resources=[self.topic.topic_arn],
            conditions={"ArnLike": {"aws:SourceArn": arn("cloudwatch", "alarm:*")},
                        "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}))
        for index, address in enumerate(config.alert_emails):
            sns.Subscription(self, f"Email{index}", topic=self.topic,
                             protocol=sns.SubscriptionProtocol.EMAIL, endpoint=address)
