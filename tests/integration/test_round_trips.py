"""No N+1: listing versions with their group, datasets, run and code costs a constant number of Neo4j
round trips, whether the page holds 50 versions or 100."""

from __future__ import annotations

import asyncio

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
                    "trainedOnDatasets": [{"namespace": "s3://lake", "name": f"clicks-{i % 7}", "version": str(i)}],
                    "producedBy": {"runId": f"run-{i}"},
                    "code": {"repository": "github.com/acme/ranker", "commit": f"{i:07x}"},
                }
            },
        )


def _round_trips(settings: Settings, first: int) -> int:
    async def run() -> int:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            services = Services.build(graph)
            context = Context(
                services=services,
                request=Request({"type": "http", "headers": []}),
                response=None,
                principal=SYSTEM,
                loaders=Loaders.build(services),
            )
            before = graph.round_trips
            result = await build_schema().execute(LIST, variable_values={"first": first}, context_value=context)
            assert result.errors is None, result.errors
            assert result.data is not None
            assert len(result.data["modelVersions"]["nodes"]) == first
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
