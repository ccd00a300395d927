"""Model cards: the human-written parts, versioned and audited, and the card assembled from the graph
(training data with its lineage, metrics against the contract, hyperparameters, approvals with their
evidence, stage history, deployments, open incidents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import Direction, LineageGraph
from lineage_graph.domain.model_cards import (
    CardFacts,
    CardNarrative,
    CardStatus,
    ModelCard,
    TrainingData,
    card_document,
    check_card_name,
)
from lineage_graph.domain.queries import Page
from lineage_graph.services.authorization import require
from lineage_graph.services.lineage import LineageService
from lineage_graph.services.registry import RegistryService
from lineage_graph.store.approvals import ApprovalStore
from lineage_graph.store.contracts import ContractStore
from lineage_graph.store.deployments import DeploymentFilter
from lineage_graph.store.lifecycle import LifecycleStore
from lineage_graph.store.model_cards import ModelCardStore

LINEAGE_DEPTH = 5
LINEAGE_LIMIT = 200


@dataclass(frozen=True)
class CardSources:
    """Where a card's facts come from: the stores and services that already own them."""

    registry: RegistryService
    lineage: LineageService
    approvals: ApprovalStore
    stages: LifecycleStore
    contracts: ContractStore


class ModelCardService:
    def __init__(self, store: ModelCardStore, sources: CardSources) -> None:
        self.store = store
        self._sources = sources

    async def create(
        self, actor: Principal, name: str, ref: NodeRef, narrative: CardNarrative, status: CardStatus
    ) -> ModelCard:
        ref = ref.expect(NodeKind.MODEL_VERSION, field="modelVersionId")
        group, version = str(ref.parts[0]), int(ref.parts[1])
        require(actor, Role.CONTRIBUTOR, group)
        check_card_name(name)
        if problems := narrative.problems():
            raise ValidationFailed.of(problems)
        return await self.store.create(name, group, version, status, narrative, actor.name)

    async def update(
        self, actor: Principal, name: str, narrative: CardNarrative | None, status: CardStatus | None
    ) -> ModelCard:
        """Write the card's next version (what is not given carries over)."""
        require(actor, Role.VIEWER)  # the group-scoped check follows once the card's group is known
        card = await self._existing(name)
        require(actor, Role.CONTRIBUTOR, card.group)
        if narrative is not None and (problems := narrative.problems()):
            raise ValidationFailed.of(problems)
        return await self.store.update(name, actor.name, narrative, status)

    async def delete(self, actor: Principal, name: str) -> int:
        require(actor, Role.VIEWER)
        card = await self._existing(name)
        require(actor, Role.CONTRIBUTOR, card.group)
        return await self.store.delete(name, actor.name)

    async def card(self, actor: Principal, name: str, card_version: int | None = None) -> ModelCard | None:
        require(actor, Role.VIEWER)
        return await self.store.get(name, card_version)

    async def cards(
        self, actor: Principal, name_contains: str | None, group: str | None, pg: Page
    ) -> tuple[list[ModelCard], int]:
        require(actor, Role.VIEWER)
        return await self.store.list_cards(name_contains, group, pg.offset, pg.limit)

    async def versions(self, actor: Principal, name: str) -> list[ModelCard]:
        require(actor, Role.VIEWER)
        found = await self.store.versions(name)
        if not found:
            raise NotFound("model card", name, "name")
        return found

    async def document(
        self, actor: Principal, name: str, card_version: int | None = None, model_arn: str | None = None
    ) -> tuple[ModelCard, dict[str, Any]]:
        """The card with everything the graph knows around it, as one JSON document."""
        require(actor, Role.VIEWER)
        card = await self.store.get(name, card_version)
        if card is None:
            raise NotFound("model card", name if card_version is None else f"{name} version {card_version}", "name")
        return card, card_document(card, await self.facts(actor, card), model_arn)

    async def _existing(self, name: str) -> ModelCard:
        card = await self.store.get(name)
        if card is None:
            raise NotFound("model card", name, "name")
        return card

    async def facts(self, actor: Principal, card: ModelCard) -> CardFacts:
        src = self._sources
        key = (card.group, card.version)
        ref = NodeRef.of(NodeKind.MODEL_VERSION, *key)
        model = await src.registry.version(actor, ref)
        lineage = (await src.registry.catalog.model_lineage([key])).get(key)
        upstream = await src.lineage.lineage(
            actor, ref.global_id, Direction.UPSTREAM, depth=LINEAGE_DEPTH, limit=LINEAGE_LIMIT
        )
        decisions = (await src.approvals.decisions_for([key])).get(key, [])
        transitions = (await src.stages.transitions_for([key])).get(key, [])
        contract = next(
            (c.contract for c in await src.contracts.history(card.group) if c.version == model.contract_version), None
        )
        deployments, _ = await src.registry.deployments.list_deployments(
            DeploymentFilter(group=card.group, version=card.version), 0, 100
        )
        names = {n.ref: n.display_name for n in upstream.nodes}
        return CardFacts(
            model=model,
            training_data=tuple(
                TrainingData(f"{d.namespace}/{d.name}@{d.version}", d.uri, _above(upstream, d.ref, names))
                for d in (lineage.datasets if lineage else [])
            ),
            producing_runs=tuple(r.run_id for r in (lineage.runs if lineage else [])),
            code_versions=tuple(f"{c.repository}@{c.commit}" for c in (lineage.code if lineage else [])),
            contract=contract,
            approvals=tuple(
                {
                    "decision": d.decision.value,
                    "from": d.from_status.value,
                    "to": d.to_status.value,
                    "actor": d.actor,
                    "at": d.at.isoformat(),
                    "comment": d.comment,
                    "evidence": d.evidence,
                }
                for d in decisions
            ),
            deployments=tuple(
                {
                    "endpoint": d.endpoint,
                    "environment": d.environment,
                    "traffic_share": d.traffic_share,
                    "status": d.status.value,
                    "deployed_at": d.deployed_at.isoformat(),
                }
                for d in deployments
            ),
            open_incidents=await self.store.open_incidents_upstream(*key),
            lineage_nodes=tuple((names[n.ref], n.ref.kind.label, n.distance) for n in upstream.nodes),
            lineage_edges=tuple(
                (names[e.source], e.type.name, names[e.target])
                for e in upstream.edges
                if e.source in names and e.target in names
            ),
            stage_history=tuple(
                {
                    "from": t.from_stage,
                    "to": t.to_stage,
                    "status": t.to_status,
                    "actor": t.actor,
                    "automated": t.automated,
                    "at": t.at.isoformat(),
                }
                for t in transitions
            ),
        )


def _above(graph: LineageGraph, start: NodeRef, names: dict[NodeRef, str]) -> tuple[str, ...]:
    """What the walk found upstream of `start` (within the card's lineage subgraph), nearest first."""
    sources: dict[NodeRef, list[NodeRef]] = {}
    for edge in graph.edges:
        # Edges point with the data flow except DERIVED_FROM (child -> parent), so upstream is its target.
        upstream, downstream = (edge.target, edge.source) if not edge.type.with_flow else (edge.source, edge.target)
        sources.setdefault(downstream, []).append(upstream)
    seen: list[NodeRef] = []
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for parent in sources.get(node, []):
                if parent not in seen and parent != start:
                    seen.append(parent)
                    following.append(parent)
        frontier = following
    return tuple(names.get(n, str(n)) for n in seen)
