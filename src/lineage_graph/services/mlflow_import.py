"""Import an MLflow model registry with its lineage: registered models, versions, tags, aliases, stages, and
each version's run (params, metrics, logged dataset inputs, git commit) read from the tracking server.

The source (integrations/mlflow/tracking.py) hands over plain records; this module decides what each becomes
and writes it through the services, so the registry's rules and audit hold.

Idempotent and incremental: each MLflow version is registered once (its number is kept as the
`mlflow:version` property and its client token is derived from it), a second import compares before writing,
so an unchanged registry costs reads only; `since` skips registered models MLflow has not touched since.
Version numbers: versions are imported in MLflow's order, so a group imported into an empty group gets the same
numbers; a deleted MLflow version (a gap there) or versions registered here first shift ours.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lineage_graph.domain import mlflow as mf
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.commands import (
    CreateModelGroup,
    RegisterModelVersion,
    RunSpec,
    UpdateModelGroup,
    UpdateModelVersion,
)
from lineage_graph.domain.errors import DomainError
from lineage_graph.domain.mlflow_runs import metrics_of, record_of
from lineage_graph.domain.models import ApprovalStatus, ModelVersion
from lineage_graph.services.authorization import require
from lineage_graph.services.container import Services
from lineage_graph.services.import_summary import ImportSummary, Progress, no_progress
from lineage_graph.services.registry import MAX_PAGE, Page
from lineage_graph.store.registry import VersionFilter

IMPORTER = Principal(name="mlflow-import", role=Role.ADMIN)
PROP_VERSION = "mlflow:version"
KINDS = ("groups", "versions", "runs", "aliases", "stages")


@dataclass(frozen=True)
class SourceModel:
    name: str
    description: str | None
    tags: Mapping[str, str]
    aliases: Mapping[str, int]
    updated_ms: int


@dataclass(frozen=True)
class SourceVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    run_link: str | None
    description: str | None
    stage: str
    tags: Mapping[str, str]


class MlflowSource(Protocol):
    def registered_models(self) -> AsyncIterable[SourceModel]: ...
    def model_versions(self, name: str) -> AsyncIterable[SourceVersion]: ...
    async def run(self, run_id: str) -> mf.MlflowRun | None: ...


def _token(name: str, version: int) -> str:
    return "mlflow:" + hashlib.sha256(f"{name}/{version}".encode()).hexdigest()[:40]


def _properties(version: SourceVersion) -> dict[str, str]:
    props = {k: v for k, v in version.tags.items() if not k.startswith(mf.PREFIX)}
    props[mf.PROP_SOURCE] = version.source
    props[PROP_VERSION] = str(version.version)
    for key, value in ((mf.PROP_RUN_ID, version.run_id), (mf.PROP_RUN_LINK, version.run_link)):
        if value:
            props[key] = value
    if version.stage == "Staging":
        props[mf.PROP_STAGE] = "Staging"
    return props


class MlflowImporter:
    def __init__(self, services: Services, actor: Principal = IMPORTER) -> None:
        self._services = services
        self._actor = actor

    async def run(
        self, source: MlflowSource, since: datetime | None = None, progress: Progress | None = None
    ) -> ImportSummary:
        require(self._actor, Role.ADMIN)
        summary = ImportSummary(KINDS)
        tick = progress or no_progress
        since_ms = int(since.timestamp() * 1000) if since else None
        async for model in source.registered_models():
            if since_ms is not None and model.updated_ms < since_ms:
                continue
            tick(f"registered model {model.name}")
            if not await self._group(model, summary):
                continue
            ours = await self._existing(model.name)
            versions = [v async for v in source.model_versions(model.name)]
            for version in sorted(versions, key=lambda v: v.version):
                tick(f"version {model.name}/{version.version}")
                try:
                    ours[version.version] = await self._version(source, version, ours.get(version.version), summary)
                except DomainError as exc:
                    summary.fail("versions", f"{model.name}/{version.version}", exc)
            await self._aliases(model, ours, summary)
        return summary

    async def _group(self, model: SourceModel, summary: ImportSummary) -> bool:
        registry = self._services.registry
        tags = tuple(mf.group_tag(k, v) for k, v in sorted(model.tags.items()))
        try:
            existing = await registry.group(self._actor, model.name)
            if existing is None:
                await registry.create_group(self._actor, CreateModelGroup(model.name, model.description, tags=tags))
                summary.count("groups", "created")
            elif (existing.description or None) != (model.description or None) or mf.group_tags(existing.tags) != dict(
                model.tags
            ):
                bare = tuple(t for t in existing.tags if "=" not in t)
                cmd = UpdateModelGroup(model.name, description=model.description or "", tags=(*bare, *tags))
                await registry.update_group(self._actor, cmd)
                summary.count("groups", "updated")
            else:
                summary.count("groups", "unchanged")
        except DomainError as exc:
            summary.fail("groups", model.name, exc)
            return False
        return True

    async def _existing(self, group: str) -> dict[int, ModelVersion]:
        """Our versions of the group that came from MLflow, by MLflow version number."""
        found: dict[int, ModelVersion] = {}
        offset = 0
        while True:
            batch, total = await self._services.registry.list_versions(
                self._actor, VersionFilter(group=group), "VERSION", False, Page(offset, MAX_PAGE)
            )
            for version in batch:
                number = version.custom_properties.get(PROP_VERSION)
                if number and number.isdigit():
                    found[int(number)] = version
            offset += len(batch)
            if not batch or offset >= total:
                return found

    async def _run(self, source: MlflowSource, run_id: str, summary: ImportSummary) -> mf.MlflowRun | None:
        try:
            run = await source.run(run_id)
            if run is None:
                summary.count("runs", "skipped")
                return None
            known = await self._services.discovery.runs(self._actor, [run_id])
            if run_id in known and known[run_id].status.value == record_of(run).status.value and known[run_id].ended_at:
                summary.count("runs", "unchanged")
                return run
            await self._services.registry.record_run(self._actor, record_of(run))
            summary.count("runs", "updated" if run_id in known else "created")
            return run
        except DomainError as exc:
            summary.fail("runs", run_id, exc)
            return None

    async def _version(
        self, source: MlflowSource, version: SourceVersion, current: ModelVersion | None, summary: ImportSummary
    ) -> ModelVersion:
        registry = self._services.registry
        props = _properties(version)
        if current is None:
            run = await self._run(source, version.run_id, summary) if version.run_id else None
            current = await registry.register_version(
                self._actor,
                RegisterModelVersion(
                    group=version.name,
                    artifact_uri=mf.artifact_uri_of(version.source),
                    description=version.description,
                    metrics=metrics_of(run) if run else (),
                    hyperparameters=dict(run.params) if run else {},
                    custom_properties=props,
                    produced_by=RunSpec(version.run_id) if version.run_id else None,
                    client_token=_token(version.name, version.version),
                ),
            )
            summary.count("versions", "created")
        elif dict(current.custom_properties) != props or (current.description or None) != (version.description or None):
            if version.run_id:
                await self._run(source, version.run_id, summary)
            current = await registry.update_version(
                self._actor,
                UpdateModelVersion(
                    current.ref,
                    description=version.description or "",
                    custom_properties=props,
                    remove_custom_properties=tuple(k for k in current.custom_properties if k not in props),
                ),
            )
            summary.count("versions", "updated")
        else:
            summary.count("versions", "unchanged")
        return await self._stage(version, current, summary)

    async def _stage(self, version: SourceVersion, current: ModelVersion, summary: ImportSummary) -> ModelVersion:
        """Production is mirrored as an imported approval (decided in MLflow, recorded as such), Archived as
        archived."""
        changed = False
        want_archived = version.stage == "Archived"
        if current.archived != want_archived:
            current = await self._services.registry.set_archived(self._actor, current.ref, want_archived)
            changed = True
        approved = current.approval_status is ApprovalStatus.APPROVED
        if (version.stage == "Production") != approved:
            status = ApprovalStatus.APPROVED if version.stage == "Production" else ApprovalStatus.REJECTED
            if approved or status is ApprovalStatus.APPROVED:
                comment = f"MLflow stage {version.stage}"
                where = f"mlflow:{version.name}/{version.version}"
                changed |= await self._services.sagemaker.import_approval(
                    self._actor, current.ref, status, comment, where
                )
        summary.count("stages", "updated" if changed else "unchanged")
        return current

    async def _aliases(self, model: SourceModel, ours: Mapping[int, ModelVersion], summary: ImportSummary) -> None:
        for alias, number in sorted(model.aliases.items()):
            target = ours.get(number)
            if target is None:
                summary.count("aliases", "skipped")
                continue
            if alias in target.aliases:
                summary.count("aliases", "unchanged")
                continue
            try:
                await self._services.registry.set_alias(self._actor, model.name, alias, target.ref)
                summary.count("aliases", "updated")
            except DomainError as exc:
                summary.fail("aliases", f"{model.name}@{alias}", exc)
