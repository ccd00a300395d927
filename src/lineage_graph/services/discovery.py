"""Finding and comparing things: full-text search, node lookup by global id, version comparison."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.compare import Comparison, compare
from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.services.authorization import require
from lineage_graph.store.catalog import CatalogStore
from lineage_graph.store.registry import RegistryStore

SEARCHABLE = (
    NodeKind.MODEL_GROUP,
    NodeKind.MODEL_VERSION,
    NodeKind.DATASET,
    NodeKind.DATASET_VERSION,
    NodeKind.JOB,
    NodeKind.RUN,
    NodeKind.CODE_VERSION,
)
_LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/]|&&|\|\|)')


@dataclass(frozen=True)
class SearchHit:
    ref: NodeRef
    properties: dict[str, Any]
    score: float


def lucene_query(text: str) -> str:
    """User text as a Lucene query: every term escaped, each matched as a prefix too ("fraud det" finds
    "fraud-detector"); Lucene syntax in the input is never interpreted."""
    terms = [t for t in re.split(r"\s+", text.strip()) if t]
    escaped = [_LUCENE_SPECIAL.sub(r"\\\1", t.lower()) for t in terms]
    return " AND ".join(f"({t} OR {t}*)" for t in escaped)


class DiscoveryService:
    def __init__(self, registry: RegistryStore, catalog: CatalogStore) -> None:
        self._registry = registry
        self._catalog = catalog

    async def search(self, actor: Principal, text: str, kinds: Sequence[NodeKind], limit: int) -> list[SearchHit]:
        require(actor, Role.VIEWER)
        if not text.strip() or len(text) > 256:
            raise ValidationFailed.field("text", "must be 1-256 characters")
        if not 1 <= limit <= 100:
            raise ValidationFailed.field("first", "must be between 1 and 100")
        wanted = [k.label for k in kinds if k in SEARCHABLE]
        hits = await self._catalog.search(lucene_query(text), wanted, limit)
        found = []
        for label, props, score in hits:
            kind = NodeKind.from_label(label)
            found.append(SearchHit(NodeRef(kind, tuple(props[k] for k in kind.keys)), props, score))
        return found

    async def compare(self, actor: Principal, refs: Sequence[NodeRef]) -> Comparison:
        require(actor, Role.VIEWER)
        if not 2 <= len(refs) <= 10:
            raise ValidationFailed.field("ids", "compare 2 to 10 model versions")
        for i, ref in enumerate(refs):
            ref.expect(NodeKind.MODEL_VERSION, field=f"ids[{i}]")
        keys = [(str(r.parts[0]), int(r.parts[1])) for r in refs]
        versions = await self._registry.versions_by_key(keys)
        for i, key in enumerate(keys):
            if key not in versions:
                raise NotFound("model version", str(refs[i]), f"ids[{i}]")
        lineage = await self._catalog.model_lineage(keys)
        datasets = [{f"{d.namespace}/{d.name}@{d.version}" for d in lineage[k].datasets} for k in keys]
        code = [{f"{c.repository}@{c.commit}" for c in lineage[k].code} for k in keys]
        return compare([versions[k] for k in keys], datasets, code)
