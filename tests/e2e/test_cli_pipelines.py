"""`lineage-graph register` and `wait-approval` as a CI job runs them: over HTTP only (no Neo4j settings in
the environment), JSON output, and exit codes to branch on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from neo4j import Driver

from lineage_graph.client import Client
from lineage_graph.domain.auth import Role
from tests.support import AUDIT_LABELS, bearer, graph_fingerprint

CLI = str(Path(sys.executable).parent / "lineage-graph")
TokenFactory = Callable[..., str]


def _run(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "LINEAGE_GRAPH_"))}
    env |= {"LINEAGE_GRAPH_URL": url, "LINEAGE_GRAPH_TOKEN": token, "LINEAGE_GRAPH_LOG_LEVEL": "warning"}
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_register_with_lineage_then_wait_for_the_decision(base_url: str, make_token: TokenFactory, db: Driver) -> None:
    ci = make_token("ci", Role.CONTRIBUTOR)
    with Client(base_url, ci) as client:
        client.create_model_group("churn")
    registered = _run(
        base_url, ci, "register", "--group", "churn", "--artifact", "s3://models/churn/1", "--metric", "auc=0.91",
        "--param", "max_depth=6", "--param", "objective=binary", "--dataset", "s3://lake/customers@2024-06-01",
        "--code", "github.com/acme/churn@3f2c1e9a", "--json",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    version = json.loads(registered.stdout)
    assert (version["group"], version["version"], version["metrics"]) == ("churn", 1, {"auc": 0.91})
    stored = db.execute_query(
        "MATCH (d:DatasetVersion)-[:TRAINED]->(v:ModelVersion {group: 'churn'})<-[:BUILT]-(c:CodeVersion) "
        "RETURN v.hyperparameters AS h, d.name AS d, c.commit AS c"
    ).records
    assert [(json.loads(r["h"]), r["d"], r["c"]) for r in stored] == [
        ({"max_depth": 6, "objective": "binary"}, "customers", "3f2c1e9a")
    ]

    pending = _run(base_url, ci, "wait-approval", "--group", "churn", "--version", "1", "--timeout", "0.2")
    assert pending.returncode == 6, pending.stderr
    document = 'mutation($id: ID!) { approveModelVersion(id: $id, comment: "ok") { decision { toStatus } } }'
    reviewer = bearer(make_token("reviewer", Role.APPROVER))
    decided = httpx.post(f"{base_url}/graphql", json={"query": document, "variables": {"id": version["id"]}},
                         headers=reviewer, timeout=30).json()  # fmt: skip
    assert "errors" not in decided, decided
    approved = _run(base_url, ci, "wait-approval", "--group", "churn", "--version", "1", "--json")
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["approvalStatus"] == "APPROVED"


def test_refusals_have_their_own_exit_codes_and_write_nothing(
    base_url: str, make_token: TokenFactory, db: Driver
) -> None:
    ci = make_token("ci", Role.CONTRIBUTOR)
    before = graph_fingerprint(db, AUDIT_LABELS)
    missing = _run(base_url, ci, "register", "--group", "nope", "--artifact", "s3://m/1", "--json")
    assert missing.returncode == 1
    error = json.loads(missing.stdout)["error"]
    assert error["code"] == "NOT_FOUND"
    assert [p["field"] for p in error["problems"]] == ["group"]

    invalid = _run(base_url, ci, "register", "--group", "nope", "--artifact", "not-a-uri")
    assert invalid.returncode == 1
    assert "artifactUri" in invalid.stderr

    usage = _run(base_url, ci, "register", "--group", "g", "--artifact", "s3://m/1", "--metric", "auc")
    assert usage.returncode == 2
    assert "not KEY=VALUE" in usage.stderr
    assert _run(base_url, "lgt_wrong", "register", "--group", "g", "--artifact", "s3://m/1").returncode == 3
    unreachable = _run("http://127.0.0.1:9", ci, "register", "--group", "g", "--artifact", "s3://m/1")
    assert unreachable.returncode == 4
    assert graph_fingerprint(db, AUDIT_LABELS) == before
