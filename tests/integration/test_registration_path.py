"""A registration's work on the wire, and the guess it makes: once a server has registered into a group, its next
registration there is one statement and the commit. A guess that turns out wrong (another server registered,
another event of the group came in between, the rules changed) costs a statement more, never a wrong number, a
broken chain, a rule skipped or a half-written version."""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import pytest
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.audit import partition_of
from lineage_graph.domain.auth import SYSTEM
from lineage_graph.domain.commands import CreateModelGroup, RegisterModelVersion
from lineage_graph.services.container import Services
from lineage_graph.store.graph import Neo4jGraph
from tests.support import (
    AUDIT_LABELS,
    GraphQLClient,
    error_codes,
    graph_fingerprint,
    live_server,
    problem_fields,
    verify_audit_chain,
)

REGISTER = """mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"""


def _register(gql: GraphQLClient, group: str, n: int, **extra: object) -> dict[str, object]:
    return gql.execute(REGISTER, {"input": {"group": group, "artifactUri": f"s3://m/{group}/{n}", **extra}})


def _numbers(db: Driver, group: str) -> list[int]:
    rows = db.execute_query("MATCH (v:ModelVersion {group: $g}) RETURN v.version AS n ORDER BY n", g=group).records
    return [int(r["n"]) for r in rows]


def test_the_next_registration_of_a_group_is_one_statement_and_the_commit(
    settings: Settings, db: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    """Counted on the wire (the driver's own log of the Bolt messages it sends)."""

    async def scenario() -> list[tuple[int, int]]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        services = Services.build(graph)
        try:
            await services.registry.create_group(SYSTEM, CreateModelGroup("wire"))
            sent: list[tuple[int, int]] = []
            for n in range(3):
                caplog.clear()
                with caplog.at_level(logging.DEBUG, logger="neo4j"):
                    cmd = RegisterModelVersion("wire", f"s3://m/wire/{n}", metrics=())
                    version = await services.registry.register_version(SYSTEM, cmd)
                assert version.version == n + 1
                # The session's live server runs in another thread of this process: its traffic is not ours.
                here = threading.get_ident()
                messages = [r.getMessage() for r in caplog.records if r.name.startswith("neo4j") and r.thread == here]
                sent.append((sum(" C: RUN " in m for m in messages), sum(m.endswith(" C: COMMIT") for m in messages)))
            return sent
        finally:
            await graph.close()

    # The first registration of the group on this server reads what the second statement writes from.
    assert asyncio.run(scenario()) == [(2, 1), (1, 1), (1, 1)]
    assert _numbers(db, "wire") == [1, 2, 3]
    assert verify_audit_chain(settings).intact


def test_another_server_and_other_events_in_between_keep_numbers_and_chain(
    settings: Settings, base_url: str, gql: GraphQLClient, db: Driver
) -> None:
    gql.data('mutation { createModelGroup(input: {name: "shared"}) { name } }')
    with live_server(settings) as other_url:
        other = GraphQLClient(httpx.Client(base_url=other_url, headers=dict(gql.http.headers), timeout=30))
        got = []
        for n, client in enumerate([gql, gql, other, gql, other, other, gql]):
            if n == 4:  # another event in the group's chain, between two guesses of this server
                gql.data('mutation { updateModelGroup(name: "shared", input: {description: "d"}) { name } }')
            body = _register(client, "shared", n)
            assert not body.get("errors"), body
            got.append(body["data"]["registerModelVersion"]["version"])  # type: ignore[index]
        other.http.close()
    assert got == list(range(1, 8))
    assert _numbers(db, "shared") == list(range(1, 8))
    # The group's chain: its creation, the seven registrations and the update, unbroken. (The global log is the
    # sequencers' business, and two servers run two of them.)
    chain = next(
        p for p in verify_audit_chain(settings).partition_reports if p.name == partition_of("ModelGroup:shared")
    )
    assert chain.intact, chain.broken
    assert chain.verified_through == chain.head_sequence == 9
    latest = db.execute_query("MATCH (g:ModelGroup {name: 'shared'}) RETURN g.latest_version AS n").records
    assert latest[0]["n"] == 7


def test_rules_changed_since_the_last_registration_apply_to_the_next(gql: GraphQLClient, db: Driver) -> None:
    gql.data('mutation { createModelGroup(input: {name: "ruled"}) { name } }')
    assert not _register(gql, "ruled", 1).get("errors")
    gql.data("""mutation { setRegistrationContract(group: "ruled", contract: {
      requiredProperties: [{name: "team", allowedValues: ["growth"]}]}) { version } }""")
    before = graph_fingerprint(db, AUDIT_LABELS)
    refused = _register(gql, "ruled", 2)
    assert error_codes(refused) == ["VALIDATION_FAILED"]
    assert "customProperties.team" in problem_fields(refused)
    assert graph_fingerprint(db, AUDIT_LABELS) == before
    body = _register(gql, "ruled", 3, customProperties={"team": "growth"})
    assert body["data"] == {"registerModelVersion": {"version": 2}}
    stored = db.execute_query("MATCH (v:ModelVersion {group: 'ruled', version: 2}) RETURN v.contract_version AS c")
    assert stored.records[0]["c"] == 1
