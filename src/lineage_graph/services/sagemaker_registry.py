"""What the SageMaker model registry API needs beyond our registry: package views with their approval
description, search, tombstone deletes, key-value tags, group resource policies, metrics read from
ModelMetrics reports and the verbatim spec a CreateModelPackage carried."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import NotFound
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import Metric, ModelGroup, ModelVersion
from lineage_graph.domain.registry import Checker
from lineage_graph.domain.sagemaker import (
    PROP_REPORT,
    Vote,
    approval_description,
    current_approvers,
    merge_tags,
    metric_report_uris,
    metrics_from_report,
    tag_string,
)
from lineage_graph.domain.sagemaker_policy import grants_of_policy, with_grant
from lineage_graph.domain.sagemaker_search import Expression
from lineage_graph.services.authorization import require
from lineage_graph.services.registry import Page, RegistryService
from lineage_graph.store.approvals import ApprovalStore
from lineage_graph.store.catalog import ModelLineage
from lineage_graph.store.sagemaker_packages import SageMakerRegistryStore

MAX_REPORT_REASON = 300


class ReportUnreadable(Exception):
    """A ModelMetrics report could not be read; the message says why (shown on the version)."""


class ReportReader(Protocol):
    """Reads one report by URI (blocking: boto3) and returns its parsed JSON, or raises ReportUnreadable."""

    def read(self, uri: str) -> Any: ...


@dataclass(frozen=True)
class ReportOutcome:
    metrics: list[Metric]
    statuses: dict[str, str]  # "ModelQuality.Statistics" -> "parsed: N metrics" / "unreadable: why"

    @property
    def properties(self) -> dict[str, str]:
        return {PROP_REPORT + section: status for section, status in self.statuses.items()}


@dataclass(frozen=True)
class PackageView:
    """A live model version with what DescribeModelPackage shows beside its own fields."""

    version: ModelVersion
    lineage: ModelLineage
    approval_description: str | None
    approvers: tuple[str, ...]  # distinct approvers of the current round
    min_approvers: int


class SageMakerRegistryService:
    def __init__(
        self,
        store: SageMakerRegistryStore,
        registry: RegistryService,
        approvals: ApprovalStore,
        reports: ReportReader | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._approvals = approvals
        self._reports = reports

    # ---- callers as a group's policy sees them ---------------------------------------------------------
    async def as_seen_by_group(self, actor: Principal, group: str) -> Principal:
        """The caller with any role the group's resource policy grants it."""
        require(actor, Role.VIEWER)
        grants = await self._store.group_grants(group)
        return with_grant(actor, group, grants)

    async def live_group(self, actor: Principal, name: str, field: str = "ModelPackageGroupName") -> ModelGroup:
        """A group that exists and is not deleted, else NotFound naming `field`."""
        require(actor, Role.VIEWER)
        group = await self._registry.group(actor, name)
        states = await self._store.group_states([name])
        if group is None or states.get(name, (True, None))[0]:
            raise NotFound("model package group", name, field)
        return group

    # ---- metrics from ModelMetrics reports ------------------------------------------------------------
    async def read_reports(self, actor: Principal, group: str, model_metrics: Mapping[str, Any]) -> ReportOutcome:
        """Read and parse every report ModelMetrics names; an unreadable one is recorded as such, never fatal."""
        require(actor, Role.CONTRIBUTOR, group)
        statuses: dict[str, str] = {}
        metrics: dict[tuple[str, str | None], Metric] = {}
        for section, uri in metric_report_uris(model_metrics):
            if self._reports is None:
                statuses[section] = "unreadable: this server reads no reports (no S3 client configured)"
                continue
            try:
                report = await asyncio.to_thread(self._reports.read, uri)
            except ReportUnreadable as exc:
                statuses[section] = f"unreadable: {uri}: {exc}"[:MAX_REPORT_REASON]
                continue
            found = metrics_from_report(report, section.split(".")[0])
            for metric in found:
                metrics.setdefault((metric.name, metric.split), metric)
            statuses[section] = f"parsed: {len(found)} metrics"
        return ReportOutcome(list(metrics.values()), statuses)

    # ---- reading packages -----------------------------------------------------------------------------
    async def packages(self, actor: Principal, refs: Sequence[NodeRef]) -> dict[NodeRef, PackageView]:
        """The live packages among `refs` (deleted ones are left out), in a bounded number of queries."""
        require(actor, Role.VIEWER)
        versions = await self._registry.versions(actor, refs)
        keys = [(v.group, v.version) for v in versions.values()]
        if not keys:
            return {}
        deleted = await self._store.deleted_versions(keys)
        lineage = await self._registry.catalog.model_lineage(keys)
        decisions = await self._approvals.decisions_for(keys)
        min_approvers: dict[str, int] = {}
        for group in {g for g, _ in keys}:
            policy = await self._approvals.policy(group)
            min_approvers[group] = policy.min_approvers if policy else 1
        views = {}
        for ref, version in versions.items():
            key = (version.group, version.version)
            if key in deleted:
                continue
            votes = [Vote(d.decision.value, d.actor, d.comment, d.to_status) for d in decisions.get(key, [])]
            views[ref] = PackageView(
                version,
                lineage[key],
                approval_description(votes, version.approval_status, min_approvers[version.group]),
                tuple(current_approvers(votes)),
                min_approvers[version.group],
            )
        return views

    async def package(self, actor: Principal, ref: NodeRef, field: str = "ModelPackageName") -> PackageView:
        found = (await self.packages(actor, [ref])).get(ref)
        if found is None:
            raise NotFound("model package", f"{ref.parts[0]}/{ref.parts[1]}", field)
        return found

    async def search_versions(
        self, actor: Principal, expr: Expression, sort: str, descending: bool, pg: Page
    ) -> tuple[list[ModelVersion], int]:
        require(actor, Role.VIEWER)
        return await self._store.search_versions(expr, sort, descending, pg.offset, pg.limit)

    async def search_groups(
        self, actor: Principal, expr: Expression, sort: str, descending: bool, pg: Page
    ) -> tuple[list[ModelGroup], int]:
        require(actor, Role.VIEWER)
        return await self._store.search_groups(expr, sort, descending, pg.offset, pg.limit)

    # ---- changes --------------------------------------------------------------------------------------
    async def update_spec(
        self, actor: Principal, ref: NodeRef, change: Callable[[Mapping[str, Any]], dict[str, Any]]
    ) -> None:
        """Change the verbatim spec (UpdateModelPackage's InferenceSpecification, SourceUri, ModelCard…)."""
        group, version = str(ref.parts[0]), int(ref.parts[1])
        require(actor, Role.CONTRIBUTOR, group)

        def checked(current: Mapping[str, Any]) -> dict[str, Any]:
            new = change(current)
            check = Checker()
            check.json_object("ModelPackage", new)
            check.done()
            return new

        await self._store.update_spec(group, version, checked, actor.name)

    async def delete_version(self, actor: Principal, ref: NodeRef) -> None:
        """A tombstone (see the store). Deleting retracts a registration, so contributors may; an approved,
        deployed version is refused."""
        group, version = str(ref.parts[0]), int(ref.parts[1])
        require(actor, Role.CONTRIBUTOR, group)
        await self._store.delete_version(group, version, actor.name)

    async def delete_group(self, actor: Principal, name: str) -> None:
        require(actor, Role.CONTRIBUTOR, name)
        await self._store.delete_group(name, actor.name)

    async def restore_group(self, actor: Principal, name: str, description: str | None) -> ModelGroup | None:
        require(actor, Role.CONTRIBUTOR)
        check = Checker()
        check.description("ModelPackageGroupDescription", description)
        check.done()
        return await self._store.restore_group(name, description, actor.name)

    # ---- tags -----------------------------------------------------------------------------------------
    async def add_tags(self, actor: Principal, ref: NodeRef, pairs: Sequence[tuple[str, str]]) -> list[str]:
        """AddTags. A key that is a governance tag (`pii`, `incident`…) carries a decision: approvers only."""
        require(actor, Role.CONTRIBUTOR, _group_of(ref))
        self._registry.tags.check_input(actor, _group_of(ref), [k for k, _ in pairs], "Tags")
        check = Checker()
        check.tags("Tags", [tag_string(k, v) for k, v in pairs])
        check.done()

        def change(current: Sequence[str]) -> list[str]:
            merged = merge_tags(current, pairs, ())
            inner = Checker()
            inner.tags("Tags", merged)
            inner.done()
            return merged

        detail = {"added": [tag_string(k, v) for k, v in pairs]}
        return await self._store.update_tags(ref, change, "tags.add", detail, actor.name)

    async def delete_tags(self, actor: Principal, ref: NodeRef, keys: Sequence[str]) -> list[str]:
        require(actor, Role.CONTRIBUTOR, _group_of(ref))
        self._registry.tags.check_input(actor, _group_of(ref), keys, "TagKeys")
        return await self._store.update_tags(
            ref, lambda current: merge_tags(current, (), keys), "tags.delete", {"removed": list(keys)}, actor.name
        )

    async def tags(self, actor: Principal, ref: NodeRef) -> list[str]:
        require(actor, Role.VIEWER)
        found = await self._store.tags_of(ref)
        if found is None:
            raise NotFound(ref.kind.label, str(ref), "ResourceArn")
        return found

    # ---- the group resource policy ----------------------------------------------------------------------
    async def put_group_policy(
        self, actor: Principal, group: str, document: str, group_arn: str, package_prefix: str
    ) -> None:
        """Store the policy with the grants it translates into; a statement outside that subset is refused."""
        require(actor, Role.ADMIN)
        grants = grants_of_policy(document, group, group_arn, package_prefix)
        await self._store.set_group_policy(group, document, {k: r.value for k, r in grants.items()}, actor.name)

    async def delete_group_policy(self, actor: Principal, group: str) -> None:
        require(actor, Role.ADMIN)
        if await self.group_policy(actor, group) is None:
            raise NotFound("policy of model package group", group, "ModelPackageGroupName")
        await self._store.set_group_policy(group, None, None, actor.name)

    async def group_policy(self, actor: Principal, group: str, field: str = "ModelPackageGroupName") -> str | None:
        require(actor, Role.VIEWER)
        states = await self._store.group_states([group])
        if group not in states or states[group][0]:
            raise NotFound("model package group", group, field)
        return states[group][1]


def _group_of(ref: NodeRef) -> str | None:
    if ref.kind in (NodeKind.MODEL_GROUP, NodeKind.MODEL_VERSION):
        return str(ref.parts[0])
    return None
