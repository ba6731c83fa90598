"""A synthesized CloudFormation template with CloudFormation's intrinsic functions, offline.

An environment is several stacks (stacks/stage.py); `Template.from_files` reads them as one deployment:
resources keep their own stack's name for physical ids, and `Fn::ImportValue` resolves to the
exporting stack's output, so creation order follows cross-stack references as CloudFormation's deploy
order does.

Physical ids follow CloudFormation: a resource's name property when the template sets one,
otherwise `<stack name>-<logical id>-<suffix>` (deterministic here). `Ref` and `Fn::GetAtt`
return what CloudFormation documents for each type used by this project; an unknown attribute
raises, naming it, rather than inventing a value.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from stacks.inventory import stack_templates

# The property that names a resource, per type (CloudFormation's Ref returns it for most).
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName", "AWS::SQS::Queue": "QueueName", "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::IAM::Policy": "PolicyName",
    "AWS::Lambda::Function": "FunctionName", "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName", "AWS::Events::Rule": "Name", "AWS::SSM::Parameter": "Name",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupName", "AWS::SageMaker::Pipeline": "PipelineName",
    "AWS::KMS::Alias": "AliasName", "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Athena::WorkGroup": "Name", "AWS::ECR::Repository": "RepositoryName",
    "AWS::ApiGateway::RestApi": "Name", "AWS::WAFv2::WebACL": "Name",
}


class TemplateError(ValueError):
    """The template uses something this evaluator does not know; the message names it."""


@dataclass
class Template:
    """One stack's template (or an environment's stacks as one), deployed into an account and region; `path`
    when read from a cloud assembly."""

    body: dict[str, Any]
    stack_name: str
    account: str
    region: str
    path: Path | None = None
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> physical id (set as created)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    stack_of: dict[str, str] = field(default_factory=dict)  # logical id -> its stack's name (several stacks)
    paths: tuple[Path, ...] = ()  # every template file read (several stacks)

    @classmethod
    def from_file(cls, path: Path, account: str, region: str) -> Template:
        """A template file of a cloud assembly; the stack name from the assembly's manifest."""
        return cls(json.loads(path.read_text()), _stack_name(path), account, region, path, paths=(path,))

    @classmethod
    def from_files(cls, paths: list[Path], account: str, region: str, name: str) -> Template:
        """Several stacks of one environment as one deployment (logical ids must not repeat across them)."""
        body: dict[str, Any] = {"Resources": {}, "Outputs": {}, "Parameters": {}}
        stack_of: dict[str, str] = {}
        for path in paths:
            stack, template = _stack_name(path), json.loads(path.read_text())
            template["Resources"].pop("CDKMetadata", None)  # the CLI's usage metadata, one per stack: not deployed
            for section, merged in body.items():
                repeated = set(merged) & set(template.get(section, {})) - {"BootstrapVersion"}
                if repeated:
                    raise TemplateError(f"{section} {sorted(repeated)} of {stack} repeat another stack's")
                merged.update(template.get(section, {}))
            stack_of.update(dict.fromkeys(template["Resources"], stack))
        return cls(body, name, account, region, paths[0].parent / f"{name}.template.json", stack_of=stack_of,
                   paths=tuple(paths))

    @cached_property
    def exports(self) -> dict[str, Any]:
        """Export name -> the exporting output's value (an expression of that stack)."""
        return exports_of(self.body)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def assets(self) -> dict[str, dict[str, Any]]:
        """The file assets manifests (`<stack>.assets.json`) of every stack: id -> source and destination."""
        found: dict[str, dict[str, Any]] = {}
        for path in self.paths:
            manifest = path.with_name(path.name.replace(".template.json", ".assets.json"))
            if manifest.is_file():
                found.update(json.loads(manifest.read_text()).get("files", {}))
        return found

    def creation_order(self) -> list[str]:
        """Logical ids with every resource after those it references (Ref, GetAtt, Sub) or DependsOn."""
        graph = {logical_id: self.references(resource) for logical_id, resource in self.resources.items()}
        return list(graphlib.TopologicalSorter(graph).static_order())

    def references(self, resource: dict[str, Any]) -> set[str]:
        found = set(resource.get("DependsOn", []) if isinstance(resource.get("DependsOn"), list)
                    else [resource["DependsOn"]] if resource.get("DependsOn") else [])
        text = json.dumps(resource.get("Properties", {}))
        found |= set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', text))
        found |= set(re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"', text))
        found |= {name.split(".")[0] for name in re.findall(r"\$\{([A-Za-z0-9.]+)\}", text)}
        for export in re.findall(r'"Fn::ImportValue": "([^"]+)"', text):
            if export not in self.exports:
                raise TemplateError(f"Fn::ImportValue {export}: no stack of this deployment exports it")
            found |= self.references({"Properties": self.exports[export]})
        return found & set(self.resources)

    # --- physical ids ----------------------------------------------------------------------

    def physical_name(self, logical_id: str, *, limit: int = 64, lower: bool = False) -> str:
        """The resource's name property, or a name CloudFormation would generate."""
        resource = self.resources[logical_id]
        prop = NAME_PROPERTIES.get(resource["Type"])
        given = resource.get("Properties", {}).get(prop) if prop else None
        if given is not None:
            return str(self.resolve(given))
        stack = self.stack_of.get(logical_id, self.stack_name)
        suffix = hashlib.sha256(f"{stack}/{logical_id}".encode()).hexdigest()[:12].upper()
        name = f"{stack}-{logical_id}"[: limit - 13] + f"-{suffix}"
        return name.lower() if lower else name

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    # --- intrinsic functions ---------------------------------------------------------------

    def resolve(self, value: Any) -> Any:  # noqa: PLR0911 - one return per intrinsic function
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
            return {key: self.resolve(item) for key, item in value.items()}
        (function, argument), = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(name, attribute)
        if function == "Fn::Join":
            return str(self.resolve(argument[0])).join(str(self.resolve(item)) for item in self.resolve(argument[1]))
        if function == "Fn::Sub":
            return self.sub(argument)
        if function == "Fn::Select":
            return self.resolve(argument[1])[int(self.resolve(argument[0]))]
        if function == "Fn::Split":
            return str(self.resolve(argument[1])).split(argument[0])
        if function == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if function == "Fn::ImportValue":
            return self.resolve(self.exports[self.resolve(argument)])
        raise TemplateError(f"intrinsic function {function} is not supported")

    def sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {key: self.resolve(item) for key, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def pseudo(self) -> dict[str, str]:
        return {"AWS::AccountId": self.account, "AWS::Region": self.region, "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack_name, "AWS::NoValue": ""}

    def ref(self, name: str) -> str:
        if name in self.pseudo():
            return self.pseudo()[name]
        if name in self.body.get("Parameters", {}):
            return str(self.body["Parameters"][name].get("Default", ""))
        if name not in self.physical:
            raise TemplateError(f"Ref {name}: not created yet (or not a resource of this template)")
        return self.physical[name]

    def get_att(self, name: str, attribute: str) -> str:
        if name not in self.attributes or attribute not in self.attributes[name]:
            raise TemplateError(f"Fn::GetAtt {name}.{attribute}: not available for "
                                f"{self.resources.get(name, {}).get('Type', 'an unknown resource')}")
        return self.attributes[name][attribute]

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.resolve(self.resources[logical_id].get("Properties", {}))


def exports_of(body: dict[str, Any]) -> dict[str, Any]:
    """Export name -> the exporting output's value, of a template body (several stacks' merged, too)."""
    return {output["Export"]["Name"]: output["Value"] for output in body.get("Outputs", {}).values()
            if isinstance(output.get("Export", {}).get("Name"), str)}


def _stack_name(path: Path) -> str:
    """A template file's stack name, from its cloud assembly's manifest."""
    return _stack_names(path.parent / "manifest.json").get(path.name, path.name.split(".")[0])


@cache
def _stack_names(manifest: Path) -> dict[str, str]:
    """Template file -> stack name, from one manifest (read once for all the stacks it lists)."""
    if not manifest.is_file():
        return {}
    return {artifact["properties"]["templateFile"]: artifact["properties"].get("stackName", artifact_id)
            for artifact_id, artifact in json.loads(manifest.read_text()).get("artifacts", {}).items()
            if "templateFile" in artifact.get("properties", {})}


def environment_templates(assembly: Path, environment: str) -> list[Path]:
    """The stack templates of one environment (its Stage's nested assembly), as its manifest lists them."""
    return [path for _, path in stack_templates(assembly, environment)]
