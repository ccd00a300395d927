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

from lineage_graph.domain.auth import Principal
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import ApprovalStatus, Metric, ModelVersion


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
    # Why the upstream walk behind this evidence stopped short (naming the limit), or None when it is whole.
    lineage_incomplete: str | None = None

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
            "lineage_complete": self.lineage_incomplete is None,
            "lineage_incomplete": self.lineage_incomplete,
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
    if not actor.may_approve(group):
        problems.append(Problem(None, f"{actor.name} needs the approver role for model group {group}", "MISSING_ROLE"))
    four_eyes = four_eyes_problem(actor, policy, evidence.registered_by)
    if four_eyes is not None:
        problems.append(four_eyes)
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


@dataclass(frozen=True)
class Readiness:
    """What approving a version would take now, for one caller: every unmet rule with its reason (empty when
    an approval by this caller would be recorded), and what the approval would lead to."""

    status: ApprovalStatus
    problems: tuple[Problem, ...]
    resulting_status: ApprovalStatus  # still PENDING when more distinct approvers are needed (N-of-M)
    approvals: int  # distinct approvals of this round so far
    approvals_needed: int
    lineage_complete: bool

    @property
    def ready(self) -> bool:
        return not self.problems


def readiness(actor: Principal, group: str, policy: ApprovalPolicy, evidence: Evidence) -> Readiness:
    """The rules `decide` applies to an approval, evaluated for `actor` without recording anything."""
    outcome = decide(Decision.APPROVE, actor, group, policy, evidence, None)
    return Readiness(
        status=evidence.status,
        problems=outcome.problems,
        resulting_status=outcome.to_status if not outcome.problems else evidence.status,
        approvals=len(set(evidence.approvers_so_far)),
        approvals_needed=policy.min_approvers,
        lineage_complete=evidence.lineage_incomplete is None,
    )


def four_eyes_problem(actor: Principal, policy: ApprovalPolicy, registered_by: str | None) -> Problem | None:
    """The four-eyes rule alone: it needs only who registered the version, so it is checked before any lock."""
    if policy.four_eyes and registered_by == actor.name:
        return Problem(None, f"{actor.name} registered this version and may not decide on it (four-eyes)", "FOUR_EYES")
    return None


@dataclass(frozen=True)
class IncidentFlag:
    """The result of flagging a dataset version: the approved versions downstream now marked for re-review,
    and why the walk that found them stopped short (naming the limit), or None when it reached everything."""

    needs_review: tuple[ModelVersion, ...]
    incomplete: str | None = None


def _reads_lineage(policy: ApprovalPolicy) -> bool:
    return bool(
        policy.forbidden_upstream_tags
        or policy.required_upstream_tags
        or policy.require_training_data
        or policy.require_code_version
        or policy.require_producing_run
    )


def _policy_problems(policy: ApprovalPolicy, evidence: Evidence) -> list[Problem]:
    problems = []
    if evidence.lineage_incomplete and _reads_lineage(policy):
        # Never decide on part of the lineage: a forbidden tag may sit beyond the cut.
        problems.append(
            Problem(
                "lineage",
                f"{evidence.lineage_incomplete}, and the policy reads lineage: it cannot be checked on part of it",
                "LINEAGE_INCOMPLETE",
            )
        )
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
