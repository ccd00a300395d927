"""Upgrading a database written by an earlier release (`lineage-graph migrate`): admins only, idempotent, with
a dry run that only reports, and one audit event recording what a real run changed."""

from __future__ import annotations

from dataclasses import dataclass

from lineage_graph.domain.audit import LEGACY_PARTITION, AuditEntry, ChainBreak, Head, PartitionVerifier
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.services.authorization import require
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.migrations import MigrationStore

BATCH = 1000
AUDIT_ACTION = "database.migrate"


@dataclass(frozen=True)
class MigrationReport:
    dry_run: bool
    legacy_events: int  # events of the pre-partition chain (anchored before or now)
    anchored: int  # legacy events anchored by this run (a dry run: that would be)
    legacy_break: ChainBreak | None  # the legacy chain does not verify: `audit verify` will report it too
    tags_filled: int  # datasets and dataset versions given their empty tag list (a dry run: that would be)
    search_index_rebuilt: bool  # the synchronous full-text index rebuilt eventually consistent (or would be)
    versions_unnamed: int  # model versions taken out of the index's name entries (a dry run: that would be)

    @property
    def changed(self) -> bool:
        return bool(self.anchored or self.tags_filled or self.search_index_rebuilt or self.versions_unnamed)


class MigrationService:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._store = MigrationStore(graph)

    async def migrate(self, actor: Principal, *, dry_run: bool) -> MigrationReport:
        """Anchor the pre-partition audit chain (verified first, with its original hashes), fill the tag
        lists OpenLineage left empty, rebuild a synchronous full-text index and take model versions' names out of it.
        A dry run reads and reports only."""
        require(actor, Role.ADMIN)
        plan = await self._store.plan()
        verifier = PartitionVerifier(LEGACY_PARTITION, log_through=0)
        pending = []
        anchored = seen = 0
        last: Head | None = None  # the chain's last stored event, which its head records (broken or not)
        async for event in self._store.legacy_chain(BATCH):
            verifier.add(event)
            last = Head(int(event.sequence), str(event.hash))
            seen += 1
            if event.log_hash is None:
                pending.append(event)
            if not dry_run and len(pending) >= BATCH:
                anchored += await self._store.anchor(pending)
                pending = []
        # The legacy chain has no head of its own to compare with: `audit verify` checks its end against the
        # global log's head, which the old chain's head became.
        if dry_run:
            total = plan.untagged_datasets + plan.untagged_dataset_versions
            return MigrationReport(
                True,
                seen,
                plan.unanchored_events,
                verifier.broken,
                total,
                plan.synchronous_search_index,
                plan.named_model_versions,
            )
        if pending:
            anchored += await self._store.anchor(pending)
        filled = 0
        while batch := await self._store.fill_tags(BATCH):
            filled += batch
        unnamed = 0
        while batch := await self._store.unname_versions(BATCH):
            unnamed += batch
        if plan.synchronous_search_index:
            await self._store.rebuild_search_index()
        report = MigrationReport(False, seen, anchored, verifier.broken, filled, plan.synchronous_search_index, unnamed)
        if report.changed or (last is not None and plan.legacy_head is None):
            legacy_head = (last.sequence, last.hash) if last is not None and plan.legacy_head is None else None
            entry = AuditEntry(
                actor.name,
                AUDIT_ACTION,
                None,
                {
                    "legacy_events_anchored": anchored,
                    "legacy_chain_head": last.sequence if last else None,
                    "legacy_chain_intact": verifier.broken is None,
                    "tags_filled": filled,
                    "search_index_rebuilt": plan.synchronous_search_index,
                    "model_versions_unnamed": unnamed,
                },
            )
            await self._store.finish(legacy_head, entry)
        return report
