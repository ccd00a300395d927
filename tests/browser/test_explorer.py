"""The explorer at /ui, used as a person would: sign in with a token, search, open a group and a version (with
their stages), compare two versions, draw and expand the lineage, decide an approval, flag a dataset version,
read and verify the audit log. What is drawn is checked against what the API answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from lineage_graph.domain.auth import Role
from tests.browser.conftest import Screenshot
from tests.conftest import TokenFactory
from tests.support import GraphQLClient

pytestmark = pytest.mark.slow

_LINEAGE = """
query ($id: ID!, $depth: Int!) {
  lineage(id: $id, direction: BOTH, depth: $depth, limit: 500) {
    nodes { id expandable }
    edges { source target type }
  }
}
"""
_VERSION_ID = 'query ($v: Int!) { modelVersion(group: "fraud-detector", version: $v) { id } }'
_VERIFICATION = "{ auditVerification { status events partitions { name verifiedThrough } } }"
_SET_STAGE = """
mutation ($id: ID!, $stage: String!, $description: String) {
  setModelVersionStage(id: $id, stage: $stage, stageDescription: $description) { stage }
}
"""
_CLEAN = """{ datasetVersion(namespace: "s3://acme-lake", name: "transactions_clean", version: "2024-06-01") { id } }"""


def _sign_in(page: Page, token: str, name: str) -> None:
    page.goto("/ui/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("nav .me")).to_contain_text(name)


def _drawn(page: Page) -> tuple[set[str], set[tuple[str, str, str]]]:
    drawn: dict[str, list[Any]] = page.evaluate(
        """() => ({
          nodes: window.lineageGraph.nodes().map(n => n.id()),
          edges: window.lineageGraph.edges().map(e => [e.data('source'), e.data('type'), e.data('target')]),
        })"""
    )
    return set(drawn["nodes"]), {(s, t, d) for s, t, d in drawn["edges"]}


def _answered(gql: GraphQLClient, node_id: str, depth: int) -> tuple[set[str], set[tuple[str, str, str]], list[str]]:
    graph = gql.data(_LINEAGE, {"id": node_id, "depth": depth})["lineage"]
    nodes = {n["id"] for n in graph["nodes"]}
    edges = {(e["source"], e["type"], e["target"]) for e in graph["edges"]}
    return nodes, edges, [n["id"] for n in graph["nodes"] if n["expandable"]]


def test_sign_in_search_compare_and_draw_the_lineage(
    page: Page, demo: None, make_token: TokenFactory, gql: GraphQLClient, screenshot: Screenshot
) -> None:
    _sign_in(page, make_token("reviewer", Role.VIEWER), "reviewer")
    assert page.evaluate("() => localStorage.length") == 0  # the token lives in this tab's sessionStorage only

    page.get_by_role("searchbox").fill("fraud")
    page.get_by_role("button", name="Search", exact=True).click()
    group_hit = page.locator('table.search-results tr[data-kind="ModelGroup"]')
    expect(group_hit).to_contain_text("fraud-detector")
    screenshot(page, "search")

    # Version 2 moved on to Staging; the others were never moved, so they are in the group's first stage.
    version_id = gql.data(_VERSION_ID, {"v": 2})["modelVersion"]["id"]
    gql.data(_SET_STAGE, {"id": version_id, "stage": "Staging", "description": "shadow traffic only"})
    group_hit.get_by_role("link", name="fraud-detector").click()
    versions = page.get_by_role("table", name="versions")
    expect(versions.locator("tbody tr")).to_have_count(3)
    expect(versions.locator("thead")).to_contain_text("auc (validation)")
    expect(versions.locator("thead")).to_contain_text("stage")
    expect(versions.locator('tr[data-version="2"]')).to_contain_text("champion")
    expect(versions.locator('tr[data-version="2"] [data-stage]')).to_have_attribute("data-stage", "Staging")
    expect(versions.locator('tr[data-version="1"] [data-stage]')).to_have_attribute("data-stage", "Development")
    screenshot(page, "group")

    page.get_by_label("select version 1").check()
    page.get_by_label("select version 2").check()
    page.get_by_role("button", name="Compare 2 versions").click()
    auc = page.get_by_role("table", name="metrics").locator('tr[data-metric="auc"]')
    expect(auc.locator("td.best")).to_contain_text("0.93")  # version 2's, marked best
    expect(page.get_by_role("table", name="hyperparameters")).to_contain_text("max_depth")
    expect(page.get_by_role("table", name="lineage differences")).to_contain_text("8d41f0c3aa92")
    screenshot(page, "compare")

    page.get_by_role("link", name="fraud-detector v2").first.click()
    expect(page.locator("h1")).to_contain_text("v2")
    expect(page.get_by_role("table", name="metrics")).to_contain_text("latency_ms")
    expect(page.get_by_role("table", name="deployments")).to_contain_text("fraud-scoring-staging")
    expect(page.locator(".readiness")).to_be_visible()
    expect(page.locator("#stage [data-stage]")).to_have_attribute("data-stage", "Staging")
    expect(page.locator("dl.facts")).to_contain_text("shadow traffic only")
    screenshot(page, "version")

    page.get_by_role("link", name="Open the lineage graph").click()
    canvas = page.locator("#lineage-canvas[data-ready=true]")
    expect(canvas).to_be_visible()
    nodes, edges, expandable = _answered(gql, version_id, 3)
    assert _drawn(page) == (nodes, edges)
    assert len(nodes) >= 6
    screenshot(page, "lineage")

    # A click on a node that has more beyond it draws its neighbours in.
    target = expandable[0]
    box = canvas.bounding_box()
    assert box is not None
    spot = page.evaluate("id => window.lineageGraph.getElementById(id).renderedPosition()", target)
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    expect(page.locator(".details .expanded")).to_be_visible()
    around_nodes, around_edges, _ = _answered(gql, target, 1)
    assert _drawn(page) == (nodes | around_nodes, edges | around_edges)
    assert around_nodes - nodes, "the expanded node had more beyond it"


def test_an_approver_approves_and_a_contributor_is_refused_with_the_reason(
    page: Page, demo: None, make_token: TokenFactory, gql: GraphQLClient, screenshot: Screenshot
) -> None:
    _sign_in(page, make_token("cora", Role.CONTRIBUTOR), "cora")
    page.goto("/ui/#/version/fraud-detector/1")
    expect(page.locator("#approval-status [data-status]")).to_have_attribute("data-status", "PENDING_MANUAL_APPROVAL")
    page.get_by_role("button", name="Approve").click()
    refusal = page.locator('.decision [role="alert"]')
    expect(refusal).to_have_attribute("data-code", "FORBIDDEN")
    expect(refusal.locator('[data-problem="MISSING_ROLE"]')).to_be_visible()
    screenshot(page, "approval-refused")
    assert gql.data(_VERSION_ID.replace("{ id }", "{ approvalStatus }"), {"v": 1})["modelVersion"] == {
        "approvalStatus": "PENDING_MANUAL_APPROVAL"
    }

    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, make_token("ada", Role.APPROVER), "ada")
    page.goto("/ui/#/version/fraud-detector/1")
    expect(page.locator(".readiness")).to_have_attribute("data-ready", "true")
    page.get_by_label("comment").fill("metrics and lineage reviewed")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#approval-status [data-status]")).to_have_attribute("data-status", "APPROVED")
    history = page.get_by_role("table", name="approval history")
    expect(history).to_contain_text("ada")
    expect(history).to_contain_text("metrics and lineage reviewed")
    screenshot(page, "approved")


def test_impact_of_a_dataset_version_flagging_it_and_the_audit_log(
    page: Page,
    demo: None,
    make_token: TokenFactory,
    gql: GraphQLClient,
    client_as: Callable[..., GraphQLClient],
    screenshot: Screenshot,
) -> None:
    # Version 2 (deployed to staging) approved beforehand: it must come first among the impacted.
    approve = "mutation ($id: ID!) { approveModelVersion(id: $id) { decision { id } } }"
    version_2 = gql.data(_VERSION_ID, {"v": 2})["modelVersion"]["id"]
    client_as("max", Role.APPROVER).data(approve, {"id": version_2})
    clean = gql.data(_CLEAN)["datasetVersion"]["id"]

    _sign_in(page, make_token("ines", Role.APPROVER), "ines")
    page.goto(f"/ui/#/impact/{clean}")
    answer = gql.data("query ($id: ID!) { impact(id: $id) { modelVersions { group version } } }", {"id": clean})
    expected = [f"{v['group']} v{v['version']}" for v in answer["impact"]["modelVersions"]]
    assert expected[0] == "fraud-detector v2"  # approved and deployed first
    impacted = page.get_by_role("table", name="impacted model versions").locator("tbody tr")
    expect(impacted.locator("td:first-child")).to_have_text(expected)
    expect(impacted.first).to_contain_text("fraud-scoring-staging")
    screenshot(page, "impact")

    page.get_by_placeholder("What is wrong with this data").fill("duplicated card ids after the June backfill")
    page.get_by_role("button", name="Flag").click()
    expect(page.locator(".flag [role=status]")).to_contain_text("1 approved version(s) now need review")

    page.goto("/ui/#/audit")
    page.get_by_label("actor").fill("ines")
    page.get_by_role("button", name="Filter").click()
    events = page.get_by_role("table", name="audit events").locator("tbody tr")
    expect(events.first).to_contain_text("ines")
    expect(page.get_by_role("table", name="audit events")).to_contain_text("dataset_version.flag")

    # The verify result, as the server computes it.
    verification = page.get_by_role("region", name="chain verification")
    verification.get_by_role("button", name="Verify the chain").click()
    expect(verification.locator(".verdict")).to_have_attribute("data-status", "INTACT")
    report = gql.data(_VERIFICATION)["auditVerification"]
    how_far = f"{report['events']} events in {len(report['partitions'])} partitions"
    expect(verification.locator(".verdict")).to_contain_text(how_far)
    chains = verification.get_by_role("table", name="partition chains").locator("tbody tr")
    expect(chains).to_have_count(len(report["partitions"]))
    flagged_chain = chains.and_(page.locator('[data-partition="DatasetVersion"]'))
    expect(flagged_chain).to_have_attribute("data-status", "INTACT")
    expect(flagged_chain.locator("td:nth-child(3)")).to_have_text(
        str(next(p["verifiedThrough"] for p in report["partitions"] if p["name"] == "DatasetVersion"))
    )
    screenshot(page, "audit")
    # A subject leads to everything recorded about it, whoever did it.
    # (The flag's transaction also recorded a review_needed event per affected version, so the flag's own row
    # need not be the newest.)
    subject = "DatasetVersion:s3://acme-lake/transactions_clean/2024-06-01"
    flagged = events.filter(has_text="dataset_version.flag")
    flagged.first.get_by_role("link", name=subject).click()
    expect(page.get_by_label("subject")).to_have_value(subject)
    expect(page.get_by_label("actor")).to_have_value("")
    expect(events.filter(has_text="dataset_version.flag").first).to_be_visible()
    for cell in events.locator("td:nth-child(5)").all_inner_texts():
        assert cell == subject
