"""The managed Neo4j's failure messages: clear sentences, no stack traces."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lineage_graph.neo4j_local import LocalNeo4j, LocalNeo4jError, find_java, jit_for_machine


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        instance = LocalNeo4j(home=tmp_path, cache_dir=tmp_path / "cache", bolt_port=port)
        with pytest.raises(LocalNeo4jError, match=f"Port {port} .* already in use"):
            instance.start()


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalNeo4jError, match="Java was not found"):
        find_java()


def test_missing_maven_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    instance = LocalNeo4j(home=tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(LocalNeo4jError, match="Maven"):
        instance.ensure_installed()


@pytest.mark.parametrize(
    ("setting", "cpus", "expected"),
    [("auto", 1, "quick"), ("auto", 2, "quick"), ("auto", 4, "full"), ("full", 2, "full"), ("quick", 8, "quick")],
)
def test_the_jit_follows_the_setting_and_the_machine(setting: str, cpus: int, expected: str) -> None:
    assert jit_for_machine(setting, cpus) == expected  # type: ignore[arg-type]
