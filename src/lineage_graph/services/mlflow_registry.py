"""MLflow's model registry operations as use cases over ours: every call goes through the registry and
approval services, so our authentication, governance (four-eyes, policies) and audit hold for MLflow users.

The HTTP facade (integrations/mlflow/api.py) only translates JSON; what an operation means lives here and
in domain/mlflow.py.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from lineage_graph.domain import mlflow as mf
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.commands import (
    CreateModelGroup,
    RegisterModelVersion,
    RunSpec,
    UpdateModelGroup,
    UpdateModelVersion,
)
from lineage_graph.domain.errors import DomainError, NotFound, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.mlflow_runs import metrics_of, record_of
from lineage_graph.domain.models import ModelGroup, ModelVersion
from lineage_graph.services.approvals import ApprovalService
from lineage_graph.services.authorization import require
from lineage_graph.services.registry import MAX_PAGE, Page, RegistryService
from lineage_graph.store.registry import GroupFilter, VersionFilter

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Searches filter in memory over at most this many records, so one call stays bounded.
MAX_SCANNED = 10_000
MODEL_ATTRIBUTES = frozenset({"name"})
VERSION_ATTRIBUTES = frozenset({"name", "run_id", "source_path", "version_number"})
MODEL_ORDER = frozenset({"name", "creation_timestamp", "last_updated_timestamp"})
VERSION_ORDER = frozenset({"name", "version_number", "creation_timestamp", "last_updated_timestamp"})


class MlflowRunSource(Protocol):
    """Where MLflow runs are read from (the tracking server)."""

    async def run(self, run_id: str) -> mf.MlflowRun | None:
        """The run, or None when the tracking server does not know it."""


@dataclass(frozen=True)
class RegisteredModel:
    group: ModelGroup
    versions: list[ModelVersion]  # live (not deleted) versions, oldest first

    @property
    def aliases(self) -> dict[str, int]:
        return {alias: v.version for v in self.versions for alias in v.aliases}


@dataclass(frozen=True)
class Found(Generic[T]):
    items: list[T]
    next_page_token: str | None


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed.field("page_token", "is not a page token this server issued") from None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationFailed.field("page_token", "is not a page token this server issued")
    return offset


def _page(items: list[T], max_results: int | None, page_token: str | None, default: int) -> Found[T]:
    limit = default if max_results is None else max_results
    if not 1 <= limit <= 200_000:
        raise ValidationFailed.field("max_results", "must be between 1 and 200000")
    start = _offset(page_token)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return Found(chunk, _token(start + limit) if more else None)


def _sort(items: list[T], orderings: Sequence[mf.Ordering], key: Callable[[T, str], Any]) -> list[T]:
    for ordering in reversed(orderings):  # stable sorts, least significant first
        items.sort(key=lambda item: key(item, ordering.key), reverse=ordering.descending)
    return items


def version_attributes(version: ModelVersion) -> dict[str, str | None]:
    props = version.custom_properties
    return {
        "name": version.group,
        "run_id": props.get(mf.PROP_RUN_ID),
        "source_path": props.get(mf.PROP_SOURCE, version.artifact_uri),
        "version_number": str(version.version),
    }


def _version_order(version: ModelVersion, key: str) -> Any:
    return {
        "name": version.group,
        "version_number": version.version,
        "creation_timestamp": version.created_at,
        "last_updated_timestamp": version.updated_at,
    }[key]


def _model_order(model: RegisteredModel, key: str) -> Any:
    return {
        "name": model.group.name,
        "creation_timestamp": model.group.created_at,
        "last_updated_timestamp": model.group.updated_at,
    }[key]


class MlflowRegistryService:
    def __init__(
        self, registry: RegistryService, approvals: ApprovalService, runs: MlflowRunSource | None = None
    ) -> None:
        self.registry = registry
        self.approvals = approvals
        self.runs = runs

    def check_access(self, actor: Principal) -> None:
        """Every MLflow call needs at least the viewer role; checked before its body is read."""
        require(actor, Role.VIEWER)

    # ---- registered models ---------------------------------------------------------------------
    async def _group(self, actor: Principal, name: str) -> ModelGroup:
        group = await self.registry.group(actor, name)
        if group is None or mf.GROUP_DELETED_TAG in group.tags:
            raise NotFound("registered model", name, "name")
        return group

    async def _versions(self, actor: Principal, flt: VersionFilter) -> list[ModelVersion]:
        found: list[ModelVersion] = []
        while True:
            batch, total = await self.registry.list_versions(actor, flt, "VERSION", False, Page(len(found), MAX_PAGE))
            found.extend(batch)
            if not batch or len(found) >= total:
                break
            if len(found) >= MAX_SCANNED:
                raise ValidationFailed.field("filter", f"matches more than {MAX_SCANNED} versions; narrow it by name")
        return [v for v in found if not mf.is_deleted(v)]

    async def registered_model(self, actor: Principal, name: str) -> RegisteredModel:
        require(actor, Role.VIEWER)
        group = await self._group(actor, name)
        return RegisteredModel(group, await self._versions(actor, VersionFilter(group=name)))

    async def create_registered_model(
        self, actor: Principal, name: str, description: str | None, tags: Mapping[str, str]
    ) -> RegisteredModel:
        require(actor, Role.CONTRIBUTOR)
        tag_list = tuple(mf.group_tag(k, v) for k, v in tags.items())
        existing = await self.registry.group(actor, name)
        if existing is not None and mf.GROUP_DELETED_TAG in existing.tags:
            # A deleted registered model comes back under its name; its version numbers keep counting.
            await self.registry.update_group(actor, UpdateModelGroup(name, description=description, tags=tag_list))
        else:
            await self.registry.create_group(actor, CreateModelGroup(name, description=description, tags=tag_list))
        return await self.registered_model(actor, name)

    async def update_registered_model(self, actor: Principal, name: str, description: str | None) -> RegisteredModel:
        require(actor, Role.CONTRIBUTOR, name)
        await self._group(actor, name)
        await self.registry.update_group(actor, UpdateModelGroup(name, description=description or ""))
        return await self.registered_model(actor, name)

    async def delete_registered_model(self, actor: Principal, name: str) -> None:
        """Deleted for MLflow, kept for lineage and audit: every version is archived and marked deleted."""
        require(actor, Role.CONTRIBUTOR, name)
        group = await self._group(actor, name)
        for version in await self._versions(actor, VersionFilter(group=name)):
            await self._delete_version(actor, version)
        await self.registry.update_group(actor, UpdateModelGroup(name, tags=(*group.tags, mf.GROUP_DELETED_TAG)))

    async def set_registered_model_tag(self, actor: Principal, name: str, key: str, value: str) -> None:
        require(actor, Role.CONTRIBUTOR, name)
        group = await self._group(actor, name)
        kept = [t for t in group.tags if t.partition("=")[0] != key or "=" not in t]
        await self.registry.update_group(actor, UpdateModelGroup(name, tags=(*kept, mf.group_tag(key, value))))

    async def delete_registered_model_tag(self, actor: Principal, name: str, key: str) -> None:
        require(actor, Role.CONTRIBUTOR, name)
        group = await self._group(actor, name)
        if key not in mf.group_tags(group.tags):
            raise NotFound("registered model tag", f"{name}/{key}", "key")
        kept = tuple(t for t in group.tags if t.partition("=")[0] != key or "=" not in t)
        await self.registry.update_group(actor, UpdateModelGroup(name, tags=kept))

    async def search_registered_models(
        self,
        actor: Principal,
        filter_text: str | None,
        max_results: int | None,
        order_by: Sequence[str],
        page_token: str | None,
    ) -> Found[RegisteredModel]:
        require(actor, Role.VIEWER)
        clauses = mf.parse_filter(filter_text, MODEL_ATTRIBUTES, frozenset())
        orderings = mf.parse_order_by(order_by, MODEL_ORDER) or [mf.Ordering("name", False)]
        groups: list[ModelGroup] = []
        while True:
            batch, total = await self.registry.list_groups(
                actor, GroupFilter(), "NAME", False, Page(len(groups), MAX_PAGE)
            )
            groups.extend(batch)
            if not batch or len(groups) >= min(total, MAX_SCANNED):
                break
        live = [
            g
            for g in groups
            if mf.GROUP_DELETED_TAG not in g.tags and mf.matches(clauses, {"name": g.name}, mf.group_tags(g.tags))
        ]
        page = _page(
            _sort([RegisteredModel(g, []) for g in live], orderings, _model_order), max_results, page_token, 100
        )
        filled = [await self.registered_model(actor, m.group.name) for m in page.items]
        return Found(filled, page.next_page_token)

    async def latest_versions(self, actor: Principal, name: str, stages: Sequence[str]) -> list[ModelVersion]:
        model = await self.registered_model(actor, name)
        return mf.latest_per_stage(model.versions, stages)

    # ---- model versions ------------------------------------------------------------------------
    async def model_version(self, actor: Principal, name: str, version: str) -> ModelVersion:
        require(actor, Role.VIEWER)
        number = _version_number(version)
        await self._group(actor, name)
        found = (await self.registry.versions(actor, [NodeRef.of(NodeKind.MODEL_VERSION, name, number)])).values()
        live = [v for v in found if not mf.is_deleted(v)]
        if not live:
            raise NotFound("model version", f"{name}/{number}", "version")
        return live[0]

    async def create_model_version(
        self,
        actor: Principal,
        name: str,
        source: str,
        run_id: str | None,
        tags: Mapping[str, str],
        run_link: str | None,
        description: str | None,
        model_id: str | None,
    ) -> ModelVersion:
        """Register the next version; with a tracking server, the run's parameters, metrics, input datasets
        and commit become its lineage (the run is recorded first, then the version names it)."""
        require(actor, Role.CONTRIBUTOR, name)
        await self._group(actor, name)
        props = {**tags, mf.PROP_SOURCE: source}
        for key, value in ((mf.PROP_RUN_ID, run_id), (mf.PROP_RUN_LINK, run_link), (mf.PROP_MODEL_ID, model_id)):
            if value:
                props[key] = value
        cmd = RegisterModelVersion(
            group=name,
            artifact_uri=mf.artifact_uri_of(source),
            description=description,
            custom_properties=props,
            produced_by=RunSpec(run_id) if run_id else None,
        )
        run = await self._tracked_run(run_id)
        if run is not None:
            await self.registry.record_run(actor, record_of(run))
            cmd = replace(cmd, metrics=metrics_of(run), hyperparameters=dict(run.params))
        return await self.registry.register_version(actor, cmd)

    async def _tracked_run(self, run_id: str | None) -> mf.MlflowRun | None:
        if run_id is None or self.runs is None:
            return None
        try:
            return await self.runs.run(run_id)
        except DomainError as exc:
            # The registry must not depend on the tracking server being up: register without the run's facts.
            logger.warning("MLflow run %s could not be read from the tracking server: %s", run_id, exc.message)
            return None

    async def update_model_version(
        self, actor: Principal, name: str, version: str, description: str | None
    ) -> ModelVersion:
        current = await self.model_version(actor, name, version)
        return await self.registry.update_version(actor, UpdateModelVersion(current.ref, description=description))

    async def _delete_version(self, actor: Principal, version: ModelVersion) -> None:
        if not version.archived:
            await self.registry.set_archived(actor, version.ref, True)
        await self.registry.update_version(
            actor, UpdateModelVersion(version.ref, custom_properties={mf.PROP_DELETED: "true"})
        )
        for alias in version.aliases:
            await self.registry.delete_alias(actor, version.group, alias)

    async def delete_model_version(self, actor: Principal, name: str, version: str) -> None:
        """Deleted for MLflow (hidden, aliases removed), archived and kept for lineage and audit."""
        require(actor, Role.CONTRIBUTOR, name)
        await self._delete_version(actor, await self.model_version(actor, name, version))

    async def set_model_version_tag(self, actor: Principal, name: str, version: str, key: str, value: str) -> None:
        require(actor, Role.CONTRIBUTOR, name)
        _user_key(key)
        current = await self.model_version(actor, name, version)
        await self.registry.update_version(actor, UpdateModelVersion(current.ref, custom_properties={key: value}))

    async def delete_model_version_tag(self, actor: Principal, name: str, version: str, key: str) -> None:
        require(actor, Role.CONTRIBUTOR, name)
        _user_key(key)
        current = await self.model_version(actor, name, version)
        if key not in current.custom_properties:
            raise NotFound("model version tag", f"{name}/{version}/{key}", "key")
        await self.registry.update_version(actor, UpdateModelVersion(current.ref, remove_custom_properties=(key,)))

    async def search_model_versions(
        self,
        actor: Principal,
        filter_text: str | None,
        max_results: int | None,
        order_by: Sequence[str],
        page_token: str | None,
    ) -> Found[ModelVersion]:
        require(actor, Role.VIEWER)
        clauses = mf.parse_filter(filter_text, VERSION_ATTRIBUTES, frozenset({"run_id"}))
        orderings = mf.parse_order_by(order_by, VERSION_ORDER) or [
            mf.Ordering("name", False),
            mf.Ordering("version_number", True),
        ]
        # `name = '…'` narrows the scan to one group in the store.
        group = next((str(c.value) for c in clauses if c.key == "name" and not c.tag and c.op == "="), None)
        versions = await self._versions(actor, VersionFilter(group=group))
        hidden = {g.name for g in await self._deleted_groups(actor)}
        chosen = [
            v
            for v in versions
            if v.group not in hidden and mf.matches(clauses, version_attributes(v), mf.user_tags(v.custom_properties))
        ]
        return _page(_sort(chosen, orderings, _version_order), max_results, page_token, 10_000)

    async def _deleted_groups(self, actor: Principal) -> list[ModelGroup]:
        groups, _ = await self.registry.list_groups(
            actor, GroupFilter(tag=mf.GROUP_DELETED_TAG), "NAME", False, Page(0, MAX_PAGE)
        )
        return groups

    async def transition_stage(self, actor: Principal, name: str, version: str, stage: str) -> ModelVersion:
        """A stage change through our governance: Production is an approval (refused with its reasons when the
        caller lacks the role, registered the version, or the policy is not met), Archived archives."""
        require(actor, Role.VIEWER)
        current = await self.model_version(actor, name, version)
        comment = f"MLflow stage transition to {mf.canonical_stage(stage)}"
        for move in mf.stage_moves(current, stage):
            if move is mf.StageMove.APPROVE:
                await self.approvals.approve(actor, current.ref, comment)
            elif move is mf.StageMove.REJECT:
                await self.approvals.reject(actor, current.ref, comment)
            elif move is mf.StageMove.ARCHIVE:
                await self.registry.set_archived(actor, current.ref, True)
            else:
                if current.archived:
                    await self.registry.set_archived(actor, current.ref, False)
                marker = {mf.PROP_STAGE: "Staging"} if move is mf.StageMove.STAGING else None
                removed = () if marker else (mf.PROP_STAGE,)
                await self.registry.update_version(
                    actor, UpdateModelVersion(current.ref, custom_properties=marker, remove_custom_properties=removed)
                )
        return await self.model_version(actor, name, version)

    async def download_uri(self, actor: Principal, name: str, version: str) -> str:
        current = await self.model_version(actor, name, version)
        return current.custom_properties.get(mf.PROP_SOURCE, current.artifact_uri)

    # ---- aliases -------------------------------------------------------------------------------
    async def set_alias(self, actor: Principal, name: str, alias: str, version: str) -> None:
        require(actor, Role.CONTRIBUTOR, name)
        current = await self.model_version(actor, name, version)
        await self.registry.set_alias(actor, name, alias, current.ref)

    async def delete_alias(self, actor: Principal, name: str, alias: str) -> None:
        require(actor, Role.CONTRIBUTOR, name)
        await self._group(actor, name)
        await self.registry.delete_alias(actor, name, alias)

    async def version_by_alias(self, actor: Principal, name: str, alias: str) -> ModelVersion:
        require(actor, Role.VIEWER)
        await self._group(actor, name)
        found = await self.registry.version_by_alias(actor, name, alias)
        if found is None or mf.is_deleted(found):
            raise NotFound("alias", f"{name}@{alias}", "alias")
        return found


def _version_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValidationFailed.field("version", f"{text[:40]!r} is not a version number (1, 2, 3…)")
    return int(text)


def _user_key(key: str) -> None:
    if key.startswith(mf.PREFIX):
        raise ValidationFailed.field("key", f"tags starting with {mf.PREFIX!r} are kept by the registry itself")
