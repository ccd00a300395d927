"""GraphiQL at GET /graphql: everything from this server, the token in a header that is never stored, the
schema fetched again when the token changes, and a query that runs."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Request, expect

from lineage_graph.domain.auth import Role
from tests.browser.conftest import Screenshot
from tests.conftest import TokenFactory

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


def test_graphiql_works_offline_and_runs_the_lineage_query(
    page: Page, base_url: str, demo: None, make_token: TokenFactory, screenshot: Screenshot
) -> None:
    token = make_token("graphiql-viewer", Role.VIEWER)
    page.goto("/graphql", wait_until="domcontentloaded")
    expect(page.locator(".graphiql-container")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("Authorization")
    # The default document is a real lineage query.
    expect(page.locator(".graphiql-query-editor")).to_contain_text("query ModelVersionLineage")

    page.locator(".graphiql-editor-tools").get_by_text("Headers", exact=True).click()
    headers = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
    expect(headers).to_contain_text("Authorization")
    with page.expect_response(lambda r: _introspection_with(token)(r.request)) as introspection:
        headers.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))
    assert introspection.value.status == 200
    assert "__schema" in introspection.value.json()["data"]

    page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    expect(result).to_contain_text('"groupName": "fraud-detector"')
    expect(result).to_contain_text('"kind": "DATASET_VERSION"')
    screenshot(page, "graphiql")

    stored = page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert token not in stored, "the token must not be written to browser storage"
    assert page.evaluate("() => localStorage.length") == 0

    # A new tab session starts without it: nothing was kept.
    page.reload(wait_until="domcontentloaded")
    expect(page.locator(".graphiql-container")).to_be_visible()
    assert token not in page.content()
