"""An audited write's event on the wire: once this process has appended to a partition, its next event there is
sealed in advance against the head it left, and the lock, the check and the append are one statement — the
write's own statement, where the write is one statement. A head that moved in between (another writer) costs
one statement more, never a broken or forked chain."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid

import pytest
from neo4j import AsyncManagedTransaction, Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.audit import AuditEntry, partition_of
from lineage_graph.domain.auth import SYSTEM
from lineage_graph.domain.commands import CodeVersionSpec, DatasetVersionSpec, RecordRun
from lineage_graph.domain.errors import NotFound
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.services.container import Services
from lineage_graph.store import audit
from lineage_graph.store.graph import Neo4jGraph
from tests.support import verify_audit_chain


def _run(n: int) -> RecordRun:
    return RecordRun(
        f"append-{uuid.uuid4().hex[:8]}-{n}",
        "append",
        "evaluate",
        input_specs=(DatasetVersionSpec("s3://append", "features", "1"),),
    )


async def _foreign_append(graph: Neo4jGraph, subject: str) -> None:
    """Another writer's event in the partition: locked, sealed and appended without this process's memory."""

    async def work(tx: AsyncManagedTransaction) -> None:
        head = await audit.lock_partition(tx, partition_of(subject))
        _, params = audit.seal(head, AuditEntry("someone-else", "run.record", subject, {}))
        await (await tx.run(audit.APPEND_EVENT + "RETURN 1 AS appended", audit=params)).consume()

    await graph.write(work)


def _sequences(db: Driver, partition: str) -> list[int]:
    rows = db.execute_query(
        "MATCH (e:AuditEvent {partition: $p}) RETURN e.partition_sequence AS s ORDER BY s", p=partition
    ).records
    return [int(r["s"]) for r in rows]


def test_the_next_event_of_a_partition_is_one_statement_and_a_moved_head_one_more(
    settings: Settings, db: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    partition = partition_of("Run:any")

    async def scenario() -> list[int]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        services = Services.build(graph)
        try:
            sent: list[int] = []
            for n in range(5):
                if n == 3:
                    await _foreign_append(graph, "Run:foreign")
                caplog.clear()
                with caplog.at_level(logging.DEBUG, logger="neo4j"):
                    await services.registry.record_run(SYSTEM, _run(n))
                # The session's live server runs in another thread of this process: its traffic is not ours.
                here = threading.get_ident()
                messages = [r.getMessage() for r in caplog.records if r.name.startswith("neo4j") and r.thread == here]
                sent.append(sum(" C: RUN " in m for m in messages))
            return sent
        finally:
            await graph.close()

    # The run and its event in one statement when the event is sealed against the remembered head; where
    # nothing is remembered yet or another writer moved the head, that statement answers the head it locked and a
    # second one appends.
    assert asyncio.run(scenario()) == [2, 1, 1, 2, 1]
    assert _sequences(db, partition) == [1, 2, 3, 4, 5, 6]
    report = verify_audit_chain(settings)
    assert report.intact, report.broken


def test_concurrent_writers_of_one_partition_keep_one_chain(settings: Settings, db: Driver) -> None:
    async def scenario() -> None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        services = Services.build(graph)
        try:
            # Every one of them guesses the same head: one wins it, the others find it moved and seal again.
            for wave in range(3):
                await asyncio.gather(*(services.registry.record_run(SYSTEM, _run(16 * wave + i)) for i in range(16)))
        finally:
            await graph.close()

    asyncio.run(scenario())
    assert _sequences(db, partition_of("Run:any")) == list(range(1, 49))
    report = verify_audit_chain(settings)
    assert report.intact, report.broken


def test_a_single_statement_write_carries_its_event_and_one_that_matches_nothing_records_nothing(
    settings: Settings, db: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> list[int]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        services = Services.build(graph)
        here = threading.get_ident()
        try:
            sent: list[int] = []
            for n in range(3):
                caplog.clear()
                with caplog.at_level(logging.DEBUG, logger="neo4j"):
                    spec = CodeVersionSpec("github.com/example/append", f"{uuid.uuid4().hex}{n}")
                    await services.registry.register_code_version(SYSTEM, spec)
                messages = [r.getMessage() for r in caplog.records if r.name.startswith("neo4j") and r.thread == here]
                sent.append(sum(" C: RUN " in m for m in messages))
            with pytest.raises(NotFound, match="model version"):
                await services.registry.set_archived(SYSTEM, NodeRef.of(NodeKind.MODEL_VERSION, "absent", 1), True)
            return sent
        finally:
            await graph.close()

    assert asyncio.run(scenario()) == [2, 1, 1]
    assert _sequences(db, partition_of("CodeVersion:any")) == [1, 2, 3]
    # The archive of a version that does not exist wrote nothing: no event, no partition for its group.
    assert _sequences(db, partition_of("ModelVersion:absent/1")) == []
    report = verify_audit_chain(settings)
    assert report.intact, report.broken
