"""Hostile requests to /graphql: each is refused with a 4xx or answered with GraphQL errors, never a 500 or a
leak, writes nothing, and leaves the server serving.

Some outcomes depend on the GraphQL limits in graphql/hardening.py (body size, depth, aliases): those cases
assert the refusal a limit gives, whatever its exact status, so they hold for any sensible limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from neo4j import Driver

from tests.support import AUDIT_LABELS, check_response, graph_fingerprint


@pytest.fixture
def hostile(http: httpx.Client, db: Driver) -> Iterator[httpx.Client]:
    """The client, with a check after the test that nothing was written and the server still answers."""
    db.execute_query("CREATE (:ModelGroup {name: 'hostile', tags: []})")
    before = graph_fingerprint(db, AUDIT_LABELS)
    yield http
    assert graph_fingerprint(db, AUDIT_LABELS) == before, "a refused request wrote to the graph"
    after = http.post("/graphql", json={"query": "{ __typename }"})
    assert after.status_code == 200
    assert after.json() == {"data": {"__typename": "Query"}}


def _post(http: httpx.Client, content: bytes | str, content_type: str = "application/json") -> httpx.Response:
    return http.post("/graphql", content=content, headers={"Content-Type": content_type})


def _refused(response: httpx.Response) -> None:
    """A client error, or a GraphQL answer whose errors explain the refusal."""
    body = check_response(response)
    if response.status_code >= 400:
        return
    assert body is not None
    assert body.get("errors"), f"expected a refusal, got {response.status_code}: {response.text[:300]}"


@pytest.mark.parametrize(
    "content",
    [
        '{"query": "{ __typename }"',  # truncated
        "{'query': '{ __typename }'}",  # not JSON
        "",
        "null",
        "[1, 2]",
        '"{ __typename }"',
        '{"query": 42}',
        '{"query": null}',
        '{"query": "{ __typename }", "variables": [1]}',
        '{"query": "{ __typename }", "variables": "x"}',
        '{"query": "{ __typename }", "operationName": 7}',
        '[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',  # batching is not enabled
    ],
)
def test_malformed_json_is_a_client_error(hostile: httpx.Client, content: str) -> None:
    response = _post(hostile, content)
    check_response(response)
    assert response.status_code == 400, response.text


def test_invalid_utf8_is_a_client_error(hostile: httpx.Client) -> None:
    response = _post(hostile, b'{"query": "{ __type(name: \\"\xff\xfe\\") { name } }"}')
    check_response(response)
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_wrong_content_type_is_a_client_error(hostile: httpx.Client, content_type: str) -> None:
    response = _post(hostile, json.dumps({"query": "{ __typename }"}), content_type)
    check_response(response)
    assert 400 <= response.status_code < 500, response.text


def test_huge_body_is_refused(hostile: httpx.Client) -> None:
    # 16 MiB of an otherwise valid request: it must be refused by size, not parsed into memory and answered.
    content = json.dumps({"query": "{ __typename }", "variables": {"padding": "x" * (16 * 1024 * 1024)}})
    response = _post(hostile, content)
    check_response(response)
    assert 400 <= response.status_code < 500, f"a 16 MiB body was answered with {response.status_code}"


def test_huge_document_is_refused(hostile: httpx.Client) -> None:
    # 20 000 fields (~60 000 tokens, 360 KB): parsing and validating it holds the event loop for seconds
    # (200 000 stalled the whole server for over 30 s), so a token limit must refuse it before parsing.
    document = "{ " + " ".join(f"f{n}: __typename" for n in range(20_000)) + " }"
    _refused(hostile.post("/graphql", json={"query": document}))


def test_deeply_nested_selection_is_refused(hostile: httpx.Client) -> None:
    # Valid against the schema and cheap per level, but unbounded: a depth limit must refuse it.
    depth = 40
    document = "{ __schema { types { " + "fields { type { " * depth + "name" + " } }" * depth + " } } }"
    _refused(hostile.post("/graphql", json={"query": document}))


def test_unbalanced_nesting_does_not_exhaust_the_parser(hostile: httpx.Client) -> None:
    # The parser is recursive: 50 000 open braces must be a syntax error or a limit, not a RecursionError.
    _refused(hostile.post("/graphql", json={"query": "{ a " * 50_000}))
    _refused(hostile.post("/graphql", json={"query": "query Q($v: " + "[" * 50_000 + "Int" + "]" * 50_000 + ") { a }"}))


def test_alias_bomb_is_refused(hostile: httpx.Client) -> None:
    # Each alias of serverInfo is a database round trip: 2 000 of them in one request must be refused.
    document = "{ " + " ".join(f"a{n}: serverInfo {{ database {{ nodeCount }} }}" for n in range(2_000)) + " }"
    _refused(hostile.post("/graphql", json={"query": document}))


def test_fragment_cycles_are_refused_and_fragment_bombs_stay_cheap(hostile: httpx.Client) -> None:
    cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    _refused(hostile.post("/graphql", json={"query": cycle}))
    # Each fragment spreads the next twice: 2**30 selections if expanded naively. Answered (fragments are
    # collected once each) or refused by a limit, either way quickly.
    levels = "".join(f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} }} " for n in range(30))
    bomb = "query { ...F0 } " + levels + "fragment F30 on Query { __typename }"
    started = time.monotonic()
    check_response(hostile.post("/graphql", json={"query": bomb}))
    assert time.monotonic() - started < 5


def test_invalid_enum_values_are_validation_errors(hostile: httpx.Client) -> None:
    as_variable = hostile.post(
        "/graphql",
        json={"query": "query Q($kind: __TypeKind) { __typename }", "variables": {"kind": "NOT_A_KIND"}},
    )
    _refused(as_variable)
    # Every enum argument the schema has today (the registry's statuses, kinds, …): an unknown literal.
    for field, argument in _enum_arguments(hostile):
        response = hostile.post("/graphql", json={"query": f"{{ {field}({argument}: NOT_A_VALUE_42) }}"})
        _refused(response)


def _enum_arguments(http: httpx.Client) -> list[tuple[str, str]]:
    query = "{ __schema { queryType { fields { name args { name type { kind ofType { kind } } } } } } }"
    fields: list[dict[str, Any]] = http.post("/graphql", json={"query": query}).json()["data"]["__schema"]["queryType"][
        "fields"
    ]
    return [
        (field["name"], arg["name"])
        for field in fields
        for arg in field["args"]
        if "ENUM" in (arg["type"]["kind"], (arg["type"]["ofType"] or {}).get("kind"))
    ]


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "nul\x00in the middle",
        "emoji 🧨💥 and CJK 模型",
        "\u202eright-to-left override",
        "\ufeffbyte order mark",
        "combining a\u0301\u0301\u0301",
        "\U0010ffff",
        "line\nbreak\r\nand\ttab",
        "' OR 1=1 //",
        '"}) MATCH (n) DETACH DELETE n //',
    ],
)
def test_unicode_and_nul_in_strings_are_just_data(hostile: httpx.Client, text: str) -> None:
    as_variable = hostile.post(
        "/graphql", json={"query": "query Q($n: String!) { __type(name: $n) { name } }", "variables": {"n": text}}
    )
    body = check_response(as_variable)
    assert as_variable.status_code == 200
    assert body == {"data": {"__type": None}}
    as_literal = hostile.post("/graphql", json={"query": "{ __type(name: " + json.dumps(text) + ") { name } }"})
    check_response(as_literal)
    assert as_literal.status_code < 500
    as_name = hostile.post("/graphql", json={"query": "{ __typename }", "operationName": text})
    # Echoing the unknown name back is fine (so no leak check here); answering it is not.
    assert as_name.status_code == 400


def test_lone_surrogates_do_not_break_the_response(hostile: httpx.Client) -> None:
    # Valid JSON escapes that are not valid Unicode: echoing them back must not fail to encode.
    content = '{"query": "query Q($n: String!) { __type(name: $n) { name } }", "variables": {"n": "\\ud800x"}}'
    check_response(_post(hostile, content))
    check_response(_post(hostile, '{"query": "{ __type(name: \\"\\udfff\\") { name } }"}'))
    check_response(_post(hostile, '{"query": "{ \\ud800 }"}'))


def test_get_with_a_mutation_or_garbage_is_refused(hostile: httpx.Client) -> None:
    check_response(hostile.get("/graphql", params={"query": "mutation { __typename }"}))
    assert hostile.get("/graphql", params={"query": "mutation { __typename }"}).status_code in {400, 405}
    response = hostile.get("/graphql", params={"query": "{ __typename", "variables": "{not json"})
    check_response(response)
    assert 400 <= response.status_code < 500
