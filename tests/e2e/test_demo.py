"""`lineage-graph demo` through the real CLI: loads the example, and loading it twice changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys

from neo4j import Driver

from lineage_graph.config import Settings
from tests.support import GraphQLClient, graph_counts


def _demo(settings: Settings) -> str:
    env = {
        **os.environ,
        "NEO4J_URI": settings.neo4j_uri or "",
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password or "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "lineage_graph.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_demo_loads_once(settings: Settings, db: Driver, gql: GraphQLClient) -> None:
    out = _demo(settings)
    assert "registered versions 1, 2, 3" in out
    versions = db.execute_query("MATCH (v:ModelVersion) RETURN count(v) AS c").records[0]["c"]
    assert versions == 3
    nodes, rels = graph_counts(db)
    audit = db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS c").records[0]["c"]
    _demo(settings)
    audit_after = db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS c").records[0]["c"]
    # the second load only appends audit records of its idempotent upserts
    assert graph_counts(db) == (nodes + (audit_after - audit), rels)
    champion = gql.data(
        '{ modelVersionByAlias(group: "fraud-detector", alias: "champion") { version '
        "trainedOn { name } producedBy { job { name } } deployments { trafficShare } } }"
    )
    assert champion["modelVersionByAlias"]["version"] == 2
    assert {d["name"] for d in champion["modelVersionByAlias"]["trainedOn"]} == {
        "transactions_clean",
        "chargeback_labels",
    }
