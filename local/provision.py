"""The embedded AWS built from a synthesized template's own resource definitions.

Each resource is created in moto from its template properties, in dependency order, and gets the
physical id CloudFormation would give it (cfn.py). Why not moto's CloudFormation: on this
project's template it fails outright (KeyError 'TagKey' creating the KMS key with tags, then
"Fn::GetAtt references undefined resource" for an alarm) and on small templates silently skips
bucket policies, alarms, the model package group and the pipeline. Creating from the definitions
gives every resource an explicit verdict instead:

- created: made in the emulator from its properties (the parts moto cannot hold are named);
- emulated: stood in for by the rehearsal itself (functions run from their packages in a clean
  interpreter; invoke permissions and async settings are recorded and the rehearsal delivers events);
- not supported: not emulated at all (API Gateway, WAF): only a real account shows these.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.cfn import Template
from local.iam import Facts

CREATED, EMULATED, NOT_SUPPORTED, FAILED = "created", "emulated", "not supported", "FAILED"
# Emulated without creating anything, so their properties are not resolved (nothing reads them, and
# they may reference what the emulator does not create, such as CDK's custom resources).
RAW_PROPERTY_TYPES = {"AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Lambda::EventInvokeConfig"}


@dataclass
class ProvisionReport:
    """Per resource its verdict and a note; per type the counts."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # (type, logical id, verdict, note)

    def add(self, resource_type: str, logical_id: str, verdict: str, note: str = "") -> None:
        self.rows.append((resource_type, logical_id, verdict, note))

    def by_type(self) -> dict[str, Counter]:
        table: dict[str, Counter] = defaultdict(Counter)
        for resource_type, _, verdict, _ in self.rows:
            table[resource_type][verdict] += 1
        return dict(sorted(table.items()))


def _tags(properties: dict[str, Any], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: tag["Key"], value: tag["Value"]} for tag in properties.get("Tags", [])]


class Provisioner:
    """Creates a template's resources through boto3 clients of the embedded AWS."""

    def __init__(self, template: Template, client: Callable[[str], Any]) -> None:
        self.template, self.client = template, client
        self.report = ProvisionReport()
        self.bucket_keys: dict[str, str | None] = {}  # bucket -> default KMS key ARN (None: SSE-S3)
        self.queue_keys: dict[str, str | None] = {}
        self.topic_keys: dict[str, str | None] = {}
        self.resource_policies: dict[str, dict[str, Any]] = {}  # resource ARN -> policy document
        self.creators: dict[str, Callable[[str, dict[str, Any]], tuple[str, str]]] = {
            "AWS::KMS::Key": self._key, "AWS::KMS::Alias": self._alias, "AWS::S3::Bucket": self._bucket,
            "AWS::S3::BucketPolicy": self._bucket_policy, "AWS::SQS::Queue": self._queue,
            "AWS::SQS::QueuePolicy": self._queue_policy, "AWS::SNS::Topic": self._topic,
            "AWS::SNS::TopicPolicy": self._topic_policy, "AWS::SNS::Subscription": self._subscription,
            "AWS::IAM::Role": self._role, "AWS::IAM::ManagedPolicy": self._managed_policy,
            "AWS::IAM::Policy": self._inline_policy, "AWS::Logs::LogGroup": self._log_group,
            "AWS::CloudWatch::Alarm": self._alarm, "AWS::CloudWatch::Dashboard": self._dashboard,
            "AWS::Events::Rule": self._rule, "AWS::Glue::Database": self._database, "AWS::Glue::Table": self._table,
            "AWS::Athena::WorkGroup": self._workgroup, "AWS::SageMaker::ModelPackageGroup": self._group,
            "AWS::SageMaker::Pipeline": self._pipeline, "AWS::SSM::Parameter": self._parameter,
            "AWS::Lambda::Function": self._function, "AWS::Lambda::Permission": self._recorded,
            "AWS::Lambda::EventInvokeConfig": self._recorded,
            "AWS::EC2::VPC": self._vpc, "AWS::EC2::Subnet": self._subnet, "AWS::EC2::RouteTable": self._route_table,
            "AWS::EC2::SubnetRouteTableAssociation": self._route_table_association,
            "AWS::EC2::SecurityGroup": self._security_group, "AWS::EC2::SecurityGroupEgress": self._security_group_rule,
            "AWS::EC2::SecurityGroupIngress": self._security_group_rule, "AWS::EC2::VPCEndpoint": self._vpc_endpoint,
            "AWS::EC2::FlowLog": self._flow_log, "AWS::ECR::Repository": self._repository,
        }
        self.vpc_endpoints: dict[str, set[str]] = defaultdict(set)  # VPC id -> endpoint service names

    def provision(self) -> ProvisionReport:
        for logical_id in self.template.creation_order():
            resource_type = self.template.resources[logical_id]["Type"]
            if resource_type == "AWS::CDK::Metadata":
                continue
            creator = self.creators.get(resource_type)
            if creator is None:
                self.template.physical[logical_id] = self.template.physical_name(logical_id)
                self.report.add(resource_type, logical_id, NOT_SUPPORTED, "not emulated: needs a real account")
                continue
            try:
                properties = (self.template.resources[logical_id].get("Properties", {})
                              if resource_type in RAW_PROPERTY_TYPES else self.template.properties(logical_id))
                verdict, note = creator(logical_id, properties)
            except Exception as error:
                self.template.physical.setdefault(logical_id, self.template.physical_name(logical_id))
                verdict, note = FAILED, f"{type(error).__name__}: {error}"[:300]
            self.report.add(resource_type, logical_id, verdict, note)
        return self.report

    def facts(self) -> Facts:
        """What IAM evaluation needs to know of what was created: keys and resource policies."""
        return Facts(account=self.template.account, region=self.template.region, bucket_keys=self.bucket_keys,
                     queue_keys=self.queue_keys, topic_keys=self.topic_keys,
                     resource_policies=self.resource_policies)

    def _set(self, logical_id: str, physical: str, **attributes: str) -> None:
        self.template.physical[logical_id] = physical
        self.template.attributes[logical_id] = attributes

    # --- KMS, S3 --------------------------------------------------------------------------------

    def _key(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        kms = self.client("kms")
        key = kms.create_key(Policy=json.dumps(props["KeyPolicy"]), Description=props.get("Description", ""),
                             KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                             Tags=_tags(props, "TagKey", "TagValue"))["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        self._set(logical_id, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])
        return CREATED, "key policy stored; identity policies are evaluated by the rehearsal (iam.py)"

    def _alias(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        self.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        self._set(logical_id, props["AliasName"])
        return CREATED, ""

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        s3 = self.client("s3")
        name = self.template.physical_name(logical_id, limit=63, lower=True)
        location = ({} if self.template.region == "us-east-1"
                    else {"CreateBucketConfiguration": {"LocationConstraint": self.template.region}})
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled")), **location)
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name,
                                       PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        rules = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                  **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {})}
                 for rule in rules]  # CloudFormation's shape -> the API's
        if rules:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        default = rules[0]["ApplyServerSideEncryptionByDefault"] if rules else {}
        self.bucket_keys[name] = default.get("KMSMasterKeyID") if default.get("SSEAlgorithm") == "aws:kms" else None
        if props.get("ObjectLockConfiguration"):
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=props["ObjectLockConfiguration"])
        if props.get("Tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(props)})
        self._set(logical_id, name, Arn=f"arn:aws:s3:::{name}", DomainName=f"{name}.s3.amazonaws.com",
                  RegionalDomainName=f"{name}.s3.{self.template.region}.amazonaws.com")
        skipped = [part for part in ("LifecycleConfiguration", "NotificationConfiguration", "LoggingConfiguration")
                   if part in props]
        return CREATED, (f"not applied: {', '.join(skipped)} (moto never ages objects or delivers events; "
                         "the rehearsal delivers S3 events itself)" if skipped else "")

    def _bucket_policy(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        # Stored for the rehearsal's evaluation, not in moto: moto would judge aws:SecureTransport
        # against its plain-HTTP loopback endpoint and refuse every request.
        self.resource_policies[f"arn:aws:s3:::{props['Bucket']}"] = props["PolicyDocument"]
        self._set(logical_id, f"{props['Bucket']}-policy")
        return EMULATED, "evaluated by the rehearsal on every call to the bucket (with aws:SecureTransport=true)"

    # --- SQS, SNS -------------------------------------------------------------------------------

    def _queue(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = props.get("QueueName") or self.template.physical_name(logical_id, limit=80)
        attributes = {key: (json.dumps(value) if isinstance(value, dict) else str(value)) for key, value in
                      props.items() if key in ("KmsMasterKeyId", "MessageRetentionPeriod", "VisibilityTimeout",
                                               "RedrivePolicy", "DelaySeconds", "SqsManagedSseEnabled")}
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.template.arn("sqs", name)
        self.queue_keys[arn] = props.get("KmsMasterKeyId")
        self._set(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)
        return CREATED, ""

    def _queue_policy(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        sqs = self.client("sqs")
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
            self.resource_policies[self.template.arn("sqs", url.rsplit("/", 1)[-1])] = props["PolicyDocument"]
        self._set(logical_id, self.template.physical_name(logical_id))
        return CREATED, ""

    def _topic(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = props.get("TopicName") or self.template.physical_name(logical_id, limit=256)
        attributes = {key: str(props[key]) for key in ("KmsMasterKeyId", "DisplayName") if key in props}
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes, Tags=_tags(props))["TopicArn"]
        self.topic_keys[arn] = props.get("KmsMasterKeyId")
        self._set(logical_id, arn, TopicArn=arn, TopicName=name)
        return CREATED, ""

    def _topic_policy(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        for arn in props["Topics"]:
            self.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                                    AttributeValue=json.dumps(props["PolicyDocument"]))
            self.resource_policies[arn] = props["PolicyDocument"]
        self._set(logical_id, self.template.physical_name(logical_id))
        return CREATED, "replaces the topic's default policy, as on AWS"

    def _subscription(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        arn = self.client("sns").subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                           Endpoint=props["Endpoint"])["SubscriptionArn"]
        self._set(logical_id, arn)
        return CREATED, ""

    # --- IAM ------------------------------------------------------------------------------------

    def _role(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        iam = self.client("iam")
        name = self.template.physical_name(logical_id, limit=64)
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
                               Description=props.get("Description", ""), Path=props.get("Path", "/"))["Role"]
        for policy in props.get("Policies", []):
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                                PolicyDocument=json.dumps(policy["PolicyDocument"]))
        aws_managed = [arn for arn in props.get("ManagedPolicyArns", []) if arn.startswith("arn:aws:iam::aws:")]
        for arn in set(props.get("ManagedPolicyArns", [])) - set(aws_managed):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        self._set(logical_id, name, Arn=role["Arn"], RoleId=role["RoleId"])
        return CREATED, "AWS managed policies not attached (moto does not hold them)" if aws_managed else ""

    def _managed_policy(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        iam = self.client("iam")
        name = props.get("ManagedPolicyName") or self.template.physical_name(logical_id, limit=128)
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(props["PolicyDocument"]),
                                Description=props.get("Description", ""))["Policy"]["Arn"]
        for role in props.get("Roles", []):
            iam.attach_role_policy(RoleName=role, PolicyArn=arn)
        self._set(logical_id, arn, PolicyArn=arn)
        return CREATED, ""

    def _inline_policy(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        for role in props.get("Roles", []):
            self.client("iam").put_role_policy(RoleName=role, PolicyName=props["PolicyName"],
                                               PolicyDocument=json.dumps(props["PolicyDocument"]))
        self._set(logical_id, props["PolicyName"])
        return CREATED, ""

    # --- logs, metrics, events ------------------------------------------------------------------

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        logs = self.client("logs")
        name = props.get("LogGroupName") or f"/aws/{self.template.physical_name(logical_id, limit=200)}"
        logs.create_log_group(logGroupName=name, **({"kmsKeyId": props["KmsKeyId"]} if "KmsKeyId" in props else {}))
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        self._set(logical_id, name, Arn=self.template.arn("logs", f"log-group:{name}:*"))
        return CREATED, ""

    def _alarm(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = props.get("AlarmName") or self.template.physical_name(logical_id, limit=255)
        allowed = ("AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions",
                   "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
                   "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
                   "Metrics", "ThresholdMetricId")
        arguments = {key: value for key, value in props.items() if key in allowed}
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in arguments:
                arguments[key] = int(arguments[key])
        if "Threshold" in arguments:
            arguments["Threshold"] = float(arguments["Threshold"])
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **arguments)
        self._set(logical_id, name, Arn=self.template.arn("cloudwatch", f"alarm:{name}"))
        return CREATED, "moto never evaluates alarms (local/monitoring.py evaluates them in the demo)"

    def _dashboard(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = props.get("DashboardName") or self.template.physical_name(logical_id, limit=255)
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
        self._set(logical_id, name)
        return CREATED, ""

    def _rule(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        events = self.client("events")
        name = props.get("Name") or self.template.physical_name(logical_id, limit=64)
        arguments = {"Name": name, "State": props.get("State", "ENABLED"), "Description": props.get("Description", "")}
        if "EventPattern" in props:
            arguments["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            arguments["ScheduleExpression"] = props["ScheduleExpression"]
        arn = events.put_rule(**arguments)["RuleArn"]
        if props.get("Targets"):
            events.put_targets(Rule=name, Targets=props["Targets"])
        self._set(logical_id, name, Arn=arn)
        return CREATED, "the rehearsal matches events with the rule's own pattern and delivers them"

    def _database(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        self.client("glue").create_database(DatabaseInput=props["DatabaseInput"])
        self._set(logical_id, props["DatabaseInput"]["Name"])
        return CREATED, ""

    def _table(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        self.client("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
        self._set(logical_id, props["TableInput"]["Name"])
        return CREATED, ""

    def _workgroup(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        configuration = props.get("WorkGroupConfiguration", {})
        self.client("athena").create_work_group(Name=props["Name"], Configuration=configuration,
                                                Description=props.get("Description", ""))
        self._set(logical_id, props["Name"])
        return CREATED, ""

    def _parameter(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = props.get("Name") or self.template.physical_name(logical_id)
        self.client("ssm").put_parameter(Name=name, Value=props["Value"], Type=props.get("Type", "String"))
        self._set(logical_id, name, Type=props.get("Type", "String"), Value=props["Value"])
        return CREATED, ""

    # --- SageMaker, Lambda ----------------------------------------------------------------------

    def _group(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = props["ModelPackageGroupName"]
        arn = self.client("sagemaker").create_model_package_group(
            ModelPackageGroupName=name,
            ModelPackageGroupDescription=props.get("ModelPackageGroupDescription", ""))["ModelPackageGroupArn"]
        self._set(logical_id, arn, ModelPackageGroupArn=arn)
        if props.get("ModelPackageGroupPolicy"):
            self.resource_policies[arn] = props["ModelPackageGroupPolicy"]
            return CREATED, "group policy not stored (moto lacks PutModelPackageGroupPolicy)"
        return CREATED, ""

    def _pipeline(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        body = props["PipelineDefinition"]["PipelineDefinitionBody"]
        arn = self.client("sagemaker").create_pipeline(
            PipelineName=props["PipelineName"], PipelineDefinition=body, RoleArn=props["RoleArn"],
            PipelineDescription=props.get("PipelineDescription", ""))["PipelineArn"]
        self._set(logical_id, props["PipelineName"], PipelineArn=arn)
        return CREATED, "moto stores the definition; jobs.py runs its steps"

    def _repository(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = props.get("RepositoryName") or self.template.physical_name(logical_id, lower=True)
        repository = self.client("ecr").create_repository(
            repositoryName=name, imageScanningConfiguration={
                "scanOnPush": props.get("ImageScanningConfiguration", {}).get("ScanOnPush", False)})["repository"]
        self._set(logical_id, name, Arn=repository["repositoryArn"], RepositoryUri=repository["repositoryUri"])
        return CREATED, "no image is pushed here: the rehearsal runs jobs in an environment built from pipelines/image"

    def _function(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        name = self.template.physical_name(logical_id)
        self._set(logical_id, name, Arn=self.template.arn("lambda", f"function:{name}"))
        return EMULATED, "its package runs in a clean interpreter of the runtime's Python (packages.py)"

    def _recorded(self, logical_id: str, _: dict[str, Any]) -> tuple[str, str]:
        self._set(logical_id, self.template.physical_name(logical_id))
        return EMULATED, "recorded; the rehearsal delivers the events itself"

    # --- EC2 (the VPC of environments with lambda_in_vpc) -----------------------------------------

    def _vpc(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock=props["CidrBlock"])["Vpc"]["VpcId"]
        default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                        {"Name": "group-name", "Values": ["default"]}])
        self._set(logical_id, vpc, VpcId=vpc, CidrBlock=props["CidrBlock"],
                  DefaultSecurityGroup=default["SecurityGroups"][0]["GroupId"])
        return CREATED, ""

    def _subnet(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        subnet = self.client("ec2").create_subnet(VpcId=props["VpcId"], CidrBlock=props["CidrBlock"],
                                                  AvailabilityZone=props["AvailabilityZone"])["Subnet"]["SubnetId"]
        self._set(logical_id, subnet, SubnetId=subnet, AvailabilityZone=props["AvailabilityZone"])
        return CREATED, ""

    def _route_table(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        table = self.client("ec2").create_route_table(VpcId=props["VpcId"])["RouteTable"]["RouteTableId"]
        self._set(logical_id, table, RouteTableId=table)
        return CREATED, ""

    def _route_table_association(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        association = self.client("ec2").associate_route_table(RouteTableId=props["RouteTableId"],
                                                               SubnetId=props["SubnetId"])["AssociationId"]
        self._set(logical_id, association)
        return CREATED, ""

    def _security_group(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        ec2 = self.client("ec2")
        name = props.get("GroupName") or self.template.physical_name(logical_id, limit=255)
        group = ec2.create_security_group(GroupName=name, Description=props["GroupDescription"],
                                          VpcId=props["VpcId"])["GroupId"]
        rules = [_permission(rule) for rule in props.get("SecurityGroupEgress", [])]
        if rules:
            ec2.authorize_security_group_egress(GroupId=group, IpPermissions=rules)
        self._set(logical_id, group, GroupId=group, VpcId=props["VpcId"])
        return CREATED, ""

    def _security_group_rule(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        ec2 = self.client("ec2")
        egress = self.template.resources[logical_id]["Type"].endswith("Egress")
        authorize = ec2.authorize_security_group_egress if egress else ec2.authorize_security_group_ingress
        authorize(GroupId=props["GroupId"], IpPermissions=[_permission(props)])
        self._set(logical_id, self.template.physical_name(logical_id))
        return CREATED, ""

    def _vpc_endpoint(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        arguments = {key: props[key] for key in ("VpcId", "ServiceName", "VpcEndpointType", "RouteTableIds",
                                                 "SubnetIds", "SecurityGroupIds", "PrivateDnsEnabled") if key in props}
        endpoint = self.client("ec2").create_vpc_endpoint(**arguments)["VpcEndpoint"]["VpcEndpointId"]
        self.vpc_endpoints[props["VpcId"]].add(props["ServiceName"])
        self._set(logical_id, endpoint, Id=endpoint)
        return CREATED, "the rehearsal checks every service a function in the VPC calls has one"

    def _flow_log(self, logical_id: str, props: dict[str, Any]) -> tuple[str, str]:
        flow = self.client("ec2").create_flow_logs(
            ResourceIds=[props["ResourceId"]], ResourceType=props["ResourceType"], TrafficType=props["TrafficType"],
            LogDestinationType=props.get("LogDestinationType", "cloud-watch-logs"),
            LogGroupName=props["LogGroupName"], DeliverLogsPermissionArn=props["DeliverLogsPermissionArn"])
        self._set(logical_id, flow["FlowLogIds"][0] if flow.get("FlowLogIds") else self.template.physical_name(
            logical_id))
        return CREATED, "no traffic is logged (moto carries none)"


def _permission(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation security group rule as the EC2 API's IpPermission."""
    permission: dict[str, Any] = {"IpProtocol": str(rule["IpProtocol"])}
    for key in ("FromPort", "ToPort"):
        if key in rule:
            permission[key] = int(rule[key])
    if "CidrIp" in rule:
        permission["IpRanges"] = [{"CidrIp": rule["CidrIp"], "Description": rule.get("Description", "")}]
    if "SourceSecurityGroupId" in rule or "DestinationSecurityGroupId" in rule:
        permission["UserIdGroupPairs"] = [{"GroupId": rule.get("SourceSecurityGroupId")
                                           or rule["DestinationSecurityGroupId"]}]
    return permission
