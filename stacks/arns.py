"""ARNs from pseudo parameters, how cdk-nag renders them in finding ids, and KMS use scoped to a service."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from mlstack.config import EnvironmentConfig

# The roles of a consumer environment that read a registry in another account (fixed names: config.role_name).
CONSUMER_ROLES = ("deployer", "promoter")


def arn(service: str, resource: str) -> str:
    """An ARN in the deploying account and region (pseudo parameters, whatever the stack's env)."""
    return f"arn:{cdk.Aws.PARTITION}:{service}:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:{resource}"


def nag_rendered(value: str) -> str:
    """A string built from pseudo parameters, as cdk-nag prints it inside a finding id."""
    return (value.replace(cdk.Aws.PARTITION, "<AWS::Partition>").replace(cdk.Aws.REGION, "<AWS::Region>")
            .replace(cdk.Aws.ACCOUNT_ID, "<AWS::AccountId>"))


def consumer_roles(config: EnvironmentConfig) -> tuple[list[str], list[str]]:
    """(account roots, role ARNs) of the consumers' deployer and promoter roles (deployment.consumers).

    Resource policies name the account root and require aws:PrincipalArn to be one of the roles: the
    same scope as naming the roles, without requiring them to exist before this stack (S3 and KMS refuse
    a policy whose principal role does not exist yet)."""
    consumers = config.deployment.consumers
    roots = [f"arn:{cdk.Aws.PARTITION}:iam::{account}:root" for account in consumers.values()]
    roles = [f"arn:{cdk.Aws.PARTITION}:iam::{account}:role/{config.project}-{name}-{function}"
             for name, account in consumers.items() for function in CONSUMER_ROLES]
    return roots, roles


def consumer_statement(sid: str, config: EnvironmentConfig, actions: list[str], resources: list[str],
                       conditions: dict | None = None) -> iam.PolicyStatement:
    """A resource-policy statement for the consumers' roles only (see consumer_roles)."""
    roots, roles = consumer_roles(config)
    return iam.PolicyStatement(sid=sid, principals=[iam.ArnPrincipal(root) for root in roots], actions=actions,
                               resources=resources,
                               conditions={"ArnEquals": {"aws:PrincipalArn": roles}, **(conditions or {})})


KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")


def key_through(sid: str, key: kms.IKey, *services: str, actions: tuple[str, ...] = KEY_USE) -> iam.PolicyStatement:
    """Use of the key only through the named AWS services (kms:ViaService), e.g. key_through("UseKey", key, "s3")."""
    via = [f"{service}.{cdk.Aws.REGION}.amazonaws.com" for service in services]
    return iam.PolicyStatement(sid=sid, actions=list(actions), resources=[key.key_arn],
                               conditions={"StringEquals": {"kms:ViaService": via[0] if len(via) == 1 else via}})
