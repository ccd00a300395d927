"""The approval workflow's rules: the state machine, the per-group policy, four-eyes, N-of-M approvers.

Pure functions over plain values; the store gathers the evidence and persists the decision, never makes it.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import ApprovalStatus, Metric


class Decision(Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


# (decision, current status) → the status it leads to. Missing pairs are invalid transitions.
TRANSITIONS: Mapping[tuple[Decision, ApprovalStatus], ApprovalStatus] = {
    (Decision.APPROVE, ApprovalStatus.PENDING_MANUAL_APPROVAL): ApprovalStatus.APPROVED,
    (Decision.APPROVE, ApprovalStatus.REJECTED): ApprovalStatus.APPROVED,
    (Decision.REJECT, ApprovalStatus.PENDING_MANUAL_APPROVAL): ApprovalStatus.REJECTED,
    # Revoking an approval is a rejection; it needs a comment saying why.
    (Decision.REJECT, ApprovalStatus.APPROVED): ApprovalStatus.REJECTED,
}

_OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class MetricRequirement:
    """e.g. auc >= 0.85 (on the validation split, when `split` is given)."""

    name: str
    operator: str
    threshold: float
    split: str | None = None

    def __str__(self) -> str:
        where = f" on {self.split}" if self.split else ""
        return f"{self.name} {self.operator} {self.threshold:g}{where}"


@dataclass(frozen=True)
class ApprovalPolicy:
    """What a group demands before a version may be approved. The default demands only a second person."""

    required_metrics: tuple[MetricRequirement, ...] = ()
    require_training_data: bool = False
    require_code_version: bool = False
    require_producing_run: bool = False
    forbidden_upstream_tags: tuple[str, ...] = ()
    required_upstream_tags: tuple[str, ...] = ()
    min_approvers: int = 1
    four_eyes: bool = True

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> ApprovalPolicy:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        metrics = tuple(MetricRequirement(**m) for m in data.pop("required_metrics", ()))
        tuples = {k: tuple(v) for k, v in data.items() if isinstance(v, list)}
        return cls(required_metrics=metrics, **{**data, **tuples})

    def validate(self) -> None:
        problems = []
        for i, req in enumerate(self.required_metrics):
            if req.operator not in _OPERATORS:
                problems.append(Problem(f"requiredMetrics[{i}].operator", f"must be one of {', '.join(_OPERATORS)}"))
            if not req.name:
                problems.append(Problem(f"requiredMetrics[{i}].name", "is required", "REQUIRED"))
        if not 1 <= self.min_approvers <= 10:
            problems.append(Problem("minApprovers", "must be between 1 and 10", "OUT_OF_RANGE"))
        if problems:
            raise ValidationFailed.of(problems)


@dataclass(frozen=True)
class Evidence:
    """What was checked for a decision; it is stored with the decision as its snapshot."""

    status: ApprovalStatus
    registered_by: str | None
    metrics: tuple[Metric, ...]
    training_datasets: tuple[str, ...]
    code_versions: tuple[str, ...]
    producing_runs: tuple[str, ...]
    upstream_tags: Mapping[str, tuple[str, ...]]  # tag → the upstream dataset versions carrying it
    approvers_so_far: tuple[str, ...] = ()

    def snapshot(self, policy: ApprovalPolicy) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "registered_by": self.registered_by,
            "metrics": [asdict(m) for m in self.metrics],
            "training_datasets": list(self.training_datasets),
            "code_versions": list(self.code_versions),
            "producing_runs": list(self.producing_runs),
            "upstream_tags": {k: list(v) for k, v in sorted(self.upstream_tags.items())},
            "approvers_so_far": list(self.approvers_so_far),
            "policy": json.loads(policy.to_json()),
        }


@dataclass(frozen=True)
class Outcome:
    """A decision that may be recorded: the status after it, and whether more approvers are still needed."""

    decision: Decision
    from_status: ApprovalStatus
    to_status: ApprovalStatus
    approvals: int = 0
    approvals_needed: int = 0
    problems: tuple[Problem, ...] = field(default=())


def may_approve(principal: Principal, group: str) -> bool:
    """Approving needs the approver role itself (globally or for this group); admin alone is not enough."""
    return principal.role is Role.APPROVER or principal.group_roles.get(group) is Role.APPROVER


def _metric_value(metrics: Sequence[Metric], req: MetricRequirement) -> float | None:
    candidates = [m for m in metrics if m.name == req.name and (req.split is None or m.split == req.split)]
    if not candidates:
        return None
    # The final value of a curve is the one that counts.
    return max(candidates, key=lambda m: -1 if m.step is None else m.step).value


def decide(
    decision: Decision, actor: Principal, group: str, policy: ApprovalPolicy, evidence: Evidence, comment: str | None
) -> Outcome:
    """Apply the rules; the outcome lists every unmet reason (empty when the decision may be recorded)."""
    problems: list[Problem] = []
    if not may_approve(actor, group):
        problems.append(Problem(None, f"{actor.name} needs the approver role for model group {group}", "MISSING_ROLE"))
    if policy.four_eyes and evidence.registered_by == actor.name:
        problems.append(
            Problem(None, f"{actor.name} registered this version and may not decide on it (four-eyes)", "FOUR_EYES")
        )
    to_status = TRANSITIONS.get((decision, evidence.status))
    if to_status is None:
        problems.append(
            Problem(
                None, f"cannot {decision.value.lower()} a version that is {evidence.status.value}", "INVALID_TRANSITION"
            )
        )
    if decision is Decision.REJECT and evidence.status is ApprovalStatus.APPROVED and not (comment or "").strip():
        problems.append(Problem("comment", "revoking an approval needs a comment saying why", "REQUIRED"))
    approvals = len(set(evidence.approvers_so_far))
    if decision is Decision.APPROVE:
        if actor.name in evidence.approvers_so_far:
            problems.append(Problem(None, f"{actor.name} has already approved this version", "ALREADY_APPROVED"))
        problems += _policy_problems(policy, evidence)
        approvals += 1
    if problems:
        return Outcome(decision, evidence.status, evidence.status, problems=tuple(problems))
    assert to_status is not None
    if decision is Decision.APPROVE and approvals < policy.min_approvers:
        # N-of-M: the vote is recorded; the status changes with the N-th distinct approver.
        return Outcome(decision, evidence.status, evidence.status, approvals, policy.min_approvers)
    return Outcome(decision, evidence.status, to_status, approvals, policy.min_approvers)


def _policy_problems(policy: ApprovalPolicy, evidence: Evidence) -> list[Problem]:
    problems = []
    for req in policy.required_metrics:
        value = _metric_value(evidence.metrics, req)
        if value is None:
            problems.append(
                Problem(f"metrics.{req.name}", f"policy requires {req}; the metric is not recorded", "METRIC_MISSING")
            )
        elif not _OPERATORS[req.operator](value, req.threshold):
            problems.append(
                Problem(f"metrics.{req.name}", f"policy requires {req}; it is {value:g}", "METRIC_THRESHOLD")
            )
    if policy.require_training_data and not evidence.training_datasets:
        problems.append(Problem("lineage.trainedOn", "policy requires a training dataset version", "MISSING_LINEAGE"))
    if policy.require_code_version and not evidence.code_versions:
        problems.append(Problem("lineage.code", "policy requires a code version", "MISSING_LINEAGE"))
    if policy.require_producing_run and not evidence.producing_runs:
        problems.append(Problem("lineage.producedBy", "policy requires a producing run", "MISSING_LINEAGE"))
    for tag in policy.forbidden_upstream_tags:
        carriers = evidence.upstream_tags.get(tag)
        if carriers:
            problems.append(
                Problem(
                    "lineage.upstreamTags",
                    f"upstream dataset version(s) {', '.join(carriers)} are tagged {tag!r}, which the policy forbids",
                    "FORBIDDEN_UPSTREAM_TAG",
                )
            )
    for tag in policy.required_upstream_tags:
        if not evidence.upstream_tags.get(tag):
            problems.append(
                Problem(
                    "lineage.upstreamTags",
                    f"policy requires an upstream dataset version tagged {tag!r}",
                    "REQUIRED_UPSTREAM_TAG",
                )
            )
    return problems
