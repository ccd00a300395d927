"""Governance controls over GraphQL: protected aliases and governance tags. Resolvers call services only."""

from __future__ import annotations

import strawberry

from lineage_graph.domain.ids import NodeRef
from lineage_graph.domain.tags import TagChange as TagChangeModel
from lineage_graph.graphql.registry_types import Info


@strawberry.type(description="A node's tags before and after a governance tag change.")
class TagChange:
    before: list[str]
    after: list[str]

    @classmethod
    def from_model(cls, change: TagChangeModel) -> TagChange:
        return cls(before=list(change.before), after=list(change.after))


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

    @strawberry.mutation(
        description="Set and clear governance tags (e.g. incident, pii, restricted) on a model group, model "
        "version, dataset or dataset version, with a reason. Approvers only; audited with the tags before and after."
    )
    async def change_governance_tags(
        self,
        info: Info,
        id: strawberry.ID,
        reason: str,
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> TagChange | None:
        change = await info.context.services.registry.change_governance_tags(
            info.context.principal, NodeRef.parse(id), add or [], remove or [], reason
        )
        return TagChange.from_model(change)
