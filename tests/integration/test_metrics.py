"""/metrics over real HTTP: Prometheus text with requests per route, GraphQL per operation, errors by code."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import GraphQLClient


def _samples(http: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_graphql_operations_are_counted_by_name_and_type(http: httpx.Client, gql: GraphQLClient) -> None:
    before = _samples(http)
    for _ in range(3):
        gql.data("query MetricsProbe { serverInfo { version database { nodeCount } } }")
    after = _samples(http)
    ok = {"operation": "MetricsProbe", "type": "query", "outcome": "ok"}
    assert (
        _value(after, "lineage_graph_graphql_operations_total", **ok)
        - _value(before, "lineage_graph_graphql_operations_total", **ok)
        == 3
    )
    latency = {"operation": "MetricsProbe", "type": "query"}
    assert _value(after, "lineage_graph_graphql_operation_duration_seconds_count", **latency) >= 3
    assert _value(after, "lineage_graph_graphql_operation_duration_seconds_sum", **latency) > 0
    route = {"method": "POST", "route": "/graphql", "status": "200"}
    assert (
        _value(after, "lineage_graph_http_requests_total", **route)
        - _value(before, "lineage_graph_http_requests_total", **route)
        >= 3
    )
    # Each serverInfo ran one read transaction against the real Neo4j, counted by the store.
    reads = {"kind": "read", "outcome": "ok"}
    assert (
        _value(after, "lineage_graph_neo4j_transactions_total", **reads)
        - _value(before, "lineage_graph_neo4j_transactions_total", **reads)
        >= 3
    )
    assert _value(after, "lineage_graph_neo4j_transaction_attempts_total", kind="read") >= 3
    assert _value(after, "lineage_graph_neo4j_pool_max_size") == 50
    assert _value(after, "lineage_graph_neo4j_up") == 1


def test_errors_are_counted_by_code(http: httpx.Client, gql: GraphQLClient) -> None:
    before = _samples(http)
    gql.execute("query Broken { serverInfo { nope } }")
    gql.execute("query Unfinished { serverInfo {")
    after = _samples(http)
    invalid = {"operation": "Broken", "code": "GRAPHQL_VALIDATION_FAILED"}
    assert (
        _value(after, "lineage_graph_graphql_errors_total", **invalid)
        - _value(before, "lineage_graph_graphql_errors_total", **invalid)
        == 1
    )
    # A document that does not parse has no operation name the server could trust.
    unparsed = {"operation": "anonymous", "code": "GRAPHQL_PARSE_FAILED"}
    assert (
        _value(after, "lineage_graph_graphql_errors_total", **unparsed)
        - _value(before, "lineage_graph_graphql_errors_total", **unparsed)
        == 1
    )
    failed = {"operation": "Broken", "type": "query", "outcome": "error"}
    assert _value(after, "lineage_graph_graphql_operations_total", **failed) >= 1


def test_routes_are_labelled_by_template_not_raw_path(http: httpx.Client) -> None:
    for n in range(5):
        assert http.get(f"/no-such-page-{n}").status_code == 404
    text = http.get("/metrics").text
    assert "no-such-page" not in text
    assert re.search(r'lineage_graph_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]', text)


def test_client_chosen_operation_names_cannot_grow_the_series_without_bound(
    http: httpx.Client, gql: GraphQLClient
) -> None:
    refused = http.post("/graphql", json={"query": "{ __typename }", "operationName": "x" * 500})
    assert refused.status_code == 400, "an operationName the document lacks is refused"
    for n in range(250):
        gql.data(f"query Op{n} {{ __typename }}")
    names = {
        sample.labels["operation"]
        for family in text_string_to_metric_families(http.get("/metrics").text)
        for sample in family.samples
        if sample.name == "lineage_graph_graphql_operations_total"
    }
    assert len(names) <= 200 + 3  # the cap, plus "anonymous", "invalid" and "other"
    assert "other" in names
    assert "x" * 500 not in names
