"""The benches' HTTP client: POSTs over one keep-alive HTTP/1.1 connection, parsed in native code.

A bench measures the server, so its client must cost as little as it can: httpx spent 2.5-3 ms of the client's
CPU per request on the 2-core development machine, this ~0.2 ms. On a machine whose cores the client shares with
the server and Neo4j, that difference is the server's time too.
"""

from __future__ import annotations

import asyncio

import httptools
import httpx


class LeanHTTP:
    """GETs and POSTs over one keep-alive HTTP/1.1 connection, with asyncio streams and httptools' C parser
    (Uvicorn's): the client side of an HTTP request at about the cost of the driver's side of a Cypher statement
    (Python I/O, native decoding). One per concurrent client: a connection carries one request at a time.
    Without a token, requests carry no Authorization header."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        url = httpx.URL(base_url)
        self._host, self._port = url.host, url.port or 80
        self._head = f"host: {self._host}:{self._port}\r\n"
        if token is not None:
            self._head += f"authorization: Bearer {token}\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.opened = 0  # connections opened: one for a whole bench, unless the server closes them

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON body; the response's status and body."""
        head = f"POST {path} HTTP/1.1\r\n{self._head}content-type: application/json\r\n"
        return await self._exchange(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET `path` (with its query string, already encoded); the response's status and body."""
        return await self._exchange(f"GET {path} HTTP/1.1\r\n{self._head}\r\n".encode())

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        reused = self._writer is not None
        try:
            return await self._once(request)
        except _Stale:
            # The server closed the idle connection (Uvicorn does after 5 s) before reading the request: it
            # was never served, so it is sent once more on a new connection, as httpx's pool does.
            await self.close()
            if not reused:
                raise ConnectionError("the server closed a new connection before answering") from None
            return await self._once(request)

    async def _once(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            self.opened += 1
        assert self._reader is not None
        response = _Response()
        parser = response.parser = httptools.HttpResponseParser(response)
        try:
            self._writer.write(request)
            data = await self._reader.read(1 << 20)
        except ConnectionError:
            raise _Stale from None
        if not data:
            raise _Stale
        while True:
            parser.feed_data(data)
            if response.complete:
                break
            data = await self._reader.read(1 << 20)
            if not data:
                await self.close()
                raise ConnectionError("the server closed the connection mid-response")
        if not response.keep_alive:
            await self.close()
        return parser.get_status_code(), b"".join(response.body)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
        self._reader = self._writer = None


class _Stale(Exception):
    """The connection was closed before any byte of the response arrived."""


class _Response:
    """httptools' callbacks for one response: its body chunks, and whether it is complete."""

    parser: httptools.HttpResponseParser

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # Asked here, not after `feed_data` returns: once the message is complete llhttp clears the response's
        # flags, content-length among them, and a response without one would have to end the connection, so the
        # answer afterwards is always "close", and every request would pay for a new connection.
        self.keep_alive = self.parser.should_keep_alive()
