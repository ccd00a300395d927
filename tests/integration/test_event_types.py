"""Every change that matters produces its event: one mutation per event type, each event received both by a
webhook (signature verified) and by a graphql-ws subscriber, the same event id through both doors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from neo4j import Driver

from lineage_graph.domain.auth import Role
from lineage_graph.domain.events import known_types
from tests.event_receivers import Receiver, serve, subscribe_until
from tests.support import GraphQLClient, error_codes

ClientAs = Callable[..., GraphQLClient]

REGISTER = "mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { id version } }"
CREATE_HOOK = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }"
TRAINING_DATA = [{"namespace": "s3://lake", "name": "tx", "version": "1"}]
PRODUCER = "https://github.com/example/pipelines/v1"

# The state changes that must each produce an event (the approval and stage refusals included).
EXPECTED = (
    "model_group.created",
    "model_version.registered",
    "model_version.metrics_added",
    "model_version.approved",
    "model_version.rejected",
    "model_version.approval_refused",
    "alias.moved",
    "model_version.stage_changed",
    "model_version.stage_change_refused",
    "deployment.created",
    "deployment.retired",
    "dataset_version.flagged",
    "model_version.review_needed",
    "run.completed",
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    with serve(hook.app()) as url:
        hook.url = f"{url}/hook"
        yield hook


def _log_head(db: Driver) -> int:
    rows = db.execute_query("MATCH (h:AuditHead) RETURN h.sequence AS s").records
    return int(rows[0]["s"]) if rows else 0


def _run_event(event_type: str, run_id: str) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": datetime.now(UTC).isoformat(),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": "airflow", "name": "fraud.features", "facets": {}},
        "inputs": [{"namespace": "s3://lake", "name": "raw", "facets": {}}],
        "outputs": [{"namespace": "s3://lake", "name": "features", "facets": {}}],
    }


def _make_every_change(gql: GraphQLClient, http: httpx.Client, client_as: ClientAs) -> None:
    """One mutation (or OpenLineage post) per expected event type, by whoever may make it."""
    trainer = client_as("trainer", Role.CONTRIBUTOR)
    reviewer = client_as("reviewer", Role.APPROVER)
    gql.data('mutation { createModelGroup(input: {name: "fraud"}) { name } }')
    first = trainer.data(
        REGISTER, {"input": {"group": "fraud", "artifactUri": "s3://m/1", "trainedOnDatasets": TRAINING_DATA}}
    )
    second = trainer.data(REGISTER, {"input": {"group": "fraud", "artifactUri": "s3://m/2"}})["registerModelVersion"]
    own = reviewer.data(REGISTER, {"input": {"group": "fraud", "artifactUri": "s3://m/3"}})["registerModelVersion"]
    v1 = first["registerModelVersion"]["id"]
    trainer.data(
        'mutation($id: ID!) { addModelVersionMetrics(id: $id, metrics: [{name: "auc", value: 0.93}]) { version } }',
        {"id": v1},
    )
    reviewer.data('mutation($id: ID!) { approveModelVersion(id: $id, comment: "ok") { __typename } }', {"id": v1})
    reviewer.data(
        'mutation($id: ID!) { rejectModelVersion(id: $id, comment: "no") { __typename } }', {"id": second["id"]}
    )
    refused = reviewer.execute("mutation($id: ID!) { approveModelVersion(id: $id) { __typename } }", {"id": own["id"]})
    assert error_codes(refused) == ["POLICY_NOT_MET"], "four eyes: the registrant may not approve"
    trainer.data(
        'mutation($id: ID!) { setModelAlias(alias: "champion", modelVersionId: $id) { version } }',
        {"id": v1},
    )
    stage = """mutation($id: ID!, $s: String!, $d: String) {
        setModelVersionStage(id: $id, stage: $s, stageDescription: $d) { stage } }"""
    trainer.data(stage, {"id": v1, "s": "Staging", "d": "shadow traffic"})
    gated = trainer.execute(stage, {"id": second["id"], "s": "Production", "d": None})
    assert error_codes(gated) == ["POLICY_NOT_MET"], "Production is entered by an approver, once approved"
    deploy = """mutation($id: ID!) { createDeployment(input: {endpoint: "fraud-ep", environment: "staging",
        modelVersionId: $id, trafficShare: 100}) { id } }"""
    deployment = trainer.data(deploy, {"id": v1})["createDeployment"]["id"]
    trainer.data("mutation($id: ID!) { retireDeployment(id: $id) { status } }", {"id": deployment})
    dataset = gql.data('{ datasetVersion(namespace: "s3://lake", name: "tx", version: "1") { id } }')["datasetVersion"]
    flag = 'mutation($id: ID!) { flagDatasetVersion(id: $id, reason: "leak") { needsReview { version } } }'
    flagged = reviewer.data(flag, {"id": dataset["id"]})["flagDatasetVersion"]
    assert flagged["needsReview"] == [{"version": 1}]
    run_id = str(uuid.uuid4())
    response = http.post("/api/v1/lineage", json=[_run_event("START", run_id), _run_event("COMPLETE", run_id)])
    assert response.status_code in (200, 201), response.text


def _wait_for(receiver: Receiver, wanted: set[str], within: float) -> None:
    deadline = time.monotonic() + within
    while not wanted <= set(receiver.types()):
        assert time.monotonic() < deadline, f"never delivered: {sorted(wanted - set(receiver.types()))}"
        time.sleep(0.05)


def test_every_state_change_arrives_by_webhook_and_by_subscription(
    gql: GraphQLClient,
    http: httpx.Client,
    db: Driver,
    base_url: str,
    client_as: ClientAs,
    make_token: Callable[..., str],
    receiver: Receiver,
) -> None:
    assert set(EXPECTED) <= known_types(), "each is a type a subscription can name"
    receiver.secret = gql.data(CREATE_HOOK, {"input": {"url": receiver.url, "eventTypes": list(EXPECTED)}})[
        "createWebhook"
    ]["secret"]
    after = _log_head(db)
    _make_every_change(gql, http, client_as)
    _wait_for(receiver, set(EXPECTED), 60)

    # An approver sees refusals too; the subscription replays the log from before the first change.
    auditor = make_token("auditor", Role.APPROVER)

    def complete(events: list[dict[str, Any]]) -> bool:
        return set(EXPECTED) <= {e["type"] for e in events}

    streamed = subscribe_until(base_url, auditor, {"types": list(EXPECTED), "after": after}, complete)
    with receiver.lock:
        delivered = {e["data"]["id"]: e for e in receiver.received}
    for event in streamed:
        assert event["eventId"] in delivered, f"{event['type']} was streamed but not delivered"
        assert delivered[event["eventId"]]["data"] == event["data"], "one body through both doors"
    assert [e["sequence"] for e in streamed] == sorted(e["sequence"] for e in streamed)

    by_type = {e["type"]: e for e in streamed}
    model_events = {t for t in EXPECTED if t.startswith(("model_", "alias.", "deployment."))}
    assert {t for t in model_events if by_type[t]["group"] == "fraud"} == model_events
    # A stage change reads like SageMaker's "Model Package State Change", with ModelLifeCycle in its detail.
    staged = by_type["model_version.stage_changed"]["data"]
    assert staged["detail-type"] == "SageMaker Model Package State Change"
    assert staged["detail"]["ModelPackageGroupName"] == "fraud"
    assert staged["detail"]["ModelPackageVersion"] == 1
    assert staged["detail"]["ModelLifeCycle"] == {
        "Stage": "Staging",
        "StageStatus": "Approved",
        "StageDescription": "shadow traffic",
    }
    assert staged["detail"]["ModelApprovalStatus"] == "Approved"
    assert staged["payload"]["from"] == "Development"
    refused = by_type["model_version.stage_change_refused"]["data"]
    assert refused["outcome"] == "REFUSED"
    assert "detail" not in refused, "a refused change changed no state"
    assert by_type["run.completed"]["data"]["payload"]["job"] == "airflow/fraud.features"


def test_a_viewer_subscription_leaves_refusals_out(
    gql: GraphQLClient, db: Driver, base_url: str, client_as: ClientAs, make_token: Callable[..., str]
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "fraud"}) { name } }')
    after = _log_head(db)
    trainer = client_as("trainer", Role.CONTRIBUTOR)
    version = trainer.data(REGISTER, {"input": {"group": "fraud", "artifactUri": "s3://m/1"}})["registerModelVersion"]
    stage = 'mutation($id: ID!) { setModelVersionStage(id: $id, stage: "Production") { stage } }'
    assert error_codes(trainer.execute(stage, {"id": version["id"]})) == ["POLICY_NOT_MET"]
    trainer.data(
        'mutation($id: ID!) { setModelVersionStage(id: $id, stage: "Staging") { stage } }', {"id": version["id"]}
    )
    viewer = make_token("watcher", Role.VIEWER)

    def staged(events: list[dict[str, Any]]) -> bool:
        return any(e["type"] == "model_version.stage_changed" for e in events)

    streamed = subscribe_until(base_url, viewer, {"types": ["model_version.*"], "after": after}, staged)
    assert [e["type"] for e in streamed] == ["model_version.registered", "model_version.stage_changed"]
