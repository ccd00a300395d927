"""Every input type of the schema is built by its plan exactly as Strawberry builds it: the same objects from
the same values, every field given or only the required ones."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    coerce_input_value,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import StrawberryObjectDefinition

from lineage_graph.graphql.input_conversion import PlannedInput
from lineage_graph.graphql.schema import build_schema

SCHEMA = build_schema()
INPUTS = sorted(
    (t for t in SCHEMA._schema.type_map.values() if isinstance(t, GraphQLInputObjectType)), key=lambda t: t.name
)
# Candidates per scalar, tried in order until the scalar parses one (custom scalars parse their own way).
_SCALAR_VALUES = [
    "s",
    base64.b64encode(b"ModelVersion:churn/1").decode(),
    1,
    1.5,
    True,
    {"k": [1, "v"]},
    "2026-01-02T03:04:05+00:00",
]


def _scalar(scalar: GraphQLScalarType) -> Any:
    if scalar.name == "ID":
        return base64.b64encode(b"ModelVersion:churn/1").decode()  # a strawberry.ID and a GlobalID alike
    for candidate in _SCALAR_VALUES:
        try:
            scalar.parse_value(candidate)
        except (GraphQLError, TypeError, ValueError):
            continue
        return candidate
    raise AssertionError(f"no sample value for the scalar {scalar.name}")


def _value(graphql_type: GraphQLInputType, full: bool, depth: int = 0) -> Any:
    if isinstance(graphql_type, GraphQLNonNull):
        return _value(graphql_type.of_type, full, depth)
    if isinstance(graphql_type, GraphQLList):
        return [_value(graphql_type.of_type, full, depth)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLScalarType):
        return _scalar(graphql_type)
    assert isinstance(graphql_type, GraphQLInputObjectType)
    return {
        name: _value(field.type, full, depth + 1)
        for name, field in graphql_type.fields.items()
        if isinstance(field.type, GraphQLNonNull) or (full and depth < 3)
    }


def _built(graphql_type: GraphQLInputObjectType, value: Any, planned: bool) -> Any:
    definition = graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert isinstance(definition, StrawberryObjectDefinition)
    coerced = coerce_input_value(value, graphql_type)
    converter = SCHEMA.schema_converter
    with _Hooks(planned):
        return convert_argument(coerced, definition.origin, converter.scalar_registry, SCHEMA.config)


class _Hooks:
    """Every input type's `from_input` as planned, or none (Strawberry's own conversion) while inside."""

    def __init__(self, planned: bool) -> None:
        self.planned = planned
        self.saved: dict[int, Any] = {}

    def _definitions(self) -> Iterator[StrawberryObjectDefinition]:
        for graphql_type in INPUTS:
            yield graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]

    def __enter__(self) -> None:
        for definition in self._definitions():
            self.saved[id(definition)] = definition.from_input
            if not self.planned:
                definition.from_input = None

    def __exit__(self, *exc: object) -> None:
        for definition in self._definitions():
            definition.from_input = self.saved[id(definition)]


def test_every_input_type_is_planned() -> None:
    assert INPUTS, "the schema has input types"
    for graphql_type in INPUTS:
        definition = graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        assert isinstance(definition.from_input, PlannedInput), graphql_type.name


@pytest.mark.parametrize("full", [True, False], ids=["every field", "required fields"])
@pytest.mark.parametrize("graphql_type", INPUTS, ids=lambda t: t.name)
def test_a_planned_input_is_what_strawberry_builds(graphql_type: GraphQLInputObjectType, full: bool) -> None:
    value = _value(graphql_type, full)
    ours, theirs = _built(graphql_type, value, True), _built(graphql_type, value, False)
    assert ours == theirs
    assert type(ours) is type(theirs)
    assert repr(ours) == repr(theirs)  # nested inputs, enums and ids built alike, field by field


def test_a_list_of_scalars_is_copied_so_no_request_changes_anothers_default() -> None:
    # graphql-core hands every request that omits a list the same default list: the built object gets its own.
    register = SCHEMA._schema.type_map["RegisterModelVersionInput"]
    assert isinstance(register, GraphQLInputObjectType)
    definition = register.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    context = InputContext(None, SCHEMA.config, SCHEMA.schema_converter.scalar_registry, ("input",))
    tags = ["a", "b"]
    built = definition.from_input(definition.origin, {"group": "g", "artifactUri": "s3://b/k", "tags": tags}, context)
    assert built.tags == tags
    assert built.tags is not tags
    assert built.description is None, "a field without a default that was not given is None"
