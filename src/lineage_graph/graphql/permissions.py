"""Authentication and roles at the GraphQL edge.

`RequireCaller` gates every operation: a caller with no role (anonymous, with anonymous access off) is refused
before any field resolves, so a field added later cannot forget the check. Which role a field needs is the
services' `require(...)` (the one rule every adapter shares); `HasRole` adds the same check on a field so the
refusal happens before its arguments are even used.

Every check here is `async def`: a sync `has_permission` that returned an awaitable would be truthy and let
everyone through (Strawberry >= 0.341 refuses that case; we do not rely on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import DomainError
from lineage_graph.graphql.context import Context
from lineage_graph.services.authorization import require


class RequireCaller(SchemaExtension):
    """Refuse the whole operation (UNAUTHENTICATED) when the caller holds no role at all."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        principal: Principal | None = getattr(context, "principal", None)
        if principal is None or principal.role is None:
            try:
                require(principal or _NOBODY, Role.VIEWER)
            except DomainError as refusal:
                # A result set before execution makes Strawberry skip resolving; ErrorPolicy adds the code.
                self.execution_context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(refusal.message, original_error=refusal)]
                )
        yield


_NOBODY = Principal(name="anonymous", role=None, authenticated=False)


class HasRole(BasePermission):
    """Field permission: the caller must hold `role` (globally). Subclass per role, since Strawberry takes
    permission classes, not instances."""

    role = Role.VIEWER
    message = "forbidden"

    async def has_permission(self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any) -> bool:
        # Raising the domain error (instead of returning False) keeps its code: FORBIDDEN or UNAUTHENTICATED.
        require(info.context.principal, self.role)
        return True


class IsAdmin(HasRole):
    role = Role.ADMIN


class IsApprover(HasRole):
    role = Role.APPROVER
