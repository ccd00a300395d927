"""Registration contracts in Neo4j: one `RegistrationContract` node per saved version, linked to its group.

Saving locks the group node, so two admins saving at once get versions n and n+1, never two n's (the
(group, version) constraint backs that). The group keeps a copy of its current rules, so registration reads
them with the group in one lookup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.contracts import ContractVersion, RegistrationContract
from lineage_graph.domain.errors import NotFound
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import to_datetime

_SAVE = """
MATCH (g:ModelGroup {name: $group})
SET g._lock = true
WITH g, coalesce(g.contract_version, 0) + 1 AS next
CREATE (c:RegistrationContract {group: $group, version: next, rules: $rules, created_by: $actor, created_at: $now})
CREATE (c)-[:CONTRACT_OF]->(g)
SET g.contract_version = next, g.contract = $rules, g.updated_at = $now
REMOVE g._lock
RETURN c {.*} AS c
"""

_CURRENT = """
MATCH (g:ModelGroup {name: $group})
OPTIONAL MATCH (c:RegistrationContract {group: $group, version: g.contract_version})
RETURN c {.*} AS c
"""

_CURRENT_MANY = """
UNWIND $groups AS name
MATCH (g:ModelGroup {name: name})
OPTIONAL MATCH (c:RegistrationContract {group: name, version: g.contract_version})
RETURN name, c {.*} AS c
"""

_HISTORY = """
MATCH (c:RegistrationContract {group: $group})
WITH c ORDER BY c.version DESC
RETURN collect(c {.*}) AS contracts
"""


def _to_contract_version(p: Mapping[str, Any]) -> ContractVersion:
    return ContractVersion(
        group=p["group"],
        version=int(p["version"]),
        contract=RegistrationContract.from_json(p["rules"]),
        created_by=p.get("created_by"),
        created_at=to_datetime(p["created_at"]),
    )


class ContractStore:
    """Versioned registration contracts; every save appends its audit event in the same transaction."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def save(self, group: str, contract: RegistrationContract, actor: str) -> ContractVersion:
        """Save `contract` as the group's next contract version; NotFound when the group does not exist."""

        async def work(tx: AsyncManagedTransaction) -> ContractVersion:
            row = await fetch_one(tx, _SAVE, group=group, rules=contract.to_json(), actor=actor, now=datetime.now(UTC))
            if row is None:
                raise NotFound("model group", group, "group")
            saved = _to_contract_version(row["c"])
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "model_group.contract_set",
                    f"ModelGroup:{group}",
                    {"contract_version": saved.version, "contract": json_rules(contract)},
                ),
            )
            return saved

        return await self._graph.write(work)

    async def current(self, group: str) -> ContractVersion | None:
        """The group's contract in force (version 0, empty, when none was set); None when no such group."""
        rows = await self._graph.rows(_CURRENT, group=group)
        if not rows:
            return None
        found = rows[0]["c"]
        if found is None:
            return ContractVersion(group, 0, RegistrationContract(), None, None)
        return _to_contract_version(found)

    async def current_many(self, groups: Sequence[str]) -> dict[str, ContractVersion]:
        """The contract in force of each existing group (version 0, empty, where none was set), batched."""
        rows = await self._graph.rows(_CURRENT_MANY, groups=list(groups))
        return {
            r["name"]: _to_contract_version(r["c"])
            if r["c"]
            else ContractVersion(r["name"], 0, RegistrationContract(), None, None)
            for r in rows
        }

    async def history(self, group: str) -> list[ContractVersion]:
        """Every saved contract of the group, newest first."""
        rows = await self._graph.rows(_HISTORY, group=group)
        return [_to_contract_version(c) for c in rows[0]["contracts"]] if rows else []


def json_rules(contract: RegistrationContract) -> dict[str, Any]:
    rules: dict[str, Any] = json.loads(contract.to_json())
    return rules
