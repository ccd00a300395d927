"""`lineage-graph migrate` on a database in the shape earlier releases wrote, built here through Cypher: an audit
log as one global hash chain (hashed as that release did, computed here independently) and OpenLineage
datasets without tags. After the migration `audit verify` is intact with the original hashes, the log goes on
from the old head, a second run finds nothing to do, and a tampered legacy event is still caught."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from neo4j import Driver

from lineage_graph.config import Settings
from tests.support import GraphQLClient, graph_fingerprint

CLI = str(Path(sys.executable).parent / "lineage-graph")
GENESIS = "0" * 64

# What the release before partitioned chains wrote: one AuditEvent per mutation, one AuditHead.
_OLD_EVENT = """
CREATE (e:AuditEvent {sequence: $sequence, actor: $actor, action: $action, subject: $subject, payload: $payload,
                      outcome: 'OK', at: $at, previous_hash: $previous_hash, hash: $hash})
"""
# MERGE: the server's sequencer may have created an empty head around the fixture's wipe.
_OLD_HEAD = "MERGE (h:AuditHead {id: 'audit'}) SET h.sequence = $sequence, h.hash = $hash"
# What OpenLineage wrote before tags existed on datasets: no `tags`, no `search_tags`.
_OLD_DATASET = """
CREATE (d:Dataset {namespace: 's3://lake', name: 'tx', created_at: datetime()})
CREATE (v:DatasetVersion {namespace: 's3://lake', name: 'tx', version: '1', created_at: datetime()})
CREATE (v)-[:VERSION_OF]->(d)
"""
# A model version as earlier releases registered it: in the full-text index by its name.
_OLD_MODEL_VERSION = """
CREATE (g:ModelGroup {name: 'fraud', created_at: datetime(), updated_at: datetime(), latest_version: 1, tags: [],
                      search_tags: ''})
CREATE (v:ModelVersion {group: 'fraud', version: 1, name: 'fraud/1', tags: [], search_tags: '', archived: false,
                        artifact_uri: 's3://m/fraud/1', approval_status: 'PENDING_MANUAL_APPROVAL',
                        created_at: datetime(), updated_at: datetime()})
CREATE (v)-[:IN_GROUP]->(g)
"""


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    env = {
        **os.environ,
        "NEO4J_URI": settings.neo4j_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password,
        "LINEAGE_GRAPH_OPERATOR": "upgrader",
        "LINEAGE_GRAPH_LOG_LEVEL": "warning",
    }
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def _old_hash(previous: str, sequence: int, event: dict[str, Any], at: datetime) -> str:
    content = {
        "sequence": sequence,
        "actor": event["actor"],
        "action": event["action"],
        "subject": event["subject"],
        "payload": event["payload"],
        "outcome": "OK",
        "at": at.isoformat(),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((previous + text).encode()).hexdigest()


def _write_old_database(db: Driver) -> list[str]:
    """Five events of the old global chain and its head; returns their hashes."""
    events = [
        {"actor": "ana", "action": "model_group.create", "subject": "ModelGroup:fraud", "payload": {"name": "fraud"}},
        {"actor": "ana", "action": "model_version.register", "subject": "ModelVersion:fraud/1", "payload": {"v": 1}},
        {"actor": "bob", "action": "model_version.approve", "subject": "ModelVersion:fraud/1", "payload": {"to": "x"}},
        {
            "actor": "ana",
            "action": "dataset_version.register",
            "subject": "DatasetVersion:s3://lake/tx/1",
            "payload": {},
        },
        {"actor": "ops", "action": "token.create", "subject": "Principal:airflow", "payload": {"rôle": "é"}},
    ]
    start = datetime(2026, 11, 3, 9, 30, 0, 123456, tzinfo=UTC)
    previous, hashes = GENESIS, []
    for n, event in enumerate(events, start=1):
        at = start + timedelta(minutes=n)
        digest = _old_hash(previous, n, event, at)
        payload = json.dumps(event["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        db.execute_query(
            _OLD_EVENT,
            sequence=n,
            actor=event["actor"],
            action=event["action"],
            subject=event["subject"],
            payload=payload,
            at=at,
            previous_hash=previous,
            hash=digest,
        )
        previous = digest
        hashes.append(digest)
    db.execute_query(_OLD_HEAD, sequence=len(events), hash=previous)
    db.execute_query(_OLD_DATASET)
    db.execute_query(_OLD_MODEL_VERSION)
    return hashes


def test_migrate_anchors_the_old_chain_and_fills_tags(settings: Settings, db: Driver, gql: GraphQLClient) -> None:
    hashes = _write_old_database(db)
    before = _run(settings, "audit", "verify")
    assert before.returncode == 1
    assert "lineage-graph migrate" in before.stdout, "the break says what to do"

    unchanged = graph_fingerprint(db)
    dry = _run(settings, "migrate", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would anchor 5" in dry.stdout
    assert "would fill the empty tag list of 2" in dry.stdout
    assert "would take the names of 1 model versions out of the full-text index" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    assert graph_fingerprint(db) == unchanged

    done = _run(settings, "migrate")
    assert done.returncode == 0, done.stderr
    assert "anchored 5" in done.stdout
    assert "warning" not in done.stdout
    stored = db.execute_query(
        "MATCH (e:AuditEvent {partition: 'legacy'}) RETURN e.hash AS hash, e.event_id AS id, e.group AS g "
        "ORDER BY e.partition_sequence"
    ).records
    assert [r["hash"] for r in stored] == hashes, "the original hashes are kept"
    assert [r["id"] for r in stored] == [f"legacy-{n}" for n in range(1, 6)]
    assert [r["g"] for r in stored][:3] == ["fraud"] * 3
    tags = db.execute_query("MATCH (n) WHERE n:Dataset OR n:DatasetVersion RETURN n.tags AS t, n.search_tags AS s")
    assert [(r["t"], r["s"]) for r in tags.records] == [([], ""), ([], "")]
    assert "took the names of 1 model versions" in done.stdout
    version = db.execute_query("MATCH (v:ModelVersion) RETURN v.name AS name, v.search_tags AS s").records
    assert [(r["name"], r["s"]) for r in version] == [(None, None)]
    hits = gql.data('{ search(text: "fraud/1") { node { ... on ModelVersion { version } } } }')["search"]
    assert hits[0] == {"node": {"version": 1}}, "still found by its name, first"
    recorded = db.execute_query(
        "MATCH (e:AuditEvent {action: 'database.migrate'}) RETURN e.actor AS actor, e.payload AS payload"
    ).records
    assert [r["actor"] for r in recorded] == ["operator:upgrader"]
    assert json.loads(recorded[0]["payload"])["legacy_events_anchored"] == 5
    assert json.loads(recorded[0]["payload"])["model_versions_unnamed"] == 1

    # The server goes on from the old head: new events are placed after it, and the whole log verifies.
    gql.data('mutation { createModelGroup(input: {name: "after-upgrade"}) { name } }')
    _wait_placed(db)
    verified = _run(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit log intact" in verified.stdout
    first_new = db.execute_query("MATCH (e:AuditEvent) WHERE e.sequence = 6 RETURN e.action AS a").records
    assert len(first_new) == 1, "the global log continues after the legacy segment"

    again = _run(settings, "migrate")
    assert again.returncode == 0
    assert "nothing to migrate" in again.stdout
    assert len(db.execute_query("MATCH (e:AuditEvent {action: 'database.migrate'}) RETURN e").records) == 1

    # The original hashes are what is checked: altering a legacy event is a break at its position.
    db.execute_query("MATCH (e:AuditEvent {partition: 'legacy', partition_sequence: 3}) SET e.actor = 'mallory'")
    tampered = _run(settings, "audit", "verify")
    assert tampered.returncode == 1
    assert "BROKEN in partition legacy at sequence 3" in tampered.stdout


def _wait_placed(db: Driver) -> None:
    deadline = time.monotonic() + 30
    while db.execute_query("MATCH (e:AuditEvent) WHERE e.pending RETURN count(e) AS n").records[0]["n"]:
        assert time.monotonic() < deadline, "the sequencer placed nothing"
        time.sleep(0.1)


# The full-text index as earlier releases created it: synchronous, so every commit waited for Lucene's refresh.
_SYNCHRONOUS_SEARCH_INDEX = """
CREATE FULLTEXT INDEX registry_search IF NOT EXISTS
  FOR (n:ModelGroup|ModelVersion|Dataset|DatasetVersion|Job|Run|CodeVersion)
  ON EACH [n.name, n.description, n.search_tags, n.namespace, n.repository, n.job_name]
"""
_SEARCH_INDEX_CONFIG = (
    "SHOW FULLTEXT INDEXES YIELD name, options WHERE name = 'registry_search' "
    "RETURN options.indexConfig['fulltext.eventually_consistent'] AS ec"
)


def test_migrate_rebuilds_a_synchronous_search_index(settings: Settings, db: Driver, gql: GraphQLClient) -> None:
    assert db.execute_query(_SEARCH_INDEX_CONFIG).records[0]["ec"] is True, "a new database gets the new index"
    db.execute_query("DROP INDEX registry_search")
    db.execute_query(_SYNCHRONOUS_SEARCH_INDEX)
    db.execute_query("CALL db.awaitIndexes(60)")
    gql.data('mutation { createModelGroup(input: {name: "kept-searchable", description: "churn scorer"}) { name } }')

    dry = _run(settings, "migrate", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would rebuild the full-text index" in dry.stdout
    assert db.execute_query(_SEARCH_INDEX_CONFIG).records[0]["ec"] is not True, "a dry run changes nothing"

    done = _run(settings, "migrate")
    assert done.returncode == 0, done.stderr
    assert "rebuilt the full-text index" in done.stdout
    assert db.execute_query(_SEARCH_INDEX_CONFIG).records[0]["ec"] is True
    hits = gql.data('{ search(text: "churn") { node { __typename ... on ModelGroup { name } } } }')["search"]
    assert {"__typename": "ModelGroup", "name": "kept-searchable"} in [h["node"] for h in hits], "indexed again"

    again = _run(settings, "migrate")
    assert "nothing to migrate" in again.stdout
