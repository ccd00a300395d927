"""The services of one running server, built from one graph handle."""

from __future__ import annotations

from dataclasses import dataclass

from lineage_graph.services.audit import AuditService
from lineage_graph.services.auth import AuthService
from lineage_graph.services.system import SystemService
from lineage_graph.store.graph import Neo4jGraph


@dataclass(frozen=True)
class Services:
    graph: Neo4jGraph
    system: SystemService
    auth: AuthService
    audit: AuditService

    @classmethod
    def build(cls, graph: Neo4jGraph) -> Services:
        return cls(graph=graph, system=SystemService(graph), auth=AuthService(graph), audit=AuditService(graph))
