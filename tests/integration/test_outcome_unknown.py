"""A write whose COMMIT reached Neo4j but whose answer never came back is OUTCOME_UNKNOWN, not "try again".

A small TCP proxy between a server instance and the real Neo4j forwards Bolt both ways; once armed, it lets
the next COMMIT message through to the database and then cuts the client's side, so the database commits
and the driver never hears it (neo4j's IncompleteCommit).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from neo4j import Driver

from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role
from lineage_graph.neo4j_local import free_port
from tests.support import live_server

_BEGIN, _COMMIT = 0x11, 0x12  # Bolt message signatures
_HANDSHAKE = 20  # the magic preamble and four proposed versions, before the first message
# A server that answers the handshake with "manifest v1" lists its versions; the client then sends its choice
# (four bytes) and its capabilities (a one-byte varint) before the first message.
_MANIFEST, _MANIFEST_REPLY = b"\x00\x00\x01\xff", 5


class CommitCutter:
    """Forwards TCP to `upstream`, reading the client's Bolt messages; when armed, it forwards the next COMMIT
    of a write transaction and then cuts the client off, dropping the database's answer."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.armed = threading.Event()
        self.cut = threading.Event()
        self.seen: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            negotiated = threading.Event()
            manifest: list[bool] = []
            threading.Thread(
                target=self._client_to_server, args=(client, server, negotiated, manifest), daemon=True
            ).start()
            threading.Thread(target=self._pipe, args=(server, client, negotiated, manifest), daemon=True).start()

    def _client_to_server(
        self, client: socket.socket, server: socket.socket, negotiated: threading.Event, manifest: list[bool]
    ) -> None:
        buffer, message, skip, read_only, handshake_done, received = b"", b"", _HANDSHAKE, False, False, 0
        try:
            while data := client.recv(65536):
                server.sendall(data)
                buffer += data
                received += len(data)
                if not handshake_done and received > _HANDSHAKE:
                    negotiated.wait(10)
                    skip += _MANIFEST_REPLY if manifest and manifest[0] else 0
                    handshake_done = True
                if skip:
                    taken = min(skip, len(buffer))
                    buffer, skip = buffer[taken:], skip - taken
                while len(buffer) >= 2:
                    size = int.from_bytes(buffer[:2], "big")
                    if len(buffer) < 2 + size:
                        break
                    chunk, buffer = buffer[2 : 2 + size], buffer[2 + size :]
                    if size:
                        message += chunk
                        continue
                    if len(message) < 2:
                        message = b""
                        continue
                    signature, body, message = message[1], message, b""
                    if signature == _BEGIN:
                        read_only = b"\x84mode\x81r" in body
                    self.seen.append(f"{signature:#04x}{'r' if read_only else 'w'}")
                    if signature == _COMMIT and not read_only and self.armed.is_set():
                        self.armed.clear()
                        self.cut.set()
                        client.shutdown(socket.SHUT_RDWR)
                        return
        except OSError:
            return

    def _pipe(
        self, source: socket.socket, target: socket.socket, negotiated: threading.Event, manifest: list[bool]
    ) -> None:
        try:
            while data := source.recv(65536):
                if not negotiated.is_set():
                    manifest.append(data.startswith(_MANIFEST))
                    negotiated.set()
                if self.cut.is_set():
                    continue  # the database's answer to the COMMIT (and anything after) is dropped
                target.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def cut_server(settings: Settings, db: Driver) -> Iterator[tuple[str, CommitCutter]]:
    assert settings.neo4j_uri is not None
    bolt = urlparse(settings.neo4j_uri)
    assert bolt.hostname is not None
    assert bolt.port is not None
    cutter = CommitCutter((bolt.hostname, bolt.port))
    # Anonymous callers may write here, so the mutation is the request's only transaction (no token lookup).
    proxied = settings.model_copy(
        update={"neo4j_uri": f"bolt://127.0.0.1:{cutter.port}", "anonymous_role": Role.CONTRIBUTOR}
    )
    try:
        with live_server(proxied) as url:
            yield url, cutter
    finally:
        cutter.close()


def test_a_commit_without_an_answer_is_reported_as_outcome_unknown(
    cut_server: tuple[str, CommitCutter], db: Driver
) -> None:
    url, cutter = cut_server
    create = {"query": 'mutation { createModelGroup(input: {name: "fraud"}) { name } }'}
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/graphql", json={"query": "{ me { name } }"}).status_code == 200
        cutter.armed.set()
        response = client.post("/graphql", json=create)
    assert cutter.cut.is_set(), cutter.seen
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "OUTCOME_UNKNOWN", (response.text, cutter.seen)
    assert "may or may not have been applied" in error["message"]
    assert "retry-after" not in response.headers
    # It was applied: exactly why the client must look before it repeats the call.
    groups = db.execute_query("MATCH (g:ModelGroup {name: 'fraud'}) RETURN count(g) AS c").records
    assert groups[0]["c"] == 1
