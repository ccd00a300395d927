"""Verify an AWS Signature Version 4 on a received request by recomputing it with botocore's own signer.

The client signed a canonical form of its request (method, path, query, the headers it lists in
SignedHeaders, the body's SHA-256) with a key derived from its secret, the date, region and service. We
rebuild that request from what arrived (only the signed headers), let botocore's SigV4Auth compute the
signature for the presented access key's secret and the client's own timestamp, and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lineage_graph.domain.auth import Principal

SERVICE = "sagemaker"
MAX_SKEW = timedelta(minutes=15)  # AWS's own window for X-Amz-Date
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)

SecretLookup = Callable[[str], Awaitable[tuple[Principal, str]]]


class SignatureRejected(Exception):
    """The request is not authenticated; `code` is the AWS error code a client expects."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Verified:
    principal: Principal
    access_key_id: str
    region: str


@dataclass(frozen=True)
class Presented:
    """A request whose signature headers are well-formed, fresh and name a known key: what is left to check
    is the signature itself, which covers the body."""

    principal: Principal
    access_key_id: str
    secret: str
    region: str
    signed_headers: tuple[str, ...]
    amz_date: str
    signature: str

    def check(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Verified:
        """Recompute the signature over the received request and `body`; raise SignatureRejected on mismatch.

        botocore signs with the `X-Amz-Content-SHA256` header's value as the payload hash when the header is
        present, so that value is first checked against the body's own hash: otherwise a signed header could
        vouch for a body that was swapped in transit."""
        declared = headers.get("x-amz-content-sha256")
        if declared is not None and declared.strip().lower() != hashlib.sha256(body).hexdigest():
            raise SignatureRejected(
                "InvalidSignatureException",
                "X-Amz-Content-SHA256 does not match the SHA-256 of the request body (the payload must be signed)",
                400,
            )
        signed = {h: headers.get(h, "") for h in self.signed_headers}
        request = AWSRequest(method=method, url=url, headers=signed, data=body)
        request.context["timestamp"] = self.amz_date
        signer = SigV4Auth(Credentials(self.access_key_id, self.secret), SERVICE, self.region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, self.signature):
            raise SignatureRejected(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided",
            )
        return Verified(self.principal, self.access_key_id, self.region)


async def presented(headers: Mapping[str, str], lookup: SecretLookup, now: datetime | None = None) -> Presented:
    """Check what the headers alone can prove (scheme, scope, freshness, a known key), before the body is read;
    `lookup(access_key_id)` gives the key's principal and secret (raising for an unknown key). `headers` must be
    case-insensitive (Starlette's are)."""
    match = _AUTHORIZATION.fullmatch((headers.get("authorization") or "").strip())
    if match is None:
        raise SignatureRejected("MissingAuthenticationTokenException", "the request is not signed with SigV4")
    if match["service"] != SERVICE:
        raise SignatureRejected("InvalidSignatureException", f"the credential scope is for {match['service']}")
    amz_date = headers.get("x-amz-date") or ""
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejected("InvalidSignatureException", "X-Amz-Date is missing or malformed") from None
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_SKEW or amz_date[:8] != match["date"]:
        raise SignatureRejected("InvalidSignatureException", "Signature expired or the credential date is wrong")
    signed = tuple(match["headers"].split(";"))
    if "host" not in signed:
        raise SignatureRejected("InvalidSignatureException", "the Host header must be signed")
    principal, secret = await lookup(match["key"])
    return Presented(principal, match["key"], secret, match["region"], signed, amz_date, match["signature"])


async def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup: SecretLookup,
    now: datetime | None = None,
) -> Verified:
    """Check the request's SigV4 signature in one go (headers, then the signature over `body`)."""
    return (await presented(headers, lookup, now)).check(method, url, headers, body)
