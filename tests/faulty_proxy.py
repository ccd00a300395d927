"""A loopback HTTP proxy that misbehaves on purpose: drops responses or answers 503, then passes through."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class Faults:
    """What the next requests meet: `drop_responses` are forwarded but their answer is never sent back (the
    work was done, the caller cannot know); `unavailable` are answered 503 without being forwarded."""

    drop_responses: int = 0
    unavailable: int = 0
    forwarded: list[bytes] = field(default_factory=list)
    seen: int = 0


@contextmanager
def faulty_proxy(upstream: str, faults: Faults) -> Iterator[str]:
    lock = threading.Lock()
    http = httpx.Client(base_url=upstream, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                faults.seen += 1
                unavailable = faults.unavailable > 0
                faults.unavailable -= unavailable
                drop = not unavailable and faults.drop_responses > 0
                faults.drop_responses -= drop
            if unavailable:
                self._answer(503, b'{"errors":[{"message":"upstream busy","extensions":{"code":"UNAVAILABLE"}}]}')
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            answer = http.post(self.path, content=body, headers=headers)
            faults.forwarded.append(body)
            if drop:
                self.close_connection = True  # the server did the work; the caller gets no answer
                return
            self._answer(answer.status_code, answer.content)

        def _answer(self, status: int, content: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        http.close()
