"""What the project's cdk-nag 3 rule packs share: the rule shape cdk-nag applies, and a template reader.

A pack is a `ProjectRulePack` subclass with PACK (its name) and RULES ((suffix, info, explanation,
check) tuples). `Rendered` turns the resolved CloudFormation of a stack into comparable strings,
so rules can match IAM resources against bucket and key ARNs and measure names.
"""

from __future__ import annotations

import builtins
import fnmatch
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

Check = Callable[[cdk.CfnResource], NagRuleCompliance]
Rule = tuple[str, str, str, Check]

# Pseudo parameters at their longest (for name limits) and as fixed values (for matching).
LONGEST_PSEUDO = {"AWS::AccountId": "123456789012", "AWS::Region": "ap-southeast-5", "AWS::Partition": "aws-us-gov",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "x" * 40}
MATCHING_PSEUDO = {**LONGEST_PSEUDO, "AWS::Region": "us-east-1", "AWS::Partition": "aws"}


@jsii.implements(IApplyRule)
class _Rule:
    """One rule applied to one resource, in the shape cdk-nag's applyRule takes (jsii properties)."""

    def __init__(self, node: cdk.CfnResource, suffix: str, info: str, explanation: str, check: Check) -> None:
        self._node, self._suffix, self._info, self._explanation, self._check = node, suffix, info, explanation, check

    @builtins.property
    def node(self) -> cdk.CfnResource:
        return self._node

    @builtins.property
    def info(self) -> str:
        return self._info

    @builtins.property
    def explanation(self) -> str:
        return self._explanation

    @builtins.property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    @builtins.property
    def rule_suffix_override(self) -> str:
        return self._suffix

    def rule(self, node: cdk.CfnResource) -> NagRuleCompliance:
        return self._check(node)


class ProjectRulePack(NagPack):
    """Register with `cdk.Validations.of(app).add_plugins(Pack(app))` (stacks/nag.py does)."""

    PACK: ClassVar[str] = ""
    RULES: ClassVar[tuple[Rule, ...]] = ()

    def __init__(self, scope: Any = None) -> None:
        super().__init__(scope)
        self._pack_name = self.PACK

    @jsii.member(jsii_name="checkResource")
    def _check_resource(self, node: cdk.CfnResource) -> None:
        for suffix, info, explanation, check in self.RULES:
            self._apply_rule(_Rule(node, suffix, info, explanation, check))

    @builtins.property
    @jsii.member(jsii_name="name")
    def name(self) -> str:
        return self.PACK


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class Rendered:
    """A stack's resolved values as plain strings: `Ref` of a named bucket is its name, other refs `<Id>`."""

    def __init__(self, stack: cdk.Stack, pseudo: dict[str, str] | None = None) -> None:
        self.stack = stack
        self.pseudo = pseudo or MATCHING_PSEUDO
        self.resources = {stack.resolve(child.logical_id): child for child in stack.node.find_all()
                          if isinstance(child, cdk.CfnResource)}

    def logical_id(self, resource: cdk.CfnResource) -> str:
        return self.stack.resolve(resource.logical_id)

    def value(self, value: Any) -> str:
        """A resolved or unresolved value rendered to one string."""
        return self.render(self.stack.resolve(value))

    def render(self, value: Any) -> str:  # noqa: PLR0911 - one return per intrinsic
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, bool)):
            return str(value).lower() if isinstance(value, bool) else str(value)
        if isinstance(value, list):
            return ",".join(self.render(item) for item in value)
        if not isinstance(value, dict) or len(value) != 1:
            return "<?>"
        (function, argument), = value.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::GetAtt":
            return self._get_att(*argument) if isinstance(argument, list) else self._get_att(*argument.split(".", 1))
        if function == "Fn::Join":
            return self.render(argument[0]).join(self.render(item) for item in argument[1])
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self.render(variables[m.group(1)]) if m.group(1) in variables
                          else self._ref(m.group(1)) if "." not in m.group(1)
                          else self._get_att(*m.group(1).split(".", 1)), text)
        if function == "Fn::Select":
            source = argument[1]
            parts = (self.render(source["Fn::Split"][1]).split(source["Fn::Split"][0])
                     if isinstance(source, dict) and "Fn::Split" in source else self.render(source).split(","))
            index = int(argument[0])
            return parts[index] if index < len(parts) else f"<{parts[0]}[{index}]>"
        return "<?>"

    def _ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        resource = self.resources.get(name)
        if isinstance(resource, s3.CfnBucket) and resource.bucket_name:
            return self.value(resource.bucket_name)
        return f"<{name}>"

    def _get_att(self, name: str, attribute: str) -> str:
        resource = self.resources.get(name)
        if isinstance(resource, s3.CfnBucket) and attribute == "Arn":
            return f"arn:{self.pseudo['AWS::Partition']}:s3:::{self._ref(name)}"
        return f"<{name}.{attribute}>"

    # --- IAM -----------------------------------------------------------------------------------

    def role_statements(self, role_id: str, *, available_to: cdk.CfnResource | None = None) -> Iterator[dict]:
        """Allow statements of every policy on role `role_id` (rendered). With `available_to`, only the
        policies CloudFormation has created before that resource: the role's own inline and managed
        policies, and attached policies the resource depends on."""
        role = self.resources.get(role_id)
        ready = {self.logical_id(dependency) for dependency in available_to.obtain_dependencies()} \
            if available_to is not None else None
        documents = []
        if isinstance(role, iam.CfnRole):
            documents += [policy["policyDocument"] for policy in as_list(self.stack.resolve(role.policies))]
            for reference in as_list(self.stack.resolve(role.managed_policy_arns)):
                policy = self.resources.get(reference.get("Ref")) if isinstance(reference, dict) else None
                if isinstance(policy, iam.CfnManagedPolicy):
                    documents.append(self.stack.resolve(policy.policy_document))
        for logical_id, policy in self.resources.items():
            if not isinstance(policy, (iam.CfnManagedPolicy, iam.CfnPolicy)):
                continue
            if {"Ref": role_id} not in as_list(self.stack.resolve(policy.roles)):
                continue
            if ready is None or logical_id in ready:
                documents.append(self.stack.resolve(policy.policy_document))
        for document in documents:
            for statement in as_list(document.get("Statement")):
                if statement.get("Effect") == "Allow":
                    yield statement

    def allows(self, statements: list[dict], action: str, resource: str) -> bool:
        """Some statement allows `action` on `resource` (wildcards as IAM matches them; conditions ignored)."""
        return any(
            any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in as_list(statement.get("Action")))
            and any(fnmatch.fnmatchcase(resource, self.render(pattern)) for pattern in
                    as_list(statement.get("Resource")))
            for statement in statements)


def role_id_of(stack: cdk.Stack, role_arn: Any) -> str | None:
    """Logical id of the role behind a `Fn::GetAtt [Role, Arn]`; None for an imported role."""
    resolved = stack.resolve(role_arn)
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        return resolved["Fn::GetAtt"][0]
    return None
