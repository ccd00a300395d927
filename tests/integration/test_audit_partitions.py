"""The partitioned audit chain on a live server: writes to different groups commit side by side, verify never
mistakes concurrent commits for a break, tampering is caught in a partition and in the global log, and a lock
wait that runs out is UNAVAILABLE with Retry-After."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from neo4j import Driver

from lineage_graph.config import Settings
from lineage_graph.domain.audit import ChainReport
from tests.support import GraphQLClient, bearer, live_server, verify_audit_chain

REGISTER = "mutation R($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"
GROUPS = [f"chain-{i}" for i in range(8)]


def _create_groups(gql: GraphQLClient) -> None:
    for name in GROUPS:
        gql.data("mutation($n: String!) { createModelGroup(input: {name: $n}) { name } }", {"n": name})


def _register(client: httpx.Client, group: str, n: int) -> None:
    variables = {"input": {"group": group, "artifactUri": f"s3://m/{group}/{n}"}}
    body = client.post("/graphql", json={"query": REGISTER, "variables": variables}).json()
    assert not body.get("errors"), body


def _wait_until_placed(db: Driver, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while db.execute_query("MATCH (e:AuditEvent) WHERE e.pending RETURN count(e) AS n").records[0]["n"]:
        assert time.monotonic() < deadline, "the sequencer did not place every event"
        time.sleep(0.05)


def test_verify_during_concurrent_writes_never_reports_broken(
    settings: Settings, base_url: str, gql: GraphQLClient, db: Driver, admin_token: str
) -> None:
    _create_groups(gql)
    stop = threading.Event()
    reports: list[ChainReport] = []

    def verify_loop() -> None:
        while not stop.is_set():
            reports.append(verify_audit_chain(settings))

    def writer(index: int) -> None:
        with httpx.Client(base_url=base_url, headers=bearer(admin_token), timeout=60) as client:
            for n in range(6):
                _register(client, GROUPS[index % len(GROUPS)], n)

    verifier = threading.Thread(target=verify_loop)
    verifier.start()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(writer, range(16)))
    stop.set()
    verifier.join()
    assert reports, "verify ran while the writers committed"
    assert all(r.intact for r in reports), [r.broken for r in reports if r.broken]

    _wait_until_placed(db)
    final = verify_audit_chain(settings)
    assert final.intact, final.broken
    assert final.events == final.log_sequence == len(GROUPS) + 16 * 6
    assert final.unanchored == 0
    assert final.partitions == len(GROUPS)
    # Each group's chain holds exactly its own events, numbered without gaps.
    rows = db.execute_query(
        "MATCH (e:AuditEvent) WITH e.partition AS p, collect(e.partition_sequence) AS s RETURN p, s"
    ).records
    assert {r["p"]: sorted(r["s"]) for r in rows} == {f"group:{g}": list(range(1, 14)) for g in GROUPS}


def _arrange_placed(gql: GraphQLClient, db: Driver) -> None:
    _create_groups(gql)
    for n in range(3):
        gql.data(REGISTER, {"input": {"group": GROUPS[0], "artifactUri": f"s3://m/{n}"}})
    _wait_until_placed(db)
    assert _verify_intact_count(db) == len(GROUPS) + 3


def _verify_intact_count(db: Driver) -> int:
    return int(db.execute_query("MATCH (h:AuditHead) RETURN h.sequence AS s").records[0]["s"])


def test_tampering_in_a_partition_is_caught(settings: Settings, gql: GraphQLClient, db: Driver) -> None:
    _arrange_placed(gql, db)
    db.execute_query(
        "MATCH (e:AuditEvent {partition: $p, partition_sequence: 2}) SET e.actor = 'mallory'", p=f"group:{GROUPS[0]}"
    )
    report = verify_audit_chain(settings)
    assert report.broken is not None
    assert (report.broken.chain, report.broken.sequence) == (f"group:{GROUPS[0]}", 2)


def test_tampering_in_the_global_log_is_caught(settings: Settings, gql: GraphQLClient, db: Driver) -> None:
    _arrange_placed(gql, db)
    # Swapping two events' places in the log (each partition chain is untouched) breaks the log's links.
    db.execute_query(
        "MATCH (a:AuditEvent {sequence: 3}), (b:AuditEvent {sequence: 4}) "
        "SET a.sequence = -1 WITH a, b SET b.sequence = 3 WITH a SET a.sequence = 4"
    )
    report = verify_audit_chain(settings)
    assert report.broken is not None
    assert (report.broken.chain, report.broken.sequence) == ("log", 3)


def test_removing_a_partition_head_is_caught(settings: Settings, gql: GraphQLClient, db: Driver) -> None:
    _arrange_placed(gql, db)
    db.execute_query("MATCH (p:AuditPartition {name: $p}) DELETE p", p=f"group:{GROUPS[1]}")
    report = verify_audit_chain(settings)
    assert report.broken is not None
    assert report.broken.chain == "log"


def test_a_lock_wait_that_runs_out_is_unavailable_with_retry_after(
    settings: Settings, gql: GraphQLClient, db: Driver, admin_token: str
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "locked"}) { name } }')
    impatient = settings.model_copy(update={"neo4j_query_timeout": 1.0, "neo4j_retry_time": 0.5})
    with live_server(impatient) as url, db.session() as session:
        # Another writer holds the group's lock (an open transaction that wrote to it).
        holder = session.begin_transaction()
        holder.run("MATCH (g:ModelGroup {name: 'locked'}) SET g.held = true").consume()
        try:
            response = httpx.post(
                f"{url}/graphql",
                json={"query": REGISTER, "variables": {"input": {"group": "locked", "artifactUri": "s3://m/x"}}},
                headers=bearer(admin_token),
                timeout=30,
            )
        finally:
            holder.rollback()
    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after")
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAVAILABLE"]
    assert db.execute_query("MATCH (v:ModelVersion {group: 'locked'}) RETURN count(v) AS n").records[0]["n"] == 0
