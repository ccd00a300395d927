"""The README's worked example, block by block, against the live server: it must work as written, on a fresh
database and after `lineage-graph demo`, and its curl version must answer the same."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.services.container import Services
from lineage_graph.services.demo import load_demo
from lineage_graph.store.graph import Neo4jGraph
from tests.support import GraphQLClient

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Worked example"


def _section() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start)]


def _walk(gql: GraphQLClient) -> dict[str, Any]:
    blocks = re.findall(r"```graphql\n(.*?)```", _section(), flags=re.DOTALL)
    assert len(blocks) == 3
    results = [gql.data(block) for block in blocks]
    assert results[1]["registerModelVersion"]["version"] == 1
    traced: dict[str, Any] = results[2]["modelVersion"]
    assert traced["producedBy"] == {
        "runId": "7c1e4a52-3b6d-4f0e-8a9c-2d5b7e1f0a02",
        "status": "COMPLETED",
        "job": {"name": "train_churn_model"},
    }
    assert traced["code"] == [{"repository": "github.com/acme/churn-model", "commit": "5e8d1f0c2a47"}]
    assert traced["trainedOn"] == [{"namespace": "s3://acme-lake", "name": "churn_features", "version": "2024-07-01"}]
    upstream = {(node["kind"], node["name"]) for node in traced["lineage"]["nodes"]}
    assert {("DatasetVersion", "customer_events"), ("DatasetVersion", "churn_features")} <= upstream
    assert not traced["lineage"]["truncated"]
    return traced


def test_the_worked_example_runs_as_written_on_a_fresh_database(gql: GraphQLClient, db: Driver) -> None:
    _walk(gql)


def test_the_worked_example_runs_as_written_after_the_demo(gql: GraphQLClient, settings: Settings, db: Driver) -> None:
    async def demo() -> None:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            await load_demo(Services.build(graph).registry)
        finally:
            await graph.close()

    asyncio.run(demo())
    _walk(gql)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine")
def test_the_curl_example_answers_like_graphql(gql: GraphQLClient, base_url: str, admin_token: str) -> None:
    _walk(gql)
    command = re.findall(r"```bash\n(curl .*?)```", _section(), flags=re.DOTALL)
    assert len(command) == 1
    script = command[0].replace("http://127.0.0.1:8000", base_url)
    result = subprocess.run(
        ["bash", "-c", script], env={"TOKEN": admin_token, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "data": {"modelVersion": {"version": 1, "producedBy": {"job": {"name": "train_churn_model"}}}}
    }
