"""The audit log says who did it: every admin command of the CLI records its operator, under one identity."""

from __future__ import annotations

import getpass
import re
import socket

import boto3
import pytest
from neo4j import Driver

from lineage_graph.cli import main
from lineage_graph.config import Settings
from tests.aws_support import REGION


@pytest.fixture
def cli_env(settings: Settings, db: Driver, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    monkeypatch.setenv("NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("LINEAGE_GRAPH_DATA_DIR", str(settings.data_dir))
    return monkeypatch


def _actors(db: Driver) -> list[tuple[str, str]]:
    # In the order they were written (the global log's sequence is placed in the background, every few seconds
    # while nothing reads the log).
    records = db.execute_query(
        "MATCH (e:AuditEvent) RETURN e.action AS a, e.actor AS actor ORDER BY e.at, e.partition_sequence"
    )
    return [(r["a"], r["actor"]) for r in records.records]


def test_admin_commands_record_their_operator(
    cli_env: pytest.MonkeyPatch, db: Driver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "create", "--name", "airflow", "--role", "contributor"]) == 0
    cli_env.setenv("LINEAGE_GRAPH_OPERATOR", "alice")
    assert main(["sagemaker-key", "create", "--name", "pipeline", "--role", "contributor"]) == 0
    key_id = re.search(r"aws_access_key_id = (\S+)", capsys.readouterr().out)
    assert key_id
    assert main(["sagemaker-key", "revoke", key_id[1]]) == 0
    assert main(["token", "create", "--name", "reviewer", "--role", "approver"]) == 0
    assert _actors(db) == [
        ("token.create", f"operator:{getpass.getuser()}@{socket.gethostname()}"),
        ("sigv4_key.create", "operator:alice"),
        ("sigv4_key.revoke", "operator:alice"),
        ("token.create", "operator:alice"),
    ]


def test_the_importer_records_its_operator(cli_env: pytest.MonkeyPatch, db: Driver, aws: str) -> None:
    boto3.client("sagemaker", region_name=REGION, endpoint_url=aws).create_model_package_group(
        ModelPackageGroupName="churn"
    )
    cli_env.setenv("LINEAGE_GRAPH_OPERATOR", "bob")
    assert main(["import", "sagemaker", "--region", REGION, "--endpoint-url", aws]) == 0
    assert ("model_group.create", "operator:bob") in _actors(db)
    assert {actor for _action, actor in _actors(db)} == {"operator:bob"}
