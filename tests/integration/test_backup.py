"""Backup and restore of the managed Neo4j with the real CLI: dump a graph, wipe it, load the dump, find it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from neo4j import GraphDatabase

from lineage_graph.config import Settings
from lineage_graph.neo4j_local import LocalNeo4j, free_port
from tests.support import graph_fingerprint

_GRAPH = """
CREATE (g:ModelGroup {name: 'churn', description: 'Customer churn', tags: ['prod', 'tabular'], latest_version: 2})
CREATE (v1:ModelVersion {group: 'churn', version: 1, name: 'churn/1', approval_status: 'APPROVED',
                         created_at: datetime('2026-11-01T10:00:00Z'), metrics: '[{"name": "auc", "value": 0.91}]'})
CREATE (v2:ModelVersion {group: 'churn', version: 2, name: 'churn/2', approval_status: 'PENDING_MANUAL_APPROVAL'})
CREATE (d:Dataset {namespace: 's3://lake', name: 'customers'})
CREATE (dv:DatasetVersion {namespace: 's3://lake', name: 'customers', version: '2026-11-01', uri: 's3://lake/c/1'})
CREATE (r:Run {run_id: '0b7e8f0e-1c1d-4f6a-9d43-7e2f3b0f9a11', kind: 'TRAINING', status: 'COMPLETED'})
CREATE (v1)-[:IN_GROUP]->(g), (v2)-[:IN_GROUP]->(g), (dv)-[:VERSION_OF]->(d),
       (dv)-[:INPUT_TO]->(r), (r)-[:OUTPUT]->(v1), (v2)-[:DERIVED_FROM]->(v1)
"""


def _cli(env: dict[str, str], *args: str) -> str:
    cli = Path(sys.executable).with_name("lineage-graph")
    result = subprocess.run([str(cli), *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_dump_wipe_load_finds_the_same_graph(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEO4J_")}
    env.update(
        LINEAGE_GRAPH_DATA_DIR=str(tmp_path / "data"),
        LINEAGE_GRAPH_NEO4J_BOLT_PORT=str(port),
        LINEAGE_GRAPH_NEO4J_HEAP="512m",
        LINEAGE_GRAPH_NEO4J_PAGECACHE="64m",
    )
    # The instance the CLI manages, seen from here to connect to it and to stop it whatever happens.
    instance = LocalNeo4j(home=tmp_path / "data" / "neo4j", cache_dir=Settings().cache_dir, bolt_port=port)
    try:
        _cli(env, "neo4j", "start")
        _cli(env, "schema", "apply")
        conn = instance.credentials()
        with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
            driver.execute_query(_GRAPH)
            before = graph_fingerprint(driver)
        constraints_before = _names(instance, "SHOW CONSTRAINTS YIELD name")
        assert len(before) == 12
        assert constraints_before

        out = _cli(env, "neo4j", "dump", "--to", str(tmp_path / "backups"))
        assert "Stopping Neo4j" in out, "community edition dumps a stopped database: the CLI says it stops it"
        dumps = list((tmp_path / "backups").glob("neo4j-*.dump"))
        assert len(dumps) == 1
        assert dumps[0].stat().st_size > 0
        assert instance.running_pid() is not None, "a running instance is started again after the dump"

        with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
            driver.execute_query("MATCH (n) DETACH DELETE n")
            driver.execute_query("CREATE (:Dataset {namespace: 'later', name: 'written-after-the-dump'})")
            assert graph_fingerprint(driver) != before

        _cli(env, "neo4j", "load", "--from", str(dumps[0]))
        with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
            assert graph_fingerprint(driver) == before
        assert _names(instance, "SHOW CONSTRAINTS YIELD name") == constraints_before
    finally:
        instance.stop()


def test_load_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEO4J_")}
    env.update(LINEAGE_GRAPH_DATA_DIR=str(tmp_path), LINEAGE_GRAPH_NEO4J_BOLT_PORT=str(free_port()))
    cli = Path(sys.executable).with_name("lineage-graph")
    result = subprocess.run(
        [str(cli), "neo4j", "load", "--from", str(tmp_path / "nope.dump")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "nope.dump is not a file" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def _names(instance: LocalNeo4j, query: str) -> set[str]:
    conn = instance.credentials()
    with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
        return {record["name"] for record in driver.execute_query(query).records}
