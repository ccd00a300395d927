"""Exporting a model card: the card version rendered as its readable page and written to an S3 location,
with a job recording what was written where (or why nothing was)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import AlreadyExists, NotFound, ValidationFailed
from lineage_graph.domain.model_card_exports import (
    ExportFilter,
    ExportJob,
    ExportStatus,
    artifact_uri,
    export_problems,
)
from lineage_graph.domain.queries import Page
from lineage_graph.services.authorization import require
from lineage_graph.services.model_cards import ModelCardService
from lineage_graph.store.model_card_exports import ModelCardExportStore


class PublishFailed(Exception):
    """The object could not be written; the message says why (kept as the job's FailureReason)."""


class CardPublisher(Protocol):
    """Writes one object (blocking: boto3), or raises PublishFailed."""

    def publish(self, uri: str, body: bytes, content_type: str) -> None: ...


# The card document -> the exported page; given by the adapter that owns the page's rendering.
Renderer = Callable[[dict[str, Any]], str]


class ModelCardExportService:
    def __init__(self, store: ModelCardExportStore, cards: ModelCardService, publisher: CardPublisher | None) -> None:
        self.store = store
        self._cards = cards
        self._publisher = publisher

    async def export(
        self,
        actor: Principal,
        card_name: str,
        card_version: int | None,
        job_name: str,
        output_path: str,
        render: Renderer,
    ) -> ExportJob:
        """Write the card (its current version, or `card_version`) under `output_path` and record the job.
        A store that refuses the write gives a Failed job with the reason; nothing is retried."""
        require(actor, Role.CONTRIBUTOR)
        if problems := export_problems(job_name, output_path):
            raise ValidationFailed.of(problems)
        if self._publisher is None:
            raise ValidationFailed.field("OutputConfig.S3OutputPath", "this server has no S3 store configured")
        # A taken name is refused before anything is written to the store.
        if await self.store.exists(card_name, job_name):
            raise AlreadyExists("model card export job", f"{card_name}/{job_name}", "ModelCardExportJobName")
        card, document = await self._cards.document(actor, card_name, card_version)
        uri = artifact_uri(output_path, card.name, job_name)
        try:
            await asyncio.to_thread(self._publisher.publish, uri, render(document).encode(), "text/html")
            status, artifact, failure = ExportStatus.COMPLETED, uri, None
        except PublishFailed as exc:
            status, artifact, failure = ExportStatus.FAILED, None, str(exc)[:1024]
        job = ExportJob(
            card.name,
            job_name,
            card.card_version,
            output_path,
            status,
            artifact,
            failure,
            actor.name,
            datetime.now(UTC),
        )
        return await self.store.record(job)

    async def job(self, actor: Principal, card_name: str, job_name: str) -> ExportJob:
        require(actor, Role.VIEWER)
        found = await self.store.get(card_name, job_name)
        if found is None:
            raise NotFound("model card export job", f"{card_name}/{job_name}", "ModelCardExportJobArn")
        return found

    async def jobs(
        self, actor: Principal, flt: ExportFilter, sort: str, descending: bool, pg: Page
    ) -> tuple[list[ExportJob], int]:
        require(actor, Role.VIEWER)
        return await self.store.list_jobs(flt, sort, descending, pg.offset, pg.limit)
