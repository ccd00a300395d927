"""No N+1: a page costs a constant number of Neo4j round trips however many items it holds — versions with
their group, datasets, run and code; groups with their latest version; search hits with their nodes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from neo4j import Driver
from starlette.requests import Request

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.loaders import Loaders
from lineage_graph.graphql.schema import build_schema
from lineage_graph.services.container import Services
from lineage_graph.store.graph import Neo4jGraph
from tests.support import GraphQLClient

LIST = """query($first: Int!) { modelVersions(first: $first) { totalCount nodes {
    version group { name owner } trainedOn { name version dataset { name } }
    producedBy { runId job { name } } code { repository commit } deployments { endpoint } } } }"""


def _seed(gql: GraphQLClient, count: int) -> None:
    gql.data('mutation { createModelGroup(input: {name: "ranker", owner: "search"}) { name } }')
    for i in range(count):
        gql.data(
            """mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { id } }""",
            {
                "input": {
                    "group": "ranker",
                    "artifactUri": f"s3://m/{i}",
                    "description": f"ranker, retrained ({i})",
                    "trainedOnDatasets": [{"namespace": "s3://lake", "name": f"clicks-{i % 7}", "version": str(i)}],
                    "producedBy": {"runId": f"run-{i}"},
                    "code": {"repository": "github.com/acme/ranker", "commit": f"{i:07x}"},
                }
            },
        )


def _round_trips(settings: Settings, first: int) -> int:
    return _count(settings, LIST, {"first": first}, lambda data: len(data["modelVersions"]["nodes"]) == first)


def _count(settings: Settings, document: str, variables: dict[str, Any], check: Callable[[Any], bool]) -> int:
    """Round trips of one request, run in process against the real database."""

    async def run() -> int:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            services = Services.build(graph)
            context = Context(
                services=services,
                request=Request({"type": "http", "headers": []}),
                response=None,
                principal=SYSTEM,
                loaders=Loaders.build(services, SYSTEM),
            )
            before = graph.round_trips
            result = await build_schema().execute(document, variable_values=variables, context_value=context)
            assert result.errors is None, result.errors
            assert result.data is not None
            assert check(result.data), result.data
            return graph.round_trips - before
        finally:
            await graph.close()

    return asyncio.run(run())


def test_round_trips_do_not_grow_with_the_page(gql: GraphQLClient, db: Driver, settings: Settings) -> None:
    _seed(gql, 100)
    fifty = _round_trips(settings, 50)
    hundred = _round_trips(settings, 100)
    assert fifty == hundred
    assert fifty <= 8, f"{fifty} round trips for one request"


GROUPS = """query($first: Int!) { modelGroups(first: $first) { nodes { name
    latestVersion { version group { name } } approved: latestVersion(approvalStatus: APPROVED) { version } } } }"""
SEARCH = """query($first: Int!) { search(text: "ranker", types: [MODEL_VERSION], first: $first) { score node { id
    ... on ModelVersion { version group { name } } ... on ModelGroup { name } } } }"""
GROUP_VERSIONS = """query($first: Int!) { modelGroup(name: "ranker") {
    versions(first: $first) { totalCount nodes { version trainedOn { name } } } } }"""


def test_group_lists_search_and_group_pages_do_not_grow_with_the_page(
    gql: GraphQLClient, db: Driver, settings: Settings
) -> None:
    _seed(gql, 30)
    for i in range(30):
        gql.data("mutation($n: String!) { createModelGroup(input: {name: $n}) { name } }", {"n": f"ranker-{i:02}"})
    ten, thirty = (
        _count(settings, GROUPS, {"first": n}, lambda d, n=n: len(d["modelGroups"]["nodes"]) == n) for n in (10, 30)
    )
    assert ten == thirty <= 3
    # search hits come with their nodes: one query for the hits, one batch for what they nest
    few, many = (_count(settings, SEARCH, {"first": n}, lambda d, n=n: len(d["search"]) == n) for n in (5, 25))
    assert few == many <= 2
    small, large = (
        _count(settings, GROUP_VERSIONS, {"first": n}, lambda d, n=n: len(d["modelGroup"]["versions"]["nodes"]) == n)
        for n in (5, 30)
    )
    assert small == large <= 3


PAGE = """query($first: Int!, $group: String) {
  modelVersions(first: $first, filter: {group: $group}, sort: CREATED_AT, direction: DESC) {
    totalCount nodes { id ...Drawn } } }
fragment Drawn on ModelVersion { version group { name owner versionCount } trainedOn { name version uri } }"""
ONE = """query($id: ID!) { node(id: $id) { ... on ModelVersion { id version group { name owner versionCount }
    trainedOn { name version uri } } } }"""


def test_a_page_of_versions_reads_their_groups_and_training_data_with_it(
    gql: GraphQLClient, db: Driver, settings: Settings
) -> None:
    _seed(gql, 12)
    gql.data('mutation { createModelGroup(input: {name: "other", owner: "ads"}) { name } }')
    gql.data('mutation { registerModelVersion(input: {group: "other", artifactUri: "s3://o/1"}) { id } }')
    for group, count in ((None, 13), ("ranker", 12)):
        variables = {"first": 20, "group": group}
        # the page, its versions' groups and their training data: one statement, through a fragment too
        assert _count(settings, PAGE, variables, lambda d, n=count: len(d["modelVersions"]["nodes"]) == n) == 1
        page = gql.data(PAGE, variables)["modelVersions"]["nodes"]
        # what came with the page is what each version's own fields read through the loaders
        for item in page:
            assert gql.data(ONE, {"id": item["id"]})["node"] == item
    assert {item["group"]["name"] for item in gql.data(PAGE, {"first": 20})["modelVersions"]["nodes"]} == {
        "ranker",
        "other",
    }
    # a group's own page reads its versions' training data with it
    assert _count(settings, GROUP_VERSIONS, {"first": 5}, lambda d: len(d["modelGroup"]["versions"]["nodes"]) == 5) == 2
