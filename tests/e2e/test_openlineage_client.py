"""The real openlineage-python client, its unmodified HttpTransport, emitting to a live server."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from neo4j import Driver
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, schema_dataset, sql_job
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid
from requests.exceptions import HTTPError

from lineage_graph.domain.auth import Role
from tests.support import domain_node_count

PRODUCER = "https://github.com/example/lineage-graph-e2e"


@pytest.fixture
def contributor_token(make_token: Callable[..., str]) -> str:
    """A real contributor token: what a pipeline's OpenLineage client is configured with."""
    return make_token("airflow-pipeline", Role.CONTRIBUTOR)


def _client(base_url: str, token: str, compression: HttpCompression | None = None) -> OpenLineageClient:
    config = HttpConfig(
        url=base_url,
        endpoint="api/v1/lineage",
        timeout=30,
        auth=ApiKeyTokenProvider({"apiKey": token}),  # sent as `Authorization: Bearer …`
        compression=compression,
    )
    return OpenLineageClient(transport=HttpTransport(config))


def _schema(*columns: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=column, type="VARCHAR") for column in columns]
    )


@pytest.mark.parametrize("compression", [None, HttpCompression.GZIP], ids=["plain", "gzip"])
def test_start_and_complete_from_the_client_become_a_run_with_lineage(
    base_url: str, db: Driver, compression: HttpCompression | None, contributor_token: str
) -> None:
    client = _client(base_url, contributor_token, compression)
    run = Run(runId=str(generate_new_uuid()))
    job = Job(namespace="airflow", name="features.build", facets={"sql": sql_job.SQLJobFacet(query="SELECT 1")})
    inputs = [
        InputDataset(namespace="postgres://warehouse", name=f"public.{table}", facets={"schema": _schema("id")})
        for table in ("orders", "customers", "products")
    ]
    outputs = [
        OutputDataset(namespace="s3://features", name="daily", facets={"schema": _schema("id", "total")}),
    ]
    started = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    for state, at in [(RunState.START, started), (RunState.COMPLETE, started + timedelta(minutes=7))]:
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=at.isoformat(),
                run=run,
                job=job,
                inputs=inputs,
                outputs=outputs,
                producer=PRODUCER,
            )
        )

    row = db.execute_query(
        "MATCH (r:Run {run_id: $id})-[:INSTANCE_OF]->(j:Job) "
        "RETURN r.status AS status, r.started_at AS started, r.ended_at AS ended, j.name AS job, j.facets AS facets",
        {"id": run.runId},
    ).records[0]
    assert (row["status"], row["job"]) == ("COMPLETED", "features.build")
    assert row["started"].to_native() == started
    assert row["ended"].to_native() == started + timedelta(minutes=7)
    assert json.loads(row["facets"])["sql"]["query"] == "SELECT 1"
    upstream = db.execute_query(
        "MATCH (:Dataset {name: 'daily'})<-[:VERSION_OF]-(out:DatasetVersion)<-[:OUTPUT]-(r:Run)"
        "<-[:INPUT_TO]-(v:DatasetVersion)-[:VERSION_OF]->(d:Dataset) "
        "RETURN out.version AS version, collect(d.name) AS inputs, collect(v.facets)[0] AS facets"
    ).records[0]
    assert upstream["version"] == run.runId
    assert sorted(upstream["inputs"]) == ["public.customers", "public.orders", "public.products"]
    fields = json.loads(upstream["facets"])["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("id", "VARCHAR")]


def test_a_failed_run_keeps_its_error_message_facet(base_url: str, db: Driver, contributor_token: str) -> None:
    client = _client(base_url, contributor_token)
    error = error_message_run.ErrorMessageRunFacet(message="table not found", programmingLanguage="PYTHON")
    run = Run(runId=str(generate_new_uuid()), facets={"errorMessage": error})
    job = Job(namespace="airflow", name="broken")
    client.emit(
        RunEvent(eventType=RunState.FAIL, eventTime=datetime.now(UTC).isoformat(), run=run, job=job, producer=PRODUCER)
    )
    row = db.execute_query(
        "MATCH (r:Run {run_id: $id}) RETURN r.status AS status, r.facets AS facets", {"id": run.runId}
    ).records[0]
    assert row["status"] == "FAILED"
    assert json.loads(row["facets"])["errorMessage"]["message"] == "table not found"


def test_the_client_sees_a_refused_event_as_an_http_error(base_url: str, db: Driver, contributor_token: str) -> None:
    client = _client(base_url, contributor_token)
    # The client's own classes accept a naive timestamp without a time; the server checks the spec.
    event = RunEvent(
        eventType=RunState.START,
        eventTime="2026-03-01T10:00:00Z",
        run=Run(runId=str(generate_new_uuid())),
        job=Job(namespace="airflow", name="x"),
        producer=PRODUCER,
    )
    event.job.name = 42  # type: ignore[assignment]
    with pytest.raises(HTTPError, match="422"):
        client.emit(event)
    assert domain_node_count(db) == 0
