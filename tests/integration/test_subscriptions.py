"""GraphQL subscriptions over graphql-ws with the `gql` websockets client: events caused on one instance reach a
subscriber of another, in order and resumable; tokens travel in connection_init; roles are respected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportError, TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from neo4j import Driver
from websockets.exceptions import ConnectionClosed

from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role
from tests.support import GraphQLClient, live_server

EVENTS = """
subscription($types: [String!], $group: String, $after: Int) {
  events(types: $types, group: $group, afterSequence: $after) { type sequence eventId group subject actor data }
}
"""
REGISTER = "mutation R($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"


async def _collect(url: str, token: str, count: int, variables: dict[str, Any]) -> list[dict[str, Any]]:
    transport = WebsocketsTransport(
        url=url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": f"Bearer {token}"}
    )
    received: list[dict[str, Any]] = []
    request = gql(EVENTS)
    request.variable_values = variables
    async with Client(transport=transport) as session:
        async for result in session.subscribe(request):
            received.append(result["events"])
            if len(received) >= count:
                break
    return received


def _subscribe(url: str, token: str, count: int, variables: dict[str, Any]) -> list[dict[str, Any]]:
    return asyncio.run(asyncio.wait_for(_collect(url, token, count, variables), timeout=90))


def _log_head(db: Driver) -> int:
    rows = db.execute_query("MATCH (h:AuditHead) RETURN h.sequence AS s").records
    return int(rows[0]["s"]) if rows else 0


def test_a_subscriber_on_another_instance_receives_events_in_order(
    settings: Settings, gql: GraphQLClient, db: Driver, make_token: Callable[..., str]
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "streamed"}) { name } }')
    after = _log_head(db)
    for n in range(3):  # committed through the session's server, before the subscriber even connects
        gql.data(REGISTER, {"input": {"group": "streamed", "artifactUri": f"s3://m/{n}"}})
    viewer = make_token("watcher", Role.VIEWER)
    with live_server(settings) as other:
        variables = {"types": ["model_version.registered"], "group": "streamed", "after": after}
        events = _subscribe(other, viewer, 3, variables)
    assert [e["type"] for e in events] == ["model_version.registered"] * 3
    assert [e["subject"] for e in events] == [f"ModelVersion:streamed/{n}" for n in (1, 2, 3)]
    sequences = [e["sequence"] for e in events]
    assert sequences == sorted(sequences)
    assert sequences[0] > after
    assert all(e["group"] == "streamed" and e["data"]["id"] == e["eventId"] for e in events)

    # Resuming after the second event yields the third, and nothing of other groups.
    gql.data('mutation { createModelGroup(input: {name: "elsewhere"}) { name } }')
    with live_server(settings) as other:
        resumed = _subscribe(other, viewer, 1, {**variables, "after": sequences[1]})
    assert [e["eventId"] for e in resumed] == [events[2]["eventId"]]


def test_a_viewer_cannot_subscribe_to_admin_events(
    settings: Settings, base_url: str, db: Driver, make_token: Callable[..., str]
) -> None:
    viewer = make_token("curious", Role.VIEWER)
    with pytest.raises(TransportQueryError) as refused:
        _subscribe(base_url, viewer, 1, {"types": ["token.created"]})
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"
    with pytest.raises(TransportQueryError) as unknown:
        _subscribe(base_url, viewer, 1, {"types": ["model_version.exploded"]})
    assert unknown.value.errors is not None
    assert unknown.value.errors[0]["extensions"]["problems"][0]["code"] == "UNKNOWN_EVENT_TYPE"


def test_a_bad_token_in_connection_init_is_rejected(base_url: str, db: Driver) -> None:
    # The server closes the connection instead of acknowledging it (a subscription would wait, then time out).
    with pytest.raises((TransportError, ConnectionClosed)):
        _subscribe(base_url, "lgt_not-a-token", 1, {})
