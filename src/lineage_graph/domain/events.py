"""Events: the audit log seen from outside. Each audit event has one event type, a role that may see it, and
one JSON form (the body of a webhook delivery and the `data` of a subscription message).

Types are named after what happened, in the past tense (`model_version.approved`), and derived from the audit
action and outcome, so an event exists exactly when its audit record does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lineage_graph.domain.audit import AuditEvent
from lineage_graph.domain.auth import Role
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.domain.sagemaker import ArnScope, approval_to_aws

# audit action -> event type, for changes that were made (outcome OK)
EVENT_TYPES: Mapping[str, str] = {
    "model_group.create": "model_group.created",
    "model_group.update": "model_group.updated",
    "model_group.set_policy": "model_group.policy_changed",
    "model_group.stages_set": "model_group.stages_changed",
    "model_group.contract_set": "model_group.contract_changed",
    "model_group.promotion_set": "model_group.promotion_changed",
    "model_group.retention_set": "model_group.retention_changed",
    "model_group.protect_aliases": "model_group.protected_aliases_changed",
    "model_group.policy_put": "model_group.resource_policy_changed",
    "model_group.policy_delete": "model_group.resource_policy_deleted",
    "model_group.delete": "model_group.deleted",
    "model_group.restore": "model_group.restored",
    "model_version.register": "model_version.registered",
    "model_version.update": "model_version.updated",
    "model_version.add_metrics": "model_version.metrics_added",
    "model_version.approve": "model_version.approved",
    "model_version.reject": "model_version.rejected",
    "model_version.approval_imported": "model_version.approval_imported",
    "model_version.archive": "model_version.archived",
    "model_version.restore": "model_version.restored",
    "model_version.review_needed": "model_version.review_needed",
    "model_version.stage_changed": "model_version.stage_changed",
    "model_version.update_spec": "model_version.spec_updated",
    "model_version.delete": "model_version.deleted",
    "alias.set": "alias.moved",
    "alias.delete": "alias.deleted",
    "deployment.create": "deployment.created",
    "deployment.retire": "deployment.retired",
    "dataset.register": "dataset.registered",
    "dataset_version.register": "dataset_version.registered",
    "dataset_version.flag": "dataset_version.flagged",
    "dataset_version.incident_cleared": "dataset_version.incident_cleared",
    "code_version.register": "code_version.registered",
    "run.record": "run.recorded",
    "run.complete": "run.completed",
    "openlineage.ingest": "lineage.ingested",
    "context.create": "lineage.context_created",
    "association.add": "lineage.association_added",
    "association.delete": "lineage.association_deleted",
    "lineage_entity.create": "lineage.entity_created",
    "lineage_entity.update": "lineage.entity_updated",
    "lineage_entity.delete": "lineage.entity_deleted",
    "tags.change": "tags.changed",
    "tags.add": "tags.added",
    "tags.delete": "tags.deleted",
    "model_card.create": "model_card.created",
    "model_card.update": "model_card.updated",
    "model_card.delete": "model_card.deleted",
    "model_card.exported": "model_card.exported",
    "token.create": "token.created",
    "token.revoke": "token.revoked",
    "sigv4_key.create": "sigv4_key.created",
    "sigv4_key.revoke": "sigv4_key.revoked",
    "webhook.create": "webhook.created",
    "webhook.update": "webhook.updated",
    "webhook.delete": "webhook.deleted",
    "webhook.disable": "webhook.disabled",
    "database.migrate": "database.migrated",
}
# audit action -> event type, for attempts that were refused (outcome REFUSED)
REFUSED_TYPES: Mapping[str, str] = {
    "model_version.approve": "model_version.approval_refused",
    "model_version.reject": "model_version.rejection_refused",
    "model_version.stage_changed": "model_version.stage_change_refused",
}
# Who may receive an event: credentials, subscriptions and upgrades concern admins only; refused attempts, like
# the audit log, are for reviewers; every other change is visible to any reader of the registry.
_ADMIN_PREFIXES = ("token.", "sigv4_key.", "webhook.", "database.")

APPROVAL_DETAIL_TYPE = "SageMaker Model Package State Change"
_APPROVAL_ACTIONS = frozenset({"model_version.approve", "model_version.reject", "model_version.approval_imported"})
_STAGE_ACTION = "model_version.stage_changed"


def event_type(action: str, outcome: str) -> str:
    """The event type of an audit record; an action without a name here keeps its own."""
    if outcome == "REFUSED":
        return REFUSED_TYPES.get(action, f"{action}.refused")
    return EVENT_TYPES.get(action, action)


def known_types() -> frozenset[str]:
    return frozenset(EVENT_TYPES.values()) | frozenset(REFUSED_TYPES.values())


def role_to_see(kind: str) -> Role:
    if kind.startswith(_ADMIN_PREFIXES):
        return Role.ADMIN
    if kind in REFUSED_TYPES.values() or kind.endswith(".refused"):
        return Role.APPROVER
    return Role.VIEWER


def parse_types(values: Iterable[str], field: str) -> tuple[str, ...]:
    """Validate a subscription's types: known type names, `namespace.*`, or `*` for everything."""
    known = known_types()
    namespaces = {kind.split(".", 1)[0] for kind in known}
    problems = []
    parsed: list[str] = []
    for index, raw in enumerate(values):
        value = raw.strip()
        if value == "*" or value in known or (value.endswith(".*") and value[:-2] in namespaces):
            parsed.append(value)
        else:
            problems.append(Problem(f"{field}.{index}", f"unknown event type {value!r}", "UNKNOWN_EVENT_TYPE"))
    if problems:
        raise ValidationFailed.of(problems)
    if not parsed:
        raise ValidationFailed.field(field, "name at least one event type (or `*`)", "REQUIRED")
    return tuple(dict.fromkeys(parsed))


def matches(patterns: Iterable[str], kind: str) -> bool:
    return any(p == "*" or p == kind or (p.endswith(".*") and kind.startswith(p[:-1])) for p in patterns)


def most_privileged(patterns: Iterable[str]) -> Role:
    """The role needed to subscribe to `patterns`: the highest role any type they can match needs."""
    needed = Role.VIEWER
    for kind in known_types():
        if matches(patterns, kind) and role_to_see(kind).rank > needed.rank:
            needed = role_to_see(kind)
    return needed


def _package_detail(event: AuditEvent, scope: ArnScope) -> dict[str, Any] | None:
    """The fields every "Model Package State Change" detail carries, for an event about one model version."""
    if event.outcome != "OK" or event.subject is None:
        return None
    label, _, key = event.subject.partition(":")
    group, _, version = key.rpartition("/")
    if label != "ModelVersion" or not group or not version.isdigit():
        return None
    return {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": int(version),
        "ModelPackageName": f"{group}/{version}",
        "ModelPackageArn": scope.package_arn(group, int(version)),
        "ModelPackageStatus": "Completed",
        "LastModifiedTime": event.at.isoformat(),
        "LastModifiedBy": {"UserProfileName": event.actor},
    }


def _aws_status(value: Any) -> str | None:
    return approval_to_aws(ApprovalStatus[value]) if value in ApprovalStatus.__members__ else None


def approval_detail(event: AuditEvent, scope: ArnScope) -> dict[str, Any] | None:
    """The `detail` of SageMaker's "Model Package State Change" for an approval change, so a deploy hook
    written for EventBridge reads the same fields here."""
    if event.action not in _APPROVAL_ACTIONS:
        return None
    detail = _package_detail(event, scope)
    payload = event.payload  # a decision records from/to; an imported approval from_status/to_status
    status = _aws_status(payload.get("to") or payload.get("to_status") or payload.get("status"))
    if detail is None or status is None:
        return None
    detail["ModelApprovalStatus"] = status
    if previous := _aws_status(payload.get("from") or payload.get("from_status")):
        detail["PreviousModelApprovalStatus"] = previous
    if payload.get("comment"):
        detail["ApprovalDescription"] = payload["comment"]
    return detail


def stage_detail(event: AuditEvent, scope: ArnScope) -> dict[str, Any] | None:
    """The same "Model Package State Change" detail for a lifecycle stage change: SageMaker sends it when a
    package's ModelLifeCycle changes, with `ModelLifeCycle` (Stage, StageStatus, StageDescription) in it."""
    if event.action != _STAGE_ACTION:
        return None
    detail = _package_detail(event, scope)
    stage, status = event.payload.get("to"), event.payload.get("to_status")
    if detail is None or not isinstance(stage, str) or not isinstance(status, str):
        return None
    lifecycle = {"Stage": stage, "StageStatus": status}
    if event.payload.get("description"):
        lifecycle["StageDescription"] = str(event.payload["description"])
    detail["ModelLifeCycle"] = lifecycle
    if approval := _aws_status(event.payload.get("approval_status")):
        detail["ModelApprovalStatus"] = approval
    return detail


def event_body(event: AuditEvent, scope: ArnScope) -> dict[str, Any]:
    """The JSON of one event, Standard Webhooks style (`type`, `timestamp`, `data`)."""
    kind = event_type(event.action, event.outcome)
    data: dict[str, Any] = {
        "id": event.event_id,
        "sequence": event.sequence,
        "partition": event.partition,
        "partitionSequence": event.partition_sequence,
        "action": event.action,
        "outcome": event.outcome,
        "actor": event.actor,
        "subject": event.subject,
        "group": event.group,
        "payload": dict(event.payload),
        "at": event.at.isoformat(),
    }
    detail = approval_detail(event, scope) or stage_detail(event, scope)
    if detail is not None:
        data["detail-type"] = APPROVAL_DETAIL_TYPE
        data["resources"] = [detail["ModelPackageArn"]]
        data["detail"] = detail
    return {"type": kind, "timestamp": event.at.isoformat(), "data": data}
