"""A group's rules beyond approval — lifecycle stages, automated promotion, retention — kept as JSON on the
group node beside its approval policy and contract, read together in one lookup."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.approval import ApprovalPolicy
from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.contracts import RegistrationContract
from lineage_graph.domain.errors import NotFound
from lineage_graph.domain.lifecycle import LifecyclePolicy
from lineage_graph.domain.promotion import PromotionPolicy
from lineage_graph.domain.retention import RetentionPolicy
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one

_RULES = """
MATCH (g:ModelGroup {name: $group})
RETURN g.policy AS policy, g.contract AS contract, coalesce(g.contract_version, 0) AS contract_version,
       g.lifecycle AS lifecycle, g.promotion AS promotion, g.retention AS retention
"""

_LOCK_RULES = """
MATCH (g:ModelGroup {name: $group})
SET g._lock = true
WITH g
RETURN g.policy AS policy, g.contract AS contract, coalesce(g.contract_version, 0) AS contract_version,
       g.lifecycle AS lifecycle, g.promotion AS promotion, g.retention AS retention,
  COLLECT { MATCH (v:ModelVersion {group: $group}) WHERE v.stage IS NOT NULL RETURN DISTINCT v.stage } AS stages_in_use
"""

# `$props` holds only the rule keys this module names (lifecycle, promotion, retention), never user keys.
_SAVE = """
MATCH (g:ModelGroup {name: $group})
SET g += $props, g.updated_at = $now
REMOVE g._lock
RETURN g.name AS name
"""


@dataclass(frozen=True)
class GroupRules:
    approval: ApprovalPolicy
    contract: RegistrationContract
    contract_version: int
    lifecycle: LifecyclePolicy
    promotion: PromotionPolicy
    retention: RetentionPolicy
    stages_in_use: tuple[str, ...] = ()


def _to_rules(row: Mapping[str, Any]) -> GroupRules:
    return GroupRules(
        approval=ApprovalPolicy.from_json(row["policy"]),
        contract=RegistrationContract.from_json(row["contract"]),
        contract_version=int(row["contract_version"]),
        lifecycle=LifecyclePolicy.from_json(row["lifecycle"]),
        promotion=PromotionPolicy.from_json(row["promotion"]),
        retention=RetentionPolicy.from_json(row["retention"]),
        stages_in_use=tuple(sorted(row.get("stages_in_use") or ())),
    )


def rules_from_row(row: Mapping[str, Any]) -> GroupRules:
    """The rules from a row holding the group's rule properties as stored (`policy`, `contract`, …)."""
    return _to_rules(row)


class GroupRulesStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def rules(self, group: str) -> GroupRules | None:
        """The group's rules (defaults where none were set); None when the group does not exist."""
        rows = await self._graph.rows(_RULES, group=group)
        return _to_rules(rows[0]) if rows else None

    async def update(
        self, group: str, actor: str, action: str, change: Callable[[GroupRules], Mapping[str, str]]
    ) -> GroupRules:
        """Lock the group, let `change(current)` validate and return the rule JSON to save, save it with its
        audit event. `change` raises to refuse (nothing is written)."""

        async def work(tx: AsyncManagedTransaction) -> GroupRules:
            row = await fetch_one(tx, _LOCK_RULES, group=group)
            if row is None:
                raise NotFound("model group", group, "group")
            props = dict(change(_to_rules(row)))
            await fetch_one(tx, _SAVE, group=group, props=props, now=datetime.now(UTC))
            payload = {key: json.loads(value) for key, value in props.items()}
            await append_audit_event(tx, AuditEntry(actor, action, f"ModelGroup:{group}", payload))
            return _to_rules({**row, **props})

        return await self._graph.write(work)
