"""SigV4 access keys in Neo4j: one `SigV4AccessKey` node per key, holding the secret's fingerprint only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.exceptions import ConstraintError

from lineage_graph.domain.access_keys import AccessKey
from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.auth import Role
from lineage_graph.domain.errors import AlreadyExists, NotFound
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import to_datetime

_CREATE = """
CREATE (k:SigV4AccessKey {access_key_id: $id, name: $name, principal: $principal, role: $role,
                          secret_fingerprint: $fingerprint, created_by: $actor, created_at: $now})
RETURN k {.*} AS k
"""

_BY_ID = "MATCH (k:SigV4AccessKey {access_key_id: $id}) RETURN k {.*} AS k"

_ALL = """
MATCH (k:SigV4AccessKey) WHERE $include_revoked OR properties(k)['revoked_at'] IS NULL
WITH k ORDER BY k.created_at
RETURN collect(k {.*}) AS keys
"""

_REVOKE = """
MATCH (k:SigV4AccessKey {access_key_id: $id})
SET k.revoked_at = coalesce(k.revoked_at, $now)
RETURN k {.*} AS k
"""


def _to_access_key(p: dict[str, Any]) -> AccessKey:
    revoked = p.get("revoked_at")
    return AccessKey(
        access_key_id=p["access_key_id"],
        name=p["name"],
        principal=p["principal"],
        role=Role(p["role"]),
        secret_fingerprint=p["secret_fingerprint"],
        created_by=p["created_by"],
        created_at=to_datetime(p["created_at"]),
        revoked_at=None if revoked is None else to_datetime(revoked),
    )


class AccessKeyStore:
    """Issued SigV4 keys. Creating and revoking write an audit event in the same transaction."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def create(
        self, access_key_id: str, name: str, principal: str, role: Role, fingerprint: str, actor: str
    ) -> AccessKey:
        async def work(tx: AsyncManagedTransaction) -> AccessKey:
            row = await fetch_one(
                tx,
                _CREATE,
                id=access_key_id,
                name=name,
                principal=principal,
                role=role.value,
                fingerprint=fingerprint,
                actor=actor,
                now=datetime.now(UTC),
            )
            assert row is not None
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "sigv4_key.create",
                    f"SigV4AccessKey:{access_key_id}",
                    {"name": name, "principal": principal, "role": role.value},
                ),
            )
            return _to_access_key(row["k"])

        try:
            return await self._graph.write(work)
        except ConstraintError:
            raise AlreadyExists("access key", access_key_id, "accessKeyId") from None

    async def get(self, access_key_id: str) -> AccessKey | None:
        rows = await self._graph.rows(_BY_ID, id=access_key_id)
        return _to_access_key(rows[0]["k"]) if rows else None

    async def all(self, include_revoked: bool) -> list[AccessKey]:
        rows = await self._graph.rows(_ALL, include_revoked=include_revoked)
        return [_to_access_key(p) for p in rows[0]["keys"]] if rows else []

    async def revoke(self, access_key_id: str, actor: str) -> AccessKey:
        async def work(tx: AsyncManagedTransaction) -> AccessKey:
            row = await fetch_one(tx, _REVOKE, id=access_key_id, now=datetime.now(UTC))
            if row is None:
                raise NotFound("access key", access_key_id, "accessKeyId")
            await append_audit_event(tx, AuditEntry(actor, "sigv4_key.revoke", f"SigV4AccessKey:{access_key_id}", {}))
            return _to_access_key(row["k"])

        return await self._graph.write(work)
