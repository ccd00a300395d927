"""Delivery of events to webhook receivers over HTTP, signed as Standard Webhooks defines it.

The address a URL resolves to is checked at every delivery, not only when the subscription is created, so a
name that later resolves to a link-local or metadata address (DNS rebinding) is refused too. Redirects are not
followed: a receiver answers where it was registered.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import httpx

from lineage_graph.domain.errors import Problem
from lineage_graph.domain.webhooks import DeliveryResult, forbidden_address, signature

USER_AGENT = "lineage-graph-webhooks/1"


async def address_problems(url: str, allow_link_local: bool, field: str = "url") -> list[Problem]:
    """Resolve the URL's host; refuse it when it does not resolve or (unless allowed) resolves to a
    link-local or metadata address."""
    host = urlsplit(url).hostname or ""
    try:  # an address literal resolves to itself: no resolver round trip (and nothing to rebind)
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return [Problem(field, f"the host {host!r} does not resolve", "UNRESOLVABLE_HOST")]
        addresses = [str(info[4][0]) for info in infos]
    if allow_link_local:
        return []
    for address in addresses:
        reason = forbidden_address(address)
        if reason is not None:
            return [Problem(field, f"the host {host!r} resolves to {reason}", "FORBIDDEN_ADDRESS")]
    return []


class WebhookSender:
    """One pooled HTTP client for every delivery of this instance; each POST bounded by `timeout`."""

    def __init__(self, timeout: float, allow_link_local: bool) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, headers={"user-agent": USER_AGENT})
        self._allow_link_local = allow_link_local

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> DeliveryResult:
        started = time.perf_counter()
        problems = await address_problems(url, self._allow_link_local)
        if problems:
            return DeliveryResult(None, 0.0, problems[0].message)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryResult(None, _ms(started), f"{type(exc).__name__}: {exc}"[:500])
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}: {response.text[:200]}"
        return DeliveryResult(response.status_code, _ms(started), error)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
