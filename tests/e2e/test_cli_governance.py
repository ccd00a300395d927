"""The `lineage-graph token` and `audit verify` commands, run as a user would, against the session's Neo4j."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from neo4j import Driver

from lineage_graph.config import Settings
from lineage_graph.domain.auth import hash_token
from tests.support import bearer

CLI = str(Path(sys.executable).parent / "lineage-graph")


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    env = {
        **os.environ,
        "NEO4J_URI": settings.neo4j_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password,
        "LINEAGE_GRAPH_LOG_LEVEL": "warning",
    }
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_token_create_list_revoke(settings: Settings, db: Driver, base_url: str) -> None:
    created = _run(
        settings, "token", "create", "--name", "airflow", "--role", "contributor", "--group-role", "fraud=approver"
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("lgt_")
    token_id = created.stdout.split()[1]

    stored = db.execute_query(
        "MATCH (t:ApiToken {token_id: $id})-[:ISSUED_TO]->(p:Principal) "
        "RETURN t.token_hash AS h, p.role AS role, p.group_roles AS grants",
        id=token_id,
    )
    record = stored.records[0]
    assert record["h"] == hash_token(secret)
    assert (record["role"], record["grants"]) == ("contributor", '{"fraud": "approver"}')

    me = httpx.post(f"{base_url}/graphql", json={"query": "{ me { name role } }"}, headers=bearer(secret))
    assert me.json()["data"]["me"] == {"name": "airflow", "role": "CONTRIBUTOR"}

    listed = _run(settings, "token", "list")
    assert listed.returncode == 0
    line = next(line for line in listed.stdout.splitlines() if line.startswith(token_id))
    assert "airflow" in line
    assert "fraud=approver" in line
    assert "active" in line
    assert secret not in listed.stdout
    assert hash_token(secret) not in listed.stdout

    revoked = _run(settings, "token", "revoke", token_id)
    assert revoked.returncode == 0
    assert "revoked" in revoked.stdout
    assert (
        httpx.post(f"{base_url}/graphql", json={"query": "{ me { name } }"}, headers=bearer(secret)).status_code == 401
    )
    assert token_id not in _run(settings, "token", "list").stdout
    assert token_id in _run(settings, "token", "list", "--all").stdout

    actions = db.execute_query("MATCH (e:AuditEvent) RETURN e.action AS a, e.actor AS actor ORDER BY e.at")
    assert [r["a"] for r in actions.records] == ["token.create", "token.revoke"]
    assert all(r["actor"].startswith("operator:") for r in actions.records)


def test_token_create_refuses_bad_input_and_writes_nothing(settings: Settings, db: Driver) -> None:
    bad = _run(settings, "token", "create", "--name", "x", "--role", "viewer", "--group-role", "fraud")
    assert bad.returncode == 1
    assert "--group-role fraud" in bad.stdout
    boss = _run(settings, "token", "create", "--name", "x", "--role", "viewer", "--group-role", "x=boss")
    assert boss.returncode == 1
    assert "--group-role x=boss" in boss.stdout
    assert _run(settings, "token", "revoke", "missing").returncode == 1
    assert db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS c").records[0]["c"] == 0
    assert db.execute_query("MATCH (p:Principal {name: 'x'}) RETURN count(p) AS c").records[0]["c"] == 0


def test_audit_verify_on_an_intact_and_a_tampered_chain(settings: Settings, db: Driver) -> None:
    for name in ("a", "b", "c", "d"):
        assert _run(settings, "token", "create", "--name", name, "--role", "viewer").returncode == 0
    intact = _run(settings, "audit", "verify")
    assert intact.returncode == 0, intact.stdout
    assert "intact: 4 events in 1 partitions" in intact.stdout

    # An auditor's nightmare: someone with database access rewrites history.
    db.execute_query(
        "MATCH (e:AuditEvent {partition: 'Principal', partition_sequence: 3}) SET e.actor = 'someone-else'"
    )
    broken = _run(settings, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN in partition Principal at sequence 3" in broken.stdout


def test_audit_verify_catches_a_deleted_newest_event(settings: Settings, db: Driver) -> None:
    for name in ("a", "b"):
        assert _run(settings, "token", "create", "--name", name, "--role", "viewer").returncode == 0
    db.execute_query("MATCH (e:AuditEvent {partition: 'Principal', partition_sequence: 2}) DETACH DELETE e")
    broken = _run(settings, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN in partition Principal at sequence 2" in broken.stdout
    assert "missing" in broken.stdout
