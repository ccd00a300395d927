"""A model package group's resource policy (Put/Get/DeleteModelPackageGroupPolicy), translated into our grants.

SageMaker's policies are IAM documents. The subset that means something here is "allow these principals these
SageMaker actions on this group and its packages": each such statement grants its principals the role that
covers the actions (read → viewer, register and tag → contributor, UpdateModelPackage → approver) for that
group. Anything else (Deny, conditions, Not* elements, wildcards, other services or resources) is refused,
naming the statement, rather than stored and silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import ValidationFailed

ACTION_ROLES: Mapping[str, Role] = {
    "sagemaker:DescribeModelPackage": Role.VIEWER,
    "sagemaker:DescribeModelPackageGroup": Role.VIEWER,
    "sagemaker:ListModelPackages": Role.VIEWER,
    "sagemaker:BatchDescribeModelPackage": Role.VIEWER,
    "sagemaker:ListTags": Role.VIEWER,
    "sagemaker:CreateModelPackage": Role.CONTRIBUTOR,
    "sagemaker:AddTags": Role.CONTRIBUTOR,
    "sagemaker:DeleteTags": Role.CONTRIBUTOR,
    "sagemaker:DeleteModelPackage": Role.CONTRIBUTOR,
    "sagemaker:UpdateModelPackage": Role.APPROVER,
}
_PRINCIPAL = re.compile(r"arn:aws:iam::\d{12}:(?:user|role)/(?P<name>[^/\s*]+)")
_KNOWN = {"Sid", "Effect", "Principal", "Action", "Resource"}
MAX_POLICY_BYTES = 20 * 1024


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def grants_of_policy(document: str, group: str, group_arn: str, package_prefix: str) -> dict[str, Role]:
    """principal name → the role the policy grants it on `group`; ValidationFailed naming the first statement
    outside the subset we enforce. `package_prefix` is the ARN prefix of the group's packages."""
    if len(document.encode()) > MAX_POLICY_BYTES:
        raise ValidationFailed.field("ResourcePolicy", f"must be at most {MAX_POLICY_BYTES} bytes")
    try:
        policy = json.loads(document)
    except json.JSONDecodeError:
        raise ValidationFailed.field("ResourcePolicy", "is not a JSON document") from None
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise ValidationFailed.field("ResourcePolicy.Statement", "must be a non-empty list of statements")
    grants: dict[str, Role] = {}
    for i, statement in enumerate(statements):
        for name, role in _statement_grants(statement, i, group_arn, package_prefix).items():
            if name not in grants or role.rank > grants[name].rank:
                grants[name] = role
    return grants


def _statement_grants(statement: Any, i: int, group_arn: str, package_prefix: str) -> dict[str, Role]:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    where = f"ResourcePolicy.Statement[{i}]" + (f" ({sid})" if isinstance(sid, str) else "")

    def refuse(reason: str) -> ValidationFailed:
        return ValidationFailed.field(
            where,
            f"{reason}; only Allow statements granting SageMaker model registry "
            "actions to IAM users or roles on this group are enforced here",
        )

    if not isinstance(statement, dict):
        raise refuse("is not an object")
    extra = sorted(set(statement) - _KNOWN)
    if extra:
        raise refuse(f"uses {', '.join(extra)}")
    if statement.get("Effect") != "Allow":
        raise refuse(f"has Effect {statement.get('Effect')!r}")
    principal = statement.get("Principal")
    arns = _strings(principal.get("AWS")) if isinstance(principal, dict) and set(principal) == {"AWS"} else None
    if arns is None:
        raise refuse('needs Principal {"AWS": [IAM user or role ARNs]}')
    names = []
    for arn in arns:
        match = _PRINCIPAL.fullmatch(arn)
        if match is None:
            raise refuse(f"principal {arn[:120]!r} is not an IAM user or role ARN")
        names.append(match["name"])
    actions = _strings(statement.get("Action"))
    if actions is None:
        raise refuse("needs Action (a string or a list)")
    unknown = [a for a in actions if a not in ACTION_ROLES]
    if unknown:
        raise refuse(f"action {unknown[0][:80]!r} does not map onto a role here")
    resources = _strings(statement.get("Resource"))
    if resources is None:
        raise refuse("needs Resource (the group's ARN or its packages')")
    for resource in resources:
        if resource != group_arn and not (resource.startswith(package_prefix)):
            raise refuse(f"resource {resource[:120]!r} is not this group or one of its packages")
    role = max((ACTION_ROLES[a] for a in actions), key=lambda r: r.rank)
    return dict.fromkeys(names, role)


def with_grant(principal: Principal, group: str, grants: Mapping[str, str]) -> Principal:
    """The caller as seen on `group`: a role the group's policy grants it raises (never lowers) its own."""
    granted = grants.get(principal.name)
    if granted is None or not principal.authenticated:
        return principal
    existing = principal.group_roles.get(group)
    if existing is not None and existing.rank >= Role(granted).rank:
        return principal
    return Principal(
        principal.name, principal.role, {**principal.group_roles, group: Role(granted)}, principal.authenticated
    )
