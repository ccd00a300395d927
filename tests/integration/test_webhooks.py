"""Webhooks end to end: a real receiver on loopback (Starlette under Uvicorn) verifies every delivery with the
`standardwebhooks` package; the server delivers in order, at least once, across outages, instances and a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import Driver

from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role
from lineage_graph.neo4j_local import free_port
from tests.event_receivers import Receiver, serve
from tests.support import GraphQLClient, live_server

CREATE = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { id url eventTypes group active cursor } }
}
"""
REGISTER = "mutation R($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"
DELIVERIES = """
query($id: ID!) {
  webhookDeliveries(webhookId: $id) { id eventId sequence eventType status attempts lastStatusCode lastError
                                     lastLatencyMs deliveredAt }
}
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    with serve(hook.app()) as url:
        hook.url = f"{url}/hook"
        yield hook


def _subscribe(gql: GraphQLClient, receiver: Receiver, types: list[str], group: str | None = None) -> str:
    created = gql.data(CREATE, {"input": {"url": receiver.url, "eventTypes": types, "group": group}})["createWebhook"]
    assert created["secret"].startswith("whsec_")
    receiver.secret = created["secret"]
    webhook_id: str = created["webhook"]["id"]
    return webhook_id


def _register(gql: GraphQLClient, group: str, count: int) -> None:
    for n in range(count):
        gql.data(REGISTER, {"input": {"group": group, "artifactUri": f"s3://m/{group}/{n}"}})


def _wait(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _registered_versions(receiver: Receiver, group: str) -> list[int]:
    with receiver.lock:
        events = [e for e in receiver.received if e["type"] == "model_version.registered"]
    return [int(e["data"]["subject"].rsplit("/", 1)[1]) for e in events if e["data"]["group"] == group]


def test_deliveries_survive_a_receiver_outage_in_order_and_once(
    gql: GraphQLClient, db: Driver, receiver: Receiver
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "hooks"}) { name } }')
    receiver.down = True
    webhook_id = _subscribe(gql, receiver, ["model_version.*"], group="hooks")
    _register(gql, "hooks", 5)
    _wait(lambda: receiver.refused >= 2, 30, "failed attempts while the receiver is down")
    receiver.down = False
    _wait(lambda: len(receiver.received) >= 5, 60, "every event after the receiver came back")
    time.sleep(0.5)  # nothing more may arrive
    assert _registered_versions(receiver, "hooks") == [1, 2, 3, 4, 5]
    ids = [e["id"] for e in receiver.received]
    assert len(ids) == len(set(ids)), "no event twice after a successful delivery"
    sequences = [e["data"]["sequence"] for e in receiver.received]
    assert sequences == sorted(sequences)

    # A run of deliveries is logged together once it ends, a moment after its last event arrived.
    def logged() -> list[dict[str, Any]]:
        deliveries: list[dict[str, Any]] = gql.data(DELIVERIES, {"id": webhook_id})["webhookDeliveries"]
        return deliveries

    _wait(lambda: len(logged()) == 5 and {d["status"] for d in logged()} == {"DELIVERED"}, 30, "the delivery log")
    log = logged()
    first = min(log, key=lambda d: d["sequence"])
    assert first["attempts"] >= 2, "the first event was retried after the outage"
    assert first["lastStatusCode"] == 204
    assert first["lastLatencyMs"] is not None
    # A manual redelivery sends the same event (same webhook-id) once more.
    again = gql.data("mutation($id: ID!) { redeliverWebhookDelivery(id: $id) { status } }", {"id": first["id"]})
    assert again["redeliverWebhookDelivery"]["status"] == "REDELIVER"
    _wait(lambda: len(receiver.received) == 6, 30, "the redelivery")
    assert receiver.received[-1]["id"] == first["eventId"]


def test_an_approval_carries_the_sagemaker_state_change_detail(
    gql: GraphQLClient, client_as: Callable[..., GraphQLClient], db: Driver, receiver: Receiver
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "deploys"}) { name } }')
    _subscribe(gql, receiver, ["model_version.approved"])
    registrar = client_as("trainer", Role.CONTRIBUTOR)
    version = registrar.data(REGISTER, {"input": {"group": "deploys", "artifactUri": "s3://m/d/1"}})
    assert version["registerModelVersion"]["version"] == 1
    version_id = gql.data('{ modelVersion(group: "deploys", version: 1) { id } }')["modelVersion"]["id"]
    approver = client_as("reviewer", Role.APPROVER)
    approve = 'mutation($id: ID!) { approveModelVersion(id: $id, comment: "ok") { __typename } }'
    approver.data(approve, {"id": version_id})
    _wait(lambda: len(receiver.received) >= 1, 30, "the approval event")
    event = receiver.received[0]
    assert event["type"] == "model_version.approved"
    assert event["data"]["detail-type"] == "SageMaker Model Package State Change"
    detail = event["data"]["detail"]
    assert detail["ModelPackageGroupName"] == "deploys"
    assert detail["ModelPackageVersion"] == 1
    assert detail["ModelApprovalStatus"] == "Approved"
    assert detail["ModelPackageArn"].endswith(":model-package/deploys/1")


def test_two_instances_never_deliver_an_event_twice(
    settings: Settings, gql: GraphQLClient, db: Driver, receiver: Receiver
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "pair"}) { name } }')
    _subscribe(gql, receiver, ["model_version.registered"])
    eager = settings.model_copy(update={"events_poll_interval": 0.05})
    with live_server(eager):  # a second instance on the same database, polling faster than the first
        _register(gql, "pair", 12)
        _wait(lambda: len(receiver.received) >= 12, 60, "every registration")
        time.sleep(1.0)
    assert _registered_versions(receiver, "pair") == list(range(1, 13))


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({"url": "ftp://example.com/x", "eventTypes": ["*"]}, "url", "INVALID_URL"),
        ({"url": "http://169.254.169.254/latest", "eventTypes": ["*"]}, "url", "FORBIDDEN_ADDRESS"),
        ({"url": "http://127.0.0.1:9/x", "eventTypes": ["model_version.gone"]}, "eventTypes.0", "UNKNOWN_EVENT_TYPE"),
        ({"url": "http://user:pw@127.0.0.1:9/x", "eventTypes": ["*"]}, "url", "INVALID_URL"),
    ],
)
def test_bad_subscriptions_are_refused_and_nothing_is_written(
    gql: GraphQLClient, db: Driver, variables: dict[str, Any], field: str, code: str
) -> None:
    before = db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS n").records[0]["n"]
    body = gql.execute(CREATE, {"input": variables})
    error = body["errors"][0]["extensions"]
    assert error["code"] == "VALIDATION_FAILED"
    assert [(p["field"], p["code"]) for p in error["problems"]] == [(field, code)]
    assert db.execute_query("MATCH (w:Webhook) RETURN count(w) AS n").records[0]["n"] == 0
    assert db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS n").records[0]["n"] == before


def test_only_admins_manage_webhooks(client_as: Callable[..., GraphQLClient], db: Driver) -> None:
    approver = client_as("reviewer", Role.APPROVER)
    body = approver.execute(CREATE, {"input": {"url": "http://127.0.0.1:9/x", "eventTypes": ["*"]}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert approver.execute("{ webhooks { id } }")["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert db.execute_query("MATCH (w:Webhook) RETURN count(w) AS n").records[0]["n"] == 0


@pytest.mark.slow
def test_a_server_killed_mid_delivery_loses_nothing(
    settings: Settings, gql: GraphQLClient, db: Driver, receiver: Receiver, tmp_path: Path
) -> None:
    """A separate `lineage-graph serve` takes the deliveries with a short lease and is SIGKILLed while the
    receiver is still answering; the surviving instance resumes once the lease runs out."""
    gql.data('mutation { createModelGroup(input: {name: "killed"}) { name } }')
    port = free_port()
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    env = {
        **os.environ,
        "NEO4J_URI": settings.neo4j_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password,
        "LINEAGE_GRAPH_DATA_DIR": str(settings.data_dir),  # the same master key: the same webhook secrets
        "LINEAGE_GRAPH_WEBHOOK_LEASE_SECONDS": "2",
        "LINEAGE_GRAPH_EVENTS_POLL_INTERVAL": "0.02",
        # It learns of the subscription created through the test's server within a poll, not the default 5 s.
        "LINEAGE_GRAPH_WEBHOOK_REFRESH_SECONDS": "0.02",
        "LINEAGE_GRAPH_LOG_LEVEL": "warning",
    }
    cli = Path(sys.executable).with_name("lineage-graph")
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen([str(cli), "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    try:
        _wait(lambda: _ready(f"http://127.0.0.1:{port}"), 120, "the second server")
        receiver.delay = 1.5  # every delivery takes a while: the kill lands during one
        _subscribe(gql, receiver, ["model_version.registered"], group="killed")
        _register(gql, "killed", 4)
        _wait(lambda: len(receiver.received) >= 1, 60, "a first delivery")
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        receiver.delay = 0.0
        wanted = {1, 2, 3, 4}
        _wait(lambda: wanted <= set(_registered_versions(receiver, "killed")), 90, "the rest, from the survivor")
    finally:
        if server.poll() is None:
            server.kill()
    versions = _registered_versions(receiver, "killed")
    assert sorted(set(versions)) == [1, 2, 3, 4], versions
    assert versions == sorted(versions), "in order, a redelivery of the interrupted one at most"


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
