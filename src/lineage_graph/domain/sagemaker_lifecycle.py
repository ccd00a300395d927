"""SageMaker's `ModelLifeCycle` and our lifecycle stages: one state, two spellings.

`Stage` names one of the group's stages (ignoring case), `StageStatus` is the stage status and
`StageDescription` the transition's description. A version that was never moved between stages has no
`ModelLifeCycle`, as in SageMaker, though our API shows it in the group's first stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.lifecycle import (
    MAX_STAGE_DESCRIPTION,
    STAGE_STATUS,
    LifecyclePolicy,
    StageChange,
    match_stage,
)
from lineage_graph.domain.models import ModelVersion

FIELD = "ModelLifeCycle"


def stage_change(value: Any, policy: LifecyclePolicy, path: str = FIELD) -> StageChange:
    """The transition a `ModelLifeCycle` asks for, with the stage named as the group names it."""
    if not isinstance(value, Mapping):
        raise ValidationFailed.field(path, "must be an object with Stage and StageStatus")
    stage, status, description = value.get("Stage"), value.get("StageStatus"), value.get("StageDescription")
    problems: list[Problem] = []
    if not isinstance(stage, str) or not stage:
        problems.append(Problem(f"{path}.Stage", "is required", "REQUIRED"))
    if not isinstance(status, str) or not status:
        problems.append(Problem(f"{path}.StageStatus", "is required", "REQUIRED"))
    elif not STAGE_STATUS.fullmatch(status):
        problems.append(Problem(f"{path}.StageStatus", "is 1-63 letters, digits, spaces, _ or -"))
    if description is not None and not isinstance(description, str):
        problems.append(Problem(f"{path}.StageDescription", "must be a string"))
    elif description is not None and len(description) > MAX_STAGE_DESCRIPTION:
        problems.append(Problem(f"{path}.StageDescription", f"at most {MAX_STAGE_DESCRIPTION} characters", "TOO_LONG"))
    if problems:
        raise ValidationFailed.of(problems)
    assert isinstance(stage, str)
    assert isinstance(status, str)
    name = match_stage(policy, stage)
    if name is None:
        raise ValidationFailed.field(
            f"{path}.Stage",
            f"{stage[:63]!r} is not a stage of this model group; its stages are {', '.join(policy.names)}",
            "UNKNOWN_STAGE",
        )
    return StageChange(name, status, description)


def is_current(version: ModelVersion, change: StageChange, policy: LifecyclePolicy) -> bool:
    """The version already is where `change` would put it (a retried request, a re-import)."""
    return (version.stage or policy.initial, version.stage_status) == (change.stage, change.status)


def lifecycle_shape(version: ModelVersion) -> dict[str, str] | None:
    """`ModelLifeCycle` from the version's stage, whichever API moved it; None before its first move."""
    if version.stage is None or version.stage_status is None:
        return None
    shape = {"Stage": version.stage, "StageStatus": version.stage_status}
    if version.stage_description is not None:
        shape["StageDescription"] = version.stage_description
    return shape
