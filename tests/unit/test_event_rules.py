"""Event types and bodies, without a database: every audit action the server writes has an event type a
subscription can name, refusals are for reviewers, and state changes of a model version read like SageMaker's
"Model Package State Change"."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lineage_graph.domain.audit import AuditEvent
from lineage_graph.domain.auth import Role
from lineage_graph.domain.events import EVENT_TYPES, event_body, event_type, known_types, role_to_see
from lineage_graph.domain.sagemaker import ArnScope

SRC = Path(__file__).resolve().parents[2] / "src" / "lineage_graph"
ACTION = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
NAMESPACES = {action.split(".", 1)[0] for action in EVENT_TYPES}


def _written_actions() -> set[str]:
    """Every string constant of the store and services that looks like an audit action of a known kind."""
    found: set[str] = set()
    for path in [*(SRC / "store").glob("*.py"), *(SRC / "services").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
            if ACTION.fullmatch(text) and text.split(".", 1)[0] in NAMESPACES:
                found.add(text)
    return found


def test_every_audit_action_written_has_a_named_event_type() -> None:
    actions = _written_actions()
    assert {"model_version.register", "model_version.stage_changed", "deployment.retire"} <= actions
    unnamed = sorted(a for a in actions if event_type(a, "OK") not in known_types())
    assert unnamed == [], "give these an event type in domain/events.py"


def test_event_types_are_past_tense_and_unique() -> None:
    assert len(set(EVENT_TYPES.values())) == len(EVENT_TYPES)
    for kind in known_types():
        assert ACTION.fullmatch(kind), kind
        assert kind.endswith(("ed", "_refused", "review_needed")), kind


def test_refusals_are_for_reviewers_and_credentials_for_admins() -> None:
    assert event_type("model_version.stage_changed", "REFUSED") == "model_version.stage_change_refused"
    assert role_to_see("model_version.stage_change_refused") is Role.APPROVER
    assert role_to_see("model_version.stage_changed") is Role.VIEWER
    assert role_to_see("webhook.disabled") is Role.ADMIN


def _event(action: str, payload: dict[str, Any], outcome: str = "OK") -> AuditEvent:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return AuditEvent(
        "e1", "group:fraud", 4, "ana", action, "ModelVersion:fraud/3", "fraud", payload, outcome, at, "0" * 64, "f" * 64
    )


def test_a_stage_change_carries_model_life_cycle_in_the_sagemaker_detail() -> None:
    payload = {"from": "Staging", "to": "Production", "to_status": "Approved", "description": "canary ok"}
    body = event_body(_event("model_version.stage_changed", {**payload, "approval_status": "APPROVED"}), ArnScope())
    assert body["type"] == "model_version.stage_changed"
    assert body["data"]["detail-type"] == "SageMaker Model Package State Change"
    assert body["data"]["resources"] == ["arn:aws:sagemaker:us-east-1:000000000000:model-package/fraud/3"]
    detail = body["data"]["detail"]
    assert detail["ModelLifeCycle"] == {
        "Stage": "Production",
        "StageStatus": "Approved",
        "StageDescription": "canary ok",
    }
    assert detail["ModelApprovalStatus"] == "Approved"
    assert (detail["ModelPackageGroupName"], detail["ModelPackageVersion"]) == ("fraud", 3)
    assert detail["LastModifiedBy"] == {"UserProfileName": "ana"}
    # Recorded before the approval status travelled with it: the stage alone.
    older = event_body(_event("model_version.stage_changed", payload), ArnScope())["data"]["detail"]
    assert "ModelApprovalStatus" not in older


@pytest.mark.parametrize(
    ("action", "payload", "status", "previous"),
    [
        (
            "model_version.approve",
            {"from": "PENDING_MANUAL_APPROVAL", "to": "APPROVED"},
            "Approved",
            "PendingManualApproval",
        ),
        ("model_version.reject", {"from": "APPROVED", "to": "REJECTED", "comment": "drift"}, "Rejected", "Approved"),
        (
            "model_version.approval_imported",
            {"from_status": "PENDING_MANUAL_APPROVAL", "to_status": "APPROVED", "imported": True},
            "Approved",
            "PendingManualApproval",
        ),
    ],
)
def test_approval_changes_carry_the_approval_status(
    action: str, payload: dict[str, Any], status: str, previous: str
) -> None:
    detail = event_body(_event(action, payload), ArnScope())["data"]["detail"]
    assert detail["ModelApprovalStatus"] == status
    assert detail["PreviousModelApprovalStatus"] == previous
    assert "ModelLifeCycle" not in detail


def test_refused_and_unrelated_events_carry_no_state_change_detail() -> None:
    refused = _event("model_version.stage_changed", {"to": "Production", "to_status": "Approved"}, "REFUSED")
    assert "detail" not in event_body(refused, ArnScope())["data"]
    assert "detail" not in event_body(_event("model_version.add_metrics", {"metrics": []}), ArnScope())["data"]
