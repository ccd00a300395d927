"""auditVerification over real HTTP: the chains recomputed on demand (the same verification as `lineage-graph
audit verify`), how far each partition and the global log hold, the first break, and who may ask."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.support import GraphQLClient

VERIFY = """
{
  auditVerification {
    status events logSequence logHash unanchored
    partitions { name status headSequence verifiedThrough unanchored firstBreak { chain sequence reason missing } }
    firstBreak { chain sequence reason missing }
  }
}
"""
REGISTER = "mutation R($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"


def _arrange(gql: GraphQLClient, db: Driver) -> None:
    """Two groups, three versions in the first; every event placed in the global log."""
    for name in ("ledger-a", "ledger-b"):
        gql.data("mutation($n: String!) { createModelGroup(input: {name: $n}) { name } }", {"n": name})
    for n in range(3):
        gql.data(REGISTER, {"input": {"group": "ledger-a", "artifactUri": f"s3://m/ledger-a/{n}"}})
    _placed(db)


def _placed(db: Driver) -> None:
    """Wait until the sequencer has placed every event in the global log."""
    deadline = time.monotonic() + 20
    while db.execute_query("MATCH (e:AuditEvent) WHERE e.pending RETURN count(e) AS n").records[0]["n"]:
        assert time.monotonic() < deadline, "the sequencer did not place every event"
        time.sleep(0.05)


def _verification(client: GraphQLClient) -> dict[str, Any]:
    result: dict[str, Any] = client.data(VERIFY)["auditVerification"]
    return result


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in report["partitions"]}


def test_an_intact_log_reports_how_far_every_chain_was_verified(gql: GraphQLClient, db: Driver) -> None:
    _arrange(gql, db)
    report = _verification(gql)
    stored = db.execute_query(
        "MATCH (e:AuditEvent) WITH count(e) AS n MATCH (h:AuditHead) RETURN n, h.sequence AS s, h.hash AS hash"
    ).records[0]
    assert report["status"] == "INTACT", report
    assert report["firstBreak"] is None
    assert report["events"] == report["logSequence"] == stored["n"] == stored["s"]
    assert report["logHash"] == stored["hash"]
    assert report["unanchored"] == 0
    partitions = _by_name(report)
    assert partitions["group:ledger-a"] == {
        "name": "group:ledger-a",
        "status": "INTACT",
        "headSequence": 4,  # the group's creation and three registrations
        "verifiedThrough": 4,
        "unanchored": 0,
        "firstBreak": None,
    }
    assert partitions["group:ledger-b"]["verifiedThrough"] == 1
    assert [p["name"] for p in report["partitions"]] == sorted(partitions)
    assert all(p["status"] == "INTACT" and p["verifiedThrough"] == p["headSequence"] for p in partitions.values())
    assert sum(p["verifiedThrough"] for p in partitions.values()) == report["events"]


def test_a_tampered_event_is_the_first_break_and_the_other_chains_still_hold(gql: GraphQLClient, db: Driver) -> None:
    _arrange(gql, db)
    db.execute_query(
        "MATCH (e:AuditEvent {partition: 'group:ledger-a', partition_sequence: 3}) SET e.actor = 'mallory'"
    )
    report = _verification(gql)
    expected_break = {
        "chain": "group:ledger-a",
        "sequence": 3,
        "reason": "the content does not match its hash (the event was altered)",
        "missing": False,
    }
    assert report["status"] == "BROKEN"
    assert report["firstBreak"] == expected_break
    assert report["logSequence"] == 0  # the global log is checked once the partitions hold
    partitions = _by_name(report)
    broken = partitions.pop("group:ledger-a")
    assert (broken["status"], broken["headSequence"], broken["verifiedThrough"]) == ("BROKEN", 4, 2)
    assert broken["firstBreak"] == expected_break
    assert partitions["group:ledger-b"]["status"] == "INTACT"
    assert all(p["status"] == "INTACT" and p["firstBreak"] is None for p in partitions.values())


def test_a_missing_newest_event_is_a_break_the_head_accounts_for(gql: GraphQLClient, db: Driver) -> None:
    _arrange(gql, db)
    db.execute_query("MATCH (e:AuditEvent {partition: 'group:ledger-a', partition_sequence: 4}) DETACH DELETE e")
    report = _verification(gql)
    assert report["status"] == "BROKEN"
    assert report["firstBreak"]["chain"] == "group:ledger-a"
    assert report["firstBreak"]["sequence"] == 4
    assert report["firstBreak"]["missing"] is True
    assert _by_name(report)["group:ledger-a"]["verifiedThrough"] == 3


@pytest.mark.parametrize(
    ("role", "group_roles", "allowed"),
    [
        (Role.VIEWER, None, False),
        (Role.CONTRIBUTOR, None, False),
        (Role.VIEWER, {"ledger-a": Role.APPROVER}, False),  # a group's approver does not read the whole log
        (Role.APPROVER, None, True),
    ],
)
def test_verifying_needs_the_audit_readers_role(
    client_as: Callable[..., GraphQLClient],
    db: Driver,
    role: Role,
    group_roles: dict[str, Role] | None,
    allowed: bool,
) -> None:
    client = client_as(f"verifier-{role.value}", role, group_roles)
    # Issuing the token is an audited event: this test is about who may ask, so it asks once it is placed.
    _placed(db)
    body = client.execute(VERIFY)
    if allowed:
        assert body["data"]["auditVerification"]["status"] == "INTACT", body
    else:
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
