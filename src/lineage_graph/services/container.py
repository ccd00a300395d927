"""The services of one running server, built from one graph handle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lineage_graph.services.approvals import ApprovalService
from lineage_graph.services.audit import AuditService
from lineage_graph.services.auth import AuthService
from lineage_graph.services.discovery import DiscoveryService
from lineage_graph.services.ingest import IngestService
from lineage_graph.services.lineage import LineageService
from lineage_graph.services.registry import RegistryService
from lineage_graph.services.system import SystemService
from lineage_graph.store.approvals import ApprovalStore
from lineage_graph.store.catalog import CatalogStore
from lineage_graph.store.deployments import DeploymentStore
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.registry import RegistryStore


@dataclass(frozen=True)
class Services:
    graph: Neo4jGraph
    system: SystemService
    registry: RegistryService
    discovery: DiscoveryService
    approvals: ApprovalService
    auth: AuthService
    audit: AuditService
    lineage: LineageService
    ingest: IngestService

    @classmethod
    def build(cls, graph: Neo4jGraph, production_environments: Sequence[str] = ("production", "prod")) -> Services:
        registry_store = RegistryStore(graph)
        catalog = CatalogStore(graph)
        return cls(
            graph=graph,
            system=SystemService(graph),
            registry=RegistryService(registry_store, catalog, DeploymentStore(graph), production_environments),
            discovery=DiscoveryService(registry_store, catalog),
            approvals=ApprovalService(ApprovalStore(graph)),
            auth=AuthService(graph),
            audit=AuditService(graph),
            lineage=LineageService.over(graph),
            ingest=IngestService(graph),
        )
