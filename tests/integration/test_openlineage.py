"""POST /api/v1/lineage against real Neo4j over real HTTP: mapping, replay, order, batches, refusals."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from neo4j import Driver

from tests.support import SESSION_ADMIN, domain_node_count

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = "https://github.com/example/pipelines/v1"


def _facet(**fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json", **fields}


def _dataset(name: str, namespace: str = "postgres://db:5432", version: str | None = None) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "schema": _facet(fields=[{"name": "id", "type": "INTEGER"}, {"name": "label", "type": "VARCHAR"}]),
        "dataSource": _facet(name="db", uri=namespace),
    }
    if version is not None:
        facets["version"] = _facet(datasetVersion=version)
    return {"namespace": namespace, "name": name, "facets": facets}


def _run_event(
    event_type: str,
    run_id: str,
    at: str,
    *,
    job: str = "etl.features",
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": at,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": "airflow", "name": job, "facets": {"sql": _facet(query="SELECT * FROM raw")}},
        "inputs": inputs if inputs is not None else [_dataset("public.raw")],
        "outputs": outputs if outputs is not None else [_dataset("public.features")],
    }


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _post(http: httpx.Client, payload: Any) -> httpx.Response:
    return http.post("/api/v1/lineage", json=payload)


def _one(db: Driver, cypher: str, **params: Any) -> dict[str, Any]:
    records = db.execute_query(cypher, params).records
    assert len(records) == 1, records
    return records[0].data()


def _snapshot(db: Driver) -> list[Any]:
    """Every lineage node and edge with its properties (minus the audit log), in a stable order."""
    nodes = db.execute_query(
        "MATCH (n) WHERE NOT n:AuditEvent AND NOT n:AuditHead AND NOT n:AuditPartition "
        "RETURN labels(n) AS labels, properties(n) AS props"
    ).records
    edges = db.execute_query(
        "MATCH (a)-[r]->(b) WHERE NOT a:AuditEvent RETURN type(r) AS type, properties(a) AS a, properties(b) AS b"
    ).records
    return sorted(json.dumps(r.data(), sort_keys=True, default=str) for r in [*nodes, *edges])


def test_start_and_complete_build_the_run_job_and_dataset_lineage(http: httpx.Client, db: Driver) -> None:
    run_id = str(uuid.uuid4())
    assert _post(http, _run_event("START", run_id, "2026-03-01T10:00:00Z")).status_code == 201
    done = _post(http, _run_event("COMPLETE", run_id, "2026-03-01T10:05:00.250Z"))
    assert done.status_code == 201, done.text

    run = _one(
        db,
        "MATCH (r:Run {run_id: $id})-[:INSTANCE_OF]->(j:Job) "
        "RETURN r.status AS status, r.started_at AS started, r.ended_at AS ended, "
        "j.namespace AS ns, j.name AS job, j.facets AS job_facets",
        id=run_id,
    )
    assert run["status"] == "COMPLETED"
    assert run["started"].to_native() == _utc("2026-03-01T10:00:00Z")
    assert run["ended"].to_native() == _utc("2026-03-01T10:05:00.250Z")
    assert (run["ns"], run["job"]) == ("airflow", "etl.features")
    assert json.loads(run["job_facets"])["sql"]["query"] == "SELECT * FROM raw"

    # Lineage as the graph answers it: output version <- run <- input version, each a version of its dataset.
    path = _one(
        db,
        "MATCH (d_in:Dataset)<-[:VERSION_OF]-(v_in:DatasetVersion)-[:INPUT_TO]->(r:Run)"
        "-[:OUTPUT]->(v_out:DatasetVersion)-[:VERSION_OF]->(d_out:Dataset) "
        "RETURN d_in.name AS input, v_in.version AS in_version, r.run_id AS run, d_out.name AS output, "
        "v_out.version AS out_version, v_out.facets AS out_facets, d_out.facets AS dataset_facets",
    )
    assert path["input"] == "public.raw"
    assert path["output"] == "public.features"
    assert path["run"] == run_id
    assert path["out_version"] == run_id  # no version facet: one version per producing run
    assert path["in_version"] == "unversioned"  # a source table nobody produced
    assert json.loads(path["out_facets"])["schema"]["fields"][0] == {"name": "id", "type": "INTEGER"}
    assert json.loads(path["dataset_facets"])["dataSource"]["uri"] == "postgres://db:5432"
    reachable = db.execute_query(
        "MATCH (:DatasetVersion {name: 'public.features'})<-[:OUTPUT|INPUT_TO*1..4]-(up:DatasetVersion) "
        "RETURN DISTINCT up.name AS name"
    ).records
    assert [r["name"] for r in reachable] == ["public.raw"]


def test_complete_before_start_ends_with_one_run_with_both_times(http: httpx.Client, db: Driver) -> None:
    run_id = str(uuid.uuid4())
    assert _post(http, _run_event("COMPLETE", run_id, "2026-03-01T10:05:00Z")).status_code == 201
    assert _post(http, _run_event("START", run_id, "2026-03-01T10:00:00Z")).status_code == 201

    run = _one(
        db,
        "MATCH (r:Run) RETURN count(r) AS runs, collect(r.status)[0] AS status, "
        "collect(r.started_at)[0] AS started, collect(r.ended_at)[0] AS ended",
    )
    assert (run["runs"], run["status"]) == (1, "COMPLETED")
    assert run["started"].to_native() == _utc("2026-03-01T10:00:00Z")
    assert run["ended"].to_native() == _utc("2026-03-01T10:05:00Z")


def test_the_terminal_event_with_the_latest_time_wins_whatever_the_arrival_order(
    http: httpx.Client, db: Driver
) -> None:
    run_id = str(uuid.uuid4())
    for event_type, at in [
        ("COMPLETE", "2026-03-01T10:09:00Z"),
        ("RUNNING", "2026-03-01T10:10:00Z"),
        ("FAIL", "2026-03-01T10:05:00Z"),
        ("START", "2026-03-01T10:00:00Z"),
        ("OTHER", "2026-03-01T10:20:00Z"),
    ]:
        assert _post(http, _run_event(event_type, run_id, at)).status_code == 201
    run = _one(db, "MATCH (r:Run {run_id: $id}) RETURN r.status AS status, r.ended_at AS ended", id=run_id)
    assert run["status"] == "COMPLETED"
    assert run["ended"].to_native() == _utc("2026-03-01T10:09:00Z")


def test_replaying_events_leaves_the_same_graph(http: httpx.Client, db: Driver) -> None:
    run_id = str(uuid.uuid4())
    events = [
        _run_event("START", run_id, "2026-03-01T10:00:00Z"),
        _run_event("COMPLETE", run_id, "2026-03-01T11:00:00Z"),
    ]
    for event in events:
        assert _post(http, event).status_code == 201
    first = _snapshot(db)
    for event in [*events, *reversed(events)]:
        assert _post(http, event).status_code == 201
    assert _snapshot(db) == first
    assert domain_node_count(db) == 6  # job, run, 2 datasets, 2 versions


def test_a_batch_is_one_transaction_and_one_audit_event(http: httpx.Client, db: Driver) -> None:
    upstream, downstream = str(uuid.uuid4()), str(uuid.uuid4())
    batch = [
        _run_event("START", upstream, "2026-03-01T10:00:00Z", job="extract", outputs=[_dataset("public.raw")]),
        _run_event("COMPLETE", upstream, "2026-03-01T10:01:00Z", job="extract", outputs=[_dataset("public.raw")]),
        _run_event("START", downstream, "2026-03-01T10:02:00Z"),
        _run_event("COMPLETE", downstream, "2026-03-01T10:03:00Z"),
    ]
    response = _post(http, batch)
    assert response.status_code == 201, response.text
    assert response.json() == {"events": 4, "runs": 2}

    audit = _one(db, "MATCH (e:AuditEvent {action: 'openlineage.ingest'}) RETURN count(e) AS n, collect(e)[0] AS e")
    assert audit["n"] == 1
    assert audit["e"]["actor"] == SESSION_ADMIN  # the caller, as its token says
    assert json.loads(audit["e"]["payload"])["runs"] == sorted([upstream, downstream])
    # Each run that completed is an event of its own, in the same transaction (webhooks: `run.completed`).
    completed = db.execute_query("MATCH (e:AuditEvent {action: 'run.complete'}) RETURN e.subject AS s").records
    assert sorted(r["s"] for r in completed) == sorted([f"Run:{upstream}", f"Run:{downstream}"])
    # The downstream reader read the version the upstream run produced: lineage crosses jobs.
    chain = _one(
        db,
        "MATCH (:DatasetVersion {name: 'public.features'})<-[:OUTPUT]-(down:Run)<-[:INPUT_TO]-(v:DatasetVersion)"
        "<-[:OUTPUT]-(up:Run) RETURN down.run_id AS down, v.version AS version, up.run_id AS up",
    )
    assert chain == {"down": downstream, "version": upstream, "up": upstream}


def test_version_and_parent_run_facets_name_the_version_and_the_parent(http: httpx.Client, db: Driver) -> None:
    run_id, parent_id = str(uuid.uuid4()), str(uuid.uuid4())
    parent = _facet(run={"runId": parent_id}, job={"namespace": "airflow", "name": "dag"})
    event = _run_event(
        "START",
        run_id,
        "2026-03-01T10:00:00Z",
        inputs=[_dataset("s3://bucket/raw", namespace="s3://bucket", version="v17")],
        outputs=[_dataset("s3://bucket/out", namespace="s3://bucket", version="42")],
        run_facets={"parent": parent},
    )
    assert _post(http, event).status_code == 201
    row = _one(
        db,
        "MATCH (vi:DatasetVersion)-[:INPUT_TO]->(r:Run {run_id: $id})-[:OUTPUT]->(vo:DatasetVersion), "
        "(r)-[:CHILD_OF]->(p:Run)-[:INSTANCE_OF]->(pj:Job) "
        "RETURN vi.version AS vin, vo.version AS vout, p.run_id AS parent, p.status AS parent_status, "
        "pj.name AS parent_job, r.facets AS facets",
        id=run_id,
    )
    assert (row["vin"], row["vout"], row["parent"], row["parent_job"]) == ("v17", "42", parent_id, "dag")
    assert row["parent_status"] == "NEW"
    assert json.loads(row["facets"])["parent"]["run"]["runId"] == parent_id


def test_job_and_dataset_events_record_static_metadata(http: httpx.Client, db: Driver) -> None:
    job_event = {
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "dbt", "name": "model.orders", "facets": {"documentation": _facet(description="Orders")}},
        "inputs": [_dataset("public.orders_raw")],
        "outputs": [],
    }
    dataset_event = {
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": _dataset("public.customers"),
    }
    assert _post(http, [job_event, dataset_event]).status_code == 201
    job = _one(db, "MATCH (j:Job {namespace: 'dbt', name: 'model.orders'}) RETURN j.description AS d")
    assert job["d"] == "Orders"
    names = db.execute_query("MATCH (d:Dataset) RETURN d.name AS name ORDER BY name").records
    assert [r["name"] for r in names] == ["public.customers", "public.orders_raw"]
    assert _one(db, "MATCH (n) WHERE n:Run OR n:DatasetVersion RETURN count(n) AS n")["n"] == 0


def test_an_invalid_event_is_refused_with_its_path_and_nothing_is_written(http: httpx.Client, db: Driver) -> None:
    good = _run_event("START", str(uuid.uuid4()), "2026-03-01T10:00:00Z")
    bad = _run_event("LAUNCH", "not-a-uuid", "yesterday")
    del bad["job"]["name"]
    response = _post(http, [good, bad])

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    fields = {p["field"]: p["message"] for p in error["problems"]}
    assert set(fields) == {"[1].eventType", "[1].run.runId", "[1].job.name", "[1].eventTime"}
    assert "START" in fields["[1].eventType"]
    assert fields["[1].job.name"] == "is required"
    assert domain_node_count(db) == 0


def test_a_body_that_is_not_json_is_refused(http: httpx.Client, db: Driver) -> None:
    response = http.post("/api/v1/lineage", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["code"] == "INVALID_JSON"
    assert domain_node_count(db) == 0
