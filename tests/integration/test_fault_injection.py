"""SIGKILL Neo4j in the middle of a registration load: nothing acknowledged is lost, nothing is doubled.

A private Neo4j (killed and restarted on the same data) and a private live server. Eight HTTP clients register
model versions into three groups, each registration with its own clientToken; a refused request (503,
UNAVAILABLE) is retried with the same token until it is acknowledged or its retry budget runs out. Afterwards the
graph must hold every acknowledged registration, contiguous version numbers 1..N per group, one version per
token, one audit event per version and an intact audit chain, and the same server must answer again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from neo4j import GraphDatabase

from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role
from lineage_graph.neo4j_local import LocalNeo4j, free_port
from tests.support import bearer, issue_token, live_server

GROUPS = ("fault-a", "fault-b", "fault-c")
CLIENTS = 8
PER_CLIENT = 30  # registrations each client makes: a bounded load of 240
KILL_AFTER_ACKS = 40  # SIGKILL once this many registrations were acknowledged, i.e. well inside the load
RETRY_BUDGET = 90.0  # seconds one registration keeps retrying after a refusal (restart takes ~10-20 s)
LOAD_DEADLINE = 240.0  # the whole load stops by itself after this long

REGISTER = """
mutation Register($input: RegisterModelVersionInput!) {
  registerModelVersion(input: $input) { groupName version artifactUri }
}
"""


@dataclass(frozen=True)
class Ack:
    token: str
    group: str
    version: int
    artifact_uri: str


@dataclass
class Outcomes:
    """What the clients saw, shared by their threads (guarded by `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[Ack] = field(default_factory=list)
    refused: int = 0  # requests answered 503 / UNAVAILABLE (or not answered at all)
    retried: set[str] = field(default_factory=set)  # tokens that needed at least one retry
    gave_up: list[str] = field(default_factory=list)  # tokens never acknowledged within the retry budget
    unexpected: list[str] = field(default_factory=list)  # any other answer: a bug


def _register(http: httpx.Client, token: str, group: str, uri: str, outcomes: Outcomes, stop_at: float) -> None:
    variables = {"input": {"group": group, "artifactUri": uri, "clientToken": token, "framework": "sklearn"}}
    give_up_at: float | None = None
    while True:
        try:
            response = http.post("/graphql", json={"query": REGISTER, "variables": variables})
        except httpx.TransportError as exc:
            # No answer (e.g. a read timeout while Neo4j died under the request): unknown outcome, so retry.
            refusal = type(exc).__name__
        else:
            try:
                body = response.json()
            except ValueError:
                body = {}  # not JSON: counted as unexpected below
            data = body.get("data")
            if response.status_code == 200 and data and not body.get("errors"):
                created = data["registerModelVersion"]
                with outcomes.lock:
                    outcomes.acked.append(Ack(token, created["groupName"], created["version"], created["artifactUri"]))
                return
            codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
            if codes == {"OUTCOME_UNKNOWN"}:
                # Neo4j died during the commit: the change may or may not be in. With a client token the
                # documented answer is to repeat the request, which returns the version if it was created.
                refusal = "OUTCOME_UNKNOWN"
            elif response.status_code != 503 or codes != {"UNAVAILABLE"}:
                with outcomes.lock:
                    outcomes.unexpected.append(f"{token}: HTTP {response.status_code} {response.text[:300]}")
                return
            else:
                refusal = "UNAVAILABLE"
        now = time.monotonic()
        with outcomes.lock:
            outcomes.refused += 1
            outcomes.retried.add(token)
        give_up_at = give_up_at or min(now + RETRY_BUDGET, stop_at)
        if now >= give_up_at:
            with outcomes.lock:
                outcomes.gave_up.append(f"{token} ({refusal})")
            return
        time.sleep(0.25)


def _client(url: str, secret: str, index: int, outcomes: Outcomes, stop_at: float) -> None:
    with httpx.Client(base_url=url, timeout=30, headers=bearer(secret)) as http:
        for n in range(PER_CLIENT):
            if time.monotonic() >= stop_at:
                return
            token = f"fault-{index}-{n}"
            _register(
                http, token, GROUPS[(index + n) % len(GROUPS)], f"s3://models/{token}/model.tar.gz", outcomes, stop_at
            )


def _wait(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:.0f}s")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_mid_load_loses_no_acknowledged_registration(tmp_path: Path) -> None:
    instance = LocalNeo4j(
        home=tmp_path / "neo4j", cache_dir=Settings().cache_dir, bolt_port=free_port(), heap="512m", pagecache="64m"
    )
    conn = instance.start()
    settings = Settings(
        neo4j_uri=conn.uri, neo4j_user=conn.user, neo4j_password=conn.password, data_dir=tmp_path / "data"
    )
    try:
        with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as probe:
            secret = issue_token(settings, "fault-admin", Role.ADMIN)
            probe.headers.update(bearer(secret))
            for group in GROUPS:
                body = probe.post(
                    "/graphql",
                    json={
                        "query": "mutation G($i: CreateModelGroupInput!) { createModelGroup(input: $i) { name } }",
                        "variables": {"i": {"name": group}},
                    },
                ).json()
                assert not body.get("errors"), body

            outcomes = Outcomes()
            stop_at = time.monotonic() + LOAD_DEADLINE
            threads = [
                threading.Thread(target=_client, args=(url, secret, i, outcomes, stop_at), daemon=True)
                for i in range(CLIENTS)
            ]
            for thread in threads:
                thread.start()
            _wait(lambda: len(outcomes.acked) >= KILL_AFTER_ACKS, within=120, what=f"{KILL_AFTER_ACKS} acks")
            acked_before_kill = len(outcomes.acked)
            instance.kill()  # SIGKILL: no checkpoint, transactions in flight die with it
            killed_at = time.monotonic()
            _wait(lambda: outcomes.refused > 0, within=30, what="a refused request during the outage")
            time.sleep(2)  # let the clients run into the outage for a while
            instance.start()  # same data directory: Neo4j recovers from its transaction log
            restarted_after = time.monotonic() - killed_at
            for thread in threads:
                thread.join(timeout=LOAD_DEADLINE + RETRY_BUDGET)
            assert not any(thread.is_alive() for thread in threads), "the load must stop by itself"

            # The same server answers again: no restart.
            assert probe.get("/readyz").status_code == 200
            page = probe.post("/graphql", json={"query": "{ modelVersions { totalCount } }"})
            assert page.status_code == 200, page.text
            total_over_http = page.json()["data"]["modelVersions"]["totalCount"]

        print(
            f"\nfault injection: {CLIENTS} clients, {len(GROUPS)} groups, {CLIENTS * PER_CLIENT} registrations; "
            f"SIGKILL after {acked_before_kill} acks, Neo4j back {restarted_after:.1f}s after the kill; "
            f"acknowledged={len(outcomes.acked)} refused={outcomes.refused} retried={len(outcomes.retried)} "
            f"gave_up={len(outcomes.gave_up)} unexpected={len(outcomes.unexpected)}"
        )
        assert outcomes.unexpected == [], outcomes.unexpected
        assert outcomes.gave_up == [], outcomes.gave_up
        assert outcomes.refused > 0, "the kill must have refused requests, or it did not hit the load"
        assert len(outcomes.acked) == CLIENTS * PER_CLIENT, "every registration is acknowledged in the end"
        assert len({a.token for a in outcomes.acked}) == len(outcomes.acked)

        with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
            versions = driver.execute_query(
                "MATCH (v:ModelVersion)-[:IN_GROUP]->(g:ModelGroup) "
                "RETURN v.group AS group, v.version AS version, v.artifact_uri AS uri, g.latest_version AS latest"
            ).records
            tokens = driver.execute_query(
                "MATCH (t:ClientToken) RETURN t.group AS group, t.token AS token, t.version AS version"
            ).records
            registered_events = driver.execute_query(
                "MATCH (e:AuditEvent {action: 'model_version.register', outcome: 'OK'}) RETURN e.subject AS subject"
            ).records

        stored = {(r["group"], r["version"]): r["uri"] for r in versions}
        assert len(stored) == len(versions), "a (group, version) pair exists twice"
        lost = [a for a in outcomes.acked if stored.get((a.group, a.version)) != a.artifact_uri]
        print(f"lost={len(lost)}")
        assert lost == [], f"acknowledged registrations missing after the crash: {lost}"
        for group in GROUPS:
            numbers = sorted(version for (g, version) in stored if g == group)
            assert numbers == list(range(1, len(numbers) + 1)), f"{group}: versions not contiguous: {numbers}"
            latest = {r["latest"] for r in versions if r["group"] == group}
            assert latest == {len(numbers)}, f"{group}: latest_version {latest} but {len(numbers)} versions"
        # One version per token: every version came from a distinct token (its uri names it), and each token
        # records the version it was acknowledged with.
        assert len(set(stored.values())) == len(stored), "two versions of the same registration"
        by_token = {(r["group"], r["token"]): r["version"] for r in tokens}
        assert len(by_token) == len(tokens) == len(stored), "client tokens and versions do not pair up"
        assert all(by_token[(a.group, a.token)] == a.version for a in outcomes.acked)
        assert len(stored) == total_over_http
        subjects = [r["subject"] for r in registered_events]
        assert sorted(subjects) == sorted(f"ModelVersion:{g}/{v}" for (g, v) in stored), "one audit event per version"

        env = {
            **os.environ,
            "NEO4J_URI": conn.uri,
            "NEO4J_USER": conn.user,
            "NEO4J_PASSWORD": conn.password,
            "LINEAGE_GRAPH_DATA_DIR": str(tmp_path / "data"),
        }
        cli = Path(sys.executable).with_name("lineage-graph")
        verify = subprocess.run([str(cli), "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "audit log intact" in verify.stdout + verify.stderr
    finally:
        instance.stop()
