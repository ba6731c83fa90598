"""A Python Lambda function with everything this project requires of one, in one place.

Encrypted dead-letter queue with a depth alarm, bounded async retries, KMS-encrypted log group and
environment variables, X-Ray, JSON logs, reserved concurrency, an immutable role whose every
permission is in one customer-managed policy (no CDK implicit grants), and the VPC when the
environment asks for it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from mlstack.config import EnvironmentConfig
from stacks.arns import key_through
from stacks.lambda_code import ARCHITECTURE, PYTHON_RUNTIME, function_code, handler_path
from stacks.logs import encrypted_log_group
from stacks.nag import acknowledge
from stacks.network import PrivateNetwork


class SecureFunction(Construct):
    """lambdas/<name>/handler.py deployed the project's way; add permissions with `grant`."""

    def __init__(self, scope: Construct, id_: str, *, name: str, description: str, config: EnvironmentConfig,
                 key: kms.IKey, network: PrivateNetwork | None, bundle: bool, removal_policy: cdk.RemovalPolicy,
                 environment: dict[str, str], runbook: str, function_name: str | None = None,
                 role_name: str | None = None,
                 memory_mb: int = 512, timeout_seconds: int = 60,
                 reserved_concurrency: int = 2, retry_attempts: int = 2, max_event_age_hours: int = 6) -> None:
        super().__init__(scope, id_)
        self.function_name = function_name or f"{config.resource_prefix()}-{name}"
        self.failures = sqs.Queue(self, "Failures", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key,
                                  enforce_ssl=True, retention_period=cdk.Duration.days(14))
        self.log_group = encrypted_log_group(self, "Logs", key=key, retention_days=config.log_retention_days,
                                             removal_policy=removal_policy)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"{name} function", role_name=role_name)
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[self.role],
                                        description=f"{name} function: every permission it has, and no more")
        self.function = lambda_.Function(
            self, "Function", description=description, runtime=PYTHON_RUNTIME, architecture=ARCHITECTURE,
            # Named, so other stacks of the environment (alarms, dashboard) address it without an export.
            function_name=self.function_name,
            handler=handler_path(name), code=function_code(name, bundle=bundle),
            # Immutable: CDK's implicit grants would land in an inline policy; ours are explicit.
            role=self.role.without_policy_updates(),
            memory_size=memory_mb, timeout=cdk.Duration.seconds(timeout_seconds),
            reserved_concurrent_executions=reserved_concurrency, environment=environment,
            environment_encryption=key,  # names and settings only, but encrypted at rest with the lake key
            tracing=lambda_.Tracing.ACTIVE, log_group=self.log_group, logging_format=lambda_.LoggingFormat.JSON,
            retry_attempts=retry_attempts, max_event_age=cdk.Duration.hours(max_event_age_hours),
            dead_letter_queue=self.failures,
            vpc=network.vpc if network else None,
            vpc_subnets=network.function_subnets if network else None,
            security_groups=[network.function_security_group] if network else None,
        )
        # Lambda checks the DLQ, X-Ray and VPC permissions at CreateFunction: create the policy first.
        self.function.node.default_child.add_resource_dependency(self.policy.node.default_child)
        self.failure_alarm = cloudwatch.Alarm(
            self, "FailedEventsAlarm",
            alarm_description=f"The {name} function gave up on events after retries. Runbook: {runbook}",
            metric=self.failures.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"),
            threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.grant(*self._runtime_statements(key, network))
        self._acknowledge(network)

    def metric(self, metric_name: str, *, period: cdk.Duration, statistic: str, label: str | None = None
               ) -> cloudwatch.Metric:
        """An AWS/Lambda metric of this function, by its name (no cross-stack reference to the function)."""
        return cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric_name,
                                 dimensions_map={"FunctionName": self.function_name}, period=period,
                                 statistic=statistic, label=label)

    def grant(self, *statements: iam.PolicyStatement) -> None:
        self.policy.add_statements(*statements)

    def _runtime_statements(self, key: kms.IKey, network: PrivateNetwork | None) -> list[iam.PolicyStatement]:
        statements = [
            iam.PolicyStatement(sid="WriteOwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                resources=[self.log_group.log_group_arn]),
            iam.PolicyStatement(sid="SendFailedEvents", actions=["sqs:SendMessage"],
                                resources=[self.failures.queue_arn]),
            key_through("UseKeyThroughSqs", key, "sqs"),
            key_through("DecryptOwnEnvironment", key, "lambda", actions=("kms:Decrypt",)),
            iam.PolicyStatement(sid="Tracing", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                                resources=["*"]),
        ]
        if network:
            statements.append(network.function_access_statement())
        return statements

    def _acknowledge(self, network: PrivateNetwork | None) -> None:
        acknowledge(self.policy, "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray PutTraceSegments/PutTelemetryRecords (and, in a VPC, the ENI actions Lambda needs; "
                    "for ingestion with Comprehend Medical, comprehendmedical:DetectPHI) support no resource-level "
                    "permissions")
        acknowledge(self.failures, "Serverless-SQSRedrivePolicy",
                    "This queue is the function's terminal dead-letter queue: 14-day retention, an alarm on its "
                    "depth, and a documented replay procedure; nothing consumes it automatically")
        acknowledge(self.function.node.find_child("EventInvokeConfig"), "Serverless-LambdaAsyncFailureDestination",
                    "Failed async events go to the dead-letter queue (DeadLetterConfig, which the HIPAA/NIST "
                    "LambdaDLQ rules require); a second on-failure destination would deliver every failure twice")
        for finding in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
            acknowledge(self.function, finding,
                        "Python 3.12 (supported by Lambda until 2028-10) on purpose: make rehearse imports and invokes "
                        "every package with an interpreter of the runtime's own version, and the machines this is "
                        "built and tested on have 3.12 and 3.13, not 3.14 (stacks/lambda_code.py)")
        if network is None:
            reason = ("Environment config lambda_in_vpc=false: no VPC, no idle cost. The function calls AWS APIs "
                      "only, over TLS with IAM auth; prod sets lambda_in_vpc=true (docs/decisions/lambda-vpc.md)")
            for finding in ("HIPAA.Security-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVPC"):
                acknowledge(self.function, finding, reason)
