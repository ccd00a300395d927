"""What a new user meets at the terminal: one sentence (no traceback) for every configuration or connection
mistake, a busy port refused before any URL is printed, admin commands that say which database they use and
never start one behind the user's back, and help for every command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lineage_graph.config import Settings

CLI = str(Path(sys.executable).parent / "lineage-graph")


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "LINEAGE_GRAPH_"))}
    env.update(LINEAGE_GRAPH_DATA_DIR=str(tmp_path), **extra)
    return env


def _env_for(tmp_path: Path, settings: Settings) -> dict[str, str]:
    """The environment of a user whose NEO4J_* point at the test session's database."""
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    return _clean_env(tmp_path, NEO4J_URI=settings.neo4j_uri, NEO4J_PASSWORD=settings.neo4j_password)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"LINEAGE_GRAPH_PORT": "abc"}, "LINEAGE_GRAPH_PORT='abc'"),
        ({"LINEAGE_GRAPH_LOG_FORMAT": "pretty"}, "LINEAGE_GRAPH_LOG_FORMAT='pretty'"),
        ({"NEO4J_URI": "bolt://127.0.0.1:7687"}, "NEO4J_PASSWORD is not"),
        ({"NEO4J_URI": "http://127.0.0.1:7474", "NEO4J_PASSWORD": "x"}, "NEO4J_URI='http://127.0.0.1:7474'"),
    ],
)
def test_a_bad_setting_is_one_sentence_naming_it(tmp_path: Path, variables: dict[str, str], named: str) -> None:
    for command in (["serve"], ["token", "list"]):
        result = _run(*command, env=_clean_env(tmp_path, **variables))
        assert result.returncode == 2, result
        assert named in result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreachable_neo4j_is_named(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        env = _clean_env(tmp_path, NEO4J_URI=f"bolt://127.0.0.1:{port}", NEO4J_PASSWORD="x")
        result = _run("token", "list", env=env)
    assert result.returncode == 2
    assert f"Neo4j at bolt://127.0.0.1:{port} does not answer" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_busy_port_is_refused_before_any_url_is_printed(tmp_path: Path, settings: Settings) -> None:
    env = _env_for(tmp_path, settings)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run("serve", "--port", str(port), env=env)
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "GraphQL at" not in result.stdout


def test_admin_commands_never_start_the_managed_neo4j(tmp_path: Path) -> None:
    for command in (["token", "list"], ["demo"], ["audit", "verify"], ["sagemaker-key", "list"]):
        result = _run(*command, env=_clean_env(tmp_path))
        assert result.returncode == 2, result
        assert f"The managed Neo4j (data in {tmp_path / 'neo4j'}) is not running" in result.stderr
    assert not (tmp_path / "neo4j" / "run").exists(), "no Neo4j was started"


def test_admin_commands_say_which_database_they_use(tmp_path: Path, settings: Settings, db: object) -> None:
    env = _env_for(tmp_path, settings)
    listed = _run("token", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"using NEO4J_URI={settings.neo4j_uri}" in listed.stderr
    header = ["ID", "KIND", "PRINCIPAL", "ROLE", "GROUP", "ROLES", "CREATED", "STATE"]
    assert listed.stdout.splitlines()[0].split() == header
    created = _run("sagemaker-key", "create", "--name", "pipeline", "--role", "contributor", env=env)
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split("=", 1)[1].splitlines()[0].strip()
    for command in (["token", "list"], ["sagemaker-key", "list"]):
        row = next(line for line in _run(*command, env=env).stdout.splitlines() if line.startswith(key_id))
        assert row.split()[1:4] == ["sigv4", "pipeline", "contributor"]


def test_a_grant_for_a_group_that_does_not_exist_is_pointed_out(tmp_path: Path, settings: Settings, db: object) -> None:
    env = _env_for(tmp_path, settings)
    result = _run("token", "create", "--name", "rita", "--role", "viewer", "--group-role", "no-such=approver", env=env)
    assert result.returncode == 0, result.stderr
    assert "model group 'no-such' does not exist yet" in result.stderr


def test_every_command_has_help() -> None:
    top = _run("--help")
    assert "wiring only" not in top.stdout
    for command in ("serve", "neo4j", "schema", "demo", "token", "audit", "sagemaker-key", "import", "artifacts"):
        assert f"{command}" in top.stdout
        text = _run(command, "--help").stdout
        assert text.startswith("usage:"), command
    for command, action in (("neo4j", "status"), ("schema", "check"), ("audit", "verify"), ("artifacts", "verify")):
        text = _run(command, "--help").stdout
        assert f"  {action} " in text, (command, text)


def test_schema_check_says_when_the_file_is_missing(tmp_path: Path) -> None:
    result = _run("schema", "check", "--output", str(tmp_path / "absent.graphql"), env=_clean_env(tmp_path))
    assert result.returncode == 1
    assert "not found" in result.stdout
