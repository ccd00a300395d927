"""The Docker image: built and started where a Docker engine runs; everywhere, its start command run the way
the image runs it — as its non-root user, with only the image's environment — against the test Neo4j."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lineage_graph.config import Settings
from lineage_graph.neo4j_local import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in _instructions():
        if keyword == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))
    return env


def _image_uid() -> int:
    run = " ".join(rest for keyword, rest in _instructions() if keyword == "RUN")
    found = re.search(r"useradd\b.*--uid (\d+)", run)
    assert found, "the image creates its service user with a fixed uid"
    return int(found.group(1))


def _cmd() -> list[str]:
    command: list[str] = json.loads(next(rest for keyword, rest in _instructions() if keyword == "CMD"))
    return command


def _docker_engine() -> str | None:
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False, timeout=30)
    return None if probe.returncode == 0 else f"no Docker engine answers (`docker info`: {probe.stderr.strip()[:200]})"


def _readable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach `path` (every directory above it searchable)."""
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH:
            return False
    return True


def test_the_image_runs_as_a_non_root_user_with_a_home_it_owns() -> None:
    keywords = dict(_instructions())
    assert keywords.get("USER") not in (None, "root", "0")
    env = _image_env()
    assert env["LINEAGE_GRAPH_DATA_DIR"].startswith(env["HOME"])
    assert "--create-home" in keywords["RUN"]
    assert _cmd() == ["lineage-graph", "serve"]


@pytest.fixture
def served_as_image_user(settings: Settings, admin_token: str) -> Iterator[str]:
    """The image's CMD, as the image's uid, with the image's environment (its home directory mapped to a
    fresh directory that uid owns, as the image's `useradd --create-home` makes it)."""
    if os.geteuid() != 0:
        pytest.skip("switching to the image's uid needs root")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    if not _readable_by_others(Path(sys.executable).parent):
        pytest.skip(f"the virtualenv at {Path(sys.executable).parent} is not reachable by other users")
    uid = _image_uid()
    # Under /tmp itself: pytest's own temporary directories are private to root.
    parent = Path(tempfile.mkdtemp(prefix="lineage-graph-image-"))
    parent.chmod(0o755)
    home = parent / "home"
    home.mkdir()
    os.chown(home, uid, uid)
    port = free_port()
    env = {key: value.replace("/var/lib/lineage-graph", str(home)) for key, value in _image_env().items()}
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    env.update(
        PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin",
        LINEAGE_GRAPH_HOST="127.0.0.1",
        LINEAGE_GRAPH_PORT=str(port),
        NEO4J_URI=settings.neo4j_uri,
        NEO4J_PASSWORD=settings.neo4j_password,
    )
    server = subprocess.Popen(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *_cmd()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=home,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    written = {p: p.stat().st_uid for p in home.rglob("*") if p.is_file()}
    shutil.rmtree(parent)
    assert written, "the server keeps its SigV4 master key in its data directory"
    assert set(written.values()) == {uid}, "everything was written as the image's user"


def test_the_start_command_serves_as_the_image_user(served_as_image_user: str, admin_token: str) -> None:
    me = httpx.post(
        f"{served_as_image_user}/graphql",
        json={"query": "{ me { name } }"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert me.status_code == 200
    assert me.json()["data"]["me"]["name"]


@pytest.mark.slow
def test_the_image_builds_and_serves(settings: Settings) -> None:
    missing = _docker_engine()
    if missing is not None:
        pytest.skip(missing)
    tag = "lineage-graph:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=900)
    port = free_port()
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    container = subprocess.run(
        [
            "docker", "run", "-d", "--rm", "--network=host",
            "-e", f"NEO4J_URI={settings.neo4j_uri}", "-e", f"NEO4J_PASSWORD={settings.neo4j_password}",
            "-e", "LINEAGE_GRAPH_HOST=127.0.0.1", "-e", f"LINEAGE_GRAPH_PORT={port}", tag,
        ],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        pytest.fail("the container did not become ready within 60 s")
    finally:
        subprocess.run(["docker", "stop", container], check=False, capture_output=True)
