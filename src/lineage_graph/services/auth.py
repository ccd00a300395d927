"""API tokens: issue (shown once), list, revoke, and authenticate a request's bearer token."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.auth import (
    TOKEN_PREFIX,
    ApiToken,
    IssuedToken,
    Principal,
    Role,
    hash_token,
    mint_token,
    new_token_id,
    validate_principal_name,
)
from lineage_graph.domain.errors import NotFound, Problem, Unauthenticated
from lineage_graph.services.authorization import require
from lineage_graph.services.token_cache import TokenCache
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.principals import PrincipalStore

logger = logging.getLogger(__name__)

BOOTSTRAP_ADMIN = "admin"
# A token is the prefix and 43 url-safe characters; anything far off is refused without a database call.
_MAX_TOKEN_LENGTH = 128


class AuthService:
    def __init__(self, graph: Neo4jGraph, token_cache_seconds: float = 0.0) -> None:
        self._store = PrincipalStore(graph)
        self._cache = TokenCache(token_cache_seconds)

    async def authenticate(self, token: str) -> Principal:
        """The principal `token` was issued to; UNAUTHENTICATED when it is unknown, malformed or revoked."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_TOKEN_LENGTH:
            raise _invalid_token()
        token_hash = hash_token(token)
        principal = self._cache.get(token_hash)
        if principal is not None:
            return principal
        principal = await self._store.authenticate(token_hash)
        if principal is None:
            raise _invalid_token()
        self._cache.put(token_hash, principal)
        return principal

    async def create_token(
        self, actor: Principal, name: str, role: Role, group_roles: Mapping[str, Role] | None = None
    ) -> IssuedToken:
        """Issue a token to principal `name` (created, or its roles set to these). The secret is returned once;
        only its SHA-256 is stored (see domain.auth.hash_token for why that hash)."""
        require(actor, Role.ADMIN)
        principal = Principal(name=validate_principal_name(name), role=role, group_roles=dict(group_roles or {}))
        secret = mint_token()
        token_id = new_token_id()
        audit = AuditEntry(
            actor=actor.name,
            action="token.create",
            subject=f"Principal:{principal.name}",
            payload={
                "token_id": token_id,
                "role": role.value,
                "group_roles": {group: r.value for group, r in sorted(principal.group_roles.items())},
            },
        )
        token = await self._store.create_token(principal, token_id, hash_token(secret), actor, audit)
        self._cache.forget_principal(principal.name)  # its roles may have just changed
        return IssuedToken(secret=secret, token=token)

    async def tokens(self, actor: Principal, *, include_revoked: bool = False) -> list[ApiToken]:
        require(actor, Role.ADMIN)
        return await self._store.tokens(include_revoked=include_revoked)

    async def revoke_token(self, actor: Principal, token_id: str) -> ApiToken:
        require(actor, Role.ADMIN)
        token = await self._store.token(token_id)
        if token is None:
            raise NotFound("API token", token_id, "tokenId")
        audit = AuditEntry(
            actor=actor.name,
            action="token.revoke",
            subject=f"Principal:{token.principal.name}",
            payload={"token_id": token_id},
        )
        revoked = await self._store.revoke_token(token_id, actor, audit)
        self._cache.forget_principal(token.principal.name)
        return revoked

    async def ensure_admin_token(self, actor: Principal) -> IssuedToken | None:
        """First start of a local server: when no active admin token exists, issue one (to print once)."""
        require(actor, Role.ADMIN)
        if await self._store.has_active_admin_token():
            return None
        return await self.create_token(actor, BOOTSTRAP_ADMIN, Role.ADMIN)


def _invalid_token() -> Unauthenticated:
    message = "the bearer token is not valid (unknown, malformed or revoked)"
    return Unauthenticated(message, [Problem("Authorization", message, "INVALID_TOKEN")])
