"""The managed Neo4j runs with the settings this project chose for it (read back from the running server)."""

from __future__ import annotations

import pytest
from neo4j import Driver

from lineage_graph.neo4j_local import MIN_REPLAN_INTERVAL, LocalNeo4j


def test_a_cached_plan_is_kept_for_the_minimum_replan_interval(neo4j_instance: LocalNeo4j | None, db: Driver) -> None:
    if neo4j_instance is None:
        pytest.skip("NEO4J_URI names a Neo4j this project does not configure")
    rows = db.execute_query(
        "SHOW SETTINGS YIELD name, value WHERE name = 'dbms.cypher.min_replan_interval' RETURN value"
    ).records
    assert [r["value"] for r in rows] == [MIN_REPLAN_INTERVAL]
