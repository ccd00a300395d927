"""Input objects built by a plan made once per input type, through Strawberry's `from_input` hook.

Strawberry builds an input object from its GraphQL value field by field, for every field the type declares,
whether the client sent it or not: for each it derives the field's GraphQL name from its Python name and
resolves the field's type, on every request. A registration's input declares seventeen fields and usually gets
two, and building it was the largest part of a registration's Python time in the request (py-spy, `--gil`, one
client registering back to back: 17% of the server's samples).

The plan is made once per input type and says, for each field, its GraphQL name, its Python name and how its
value converts:

- as it is, for a scalar: graphql-core has already parsed it, and Strawberry returns it unchanged;
- copied, for a list of scalars: graphql-core gives every request that omits the value the same default list;
- a new empty list for an empty list of anything else (the usual default);
- Strawberry's own way for anything else (a nested input, an enum, a global id, `Maybe`), through the context
  it passes, so the value and the location in errors are what it would have made.

Fields without a default get None, as Strawberry gives them, and the class is called with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from graphql import GraphQLInputObjectType
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryList, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.unset import UNSET

# How a field's value becomes the Python value: None for "as it is".
Convert = Callable[[Any, InputContext, str], Any] | None
Plan = tuple[dict[str, None], tuple[tuple[str, str, Convert], ...]]


def _copied(value: Any, context: InputContext, key: str) -> Any:
    return value if value is None or value is UNSET else list(value)


def _strawberrys(field_type: Any) -> Callable[[Any, InputContext, str], Any]:
    def convert(value: Any, context: InputContext, key: str) -> Any:
        return context.convert(value, field_type, key)

    return convert


def _listed(field_type: Any) -> Convert:
    # A list field's published default is an empty list, sent with nearly every request: a new empty list,
    # as Strawberry would build item by item.
    general = _strawberrys(field_type)

    def convert(value: Any, context: InputContext, key: str) -> Any:
        return [] if type(value) is list and not value else general(value, context, key)

    return convert


def _optional_of(field_type: Any) -> Any:
    # Exactly Optional: `Maybe` is a subclass with its own rules, left to Strawberry.
    return field_type.of_type if type(field_type) is StrawberryOptional else field_type


def _is_plain_scalar(field_type: Any, registry: Mapping[object, Any]) -> bool:
    return field_type is not GlobalID and is_scalar(field_type, registry)


def _converter(field_type: Any, registry: Mapping[object, Any]) -> Convert:
    inner = _optional_of(field_type)
    if _is_plain_scalar(inner, registry):
        return None
    if type(inner) is StrawberryList:
        return _copied if _is_plain_scalar(_optional_of(inner.of_type), registry) else _listed(field_type)
    return _strawberrys(field_type)


def _plan(definition: StrawberryObjectDefinition, context: InputContext) -> Plan:
    names = context.config.name_converter
    defaults = {
        f.python_name: None for f in definition.fields if f.default_value is MISSING and f.default_factory is MISSING
    }
    fields = tuple(
        (
            names.from_field(f),
            f.python_name,
            _converter(f.resolve_type(type_definition=definition), context.scalar_registry),
        )
        for f in definition.fields
    )
    return defaults, fields


class PlannedInput:
    """The `from_input` of one input type: its plan is made on first use (it needs the schema's scalars)."""

    def __init__(self, definition: StrawberryObjectDefinition) -> None:
        self._definition = definition
        self._plan: Plan | None = None

    def __call__(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        plan = self._plan
        if plan is None:
            plan = self._plan = _plan(self._definition, context)
        defaults, fields = plan
        kwargs: dict[str, Any] = dict(defaults)
        for graphql_name, python_name, convert in fields:
            if graphql_name in value:
                given = value[graphql_name]
                kwargs[python_name] = given if convert is None else convert(given, context, graphql_name)
        return cls(**kwargs)


def plan_inputs(schema: strawberry.Schema) -> int:
    """Give every input type of `schema` that builds itself the Strawberry way a planned `from_input`; returns
    how many. Idempotent, and harmless to another schema sharing the types (the plan is the type's own)."""
    planned = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLInputObjectType):
            continue
        definition = graphql_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if isinstance(definition, StrawberryObjectDefinition) and definition.from_input is None:
            definition.from_input = PlannedInput(definition)
            planned += 1
    return planned
