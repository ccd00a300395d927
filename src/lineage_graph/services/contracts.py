"""Registration contracts: admins set them (versioned, audited); `RegistrationRules` applies them."""

from __future__ import annotations

from collections.abc import Sequence

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.contracts import (
    ContractVersion,
    RegistrationContract,
)
from lineage_graph.domain.errors import NotFound
from lineage_graph.services.authorization import require
from lineage_graph.store.contracts import ContractStore


class ContractService:
    def __init__(self, store: ContractStore) -> None:
        self.store = store

    async def set_contract(self, actor: Principal, group: str, contract: RegistrationContract) -> ContractVersion:
        """Save a new contract version (admin). Versions registered earlier keep the version they met."""
        require(actor, Role.ADMIN)
        contract.validate()
        return await self.store.save(group, contract, actor.name)

    async def contract(self, actor: Principal, group: str) -> ContractVersion | None:
        require(actor, Role.VIEWER)
        return await self.store.current(group)

    async def contracts(self, actor: Principal, groups: Sequence[str]) -> dict[str, ContractVersion]:
        """The contracts in force of several groups at once (for a page of groups)."""
        require(actor, Role.VIEWER)
        return await self.store.current_many(groups)

    async def history(self, actor: Principal, group: str) -> list[ContractVersion]:
        require(actor, Role.VIEWER)
        if await self.store.current(group) is None:
            raise NotFound("model group", group, "group")
        return await self.store.history(group)
