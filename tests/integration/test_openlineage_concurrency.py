"""Concurrent delivery of OpenLineage events for the same runs and datasets, and who may ingest."""

from __future__ import annotations

import asyncio
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Forbidden
from lineage_graph.integrations.openlineage import parse_events
from lineage_graph.services.ingest import IngestService
from lineage_graph.store.graph import Neo4jGraph
from tests.integration.test_openlineage import _dataset, _run_event
from tests.support import domain_node_count


def test_concurrent_events_for_the_same_runs_and_datasets_never_duplicate(
    http: httpx.Client, db: Driver, base_url: str
) -> None:
    runs = [str(uuid.uuid4()) for _ in range(6)]
    events = []
    for index, run_id in enumerate(runs):
        # Every run reads and writes the same datasets, so their nodes are contended by every request.
        shared = {"inputs": [_dataset("public.raw"), _dataset("public.lookup")], "outputs": [_dataset("public.out")]}
        minute = 10 + index
        for event_type, second in [("START", 0), ("RUNNING", 10), ("RUNNING", 20), ("COMPLETE", 30)]:
            at = f"2026-03-01T10:{minute:02d}:{second:02d}Z"
            events.extend([_run_event(event_type, run_id, at, **shared)] * 3)  # each delivered three times
    random.Random(7).shuffle(events)

    def send(event: dict[str, object]) -> int:
        with httpx.Client(base_url=base_url, timeout=60, headers=http.headers) as client:
            return client.post("/api/v1/lineage", json=event).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, events))
    assert statuses == [201] * len(events)

    counts = db.execute_query(
        # The global log's head appears when the server's sequencer first runs: not this test's subject.
        "MATCH (n) WHERE NOT n:AuditHead WITH labels(n)[0] AS label, count(n) AS n RETURN label, n ORDER BY label"
    ).records
    assert {r["label"]: r["n"] for r in counts} == {
        "ApiToken": 1,  # the session's admin token (kept across tests)
        "AuditEvent": len(events) + len(runs),  # one per batch, and one per run that completed
        "AuditPartition": 1,  # every batch names one run: they share the runs' chain
        "Dataset": 3,
        "DatasetVersion": 2 + len(runs),  # the two unversioned inputs, one output version per run
        "Job": 1,
        "Principal": 1,
        "Run": len(runs),
    }
    duplicates = db.execute_query(
        "MATCH (a)-[r]->(b) WITH a, b, type(r) AS t, count(r) AS n WHERE n > 1 RETURN count(*) AS pairs"
    ).records
    assert duplicates[0]["pairs"] == 0
    statuses_by_run = db.execute_query("MATCH (r:Run) RETURN r.run_id AS id, r.status AS status").records
    assert {r["id"]: r["status"] for r in statuses_by_run} == dict.fromkeys(runs, "COMPLETED")
    # The latest run (by event time) produced the dataset's current version.
    current = db.execute_query("MATCH (d:Dataset {name: 'public.out'}) RETURN d.current_version AS v").records
    assert current[0]["v"] == runs[-1]
    sequences = db.execute_query("MATCH (e:AuditEvent) RETURN e.partition_sequence AS s ORDER BY s").records
    assert [r["s"] for r in sequences] == list(range(1, len(events) + len(runs) + 1))


def test_a_viewer_may_not_ingest_and_nothing_is_written(settings: Settings, db: Driver) -> None:
    body = _run_event("START", str(uuid.uuid4()), datetime(2026, 3, 1, tzinfo=UTC).isoformat())
    events = parse_events(httpx.Request("POST", "/", json=body).content)

    async def attempt() -> None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            await IngestService(graph).ingest(Principal("reader", Role.VIEWER), events)
        finally:
            await graph.close()

    with pytest.raises(Forbidden, match="reader needs the contributor role"):
        asyncio.run(attempt())
    assert domain_node_count(db) == 0
