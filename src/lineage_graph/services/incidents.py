"""Clearing an incident flagged on a dataset version (approvers), after which automated promotion looks
again at every model version downstream: what the incident held back may now be approved or promoted."""

from __future__ import annotations

from lineage_graph.domain.auth import Principal
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ModelVersion
from lineage_graph.domain.registry import Checker
from lineage_graph.services.authorization import require_approver
from lineage_graph.services.promotion import PromotionService
from lineage_graph.store.incidents import IncidentStore


class IncidentService:
    def __init__(self, store: IncidentStore, promotion: PromotionService) -> None:
        self.store = store
        self._promotion = promotion

    async def clear(self, actor: Principal, ref: NodeRef, comment: str) -> list[ModelVersion]:
        """Close the open incident; returns the model versions downstream (as they are after re-evaluation)."""
        ref = ref.expect(NodeKind.DATASET_VERSION)
        require_approver(actor)
        check = Checker()
        check.text("comment", comment, 4096, required=True)
        check.done()
        namespace, name, version = (str(p) for p in ref.parts)
        downstream = await self.store.clear(namespace, name, version, comment, actor.name)
        if await self._promotion.evaluate_quietly(downstream, "incident_cleared"):
            return await self.store.versions([(v.group, v.version) for v in downstream])
        return downstream
