"""Execution of plain objects: an object whose selected fields are all stored attributes completes in one loop.

graphql-core completes every field of every object through the same general machinery (resolve info, the
resolver, awaitable checks, nullability, leaf coercion), about 5-40 µs a field. That is right for a field with a
resolver, and a waste for a field that is only an attribute: a 10k-node lineage answer selects ~200k of them,
and spent seconds there. This execution context compiles, once per selection and object type, a plan for
objects whose selected fields are all *basic* Strawberry fields (no resolver, no permission or field
extension, no arguments) of leaf types or lists of leaves, and completes such an object by reading the
attributes and coercing the leaves directly: the same values, nullability and leaf coercion, without the
per-field machinery. Anything else (a resolver, a nested object, a `@defer`, field middleware from a schema
extension's `resolve`, a value the plan cannot complete) goes the general way, which also raises the error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF
# A plan: (response key, attribute, completes the attribute's value) per selected field, in selection order.
Plan = tuple[tuple[str, str, Callable[[Any], Any]], ...]


class NotPlain(Exception):
    """The plan cannot complete this value (e.g. null for a non-null field): complete it the general way."""


# Leaves whose coercion leaves a value of this Python type unchanged: they skip the call.
_UNCHANGED: dict[str, type] = {"String": str, "ID": str, "Int": int, "Boolean": bool}


def _leaf(leaf_type: GraphQLLeafType, non_null: bool) -> Callable[[Any], Any]:
    coerce = leaf_type.coerce_output_value
    unchanged = _UNCHANGED.get(leaf_type.name) if type(leaf_type) is GraphQLScalarType else None

    def complete(value: Any) -> Any:
        if type(value) is unchanged:
            return value
        if value is None:
            if non_null:
                raise NotPlain
            return None
        completed = coerce(value)
        if completed is None or completed is Undefined:
            raise NotPlain
        return completed

    if not isinstance(leaf_type, GraphQLEnumType):
        return complete
    # An enum's coercion searches its values; an answer holds few distinct members, each looked up once.
    names: dict[Any, Any] = {}

    def complete_enum(value: Any) -> Any:
        try:
            return names[value]
        except KeyError:
            names[value] = completed = complete(value)
            return completed
        except TypeError:  # unhashable: not an enum member
            return complete(value)

    return complete_enum


def _list(item: Callable[[Any], Any], non_null: bool) -> Callable[[Any], Any]:
    def complete(value: Any) -> Any:
        if type(value) is list or type(value) is tuple:  # the common case, without the checks below
            return [item(v) for v in value]
        if value is None:
            if non_null:
                raise NotPlain
            return None
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
            raise NotPlain
        return [item(v) for v in value]

    return complete


def completer(output_type: GraphQLOutputType, non_null: bool = False) -> Callable[[Any], Any] | None:
    """How to complete a value of `output_type` without the general machinery; None when it is not a leaf or a
    (nested) list of leaves."""
    if isinstance(output_type, GraphQLNonNull):
        return completer(output_type.of_type, non_null=True)
    if isinstance(output_type, GraphQLList):
        item = completer(output_type.of_type)
        return None if item is None else _list(item, non_null)
    if is_leaf_type(output_type):
        return _leaf(output_type, non_null)
    return None


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _ignored: value


class PlainObjectExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing plain objects in one loop (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed like graphql-core's own memo of collected subfields: the object type and the identity of the
        # field group (kept alive by that memo for the whole execution).
        self._plans: dict[tuple[GraphQLObjectType, int], Plan | None] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan_for(return_type, field_details_list)
        if plan is not None:
            try:
                return {key: complete(getattr(result, attribute)) for key, attribute, complete in plan}
            except Exception:  # noqa: S110 - attribute reads have no effects: the general way redoes it
                pass  # and completes it, or reports the located field error
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        # A list of plain objects in one comprehension: no per-item path, completion call or awaitable check.
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if isinstance(object_type, GraphQLObjectType) and isinstance(items, list | tuple):
            plan = self._plan_for(object_type, field_details_list)
            if plan is not None and self.get_stream_usage(field_details_list, path) is None:
                try:
                    return [
                        {key: complete(getattr(item, attribute)) for key, attribute, complete in plan} for item in items
                    ]
                except Exception:  # noqa: S110 - a null item or a bad value: completed (and reported) the general
                    pass  # way, which reads the same attributes again
        return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def _plan_for(self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> Plan | None:
        key = (return_type, id(field_details_list))
        if key in self._plans:
            return self._plans[key]
        plan = self._plans[key] = self._plan(return_type, field_details_list)
        return plan

    def _plan(self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> Plan | None:
        if return_type.is_type_of is not None:
            return None
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:
            return None
        grouped, defer_usages, _forbidden = self.collect_subfields(return_type, field_details_list)
        if defer_usages:
            return None
        plan: list[tuple[str, str, Callable[[Any], Any]]] = []
        for response_key, details in grouped.items():
            if any(d.defer_usage is not None for d in details):
                return None
            name = details[0].node.name.value
            if name == "__typename":
                type_name = return_type.name
                # Every object has a `__class__`: read it and answer the type's name.
                plan.append((response_key, "__class__", _constant(type_name)))
                continue
            definition = return_type.fields.get(name)
            field = definition.extensions.get(_DEFINITION) if definition is not None else None
            if definition is None or not isinstance(field, StrawberryField) or definition.args:
                return None
            # A basic field has no resolver and no field extension (permissions are extensions); Strawberry
            # marks the resolver it gives one (an attribute read) as the default one.
            basic = field.is_basic_field and getattr(definition.resolve, "_is_default", False)
            if not basic or field.default_resolver is not getattr:
                return None
            complete = completer(definition.type)
            if complete is None:
                return None
            plan.append((response_key, field.python_name, complete))
        return tuple(plan)
