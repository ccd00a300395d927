"""The services of one running server, built from one graph handle."""

from __future__ import annotations

from dataclasses import dataclass

from lineage_graph.services.lineage import LineageService
from lineage_graph.services.system import SystemService
from lineage_graph.store.graph import Neo4jGraph


@dataclass(frozen=True)
class Services:
    graph: Neo4jGraph
    system: SystemService
    lineage: LineageService

    @classmethod
    def build(cls, graph: Neo4jGraph) -> Services:
        return cls(graph=graph, system=SystemService(graph), lineage=LineageService.over(graph))
