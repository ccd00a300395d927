"""An instance that knows of no webhook subscription stays off the database: it looks for one every few seconds,
and knows of one it created itself at once. Either way, a subscription receives every event from its creation
on, whichever instance delivers it."""

from __future__ import annotations

import asyncio

from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM
from lineage_graph.services.container import Services
from lineage_graph.services.webhooks import DeliverySettings
from lineage_graph.store.graph import Neo4jGraph


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_subscription_is_known_at_once_where_it_was_created_and_within_the_refresh_elsewhere(
    settings: Settings, db: Driver
) -> None:
    async def scenario() -> list[bool]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            here = Services.build(graph, webhook_delivery=DeliverySettings(refresh_seconds=5.0)).webhooks
            elsewhere = Services.build(graph, webhook_delivery=DeliverySettings(refresh_seconds=5.0)).webhooks
            clock = _Clock()
            for service in (here, elsewhere):
                service.known._clock = clock
            seen = [await here.known.any(), await elsewhere.known.any()]  # none yet: both read that
            await here.create(SYSTEM, "http://127.0.0.1:9/hook", ["*"])
            clock.now = 4.9  # within the refresh: the other instance has not looked again
            seen += [await here.known.any(), await elsewhere.known.any()]
            clock.now = 5.0
            seen.append(await elsewhere.known.any())
            return seen
        finally:
            await graph.close()

    assert asyncio.run(scenario()) == [False, False, True, False, True]


def test_a_subscription_created_while_an_idle_read_is_under_way_stays_known(settings: Settings, db: Driver) -> None:
    async def scenario() -> bool:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            webhooks = Services.build(graph).webhooks
            # The read starts before the subscription commits and answers "none" after it was created here.
            reading = asyncio.ensure_future(webhooks.known.any())
            await asyncio.sleep(0)
            webhooks.known.created()
            await reading
            return await webhooks.known.any()
        finally:
            await graph.close()

    assert asyncio.run(scenario())
