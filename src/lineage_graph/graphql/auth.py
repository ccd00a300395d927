"""Who am I, and API tokens for admins: issue (the secret is in the response once), list, revoke."""

from __future__ import annotations

from datetime import datetime

import strawberry

from lineage_graph.domain import auth as domain
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.permissions import IsAdmin

# The domain's enum itself is the GraphQL enum, so resolvers pass roles through without translation.
strawberry.enum(domain.Role, name="Role", description="viewer < contributor < approver < admin.")
Role = domain.Role


@strawberry.type(description="A role held for one model group, above the principal's global role.")
class GroupRole:
    group: str
    role: Role


@strawberry.input(description="A role granted for one model group.")
class GroupRoleInput:
    group: str
    role: Role


@strawberry.type(description="A caller: a person or pipeline holding API tokens, or the anonymous caller.")
class Principal:
    name: str
    role: Role | None = strawberry.field(description="The global role; null for a caller with no access.")
    group_roles: list[GroupRole]
    authenticated: bool

    @classmethod
    def from_model(cls, principal: domain.Principal) -> Principal:
        return cls(
            name=principal.name,
            role=principal.role,
            group_roles=[GroupRole(group=g, role=r) for g, r in sorted(principal.group_roles.items())],
            authenticated=principal.authenticated,
        )


@strawberry.type(description="An API token as listed: never its secret, which only its creator saw once.")
class ApiToken:
    token_id: str
    principal: Principal
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    active: bool

    @classmethod
    def from_model(cls, token: domain.ApiToken) -> ApiToken:
        return cls(
            token_id=token.token_id,
            principal=Principal.from_model(token.principal),
            created_at=token.created_at,
            created_by=token.created_by,
            revoked_at=token.revoked_at,
            revoked_by=token.revoked_by,
            active=token.active,
        )


@strawberry.type(description="A new token. `secret` is shown now and never again: the server keeps only a hash.")
class IssuedApiToken:
    secret: str
    token: ApiToken


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The caller, as the server authenticated it.")
    async def me(self, info: strawberry.Info[Context, None]) -> Principal:
        return Principal.from_model(info.context.principal)

    @strawberry.field(
        description="API tokens (admin only), oldest first; revoked ones on request.", permission_classes=[IsAdmin]
    )
    async def api_tokens(self, info: strawberry.Info[Context, None], include_revoked: bool = False) -> list[ApiToken]:
        tokens = await info.context.services.auth.tokens(info.context.principal, include_revoked=include_revoked)
        return [ApiToken.from_model(t) for t in tokens]


@strawberry.type
class AuthMutation:
    @strawberry.mutation(
        description="Issue an API token to a principal (created, or its roles replaced). Admin only.",
        permission_classes=[IsAdmin],
    )
    async def create_api_token(
        self,
        info: strawberry.Info[Context, None],
        name: str,
        role: Role,
        group_roles: list[GroupRoleInput] | None = None,
    ) -> IssuedApiToken | None:
        grants = {g.group: g.role for g in group_roles or []}
        issued = await info.context.services.auth.create_token(info.context.principal, name, role, grants)
        return IssuedApiToken(secret=issued.secret, token=ApiToken.from_model(issued.token))

    @strawberry.mutation(description="Revoke an API token at once. Admin only.", permission_classes=[IsAdmin])
    async def revoke_api_token(self, info: strawberry.Info[Context, None], token_id: str) -> ApiToken | None:
        return ApiToken.from_model(await info.context.services.auth.revoke_token(info.context.principal, token_id))
