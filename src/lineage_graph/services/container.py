"""The services of one running server, built from one graph handle."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from lineage_graph.domain.errors import Problem
from lineage_graph.domain.tags import DEFAULT_GOVERNANCE_TAGS, TagPolicy
from lineage_graph.services.access_keys import AccessKeyService
from lineage_graph.services.approvals import ApprovalService
from lineage_graph.services.artifacts import ArtifactVerifier
from lineage_graph.services.audit import AuditService
from lineage_graph.services.auth import AuthService
from lineage_graph.services.contracts import ContractService
from lineage_graph.services.discovery import DiscoveryService
from lineage_graph.services.events import EventLog
from lineage_graph.services.incidents import IncidentService
from lineage_graph.services.ingest import IngestService
from lineage_graph.services.lifecycle import LifecycleService
from lineage_graph.services.lineage import LineageService
from lineage_graph.services.mlflow_registry import MlflowRegistryService, MlflowRunSource
from lineage_graph.services.model_card_exports import CardPublisher, ModelCardExportService
from lineage_graph.services.model_cards import CardSources, ModelCardService
from lineage_graph.services.promotion import PromotionService
from lineage_graph.services.registration_rules import RegistrationRules
from lineage_graph.services.registry import RegistryService
from lineage_graph.services.retention import RetentionService
from lineage_graph.services.sagemaker import SageMakerService
from lineage_graph.services.sagemaker_registry import ReportReader, SageMakerRegistryService
from lineage_graph.services.system import SystemService
from lineage_graph.services.webhooks import AddressCheck, DeliverySettings, WebhookService
from lineage_graph.store.access_keys import AccessKeyStore
from lineage_graph.store.approvals import ApprovalStore
from lineage_graph.store.catalog import CatalogStore
from lineage_graph.store.contracts import ContractStore
from lineage_graph.store.deployments import DeploymentStore
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.group_rules import GroupRulesStore
from lineage_graph.store.incidents import IncidentStore
from lineage_graph.store.lifecycle import LifecycleStore
from lineage_graph.store.model_card_exports import ModelCardExportStore
from lineage_graph.store.model_cards import ModelCardStore
from lineage_graph.store.registry import RegistryStore
from lineage_graph.store.retention import RetentionStore
from lineage_graph.store.sagemaker import SageMakerStore
from lineage_graph.store.sagemaker_entities import SageMakerEntityStore
from lineage_graph.store.sagemaker_packages import SageMakerRegistryStore


@dataclass(frozen=True)
class Services:
    graph: Neo4jGraph
    system: SystemService
    registry: RegistryService
    discovery: DiscoveryService
    access_keys: AccessKeyService
    sagemaker: SageMakerService
    sagemaker_registry: SageMakerRegistryService
    approvals: ApprovalService
    auth: AuthService
    audit: AuditService
    lineage: LineageService
    ingest: IngestService
    events: EventLog
    webhooks: WebhookService
    mlflow: MlflowRegistryService
    contracts: ContractService
    lifecycle: LifecycleService
    promotion: PromotionService
    retention: RetentionService
    model_cards: ModelCardService
    incidents: IncidentService
    card_exports: ModelCardExportService

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
        token_cache_seconds: float = 0.0,
        metric_reports: ReportReader | None = None,
        mlflow_runs: MlflowRunSource | None = None,
        governance_tags: Sequence[str] = DEFAULT_GOVERNANCE_TAGS,
        card_publisher: CardPublisher | None = None,
    ) -> Services:
        registry_store = RegistryStore(graph)
        catalog = CatalogStore(graph)
        deployments = DeploymentStore(graph)
        group_rules, contracts, lifecycle = GroupRulesStore(graph), ContractStore(graph), LifecycleStore(graph)
        approval_store = ApprovalStore(graph)
        approvals = ApprovalService(approval_store)
        promotion = PromotionService(group_rules, approval_store, lifecycle)
        master_key = sigv4_master_key or secrets.token_bytes(32)
        registry = RegistryService(
            registry_store,
            catalog,
            deployments,
            production_environments,
            artifact_verifier,
            TagPolicy.of(governance_tags),
            RegistrationRules(group_rules, promotion),
        )
        lineage_service = LineageService.over(graph)
        card_sources = CardSources(registry, lineage_service, approval_store, lifecycle, contracts)
        model_cards = ModelCardService(ModelCardStore(graph), card_sources)
        return cls(
            graph=graph,
            system=SystemService(graph),
            registry=registry,
            discovery=DiscoveryService(registry_store, catalog, deployments, approval_store, contracts),
            # Without a configured master key, issued SigV4 secrets only live as long as this process.
            access_keys=AccessKeyService(AccessKeyStore(graph), master_key),
            sagemaker=SageMakerService(SageMakerStore(graph), registry, SageMakerEntityStore(graph)),
            sagemaker_registry=SageMakerRegistryService(
                SageMakerRegistryStore(graph), registry, approval_store, metric_reports
            ),
            approvals=approvals,
            auth=AuthService(graph, token_cache_seconds),
            audit=AuditService(graph),
            lineage=lineage_service,
            ingest=IngestService(graph),
            mlflow=MlflowRegistryService(registry, approvals, mlflow_runs),
            contracts=ContractService(contracts),
            lifecycle=LifecycleService(group_rules, lifecycle),
            promotion=promotion,
            retention=RetentionService(group_rules, RetentionStore(graph)),
            model_cards=model_cards,
            incidents=IncidentService(IncidentStore(graph), promotion),
            card_exports=ModelCardExportService(ModelCardExportStore(graph), model_cards, card_publisher),
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
