"""The budget guard: resources that bill by the hour whether or not anything happens.

A dev environment must contain none of them unless its config opts in; `always_on` lists what a
synthesized template holds, each with the config key that put it there (tests/infrastructure/
test_budget.py enforces it; docs/cost.md has the idle cost of dev and prod).
"""

from __future__ import annotations

from typing import Any

# CloudFormation type -> the config that opts in ("" = nothing in this project creates it).
HOURLY = {
    "AWS::SageMaker::NotebookInstance": "",
    "AWS::EC2::NatGateway": "",
    "AWS::EC2::Instance": "",
    "AWS::RDS::DBInstance": "",
    "AWS::RDS::DBCluster": "",
    "AWS::ElastiCache::CacheCluster": "",
    "AWS::ElastiCache::ReplicationGroup": "",
    "AWS::OpenSearchService::Domain": "",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "",
    "AWS::ApiGateway::Stage": "",  # only with a cache cluster (CacheClusterEnabled)
    "AWS::EC2::VPCEndpoint": "lambda_in_vpc=true (interface endpoints)",  # gateway endpoints are free
    "AWS::Lambda::Version": "",  # only with provisioned concurrency
    "AWS::Lambda::Alias": "",  # only with provisioned concurrency
}


def _bills_hourly(kind: str, properties: dict[str, Any]) -> bool:
    if kind == "AWS::ApiGateway::Stage":
        return bool(properties.get("CacheClusterEnabled"))
    if kind == "AWS::EC2::VPCEndpoint":
        return properties.get("VpcEndpointType") == "Interface"
    if kind in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
        return "ProvisionedConcurrencyConfig" in properties
    return kind in HOURLY


def always_on(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(logical id, type, the config that opts in) of every hourly-billed resource in a template."""
    return [(logical_id, resource["Type"], HOURLY[resource["Type"]])
            for logical_id, resource in template.get("Resources", {}).items()
            if resource["Type"] in HOURLY and _bills_hourly(resource["Type"], resource.get("Properties", {}))]
