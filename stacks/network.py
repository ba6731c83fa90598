"""A private network for functions, with no internet path and an idle cost of $0.

Isolated subnets only (no NAT gateway), an S3 gateway endpoint (free), flow logs to an
encrypted log group, and one interface endpoint per other AWS API the functions call (about
$7.3/month per AZ each; INTERFACE_ENDPOINTS says who needs which). Metrics written as log lines
(Powertools EMF) need none.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from mlstack.config import EnvironmentConfig
from stacks.logs import encrypted_log_group
from stacks.nag import acknowledge

# AWS APIs the functions call besides S3, and who calls them (docs/decisions/lambda-vpc.md has the cost).
INTERFACE_ENDPOINTS = {
    "SSM": "serving pointers: inference, deployer, drift",
    "SAGEMAKER_API": "registry and pipeline: deployer, retrain",
    "SNS": "deployment announcements: deployer",
    "CLOUDWATCH_MONITORING": "drift metrics (PutMetricData), canary alarm state: drift, deployer",
}
# Only when a data set's ingest.phi_detector uses it.
COMPREHEND_MEDICAL_ENDPOINT = {"COMPREHEND_MEDICAL": "DetectPHI: ingest (ingest.phi_detector)"}


class PrivateNetwork(Construct):
    """VPC with isolated subnets and an S3 gateway endpoint; `function_security_group` for Lambdas."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, key: kms.IKey,
                 removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id_)
        self.vpc = ec2.Vpc(
            self, "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=config.max_azs,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="isolated", cidr_mask=22,
                                                          subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        flow_log_group = encrypted_log_group(self, "FlowLogs", key=key, retention_days=config.log_retention_days,
                                             removal_policy=removal_policy)
        flow_log = self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL)
        delivery_policy = flow_log.node.find_child("IAMRole").node.find_child("DefaultPolicy")
        for finding in ("HIPAA.Security-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(delivery_policy, finding,
                        "CDK-generated flow-log delivery role; its inline policy is scoped to the one flow-log group "
                        "and is not attached to any other principal")
        self.function_security_group = ec2.SecurityGroup(
            self, "FunctionSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description="Lambda functions: HTTPS out only (the subnets route nowhere but VPC endpoints)",
        )
        self.function_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
            "HTTPS to the S3 gateway endpoint; isolated subnets have no route to the internet")
        self.function_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.endpoint_security_group = ec2.SecurityGroup(
            self, "EndpointSecurityGroup", vpc=self.vpc, allow_all_outbound=False, disable_inline_rules=True,
            description="Interface endpoints: HTTPS in from the project functions only")
        self.endpoint_security_group.add_ingress_rule(self.function_security_group, ec2.Port.tcp(443),
                                                      "HTTPS from the project's functions")
        self.endpoints = {name: self.vpc.add_interface_endpoint(
            name.title().replace("_", ""), service=getattr(ec2.InterfaceVpcEndpointAwsService, name),
            subnets=self.function_subnets, private_dns_enabled=True, open=False,
            security_groups=[self.endpoint_security_group])
            for name in {**INTERFACE_ENDPOINTS, **(COMPREHEND_MEDICAL_ENDPOINT if config.ingest.uses_comprehend_medical
                                                   else {})}}

    @staticmethod
    def function_access_statement() -> iam.PolicyStatement:
        """What Lambda needs to attach a function to the VPC (the ENI actions take no resource ARNs)."""
        return iam.PolicyStatement(
            sid="AttachToVpc",
            actions=["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                     "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            resources=["*"],
        )

