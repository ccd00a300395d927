"""Group commit: registrations of one group that arrive while one of its transactions is being written are
written together in the next one. Every registration keeps its own outcome: consecutive numbers in arrival
order, its own audit event in the group's chain, its client token honoured inside a batch and across batches,
its own refusal (with the field named, nothing of it written) without holding the others back."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.audit import partition_of
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.domain.commands import CreateModelGroup, DatasetVersionSpec, RegisterModelVersion
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.services.container import Services
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.group_rules import GroupRules
from lineage_graph.store.registration import RunLineage
from tests.support import GraphQLClient, bearer, error_codes, live_server, problem_fields, verify_audit_chain

REGISTER = """mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"""


def _numbers(db: Driver, group: str) -> list[int]:
    rows = db.execute_query("MATCH (v:ModelVersion {group: $g}) RETURN v.version AS n ORDER BY n", g=group).records
    return [int(r["n"]) for r in rows]


def _group_chain_intact(settings: Settings, group: str, events: int) -> None:
    """The group's audit partition: unbroken, and holding `events` events."""
    chain = next(
        p for p in verify_audit_chain(settings).partition_reports if p.name == partition_of(f"ModelGroup:{group}")
    )
    assert chain.intact, chain.broken
    assert chain.verified_through == chain.head_sequence == events


def _cmd(group: str, n: int, **extra: Any) -> RegisterModelVersion:
    return RegisterModelVersion(group, f"s3://m/{group}/{n}", metrics=(), **extra)


def test_registrations_queued_behind_one_are_written_together(settings: Settings, db: Driver) -> None:
    async def scenario() -> tuple[list[int], int, int]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        services = Services.build(graph)
        try:
            await services.registry.create_group(SYSTEM, CreateModelGroup("batched"))
            await services.registry.register_version(SYSTEM, _cmd("batched", 0))
            batches, commits = graph.stats.registration_batches, graph.stats.transactions[("write", "ok")]
            # Gathered: the first finds the turn free and is written alone; the nine queued behind it share the next.
            versions = await asyncio.gather(
                *(services.registry.register_version(SYSTEM, _cmd("batched", n)) for n in range(1, 10))
            )
            return (
                [v.version for v in versions],
                graph.stats.registration_batches - batches,
                graph.stats.transactions[("write", "ok")] - commits,
            )
        finally:
            await graph.close()

    numbers, batches, commits = asyncio.run(scenario())
    assert numbers == list(range(2, 11))  # in arrival order
    assert (batches, commits) == (2, 2)
    assert _numbers(db, "batched") == list(range(1, 11))
    stored = db.execute_query(
        "MATCH (v:ModelVersion {group: 'batched'}) RETURN v.version AS n, v.artifact_uri AS uri ORDER BY n"
    ).records
    assert [r["uri"] for r in stored] == [f"s3://m/batched/{n}" for n in range(10)]
    _group_chain_intact(settings, "batched", 11)  # its creation and ten registrations


def test_a_refused_registration_in_a_batch_refuses_only_itself(settings: Settings, db: Driver) -> None:
    missing = NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", "absent", "v1")
    known = DatasetVersionSpec("s3://lake", "known", "v1", digest="sha256:" + "a" * 64)
    clashing = DatasetVersionSpec("s3://lake", "known", "v1", digest="sha256:" + "b" * 64)
    parent = NodeRef.of(NodeKind.MODEL_VERSION, "mixed", 99)
    commands = [
        _cmd("mixed", 1, trained_on_specs=(known,), client_token="t-1"),
        _cmd("mixed", 2, trained_on=(missing,)),
        _cmd("mixed", 3, client_token="t-3"),
        _cmd("mixed", 4, client_token="t-1"),  # the same token as the first: the version the first created
        _cmd("mixed", 5, trained_on_specs=(clashing,)),
        _cmd("mixed", 6, derived_from=parent),
        _cmd("mixed", 7, client_token="t-3"),
        _cmd("mixed", 8),
    ]

    async def scenario() -> tuple[list[int | ValidationFailed], list[int | ValidationFailed]]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        services = Services.build(graph)
        registry = services.registry
        try:
            await registry.create_group(SYSTEM, CreateModelGroup("mixed"))
            await registry.register_version(SYSTEM, _cmd("mixed", 0, trained_on_specs=(known,)))

            async def outcomes() -> list[int | ValidationFailed]:
                found = await asyncio.gather(
                    *(registry.register_version(SYSTEM, c) for c in commands), return_exceptions=True
                )
                assert all(isinstance(f, ValidationFailed) or hasattr(f, "version") for f in found), found
                return [f if isinstance(f, ValidationFailed) else f.version for f in found]  # type: ignore[union-attr]

            return await outcomes(), await outcomes()  # the second time, every token comes back from the first
        finally:
            await graph.close()

    first, again = asyncio.run(scenario())
    fields = {i: [p.field for p in f.problems] for i, f in enumerate(first) if isinstance(f, ValidationFailed)}
    assert fields == {1: ["trainedOn[0]"], 4: ["trainedOnDatasets[0].digest"], 5: ["derivedFrom"]}
    assert [first[i] for i in (0, 2, 3, 6, 7)] == [2, 3, 2, 3, 4]
    # Replayed: the tokens return their versions; the untokened ones are new registrations.
    assert [again[i] for i in (0, 2, 3, 6)] == [2, 3, 2, 3]
    assert again[7] == 5
    assert _numbers(db, "mixed") == [1, 2, 3, 4, 5]
    uris = {r["u"] for r in db.execute_query("MATCH (v:ModelVersion) RETURN v.artifact_uri AS u").records}
    assert uris == {f"s3://m/mixed/{n}" for n in (0, 1, 3, 8)}
    # Nothing of the refused: no dataset version, no edge to the clashing digest, no event.
    absent = db.execute_query("MATCH (d:DatasetVersion {name: 'absent'}) RETURN count(d) AS n").records
    assert absent[0]["n"] == 0
    digests = db.execute_query("MATCH (d:DatasetVersion {name: 'known'}) RETURN collect(d.digest) AS d").records
    assert digests[0]["d"] == [known.digest]
    _group_chain_intact(settings, "mixed", 6)  # its creation and five registrations


def test_a_failure_inside_a_batch_is_tried_again_one_registration_at_a_time(settings: Settings, db: Driver) -> None:
    """Not a refusal but a failure (here: the rules' evaluation breaks for one of them): the batch is written
    again without it, and only its caller sees the failure."""
    props = {"artifact_uri": "s3://m", "approval_status": "PENDING_MANUAL_APPROVAL", "tags": [], "archived": False}

    def decide(broken: bool) -> Any:
        def rules(found: GroupRules, run: RunLineage | None) -> Mapping[str, Any]:
            if broken:
                raise RuntimeError("the rules broke")
            return {"stage": found.lifecycle.initial}

        return rules

    async def scenario() -> list[object]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        services = Services.build(graph)
        store = services.registry.registry
        try:
            await services.registry.create_group(SYSTEM, CreateModelGroup("split"))
            await store.register_version(_cmd("split", 0), props, "someone", decide(False))
            found = await asyncio.gather(
                *(store.register_version(_cmd("split", n), props, "someone", decide(n == 3)) for n in range(1, 6)),
                return_exceptions=True,
            )
            return [f if isinstance(f, BaseException) else f.version.version for f in found]
        finally:
            await graph.close()

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[2], RuntimeError)
    assert sorted(o for o in outcomes if isinstance(o, int)) == [2, 3, 4, 5]
    assert _numbers(db, "split") == [1, 2, 3, 4, 5]
    _group_chain_intact(settings, "split", 6)


def _metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


@pytest.mark.slow
def test_concurrent_clients_on_two_servers_keep_numbers_tokens_chain_and_refusals(
    settings: Settings, db: Driver, base_url: str, gql: GraphQLClient, admin_token: str, make_token: Any
) -> None:
    """48 clients over HTTP, half on another server: 32 registrations (16 client tokens, each sent twice at
    once), 8 whose training data does not exist, 8 from viewers; then every token again."""
    gql.data('mutation { createModelGroup(input: {name: "crowd"}) { name } }')
    viewer = make_token("watcher", Role.VIEWER)

    def request(n: int) -> tuple[dict[str, Any], str, int]:
        body: dict[str, Any] = {"group": "crowd", "artifactUri": f"s3://crowd/{n}"}
        if n < 32:
            # A token's second request goes to the same server for half of them, to the other for the rest.
            body["clientToken"] = f"token-{n % 16}"
            return body, admin_token, 0 if n < 16 else n % 2
        if n < 40:
            body["trainedOn"] = [NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", f"none-{n}", "v1").global_id]
            return body, admin_token, n % 2
        return body, viewer, n % 2

    async def send(urls: list[str], count: int) -> list[dict[str, Any]]:
        async def one(n: int) -> dict[str, Any]:
            variables, token, server = request(n)
            async with httpx.AsyncClient(base_url=urls[server], headers=bearer(token), timeout=120) as http:
                response = await http.post("/graphql", json={"query": REGISTER, "variables": {"input": variables}})
                assert response.status_code == 200, response.text
                answer: dict[str, Any] = response.json()
                return answer

        return await asyncio.gather(*(one(n) for n in range(count)))

    with live_server(settings) as other_url:
        urls = [base_url, other_url]
        before = [
            (_metric(u, "lineage_graph_registrations_total"), _metric(u, "lineage_graph_registration_batches_total"))
            for u in urls
        ]
        first = asyncio.run(send(urls, 48))
        after = [
            (_metric(u, "lineage_graph_registrations_total"), _metric(u, "lineage_graph_registration_batches_total"))
            for u in urls
        ]
        again = asyncio.run(send(urls, 32))

    def version(body: dict[str, Any]) -> int:
        assert not body.get("errors"), body
        number: int = body["data"]["registerModelVersion"]["version"]
        return number

    tokened = [version(b) for b in first[:32]]
    assert all(tokened[n] == tokened[n + 16] for n in range(16))  # a token sent twice at once: one version
    assert sorted(set(tokened)) == list(range(1, 17))
    assert [version(b) for b in again] == tokened
    for n, body in enumerate(first[32:40], start=32):
        assert error_codes(body) == ["VALIDATION_FAILED"], body
        assert problem_fields(body) == ["trainedOn[0]"], n
    for body in first[40:]:
        assert error_codes(body) == ["FORBIDDEN"], body
    assert _numbers(db, "crowd") == list(range(1, 17))
    _group_chain_intact(settings, "crowd", 17)
    # The viewers' requests never reached a batch; the others were written in fewer transactions than requests.
    registrations = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
    batches = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
    assert registrations == 40
    assert batches < registrations
