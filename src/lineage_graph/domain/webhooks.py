"""Webhook subscriptions: what they are, how their secrets and signatures are made (Standard Webhooks), which
URLs they may point at, and how long to wait before trying a failed delivery again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from urllib.parse import urlsplit

from lineage_graph.domain.errors import Problem

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
MAX_URL_LENGTH = 2048
# Cloud metadata services answer on these names and addresses; a subscription must not turn the server into
# a proxy for them (the credentials of its instance role live there).
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"})
_METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})


class DeliveryStatus(Enum):
    PENDING = "PENDING"  # tried and failed; will be tried again
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # gave up: the subscription was disabled
    REDELIVER = "REDELIVER"  # an admin asked for it to be sent again


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    url: str
    event_types: tuple[str, ...]
    group: str | None
    active: bool
    created_by: str
    created_at: datetime
    cursor: int  # the global log sequence handled last (delivered, or not matching)
    failures: int  # failed attempts at the event after the cursor
    next_attempt_at: datetime | None
    disabled_reason: str | None


@dataclass(frozen=True)
class WebhookDelivery:
    delivery_id: str
    webhook_id: str
    event_id: str
    sequence: int
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: float | None
    first_attempt_at: datetime
    last_attempt_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DeliveryResult:
    """One HTTP attempt: a 2xx status is a success; anything else (or no answer) is a failure."""

    status_code: int | None
    latency_ms: float
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def derive_secret(master_key: bytes, webhook_id: str) -> str:
    """The subscription's signing secret, derived rather than stored: shown once, recomputable by every
    instance that holds the master key, and never at rest in the database."""
    raw = hmac.new(master_key, f"webhook:{webhook_id}".encode(), hashlib.sha256).digest()[:24]
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature` as Standard Webhooks defines it: HMAC-SHA256 over `id.timestamp.body`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def backoff(failures: int, base: float, cap: float) -> float:
    """Seconds before the next attempt after `failures` failed ones: base, 2·base, 4·base… up to `cap`."""
    return float(min(cap, base * 2 ** max(0, failures - 1)))


def url_problems(url: str, field: str = "url") -> list[Problem]:
    """The URL's shape: http(s), a host, no credentials in it, bounded length."""
    if len(url) > MAX_URL_LENGTH:
        return [Problem(field, f"must be at most {MAX_URL_LENGTH} characters", "TOO_LONG")]
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return [Problem(field, "is not a URL", "INVALID_URL")]
    if parts.scheme not in ("http", "https"):
        return [Problem(field, "must start with http:// or https://", "INVALID_URL")]
    if not parts.hostname:
        return [Problem(field, "names no host", "INVALID_URL")]
    if parts.username or parts.password:
        return [Problem(field, "must not carry credentials; deliveries are signed instead", "INVALID_URL")]
    if parts.hostname.lower().rstrip(".") in _METADATA_HOSTS:
        return [Problem(field, "points at a cloud metadata service", "FORBIDDEN_ADDRESS")]
    return []


def forbidden_address(address: str) -> str | None:
    """Why deliveries may not go to `address` unless an admin allows it (link-local and metadata ranges)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    return None
