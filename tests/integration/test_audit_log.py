"""auditLog over real HTTP: who may read it, filters, pagination, and typed input errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from neo4j import Driver

from lineage_graph.domain.auth import Role
from lineage_graph.domain.ids import NodeKind, NodeRef
from tests.support import GraphQLClient

LOG = """
query($subject: String, $actor: String, $action: String, $from: DateTime, $to: DateTime, $first: Int!,
      $after: String) {
  auditLog(subject: $subject, actor: $actor, action: $action, from: $from, to: $to, first: $first, after: $after) {
    edges { cursor node { id sequence partition partitionSequence actor action subject group payload outcome at
                          previousHash hash } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

START = datetime(2026, 3, 1, tzinfo=UTC)


def _arrange_log(db: Driver, count: int) -> None:
    """Events as the registry's mutations record them (actor, action, NodeRef subject), one hour apart."""
    db.execute_query(
        """
        UNWIND range(1, $count) AS i
        CREATE (:AuditEvent {sequence: i, event_id: 'e' + toString(i), partition: 'group:fraud',
                             partition_sequence: i, group: 'fraud',
                             actor: CASE WHEN i % 2 = 0 THEN 'alice' ELSE 'bob' END,
                             action: CASE WHEN i % 3 = 0 THEN 'modelVersion.approve' ELSE 'modelVersion.register' END,
                             subject: 'ModelVersion:fraud/' + toString(i % 4), payload: $payload, outcome: 'OK',
                             at: $start + duration({hours: i}), previous_hash: 'p' + toString(i),
                             hash: 'h' + toString(i)})
        WITH max(i) AS last
        CREATE (:AuditPartition {name: 'group:fraud', sequence: last, hash: 'h' + toString(last)})
        """,
        count=count,
        payload=json.dumps({"note": "arranged"}),
        start=START,
    )


def _log(client: GraphQLClient, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.data(LOG, {"first": 50, **variables})["auditLog"]
    return result


def _sequences(page: dict[str, Any]) -> list[int]:
    return [edge["node"]["sequence"] for edge in page["edges"]]


def test_pages_newest_first_with_cursors(gql: GraphQLClient, db: Driver) -> None:
    _arrange_log(db, 12)
    first = _log(gql, first=5)
    assert _sequences(first) == [12, 11, 10, 9, 8]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    second = _log(gql, first=5, after=first["pageInfo"]["endCursor"])
    assert _sequences(second) == [7, 6, 5, 4, 3]
    third = _log(gql, first=5, after=second["pageInfo"]["endCursor"])
    assert _sequences(third) == [2, 1]
    assert third["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": third["edges"][0]["cursor"],
        "endCursor": third["edges"][-1]["cursor"],
    }
    node = first["edges"][0]["node"]
    assert node["id"] == NodeRef.of(NodeKind.AUDIT_EVENT, "e12").global_id
    assert node["payload"] == {"note": "arranged"}
    assert node["previousHash"] == "p12"
    assert datetime.fromisoformat(node["at"]) == START + timedelta(hours=12)


def test_filters_combine(gql: GraphQLClient, db: Driver) -> None:
    _arrange_log(db, 12)
    assert _sequences(_log(gql, actor="alice")) == [12, 10, 8, 6, 4, 2]
    assert _sequences(_log(gql, action="modelVersion.approve")) == [12, 9, 6, 3]
    assert _sequences(_log(gql, subject="ModelVersion:fraud/1")) == [9, 5, 1]
    by_id = NodeRef.of(NodeKind.MODEL_VERSION, "fraud", 1).global_id
    assert _sequences(_log(gql, subject=by_id)) == [9, 5, 1], "a global id is accepted for the subject"
    window = {"from": (START + timedelta(hours=3)).isoformat(), "to": (START + timedelta(hours=7)).isoformat()}
    assert _sequences(_log(gql, **window)) == [6, 5, 4, 3], "from inclusive, to exclusive"
    assert _sequences(_log(gql, actor="alice", action="modelVersion.approve", **window)) == [6]
    assert _sequences(_log(gql, actor="nobody")) == []


def test_token_operations_appear_in_the_log(gql: GraphQLClient, db: Driver) -> None:
    gql.data('mutation { createApiToken(name: "ci", role: CONTRIBUTOR) { secret } }')
    page = _log(gql, subject="Principal:ci")
    assert [e["node"]["action"] for e in page["edges"]] == ["token.create"]
    assert page["edges"][0]["node"]["payload"]["role"] == "contributor"


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.VIEWER, False), (Role.CONTRIBUTOR, False), (Role.APPROVER, True), (Role.ADMIN, True)]
)
def test_reading_the_log_needs_approver_or_admin(
    client_as: Callable[..., GraphQLClient], db: Driver, role: Role, allowed: bool
) -> None:
    _arrange_log(db, 3)
    client = client_as(f"reader-{role.value}", role)
    body = client.execute(LOG, {"first": 10})
    if allowed:
        # The reader's own token.create is in the log too.
        assert len(body["data"]["auditLog"]["edges"]) >= 3
    else:
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_group_approver_does_not_read_the_whole_log(client_as: Callable[..., GraphQLClient], db: Driver) -> None:
    client = client_as("fraud-reviewer", Role.VIEWER, {"fraud": Role.APPROVER})
    assert client.execute(LOG, {"first": 10})["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"after": "not-a-cursor"}, "after"),
        ({"from": "2026-03-02T00:00:00+00:00", "to": "2026-03-01T00:00:00+00:00"}, "to"),
        ({"from": "2026-03-02T00:00:00"}, "from"),
    ],
)
def test_bad_arguments_name_the_field(gql: GraphQLClient, db: Driver, variables: dict[str, Any], field: str) -> None:
    body = gql.execute(LOG, {"first": 10, **variables})
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert [p["field"] for p in error["extensions"]["problems"]] == [field]
