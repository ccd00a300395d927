"""A schema-driven fuzz of /graphql over real HTTP.

The documents come from the schema the running server introspects at test time (hypothesis-graphql), so every
query and mutation added to the schema is fuzzed without touching this file. Valid documents (POSITIVE) probe
resolvers and services with arbitrary argument values; documents with one schema violation (NEGATIVE) probe
validation. Every response must be a client error or a GraphQL answer, never a 500, an INTERNAL error, a stack
trace or driver/Cypher text; and a rejected request must leave the graph exactly as it was.

Budget: LINEAGE_GRAPH_FUZZ_EXAMPLES documents per mode (default 100).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, GraphQLScalarType, GraphQLSchema, build_client_schema, get_introspection_query
from graphql.type import specified_scalar_types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from neo4j import Driver

from tests.support import AUDIT_LABELS, bearer, check_response, graph_fingerprint

EXAMPLES = int(os.environ.get("LINEAGE_GRAPH_FUZZ_EXAMPLES", "100"))

_SEED = """
WITH datetime() AS now
CREATE (g:ModelGroup {name: 'fuzz', description: 'seeded', tags: ['a'], search_tags: 'a', latest_version: 1,
                      four_eyes: true, created_by: 'seed', created_at: now, updated_at: now})
CREATE (v:ModelVersion {group: 'fuzz', version: 1, name: 'fuzz/1', approval_status: 'PENDING_MANUAL_APPROVAL',
                        artifact_uri: 's3://fuzz/model', hyperparameters: '{}', metrics: '[]',
                        custom_properties: '{}', archived: false, tags: [], search_tags: '', created_by: 'seed',
                        created_at: now, updated_at: now})
CREATE (d:Dataset {namespace: 's3://fuzz', name: 'd', tags: [], search_tags: '', created_at: now})
CREATE (dv:DatasetVersion {namespace: 's3://fuzz', name: 'd', version: '1', tags: [], search_tags: '',
                           created_at: now})
CREATE (v)-[:IN_GROUP]->(g), (dv)-[:VERSION_OF]->(d), (dv)-[:TRAINED]->(v)
"""


@pytest.fixture(scope="module")
def live_schema(base_url: str, admin_token: str) -> GraphQLSchema:
    response = httpx.post(
        f"{base_url}/graphql", json={"query": get_introspection_query()}, headers=bearer(admin_token), timeout=30
    )
    assert response.status_code == 200, response.text
    return build_client_schema(response.json()["data"])


@pytest.fixture
def client(base_url: str, db: Driver, admin_token: str) -> Iterator[httpx.Client]:
    db.execute_query(_SEED)
    # An admin may call every field, so the fuzz reaches every resolver (and every mutation).
    with httpx.Client(base_url=base_url, timeout=30, headers=bearer(admin_token)) as http:
        yield http


def _custom_scalars(schema: GraphQLSchema) -> dict[str, st.SearchStrategy[Any]]:
    """Any value at all for scalars the schema defines itself (IDs, DateTime, JSON, …): their parsers must
    refuse what they cannot read with a typed error."""
    anything = st.one_of(
        st.text(max_size=40).map(nodes.String),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.booleans().map(nodes.Boolean),
    )
    return {
        name: anything
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLScalarType) and name not in specified_scalar_types
    }


def _has_arguments(schema: GraphQLSchema) -> bool:
    return any(
        field.args
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLObjectType) and not name.startswith("__")
        for field in type_.fields.values()
    )


def _corrupt(document: str, at: int, how: int, text: str) -> str:
    """Schema-independent breakage of a valid document: stray text, truncation, unknown fields, bad directives."""
    at = at % (len(document) + 1)
    brace = document.index("{") + 1
    if how == 0:
        return document[:at] + text + document[at:]
    if how == 1:
        return document[:at]
    if how == 2:
        return document[:brace] + f" unknown_{len(text)} " + document[brace:]
    if how == 3:
        return document[:brace] + " __typename @skip(if: " + repr(text) + ") " + document[brace:]
    return document + document  # two anonymous operations: ambiguous


def _documents(schema: GraphQLSchema, mode: Mode) -> st.SearchStrategy[str]:
    valid = from_schema(schema, custom_scalars=_custom_scalars(schema), mode=Mode.POSITIVE)
    if mode is Mode.POSITIVE:
        return valid
    corrupted = st.builds(_corrupt, valid, st.integers(min_value=0), st.integers(0, 4), st.text(max_size=20))
    if not _has_arguments(schema):
        # hypothesis-graphql violates arguments and scalar types; until the schema has some, corruption is all.
        return corrupted
    return st.one_of(corrupted, from_schema(schema, custom_scalars=_custom_scalars(schema), mode=Mode.NEGATIVE))


def _rejected(response: httpx.Response, body: dict[str, Any] | None) -> bool:
    if response.status_code >= 400 or body is None:
        return True
    errors = body.get("errors") or []
    if not errors:
        return False
    # An error below a root field (a path longer than one) means that mutation ran and committed, and only a
    # field selected from its result failed afterwards: that request was not rejected.
    if any(len(error.get("path") or ()) > 1 for error in errors):
        return False
    data = body.get("data")
    return data is None or all(value is None for value in data.values())


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
def test_fuzzed_documents_never_fail_the_server(
    client: httpx.Client, db: Driver, live_schema: GraphQLSchema, mode: Mode
) -> None:
    is_mutation = re.compile(r"^\s*mutation\b")

    # The graph is seeded once per test and compared around every example: shared state is the point.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(document=_documents(live_schema, mode))
    def run(document: str) -> None:
        before = graph_fingerprint(db, AUDIT_LABELS)
        response = client.post("/graphql", json={"query": document})
        body = check_response(response)
        if not is_mutation.match(document) or _rejected(response, body):
            assert graph_fingerprint(db, AUDIT_LABELS) == before, f"a rejected request wrote: {document}"

    run()
    assert client.get("/readyz").status_code == 200, "the server still serves after the fuzz"
