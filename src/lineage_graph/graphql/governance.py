"""Governance controls over GraphQL: protected aliases and governance tags. Resolvers call services only."""

from __future__ import annotations

import strawberry

from lineage_graph.graphql.registry_types import Info


@strawberry.type
class GovernanceQuery:
    @strawberry.field(
        description="The group's protected aliases: only an approver moves them, and only onto APPROVED versions."
    )
    async def protected_aliases(self, info: Info, group: str) -> list[str]:
        return list(await info.context.services.registry.protected_aliases(info.context.principal, group))


@strawberry.type
class GovernanceMutation:
    @strawberry.mutation(
        description="Replace the group's protected aliases (admin). Returns the list as stored; audited before/after."
    )
    async def set_protected_aliases(self, info: Info, group: str, aliases: list[str]) -> list[str] | None:
        stored = await info.context.services.registry.set_protected_aliases(info.context.principal, group, aliases)
        return list(stored)
