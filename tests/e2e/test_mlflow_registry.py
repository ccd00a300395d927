"""The real `mlflow` client pointed at lineage-graph as its model registry (`mlflow.set_registry_uri`), with a
real MLflow tracking server for runs: registration becomes lineage, aliases, tags and search work unmodified,
and our governance answers in MLflow's error shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.mlflow_support import TrackingServer, run_driver
from tests.support import AUDIT_LABELS, bearer, graph_fingerprint

TokenFactory = Callable[..., str]
pytestmark = pytest.mark.slow


def _env(tracking: TrackingServer, registry: str, token: str) -> dict[str, str]:
    return {"MLFLOW_TRACKING_URI": tracking.url, "REGISTRY_URI": f"{registry}/mlflow", "MLFLOW_TRACKING_TOKEN": token}


def test_mlflow_client_registers_searches_and_meets_governance(
    mlflow_python: Path, mlflow_tracking: TrackingServer, registry_url: str, make_token: TokenFactory, db: Driver
) -> None:
    token = make_token("data-scientist", Role.APPROVER)
    report = run_driver(mlflow_python, "registry", _env(mlflow_tracking, registry_url, token))

    assert (report["version"], report["again"], report["status"]) == ("1", "2", "READY")
    assert report["source"].startswith("models:/m-")
    assert report["by_alias"] == ["1", ["champion"]]
    assert report["found"] == [["fraud", "2", {"team": "risk", "validated": "yes"}]]
    assert report["by_run"] == ["1", "2"]
    assert report["models"] == [["fraud", {"owner": "risk-ml"}, {"champion": "1"}]]
    assert report["latest"] == ["2"]
    assert report["download"] == report["source"]

    # Refusals surface as MlflowException with MLflow's codes and our reasons.
    assert report["self_approval"]["error_code"] == "PERMISSION_DENIED"
    assert "registered" in report["self_approval"]["message"].lower()
    assert report["bad_filter"]["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "filter" in report["bad_filter"]["message"]
    assert report["unknown_model"]["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert report["bad_name"]["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "name" in report["bad_name"]["message"]

    # The version's MLflow run became lineage: params, metrics, the logged dataset and the commit.
    lineage = db.execute_query(
        "MATCH (r:Run {run_id: $run})-[:OUTPUT]->(v:ModelVersion {group: 'fraud', version: 1}) "
        "MATCH (d:DatasetVersion)-[:INPUT_TO]->(r) MATCH (c:CodeVersion)-[:EXECUTED_BY]->(r) "
        "RETURN r.parameters AS params, d.name AS dataset, d.namespace AS ns, c.commit AS commit, "
        "v.metrics AS metrics, v.approval_status AS status",
        run=report["run_id"],
    ).records
    assert len(lineage) == 1
    row = lineage[0]
    assert json.loads(row["params"]) == {"max_depth": "6", "eta": "0.3"}
    assert (row["dataset"], row["ns"], row["commit"]) == ("transactions", "s3://acme-lake/transactions", "3f2c1e9a")
    assert "auc" in row["metrics"]
    assert row["status"] == "PENDING_MANUAL_APPROVAL"  # the refused self-approval changed nothing

    # A second person may approve: Production is an approval, through the same rules.
    reviewer = make_token("reviewer", Role.APPROVER)
    approved = run_driver(mlflow_python, "approve", _env(mlflow_tracking, registry_url, reviewer), "fraud", "1")
    assert approved == {"stage": "Production", "latest": ["1"]}
    decided = db.execute_query(
        "MATCH (d:ApprovalDecision)-[:DECIDES]->(:ModelVersion {group: 'fraud', version: 1}) RETURN d.actor AS a"
    ).records
    assert [r["a"] for r in decided] == ["reviewer"]


def test_bad_requests_get_mlflow_errors_and_write_nothing(
    registry_url: str, make_token: TokenFactory, db: Driver
) -> None:
    token = make_token("pipeline", Role.CONTRIBUTOR)
    viewer = make_token("auditor", Role.VIEWER)
    api = f"{registry_url}/mlflow/api/2.0/mlflow"
    before = graph_fingerprint(db, AUDIT_LABELS)
    cases = [
        (
            token,
            "POST",
            "model-versions/create",
            {"name": "missing", "source": "s3://m/1"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (token, "POST", "registered-models/create", {}, 400, "INVALID_PARAMETER_VALUE"),
        (token, "POST", "registered-models/create", {"name": "x", "tags": "nope"}, 400, "INVALID_PARAMETER_VALUE"),
        (token, "GET", "model-versions/search", {"filter": "name = 'a' OR name = 'b'"}, 400, "INVALID_PARAMETER_VALUE"),
        (token, "GET", "model-versions/get", {"name": "missing", "version": "one"}, 400, "INVALID_PARAMETER_VALUE"),
        (viewer, "POST", "registered-models/create", {"name": "fraud"}, 403, "PERMISSION_DENIED"),
        (token, "POST", "registered-models/nope", {}, 404, "ENDPOINT_NOT_FOUND"),
    ]
    with httpx.Client(timeout=30) as http:
        for who, method, path, args, status, code in cases:
            params = args if method == "GET" else None
            body = None if method == "GET" else args
            answer = http.request(method, f"{api}/{path}", params=params, json=body, headers=bearer(who))
            assert (answer.status_code, answer.json()["error_code"]) == (status, code), (path, answer.text)
            assert answer.json()["message"]
        anonymous = http.post(f"{api}/registered-models/create", json={"name": "fraud"})
        assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, "UNAUTHENTICATED")
        forged = http.post(f"{api}/registered-models/create", json={"name": "fraud"}, headers=bearer("lgt_forged"))
        assert (forged.status_code, forged.json()["error_code"]) == (401, "UNAUTHENTICATED")
        assert forged.json()["message"]
    assert graph_fingerprint(db, AUDIT_LABELS) == before
