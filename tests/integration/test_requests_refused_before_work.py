"""Hostile requests are refused before work: the body limit on every route before authentication, the caller's
authority before the body is read or parsed, and a signed payload hash checked against the body."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlparse

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from neo4j import Driver

from lineage_graph.app import graph_settings, sigv4_master_key
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.services.container import Services
from lineage_graph.store.graph import Neo4jGraph
from tests.support import GraphQLClient, bearer, graph_counts


def _partial_post(base_url: str, path: str, headers: dict[str, str], declared: int) -> bytes:
    """Send the request line, headers and a few bytes of a body declared `declared` long; return what the
    server answers within 10 s (a server that waits for the rest of the body answers nothing)."""
    url = urlparse(base_url)
    assert url.hostname is not None
    assert url.port is not None
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.hostname}:{url.port}", f"Content-Length: {declared}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b'[{"eventType": "START"')
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def test_openlineage_refuses_a_caller_before_reading_the_body(
    base_url: str, db: Driver, make_token: Callable[..., str]
) -> None:
    viewer = make_token("vera", Role.VIEWER)
    answer = _partial_post(base_url, "/api/v1/lineage", {"Content-Type": "application/json"}, 1_000_000)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    answer = _partial_post(base_url, "/api/v1/lineage", bearer(viewer), 1_000_000)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    # Nor is a body parsed for a caller who may not ingest: the refusal is about the caller, not the JSON.
    before = graph_counts(db)
    response = httpx.post(f"{base_url}/api/v1/lineage", content=b"{not json", headers=bearer(viewer))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert graph_counts(db) == before


def test_every_route_has_a_body_limit_before_authentication(base_url: str, settings: Settings, db: Driver) -> None:
    sigv4 = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKXXXX/20260101/us-east-1/sagemaker/aws4_request"}
    big = b"{" + b" " * (512 * 1024) + b"}"
    response = httpx.post(f"{base_url}/sagemaker/", content=big, headers=sigv4)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    # A chunked body (no Content-Length) from a caller whose signature headers pass is cut off at the limit.
    key_id, _secret = _issue_key(settings)
    now = datetime.now(UTC)
    presented = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{now:%Y%m%d}/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "X-Amz-Date": f"{now:%Y%m%dT%H%M%SZ}",
    }
    chunks = (b" " * 65536 for _ in range(8))
    assert httpx.post(f"{base_url}/sagemaker/", content=chunks, headers=presented).status_code == 413


def test_sagemaker_checks_the_signature_headers_before_reading_the_body(base_url: str, db: Driver) -> None:
    now = datetime.now(UTC)
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/{now:%Y%m%d}/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "X-Amz-Date": f"{now:%Y%m%dT%H%M%SZ}",
        "X-Amz-Target": "SageMaker.ListModelPackageGroups",
    }
    answer = _partial_post(base_url, "/sagemaker/", headers, 200_000)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    assert b"InvalidSignatureException" in answer or b"UnrecognizedClient" in answer


def _issue_key(settings: Settings) -> tuple[str, str]:
    async def issue() -> tuple[str, str]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            keys = Services.build(graph, sigv4_master_key=sigv4_master_key(settings)).access_keys
            issued = await keys.issue(SYSTEM, "pipeline", Role.CONTRIBUTOR, "pipeline")
            return issued.key.access_key_id, issued.secret
        finally:
            await graph.close()

    return asyncio.run(issue())


def test_a_signed_payload_hash_must_match_the_body(base_url: str, settings: Settings, gql: GraphQLClient) -> None:
    gql.data('mutation { createModelGroup(input: {name: "fraud"}) { name } }')
    key_id, secret = _issue_key(settings)
    url = f"{base_url}/sagemaker/"
    signed_body = json.dumps({"ModelPackageGroupName": "fraud"}).encode()
    request = AWSRequest(
        method="POST",
        url=url,
        data=signed_body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "SageMaker.DescribeModelPackageGroup",
            "X-Amz-Content-SHA256": hashlib.sha256(signed_body).hexdigest(),
        },
    )
    SigV4Auth(Credentials(key_id, secret), "sagemaker", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    genuine = httpx.post(url, content=signed_body, headers=headers)
    assert genuine.status_code == 200, genuine.text
    assert genuine.json()["ModelPackageGroupName"] == "fraud"

    swapped = json.dumps({"ModelPackageGroupName": "other"}).encode()
    response = httpx.post(url, content=swapped, headers=headers)
    assert response.status_code == 400
    assert response.json()["__type"] == "InvalidSignatureException"
    assert "X-Amz-Content-SHA256" in response.json()["message"]
