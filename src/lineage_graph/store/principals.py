"""Principals and their API tokens. Only token hashes are stored; the secret never reaches the database.

`(ApiToken)-[:ISSUED_TO]->(Principal)`: a principal may hold several tokens (rotation), each revocable alone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.time import DateTime

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.auth import ApiToken, Principal, Role
from lineage_graph.domain.errors import NotFound
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_all, fetch_one

# `revoked_at` and `revoked_by` are read through properties(t): until the first revocation the property keys do
# not exist in the database, and naming them directly makes Neo4j attach a warning to every request's lookup.
_AUTHENTICATE = """
MATCH (t:ApiToken {token_hash: $token_hash})-[:ISSUED_TO]->(p:Principal)
WHERE properties(t)['revoked_at'] IS NULL
RETURN p.name AS name, p.role AS role, p.group_roles AS group_roles
"""

_PRINCIPAL = "MATCH (p:Principal {name: $name}) RETURN p.role AS role, p.group_roles AS group_roles"

_CREATE_TOKEN = """
MERGE (p:Principal {name: $name})
  ON CREATE SET p.created_at = $at
SET p.role = $role, p.group_roles = $group_roles
CREATE (t:ApiToken {token_id: $token_id, token_hash: $token_hash, created_at: $at, created_by: $actor})
CREATE (t)-[:ISSUED_TO]->(p)
"""

_TOKEN_FIELDS = """
WITH t, p, properties(t) AS token
RETURN t.token_id AS token_id, t.created_at AS created_at, t.created_by AS created_by,
       token['revoked_at'] AS revoked_at, token['revoked_by'] AS revoked_by,
       p.name AS name, p.role AS role, p.group_roles AS group_roles
"""

_LIST_TOKENS = (
    """
MATCH (t:ApiToken)-[:ISSUED_TO]->(p:Principal)
WHERE $include_revoked OR properties(t)['revoked_at'] IS NULL
"""
    + _TOKEN_FIELDS
    + " ORDER BY t.created_at, t.token_id"
)

_GET_TOKEN = "MATCH (t:ApiToken {token_id: $token_id})-[:ISSUED_TO]->(p:Principal)" + _TOKEN_FIELDS

_REVOKE = """
MATCH (t:ApiToken {token_id: $token_id})
SET t.revoked_at = $at, t.revoked_by = $actor
"""

_ANY_ADMIN_TOKEN = """
MATCH (t:ApiToken)-[:ISSUED_TO]->(p:Principal {role: 'admin'})
WHERE properties(t)['revoked_at'] IS NULL
RETURN count(t) > 0 AS present
"""


class PrincipalStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def authenticate(self, token_hash: str) -> Principal | None:
        """The principal an active token with this hash was issued to, or None (unknown or revoked)."""
        rows = await self._graph.rows(_AUTHENTICATE, token_hash=token_hash)
        return _to_principal(rows[0]) if rows else None

    async def principal(self, name: str) -> Principal | None:
        rows = await self._graph.rows(_PRINCIPAL, name=name)
        return _to_principal({"name": name, **rows[0]}) if rows else None

    async def create_token(
        self, principal: Principal, token_id: str, token_hash: str, actor: Principal, audit: AuditEntry
    ) -> ApiToken:
        """Create (or update the roles of) `principal` and issue a token to it, with its audit event."""
        at = datetime.now(UTC)

        async def work(tx: AsyncManagedTransaction) -> None:
            await tx.run(
                _CREATE_TOKEN,
                name=principal.name,
                role=_role_value(principal.role),
                group_roles=_dump_group_roles(principal),
                token_id=token_id,
                token_hash=token_hash,
                at=at,
                actor=actor.name,
            )
            await append_audit_event(tx, audit)

        await self._graph.write(work)
        return ApiToken(token_id=token_id, principal=principal, created_at=at, created_by=actor.name)

    async def tokens(self, *, include_revoked: bool) -> list[ApiToken]:
        rows = await self._graph.rows(_LIST_TOKENS, include_revoked=include_revoked)
        return [_to_token(row) for row in rows]

    async def token(self, token_id: str) -> ApiToken | None:
        rows = await self._graph.rows(_GET_TOKEN, token_id=token_id)
        return _to_token(rows[0]) if rows else None

    async def revoke_token(self, token_id: str, actor: Principal, audit: AuditEntry) -> ApiToken:
        """Revoke a token (idempotent: revoking a revoked token changes nothing but is still audited)."""
        at = datetime.now(UTC)

        async def work(tx: AsyncManagedTransaction) -> ApiToken:
            row = await fetch_one(tx, _GET_TOKEN, token_id=token_id)
            if row is None:
                raise NotFound("API token", token_id, "tokenId")
            if row["revoked_at"] is None:
                await tx.run(_REVOKE, token_id=token_id, at=at, actor=actor.name)
                row = {**row, "revoked_at": at, "revoked_by": actor.name}
            await append_audit_event(tx, audit)
            return _to_token(row)

        return await self._graph.write(work)

    async def has_active_admin_token(self) -> bool:
        async def work(tx: AsyncManagedTransaction) -> bool:
            rows = await fetch_all(tx, _ANY_ADMIN_TOKEN)
            return bool(rows[0]["present"])

        return await self._graph.read(work)


def _role_value(role: Role | None) -> str | None:
    return None if role is None else role.value


def _dump_group_roles(principal: Principal) -> str:
    return json.dumps({group: role.value for group, role in sorted(principal.group_roles.items())})


def _to_principal(row: dict[str, Any]) -> Principal:
    grants = json.loads(row["group_roles"] or "{}")
    return Principal(
        name=row["name"],
        role=None if row["role"] is None else Role(row["role"]),
        group_roles={group: Role(role) for group, role in grants.items()},
    )


def _to_token(row: dict[str, Any]) -> ApiToken:
    return ApiToken(
        token_id=row["token_id"],
        principal=_to_principal(row),
        created_at=_native(row["created_at"]),
        created_by=row["created_by"],
        revoked_at=None if row["revoked_at"] is None else _native(row["revoked_at"]),
        revoked_by=row["revoked_by"],
    )


def _native(value: DateTime | datetime) -> datetime:
    return value if isinstance(value, datetime) else value.to_native()
