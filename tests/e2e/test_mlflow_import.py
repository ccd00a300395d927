"""`lineage-graph import mlflow` against a real MLflow tracking server holding its own registry: models,
versions, tags, aliases, stages and each version's run arrive as lineage; a second import changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from neo4j import Driver

from lineage_graph.config import Settings
from tests.mlflow_support import TrackingServer, run_driver
from tests.support import AUDIT_LABELS, graph_fingerprint

CLI = str(Path(sys.executable).parent / "lineage-graph")
pytestmark = pytest.mark.slow


def _import(settings: Settings, tracking: TrackingServer) -> subprocess.CompletedProcess[str]:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    env = {
        **os.environ,
        "NEO4J_URI": settings.neo4j_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password,
        "COLUMNS": "200",
    }
    argv = [CLI, "import", "mlflow", "--tracking-uri", tracking.url]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)


def _row(table: str, kind: str) -> list[int]:
    line = next(line for line in table.splitlines() if f" {kind} " in line)
    return [int(cell) for cell in line.replace("│", " ").replace("┃", " ").split()[1:]]


def test_import_brings_the_registry_with_lineage_and_is_idempotent(
    mlflow_python: Path, empty_mlflow_tracking: TrackingServer, settings: Settings, db: Driver
) -> None:
    mlflow_tracking = empty_mlflow_tracking  # its own: the import brings everything the server holds
    seeded = run_driver(mlflow_python, "seed", {"MLFLOW_TRACKING_URI": mlflow_tracking.url}, "churn", "2")
    assert seeded == {"versions": ["1", "2"]}

    first = _import(settings, mlflow_tracking)
    assert first.returncode == 0, first.stdout + first.stderr
    # created, updated, unchanged, skipped, failed
    assert _row(first.stdout, "versions") == [2, 0, 0, 0, 0]
    assert _row(first.stdout, "runs") == [2, 0, 0, 0, 0]
    assert _row(first.stdout, "aliases") == [0, 1, 0, 0, 0]

    versions = db.execute_query(
        "MATCH (v:ModelVersion {group: 'churn'})-[:IN_GROUP]->(g:ModelGroup) "
        "OPTIONAL MATCH (r:Run)-[:OUTPUT]->(v) OPTIONAL MATCH (d:DatasetVersion)-[:INPUT_TO]->(r) "
        "OPTIONAL MATCH (c:CodeVersion)-[:EXECUTED_BY]->(r) "
        "RETURN v.version AS n, v.approval_status AS status, v.custom_properties AS props, g.tags AS tags, "
        "r.parameters AS params, d.name AS dataset, c.commit AS commit ORDER BY n"
    ).records
    assert [r["n"] for r in versions] == [1, 2]
    assert [r["status"] for r in versions] == ["APPROVED", "PENDING_MANUAL_APPROVAL"]
    assert json.loads(versions[0]["props"])["validated"] == "yes"
    assert "owner=risk-ml" in versions[0]["tags"]
    assert [r["commit"] for r in versions] == ["0000001abc", "0000002abc"]
    assert {r["dataset"] for r in versions} == {"transactions"}
    assert json.loads(versions[0]["params"]) == {"max_depth": "6", "eta": "0.3"}
    alias = db.execute_query(
        "MATCH (:Alias {name: 'champion'})-[:POINTS_TO]->(v:ModelVersion {group: 'churn'}) RETURN v.version AS n"
    ).records
    assert [r["n"] for r in alias] == [2]

    before = graph_fingerprint(db, AUDIT_LABELS)
    second = _import(settings, mlflow_tracking)
    assert second.returncode == 0, second.stdout + second.stderr
    assert _row(second.stdout, "versions") == [0, 0, 2, 0, 0]
    assert _row(second.stdout, "runs") == [0, 0, 0, 0, 0]
    assert graph_fingerprint(db, AUDIT_LABELS) == before
