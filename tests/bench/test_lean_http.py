"""The benches' client keeps one connection per client: a bench that reconnected for every request would charge
both servers for a TCP handshake and a new HTTP protocol instance each time, and call it their request's cost."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from floor import bare_starlette
from lean_http import LeanHTTP


def test_one_connection_carries_every_request_to_uvicorn() -> None:
    async def exchange(url: str) -> tuple[list[int], int]:
        http = LeanHTTP(url)
        statuses = [(await http.get("/"))[0] for _ in range(30)]
        statuses += [(await http.post("/", b"{}"))[0] for _ in range(5)]  # 405: the bare route takes GETs
        await http.close()
        return statuses, http.opened

    with bare_starlette() as (url, _pid):
        statuses, opened = asyncio.run(exchange(url))
    assert statuses == [200] * 30 + [405] * 5
    assert opened == 1


@pytest.mark.parametrize(("connection", "expected"), [("keep-alive", 1), ("close", 6)])
def test_the_connection_is_closed_only_when_the_server_says_so(connection: str, expected: int) -> None:
    """A plain asyncio server answers each request with a JSON body and the given `connection` header."""
    body = b'{"ok": true}'
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        while True:
            head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
            if not head:
                break
            length = next(
                (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), 0
            )
            await reader.readexactly(length)
            writer.write(
                f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\nconnection: {connection}\r\n\r\n".encode() + body
            )
            await writer.drain()
            if connection == "close":
                break
        writer.close()

    async def exchange() -> tuple[list[bytes], int]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        http = LeanHTTP(f"http://127.0.0.1:{port}")
        answers = [(await http.post("/graphql", b'{"query": "{__typename}"}'))[1] for _ in range(3)]
        answers += [(await http.get("/health"))[1] for _ in range(3)]
        await http.close()
        server.close()
        await server.wait_closed()
        return answers, http.opened

    answers, opened = asyncio.run(exchange())
    assert answers == [body] * 6
    assert opened == expected == len(accepted)
