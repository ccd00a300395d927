"""The clients' shared request rules, without the network: what is sent, which replies are tried again (and
for how long), how errors map to types, and when waiting for an approval ends."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lineage_graph.client import ApprovalRejected, ApprovalTimeout, Forbidden, RetryPolicy, Unavailable
from lineage_graph.client._approval_wait import ApprovalWait
from lineage_graph.client._operations import Operation
from lineage_graph.client._transport import Endpoint, Exchange, Wait

ENDPOINT = Endpoint("http://127.0.0.1:8000", "lgt_secret")
POLICY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
REQUEST = httpx.Request("POST", ENDPOINT.graphql_url)


def _operation(retry_safe: bool = False) -> Operation[Any]:
    return Operation("query { result: ping }", {"n": 1}, lambda raw: raw, retry_safe)


def _answer(status: int, body: dict[str, Any] | None) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(status, content=content, request=REQUEST)


_UNAVAILABLE = {"errors": [{"message": "database busy", "extensions": {"code": "UNAVAILABLE"}}]}


def test_the_request_is_built_once_with_the_token() -> None:
    exchange = Exchange(_operation(), ENDPOINT, POLICY)
    assert exchange.url == "http://127.0.0.1:8000/graphql"
    assert exchange.headers["Authorization"] == "Bearer lgt_secret"
    assert json.loads(exchange.body) == {"query": "query { result: ping }", "variables": {"n": 1}}
    assert exchange.reply(_answer(200, {"data": {"result": "pong"}})) == "pong"


def test_an_outage_is_tried_again_until_the_attempts_run_out() -> None:
    exchange = Exchange(_operation(), ENDPOINT, POLICY)
    first = exchange.reply(_answer(200, _UNAVAILABLE))
    assert isinstance(first, Wait)
    assert 0 <= first.seconds <= POLICY.max_delay
    assert isinstance(exchange.reply(_answer(503, None)), Wait)
    with pytest.raises(Unavailable, match="database busy"):
        exchange.reply(_answer(200, _UNAVAILABLE))


def test_a_refusal_is_raised_typed_at_once() -> None:
    refusal = {"errors": [{"message": "needs approver", "extensions": {"code": "FORBIDDEN", "problems": []}}]}
    with pytest.raises(Forbidden, match="needs approver"):
        Exchange(_operation(), ENDPOINT, POLICY).reply(_answer(200, refusal))


def test_a_lost_response_is_resent_only_when_the_operation_is_safe_to_resend() -> None:
    lost = httpx.ReadTimeout("timed out", request=REQUEST)
    assert isinstance(Exchange(_operation(retry_safe=True), ENDPOINT, POLICY).reply(lost), Wait)
    with pytest.raises(Unavailable, match="ReadTimeout"):
        Exchange(_operation(retry_safe=False), ENDPOINT, POLICY).reply(lost)
    # A connection that never opened did nothing, so any operation may try again.
    refused = httpx.ConnectError("connection refused", request=REQUEST)
    assert isinstance(Exchange(_operation(retry_safe=False), ENDPOINT, POLICY).reply(refused), Wait)


def test_waiting_for_approval_ends_on_a_decision_or_the_deadline() -> None:
    wait = ApprovalWait("fraud", 3, timeout=60, poll_interval=2)
    assert wait.pause_after("PENDING_MANUAL_APPROVAL") == 2
    assert wait.pause_after("APPROVED") is None
    with pytest.raises(ApprovalRejected, match="fraud/3 was rejected"):
        wait.pause_after("REJECTED")
    with pytest.raises(ApprovalTimeout, match="fraud/3 is still PENDING_MANUAL_APPROVAL after 0 s"):
        ApprovalWait("fraud", 3, timeout=0, poll_interval=2).pause_after("PENDING_MANUAL_APPROVAL")
