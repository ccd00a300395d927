"""Read-your-writes across two server instances on one Neo4j, carried by the X-Lineage-Bookmark header."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from neo4j import Driver

from lineage_graph.config import Settings
from tests.support import bearer, live_server


@pytest.fixture
def second_instance(settings: Settings, db: Driver) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


def test_a_write_through_one_instance_is_read_through_another(
    base_url: str, second_instance: str, admin_token: str
) -> None:
    with (
        httpx.Client(base_url=base_url, headers=bearer(admin_token), timeout=60) as first,
        httpx.Client(base_url=second_instance, headers=bearer(admin_token), timeout=60) as second,
    ):
        wrote = first.post("/graphql", json={"query": 'mutation { createModelGroup(input: {name: "fraud"}) { name } }'})
        assert wrote.status_code == 200
        bookmark = wrote.headers["x-lineage-bookmark"]
        # A read writes nothing, so it hands out no bookmark of its own.
        assert "x-lineage-bookmark" not in first.post("/graphql", json={"query": "{ me { name } }"}).headers

        read = second.post(
            "/graphql",
            json={"query": '{ modelGroup(name: "fraud") { name } }'},
            headers={"X-Lineage-Bookmark": bookmark},
        )
        assert read.json() == {"data": {"modelGroup": {"name": "fraud"}}}

        # The token names transactions: a made-up one is refused as bad input, never INTERNAL.
        for forged in ("not-a-bookmark", "WyJGQjpub3BlIl0"):  # the second decodes to ["FB:nope"]
            refused = second.post(
                "/graphql", json={"query": "{ modelGroups { totalCount } }"}, headers={"X-Lineage-Bookmark": forged}
            )
            codes = {e["extensions"]["code"] for e in refused.json()["errors"]}
            assert codes == {"VALIDATION_FAILED"}, refused.text
