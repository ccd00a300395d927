"""GraphiQL at GET /graphql: everything from this server, the token in a header that is never stored, the
schema fetched again when the token changes, a query that runs, and a subscription over graphql-ws."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Request, Response, WebSocket, expect

from lineage_graph.domain.auth import Role
from tests.browser.conftest import Screenshot, loopback
from tests.conftest import TokenFactory
from tests.support import SESSION_ADMIN, GraphQLClient

pytestmark = pytest.mark.slow


def _introspection_with(token: str):  # type: ignore[no-untyped-def]
    def matches(request: Request) -> bool:
        body = request.post_data or ""
        return (
            request.url.endswith("/graphql")
            and "IntrospectionQuery" in body
            and request.headers.get("authorization") == f"Bearer {token}"
        )

    return matches


def _paste_token(page: Page, token: str) -> Response:
    """Put the token in the Headers tab, as the page's hint says; answers the introspection it sets off."""
    page.locator(".graphiql-editor-tools").get_by_text("Headers", exact=True).click()
    headers = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
    expect(headers).to_contain_text("Authorization")
    # Introspecting the whole schema is the slowest answer the page waits for: give a busy machine time.
    with page.expect_response(lambda r: _introspection_with(token)(r.request), timeout=45_000) as introspection:
        headers.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))
    return introspection.value


def test_graphiql_works_offline_and_runs_the_lineage_query(
    page: Page, base_url: str, demo: None, make_token: TokenFactory, screenshot: Screenshot
) -> None:
    token = make_token("graphiql-viewer", Role.VIEWER)
    page.goto("/graphql", wait_until="domcontentloaded")
    expect(page.locator(".graphiql-container")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("Authorization")
    # The default document is a real lineage query.
    expect(page.locator(".graphiql-query-editor")).to_contain_text("query ModelVersionLineage")

    introspection = _paste_token(page, token)
    assert introspection.status == 200
    assert "__schema" in introspection.json()["data"]

    with page.expect_response(lambda r: "ModelVersionLineage" in (r.request.post_data or "")) as execution:
        page.locator(".graphiql-execute-button").click()
    lineage = execution.value.json()["data"]["modelVersion"]["lineage"]
    assert "s3://acme-lake/transactions_clean@2024-06-01" in {node["displayName"] for node in lineage["nodes"]}
    assert lineage["edges"]
    result = page.locator(".result-window")  # CodeMirror draws only the lines in view: the top of the answer
    expect(result).to_contain_text('"groupName": "fraud-detector"')
    expect(result).to_contain_text('"displayName": "fraud-detector/1"')
    screenshot(page, "graphiql")

    stored = page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert token not in stored, "the token must not be written to browser storage"
    assert page.evaluate("() => localStorage.length") == 0

    # A new tab session starts without it: nothing was kept.
    page.reload(wait_until="domcontentloaded")
    expect(page.locator(".graphiql-container")).to_be_visible()
    assert token not in page.content()


# The group's events from the start of the log: the group is created only once the subscription runs, so what
# arrives was caused after it started, and no "from now" race between the subscribe and the mutation.
_WATCH = """subscription WatchGroup {
  events(group: "graphiql-watch", afterSequence: 0) { type group subject actor }
}"""


def test_graphiql_streams_a_subscription_over_graphql_ws(
    page: Page, make_token: TokenFactory, gql: GraphQLClient, screenshot: Screenshot
) -> None:
    token = make_token("graphiql-watcher", Role.VIEWER)
    page.goto("/graphql", wait_until="domcontentloaded")
    expect(page.locator(".graphiql-container")).to_be_visible()
    _paste_token(page, token)

    page.locator(".graphiql-query-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(_WATCH)
    expect(page.locator(".graphiql-query-editor")).to_contain_text("subscription WatchGroup")
    # GraphiQL parses the editor a moment after a change (and stores it then); until it has, a run would
    # still send the previous document, a query, over HTTP.
    page.wait_for_function("() => (sessionStorage.getItem('graphiql:query') || '').includes('WatchGroup')")
    sent: list[str] = []
    received: list[str] = []

    def watch(socket: WebSocket) -> None:  # listening from the start, so connection_init is seen too
        socket.on("framesent", lambda frame: sent.append(str(frame)))
        socket.on("framereceived", lambda frame: received.append(str(frame)))

    page.on("websocket", watch)
    with page.expect_websocket(timeout=45_000) as opened:
        page.locator(".graphiql-execute-button").click()
    socket = opened.value
    assert loopback(socket.url), socket.url
    assert socket.url.endswith("/graphql")
    expect(page.get_by_role("button", name="Stop query")).to_be_visible()  # the subscription is running
    result = page.locator(".result-window")
    expect(result).not_to_contain_text("graphiql-watch")

    gql.data('mutation { createModelGroup(input: {name: "graphiql-watch"}) { name } }')
    expect(result).to_contain_text('"subject": "ModelGroup:graphiql-watch"')
    expect(result).to_contain_text(f'"actor": "{SESSION_ADMIN}"')
    assert any("ModelGroup:graphiql-watch" in frame for frame in received), received
    # The token reaches the server in graphql-ws's connection_init: a browser cannot set WebSocket headers.
    assert any("connection_init" in frame and token in frame for frame in sent), sent
    screenshot(page, "graphiql-subscription")
    page.get_by_role("button", name="Stop query").click()
    expect(page.get_by_role("button", name="Execute query")).to_be_visible()
