"""The query cost estimate: lists multiply by their page size, traversals weigh more, scalars and
introspection are free, fragments are walked once."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from lineage_graph.graphql.cost import TRAVERSAL_COST, UNBOUNDED_LIST_SIZE, estimate_cost
from lineage_graph.graphql.schema import build_schema

SCHEMA = build_schema()._schema


def _cost(document: str, variables: dict[str, Any] | None = None) -> int:
    return estimate_cost(SCHEMA, parse(document).definitions, None, variables)


def test_scalars_are_free_and_an_object_costs_one() -> None:
    assert _cost("{ serverInfo { version } }") == 1
    assert _cost('{ modelGroup(name: "g") { name description } }') == 1


def test_a_page_multiplies_what_it_holds_by_first() -> None:
    page = "{ modelVersions(first: 50) { totalCount nodes { version group { name } } } }"
    # 50 x (the connection + its nodes + each node's group)
    assert _cost(page) == 50 * 3
    by_variable = "query($n: Int) { modelVersions(first: $n) { nodes { version group { name } } } }"
    assert _cost(by_variable, {"n": 10}) == 10 * 3
    # without `first` the argument's default (20) counts
    assert _cost("{ modelVersions { nodes { version } } }") == 20 * 2


def test_traversals_on_list_items_add_up() -> None:
    one = "{ modelVersions(first: 100) { nodes { lineage { nodes { id } } } } }"
    per_item = TRAVERSAL_COST + UNBOUNDED_LIST_SIZE  # the traversal and the nodes list it returns
    assert _cost(one) == 100 * (1 + 1 + per_item)
    nested = """{ modelGroups(first: 100) { nodes { versions(first: 100) { nodes { lineage { root } } } } } }"""
    assert _cost(nested) > 100 * 100 * TRAVERSAL_COST


def test_fragments_cost_what_their_spreads_would() -> None:
    inline = "{ modelVersions(first: 10) { nodes { group { name } } } }"
    spread = "{ modelVersions(first: 10) { nodes { ...G } } } fragment G on ModelVersion { group { name } }"
    assert _cost(inline) == _cost(spread)


def test_a_fragment_bomb_is_estimated_in_linear_time() -> None:
    # Each fragment spreads the next twice: walking every spread would be 2**40 steps.
    fragments = "".join(f"fragment F{i} on ModelVersion {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    document = "{ modelVersions(first: 1) { nodes { ...F0 } } } " + fragments + " fragment F40 on ModelVersion { id }"
    assert _cost(document) >= 1


@pytest.mark.parametrize("document", ["{ __schema { types { fields { args { name } } } } }", "{ __typename }"])
def test_introspection_is_not_counted(document: str) -> None:
    assert _cost(document) == 0
