"""The services of one running server, built from one graph handle."""

from __future__ import annotations

from dataclasses import dataclass

from lineage_graph.services.ingest import IngestService
from lineage_graph.services.system import SystemService
from lineage_graph.store.graph import Neo4jGraph


@dataclass(frozen=True)
class Services:
    graph: Neo4jGraph
    system: SystemService
    ingest: IngestService

    @classmethod
    def build(cls, graph: Neo4jGraph) -> Services:
        return cls(graph=graph, system=SystemService(graph), ingest=IngestService(graph))
