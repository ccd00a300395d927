"""The services of one running server, built from one graph handle."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from lineage_graph.domain.errors import Problem
from lineage_graph.services.access_keys import AccessKeyService
from lineage_graph.services.approvals import ApprovalService
from lineage_graph.services.artifacts import ArtifactVerifier
from lineage_graph.services.audit import AuditService
from lineage_graph.services.auth import AuthService
from lineage_graph.services.discovery import DiscoveryService
from lineage_graph.services.events import EventLog
from lineage_graph.services.ingest import IngestService
from lineage_graph.services.lineage import LineageService
from lineage_graph.services.registry import RegistryService
from lineage_graph.services.sagemaker import SageMakerService
from lineage_graph.services.system import SystemService
from lineage_graph.services.webhooks import AddressCheck, DeliverySettings, WebhookService
from lineage_graph.store.access_keys import AccessKeyStore
from lineage_graph.store.approvals import ApprovalStore
from lineage_graph.store.catalog import CatalogStore
from lineage_graph.store.deployments import DeploymentStore
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.registry import RegistryStore
from lineage_graph.store.sagemaker import SageMakerStore


@dataclass(frozen=True)
class Services:
    graph: Neo4jGraph
    system: SystemService
    registry: RegistryService
    discovery: DiscoveryService
    access_keys: AccessKeyService
    sagemaker: SageMakerService
    approvals: ApprovalService
    auth: AuthService
    audit: AuditService
    lineage: LineageService
    ingest: IngestService
    events: EventLog
    webhooks: WebhookService

    @classmethod
    def build(
        cls,
        graph: Neo4jGraph,
        production_environments: Sequence[str] = ("production", "prod"),
        sigv4_master_key: bytes | None = None,
        artifact_verifier: ArtifactVerifier | None = None,
        webhook_address_check: AddressCheck | None = None,
        webhook_delivery: DeliverySettings | None = None,
        events_poll_interval: float = 0.2,
    ) -> Services:
        registry_store = RegistryStore(graph)
        catalog = CatalogStore(graph)
        master_key = sigv4_master_key or secrets.token_bytes(32)
        registry = RegistryService(
            registry_store, catalog, DeploymentStore(graph), production_environments, artifact_verifier
        )
        return cls(
            graph=graph,
            system=SystemService(graph),
            registry=registry,
            discovery=DiscoveryService(registry_store, catalog),
            # Without a configured master key, issued SigV4 secrets only live as long as this process.
            access_keys=AccessKeyService(AccessKeyStore(graph), master_key),
            sagemaker=SageMakerService(SageMakerStore(graph), registry),
            approvals=ApprovalService(ApprovalStore(graph)),
            auth=AuthService(graph),
            audit=AuditService(graph),
            lineage=LineageService.over(graph),
            ingest=IngestService(graph),
            events=EventLog(graph, events_poll_interval),
            # Webhook secrets are derived from the same master key, so every instance can sign every delivery.
            webhooks=WebhookService(
                graph, master_key, webhook_address_check or _shape_only, webhook_delivery or DeliverySettings()
            ),
        )


async def _shape_only(url: str, allow_link_local: bool) -> list[Problem]:
    """Without a resolver (commands that never deliver), a URL is judged by its shape alone; the sender
    checks the resolved address again at every delivery."""
    return []
