"""Lifecycle stages as first-class state: a group's ordered stages, each with a gate, and the transition rule.

A stage is what SageMaker's `ModelLifeCycle` calls Stage (with a StageStatus and a StageDescription). Moving a
version into a stage is a decision like an approval: the gate of the target stage is checked against the
evidence, every unmet condition is listed, and the transition is recorded with that evidence.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lineage_graph.domain.approval import MetricRequirement
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import ApprovalStatus, Metric

PRODUCTION = "Production"
ARCHIVED = "Archived"
DEFAULT_STAGE_STATUS = "Approved"
MAX_STAGES = 12
MAX_GATE_ENTRIES = 50
STAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _-]{0,62}")
STAGE_STATUS = re.compile(r"[A-Za-z][A-Za-z0-9 _-]{0,62}")
ENVIRONMENT = re.compile(r"[a-z][a-z0-9_-]{0,62}")
MAX_STAGE_DESCRIPTION = 1024

OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class StageGate:
    """What a version needs before it may enter a stage. Every condition is optional."""

    require_approved: bool = False
    require_approver: bool = False  # the transition is made by a person with the approver role
    metric_thresholds: tuple[MetricRequirement, ...] = ()
    forbid_open_incidents_upstream: bool = False
    require_deployment_to: tuple[str, ...] = ()  # environments the version must have been deployed to first

    @property
    def empty(self) -> bool:
        return self == StageGate()


@dataclass(frozen=True)
class StageDefinition:
    name: str
    gate: StageGate = field(default_factory=StageGate)


DEFAULT_STAGES: tuple[StageDefinition, ...] = (
    StageDefinition("Development"),
    StageDefinition("Staging"),
    StageDefinition(PRODUCTION, StageGate(require_approved=True, require_approver=True)),
    StageDefinition(ARCHIVED),
)


@dataclass(frozen=True)
class LifecyclePolicy:
    """A group's ordered stages. New versions start in the first one."""

    stages: tuple[StageDefinition, ...] = DEFAULT_STAGES

    @property
    def initial(self) -> str:
        return self.stages[0].name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def stage(self, name: str) -> StageDefinition | None:
        return next((s for s in self.stages if s.name == name), None)

    def to_json(self) -> str:
        return json.dumps({"stages": [asdict(s) for s in self.stages]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> LifecyclePolicy:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        return cls(tuple(_stage_from(s) for s in data["stages"]))

    def validate(self) -> None:
        problems: list[Problem] = []
        if not 2 <= len(self.stages) <= MAX_STAGES:
            problems.append(Problem("stages", f"must list 2-{MAX_STAGES} stages", "OUT_OF_RANGE"))
        seen: set[str] = set()
        for i, stage in enumerate(self.stages):
            if not STAGE_NAME.fullmatch(stage.name):
                problems.append(
                    Problem(
                        f"stages[{i}].name", "a stage is 1-63 letters, digits, spaces, _ or -, starting with a letter"
                    )
                )
            if stage.name.lower() in seen:
                problems.append(Problem(f"stages[{i}].name", f"{stage.name!r} is listed twice", "DUPLICATE"))
            seen.add(stage.name.lower())
            gate = stage.gate
            if len(gate.metric_thresholds) > MAX_GATE_ENTRIES or len(gate.require_deployment_to) > MAX_GATE_ENTRIES:
                problems.append(
                    Problem(f"stages[{i}].gate", f"at most {MAX_GATE_ENTRIES} entries per list", "TOO_MANY")
                )
            for j, req in enumerate(gate.metric_thresholds):
                path = f"stages[{i}].gate.metricThresholds[{j}]"
                if req.operator not in OPERATORS:
                    problems.append(Problem(f"{path}.operator", f"must be one of {', '.join(OPERATORS)}"))
                if not req.name:
                    problems.append(Problem(f"{path}.name", "is required", "REQUIRED"))
            for j, env in enumerate(gate.require_deployment_to):
                if not ENVIRONMENT.fullmatch(env):
                    problems.append(
                        Problem(f"stages[{i}].gate.requireDeploymentTo[{j}]", "must be an environment name")
                    )
        if PRODUCTION not in self.names:
            problems.append(Problem("stages", f"must include the {PRODUCTION} stage", "REQUIRED"))
        if self.stages and self.stages[0].name == ARCHIVED:
            problems.append(Problem("stages[0].name", "new versions cannot start out archived"))
        if problems:
            raise ValidationFailed.of(problems)


def _stage_from(data: Mapping[str, Any]) -> StageDefinition:
    gate = dict(data.get("gate") or {})
    thresholds = tuple(MetricRequirement(**m) for m in gate.pop("metric_thresholds", ()))
    deployments = tuple(gate.pop("require_deployment_to", ()))
    return StageDefinition(
        data["name"], StageGate(metric_thresholds=thresholds, require_deployment_to=deployments, **gate)
    )


@dataclass(frozen=True)
class StageEvidence:
    """What a transition is checked against; stored with the transition."""

    stage: str
    stage_status: str | None
    approval_status: ApprovalStatus
    metrics: tuple[Metric, ...]
    open_incidents_upstream: tuple[str, ...]  # dataset versions upstream carrying an open incident
    deployment_environments: tuple[str, ...]  # environments the version was ever deployed to
    by_approver: bool  # the one deciding holds the approver role (an automated promotion never does)

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["approval_status"] = self.approval_status.value
        data["metrics"] = [asdict(m) for m in self.metrics]
        return data


@dataclass(frozen=True)
class StageChange:
    stage: str
    status: str
    description: str | None = None


def check_stage_change(change: StageChange, path: str = "") -> list[Problem]:
    """The input itself: a stage name, a status and a description of sane shape."""
    problems = []
    if not STAGE_NAME.fullmatch(change.stage):
        problems.append(Problem(f"{path}stage", "a stage is 1-63 letters, digits, spaces, _ or -"))
    if not STAGE_STATUS.fullmatch(change.status):
        problems.append(Problem(f"{path}stageStatus", "a stage status is 1-63 letters, digits, spaces, _ or -"))
    if change.description is not None and len(change.description) > MAX_STAGE_DESCRIPTION:
        problems.append(Problem(f"{path}stageDescription", f"at most {MAX_STAGE_DESCRIPTION} characters", "TOO_LONG"))
    return problems


def metric_value(metrics: Sequence[Metric], req: MetricRequirement) -> float | None:
    candidates = [m for m in metrics if m.name == req.name and (req.split is None or m.split == req.split)]
    if not candidates:
        return None
    # The final value of a curve is the one that counts.
    return max(candidates, key=lambda m: -1 if m.step is None else m.step).value


def gate_problems(policy: LifecyclePolicy, evidence: StageEvidence, change: StageChange) -> list[Problem]:
    """Every reason `change` may not happen now (empty: it may)."""
    target = policy.stage(change.stage)
    if target is None:
        return [Problem("stage", f"must be one of {', '.join(policy.names)}", "UNKNOWN_STAGE")]
    if target.name == evidence.stage and change.status == evidence.stage_status:
        return [Problem("stage", f"the version is already in {target.name} ({change.status})", "ALREADY_IN_STAGE")]
    if target.name == evidence.stage:
        return []  # a status change within the stage: the gate was passed on entry
    gate = target.gate
    problems: list[Problem] = []
    if gate.require_approved and evidence.approval_status is not ApprovalStatus.APPROVED:
        problems.append(
            Problem(
                "approvalStatus",
                f"{target.name} requires an APPROVED version; it is {evidence.approval_status.value}",
                "GATE_APPROVAL",
            )
        )
    if gate.require_approver and not evidence.by_approver:
        problems.append(Problem(None, f"{target.name} is entered by a person with the approver role", "GATE_APPROVER"))
    for req in gate.metric_thresholds:
        value = metric_value(evidence.metrics, req)
        if value is None:
            problems.append(
                Problem(f"metrics.{req.name}", f"{target.name} requires {req}; it is not recorded", "GATE_METRIC")
            )
        elif not OPERATORS[req.operator](value, req.threshold):
            problems.append(
                Problem(f"metrics.{req.name}", f"{target.name} requires {req}; it is {value:g}", "GATE_METRIC")
            )
    if gate.forbid_open_incidents_upstream and evidence.open_incidents_upstream:
        problems.append(
            Problem(
                "lineage",
                f"{target.name} requires no open incident upstream; open on "
                + ", ".join(evidence.open_incidents_upstream[:10]),
                "GATE_INCIDENT",
            )
        )
    for env in gate.require_deployment_to:
        if env not in evidence.deployment_environments:
            problems.append(
                Problem("deployments", f"{target.name} requires a deployment to {env} first", "GATE_DEPLOYMENT")
            )
    return problems


def match_stage(policy: LifecyclePolicy, name: str) -> str | None:
    """The group's stage called `name`, ignoring case (a group never lists two stages differing only in
    case), so `production` from another registry lands in `Production`."""
    wanted = name.casefold()
    return next((s.name for s in policy.stages if s.name.casefold() == wanted), None)


def registration_gate_problems(
    policy: LifecyclePolicy, change: StageChange, metrics: Sequence[Metric], by_approver: bool
) -> list[Problem]:
    """Every reason a version being registered may not start out in `change.stage`: it is checked as the
    new version will be (pending approval, never deployed, in the group's first stage). A gate that looks
    at the upstream lineage cannot be checked before the version exists, so it refuses (fail-safe): the
    version is registered first and then moved."""
    evidence = StageEvidence(
        stage=policy.initial,
        stage_status=None,
        approval_status=ApprovalStatus.PENDING_MANUAL_APPROVAL,
        metrics=tuple(metrics),
        open_incidents_upstream=(),
        deployment_environments=(),
        by_approver=by_approver,
    )
    problems = gate_problems(policy, evidence, change)
    target = policy.stage(change.stage)
    if target is not None and target.name != policy.initial and target.gate.forbid_open_incidents_upstream:
        problems.append(
            Problem(
                "lineage",
                f"{target.name} requires no open incident upstream, which is checked on a registered version: "
                "register it, then move it",
                "GATE_INCIDENT",
            )
        )
    return problems
