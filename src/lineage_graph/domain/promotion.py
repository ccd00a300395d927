"""Automated promotion: a group may let the server approve a version, or move it to a stage, once the
group's rules are met. The decision is the policy's own, made by its own principal, never a person's.

It never stands in for a human: an automated approval is only allowed where the approval policy asks for no
second person (four-eyes off, one approver), and it never fires while the contract or the policy is unmet.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from lineage_graph.domain.approval import ApprovalPolicy
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.lifecycle import LifecyclePolicy

PRINCIPAL_PREFIX = "policy:"
TRIGGERS = ("registered", "metrics_added", "incident_cleared")


def policy_principal(group: str) -> Principal:
    """The principal automated decisions of `group` are recorded under: an approver of that group only, and
    recognisably not a person (`policy:<group>`)."""
    return Principal(name=f"{PRINCIPAL_PREFIX}{group}", role=Role.VIEWER, group_roles={group: Role.APPROVER})


def is_policy_principal(name: str | None) -> bool:
    return bool(name) and str(name).startswith(PRINCIPAL_PREFIX)


@dataclass(frozen=True)
class PromotionPolicy:
    """`approve`: approve when the approval policy is met; `to_stage`: move there when its gate is met."""

    approve: bool = False
    to_stage: str | None = None

    @property
    def enabled(self) -> bool:
        return self.approve or self.to_stage is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> PromotionPolicy:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        return cls(approve=bool(data.get("approve")), to_stage=data.get("to_stage"))

    def validate(self, lifecycle: LifecyclePolicy, approval: ApprovalPolicy) -> None:
        problems = self.problems(lifecycle, approval)
        if problems:
            raise ValidationFailed.of(problems)

    def problems(self, lifecycle: LifecyclePolicy, approval: ApprovalPolicy) -> list[Problem]:
        """Why this policy cannot act under the group's current rules (checked when set and when it fires)."""
        problems = []
        if self.approve and (approval.four_eyes or approval.min_approvers > 1):
            problems.append(
                Problem(
                    "approve",
                    "the approval policy asks for a person other than the registrant (four-eyes) or several "
                    "approvers; an automated approval never stands in for them",
                    "AUTOMATION_NOT_ALLOWED",
                )
            )
        if self.to_stage is not None:
            stage = lifecycle.stage(self.to_stage)
            if stage is None:
                problems.append(Problem("toStage", f"must be one of {', '.join(lifecycle.names)}", "UNKNOWN_STAGE"))
            elif stage.gate.require_approver:
                problems.append(
                    Problem("toStage", f"{stage.name} is entered by a person with the approver role", "GATE_APPROVER")
                )
            elif stage.name == lifecycle.initial:
                problems.append(Problem("toStage", "new versions already start in that stage"))
        return problems
