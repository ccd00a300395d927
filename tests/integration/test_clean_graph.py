"""The clean graph every test starts from, wiped while the session's live server keeps placing audit events."""

from __future__ import annotations

import asyncio
import time

from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.services.audit import AuditService
from lineage_graph.store.audit import _place_pending
from lineage_graph.store.graph import Neo4jGraph
from tests.support import clean_graph, issue_token

_BLOCKED_WIPE = """
SHOW TRANSACTIONS YIELD currentQuery, status
WHERE status STARTS WITH 'Blocked' AND currentQuery CONTAINS 'DETACH DELETE'
RETURN count(*) AS blocked
"""


def _wait_until_the_wipe_waits(db: Driver) -> None:
    deadline = time.monotonic() + 30
    while not db.execute_query(_BLOCKED_WIPE).records[0]["blocked"]:
        assert time.monotonic() < deadline, "the wipe never waited for the placement in flight"
        time.sleep(0.05)


def test_a_placement_in_flight_during_the_wipe_leaves_an_empty_log_behind(settings: Settings, db: Driver) -> None:
    db.execute_query("MATCH (h:AuditHead) DETACH DELETE h")  # a fresh log: the placement below creates the head

    async def scenario() -> None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            async with graph.driver.session(database=graph.database) as session:
                placement = await session.begin_transaction()
                # The sequencer's own transaction, held open: it takes (and creates) the log head first, so no
                # other sequencer can place the event committed next; then it places that event.
                assert await _place_pending(placement, 500) == 0
                await asyncio.to_thread(issue_token, settings, "someone", Role.VIEWER)
                assert await _place_pending(placement, 500) == 1
                wipe = asyncio.ensure_future(asyncio.to_thread(clean_graph, db))
                await asyncio.to_thread(_wait_until_the_wipe_waits, db)
                await placement.commit()
                await wipe
            report = await AuditService(graph).verify(SYSTEM)
        finally:
            await graph.close()
        assert report.broken is None, report.broken
        assert (report.events, report.log_sequence) == (0, 0)

    asyncio.run(scenario())
    heads = db.execute_query("MATCH (h:AuditHead) RETURN h.sequence AS sequence").records
    assert [r["sequence"] for r in heads] in ([], [0])
