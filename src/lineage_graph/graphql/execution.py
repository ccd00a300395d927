"""Execution of plain objects: an object whose selected fields are all plain reads completes in one call.

graphql-core completes every field of every object through the same general machinery (resolve info, the
resolver, awaitable checks, nullability, leaf coercion), about 5-40 µs a field. That is right for a field with a
resolver that does work, and a waste for a field that only reads its object: a 10k-node lineage answer selects
~200k of them, and spent seconds there. This execution context compiles, once per selection and object type,
a projection for objects whose selected fields are all *plain*:

- a basic Strawberry field (no resolver, no permission or field extension, no arguments), read as an attribute;
- or a `source_field`: a resolver that is a pure function of the object it is on (no arguments, no info), or an
  attribute path of it (`"ref.global_id"`, read inline), so an API type can read a domain object directly
  instead of copying it into a GraphQL object first;

of leaf types or lists of leaves. The projection is one generated function per (type, selection), cached for the
process, and a list of such objects one generated comprehension: it reads each field and coerces the leaves
directly, with the same values, nullability and leaf coercion as the general way, without the per-field
machinery. Anything else (a resolver that does work, a nested object, a `@defer`, field middleware from a
schema extension's `resolve`, a value the projection cannot complete) goes the general way, which also raises
the error.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable
from functools import lru_cache
from operator import attrgetter
from typing import Any, TypeVar

import strawberry
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
Source = TypeVar("Source")
# What a projection reads for one field: an attribute's name or dotted path, or a function of the object.
Read = str | Callable[[Any], Any]
# A plan: (response key, what to read, the field's output type) per selected field, in selection order;
# `None` as output type stands for `__typename` (the read is then the type's name).
Plan = tuple[tuple[str, Read, GraphQLOutputType | None], ...]
Projection = Callable[[Any], dict[str, Any]]
ListProjection = Callable[[list[Any] | tuple[Any, ...]], list[dict[str, Any]]]
Compiled = TypeVar("Compiled", Projection, ListProjection)


class NotPlain(Exception):
    """The projection cannot complete this value (e.g. null for a non-null field): complete it the general way."""


def source_field(read: Callable[[Source], Any] | str, description: str | None = None) -> Any:
    """A field whose value is read from `obj`, the object the field is on (e.g. a domain object the API type
    presents): `read(obj)`, or, when `read` is a dotted attribute path such as `"ref.global_id"`, that
    attribute of `obj` (which the projection then reads inline, without a call). A function must be pure (no
    effects, no awaiting), as it may run more than once. The type is the class attribute's annotation:

        @strawberry.type
        class LineageNode:
            id: strawberry.ID = source_field("ref.global_id")
            kind: LineageNodeKind = source_field(lambda node: KINDS[node.ref.kind])
    """
    reads: Callable[[Any], Any] = attrgetter(read) if isinstance(read, str) else read

    def resolve(root: Any) -> Any:
        return reads(root)

    resolve.reads_source = read  # type: ignore[attr-defined]  # what the projection reads
    return strawberry.field(resolver=resolve, description=description)


def _inline_path(read: str) -> bool:
    """Whether an attribute path can be written into generated code as it is (`o.a.b`)."""
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in read.split("."))


# Leaves whose coercion leaves a value of this Python type unchanged: they skip the call.
_UNCHANGED: dict[str, type] = {"String": str, "ID": str, "Int": int, "Boolean": bool}


def _leaf(leaf_type: GraphQLLeafType, non_null: bool) -> Callable[[Any], Any]:
    coerce = leaf_type.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise NotPlain
            return None
        completed = coerce(value)
        if completed is None or completed is Undefined:
            raise NotPlain
        return completed

    return complete


class _EnumLeaf:
    """An enum's completion, remembered per value: its coercion searches the enum's values, and an answer holds
    few distinct members. `names` is what a projection looks up inline; a value met for the first time is
    completed (and remembered) by calling the object."""

    def __init__(self, enum_type: GraphQLEnumType, non_null: bool) -> None:
        self._complete = _leaf(enum_type, non_null)
        # Null completes to null in a nullable position, without the call.
        self.names: dict[Any, Any] = {} if non_null else {None: None}

    def __call__(self, value: Any) -> Any:
        try:
            return self.names[value]
        except KeyError:
            self.names[value] = completed = self._complete(value)
            return completed
        except TypeError:  # unhashable: not an enum member
            return self._complete(value)


def _list(item: Callable[[Any], Any], non_null: bool, unchanged: type | None = None) -> Callable[[Any], Any]:
    """A list's completion; `unchanged`: the items are a non-null leaf that leaves values of that Python type
    as they are (e.g. `[String!]`), so a list holding only such values completes to a copy of itself."""

    def complete(value: Any) -> Any:
        if type(value) is list or type(value) is tuple:  # the common case, without the checks below
            if unchanged is not None:
                for v in value:
                    if type(v) is not unchanged:
                        break
                else:
                    return list(value)
            return [item(v) for v in value]
        if value is None:
            if non_null:
                raise NotPlain
            return None
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
            raise NotPlain
        return [item(v) for v in value]

    return complete


def _unchanged(output_type: GraphQLOutputType) -> type | None:
    """The Python type a leaf's coercion leaves unchanged, when `output_type` is such a leaf (or its non-null)."""
    leaf = output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type
    return _UNCHANGED.get(leaf.name) if type(leaf) is GraphQLScalarType else None


def completer(output_type: GraphQLOutputType, non_null: bool = False) -> Callable[[Any], Any] | None:
    """How to complete a value of `output_type` without the general machinery; None when it is not a leaf or a
    (nested) list of leaves."""
    if isinstance(output_type, GraphQLNonNull):
        return completer(output_type.of_type, non_null=True)
    if isinstance(output_type, GraphQLList):
        of = output_type.of_type
        item = completer(of)
        if item is None:
            return None
        return _list(item, non_null, _unchanged(of) if isinstance(of, GraphQLNonNull) else None)
    if isinstance(output_type, GraphQLEnumType):
        return _EnumLeaf(output_type, non_null)
    if is_leaf_type(output_type):
        leaf = _leaf(output_type, non_null)
        unchanged = _unchanged(output_type)
        if unchanged is None:
            return leaf
        return lambda value: value if type(value) is unchanged else leaf(value)
    return None


# What an enum's inline lookup answers for a value it has not met yet.
_UNSEEN = object()


def _generate(plan: Plan) -> tuple[str, dict[str, Any]] | None:
    """The dict display that completes an object `o` by `plan`, and the names it uses (None when a field's type
    is not a leaf or a list of leaves). Attribute paths are read inline, a value that is already its leaf's
    completed value (a string for a String) is kept inline, an enum value met before is looked up inline, and
    so is an empty list of leaves: the calls left are the reads that are functions and the completions of
    anything else."""
    namespace: dict[str, Any] = {"type": type, "unseen": _UNSEEN}
    items: list[str] = []
    for index, (key, read, output_type) in enumerate(plan):
        if output_type is None:
            items.append(f"{key!r}: {read!r}")
            continue
        if isinstance(read, str) and _inline_path(read):
            value = f"o.{read}"
        else:
            namespace[f"r{index}"] = attrgetter(read) if isinstance(read, str) else read
            value = f"r{index}(o)"
        complete = completer(output_type)
        if complete is None:
            return None
        namespace[f"c{index}"] = complete
        unchanged = _unchanged(output_type)
        if unchanged is not None:
            # The common case inline: a value already of the leaf's Python type is the completed value.
            namespace[f"t{index}"] = unchanged
            items.append(f"{key!r}: (v{index} if type(v{index} := {value}) is t{index} else c{index}(v{index}))")
        elif isinstance(complete, _EnumLeaf):
            # A value met before is looked up inline (an unhashable one raises: the general way completes it).
            namespace[f"e{index}"] = complete.names
            lookup = f"(x{index} := e{index}.get(v{index} := {value}, unseen))"
            items.append(f"{key!r}: (x{index} if {lookup} is not unseen else c{index}(v{index}))")
        elif _is_list(output_type):
            # An empty tuple (most nodes' tags) completes to an empty list without the call.
            items.append(f"{key!r}: ([] if (v{index} := {value}) == () else c{index}(v{index}))")
        else:
            items.append(f"{key!r}: c{index}({value})")
    return "{" + ", ".join(items) + "}", namespace


def _is_list(output_type: GraphQLOutputType) -> bool:
    return isinstance(output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type, GraphQLList)


@lru_cache(maxsize=2048)
def projection(plan: Plan) -> Projection | None:
    """The plan as one generated function from an object to its completed fields (None when a field's type is
    not a leaf or a list of leaves). Generated once per plan for the process: an object costs one call and one
    dict display, not a loop over the plan (see `_generate`)."""
    generated = _generate(plan)
    if generated is None:
        return None
    display, namespace = generated
    exec(f"def project(o):\n    return {display}\n", namespace)  # noqa: S102 - the schema's names and the plan's functions only
    project: Projection = namespace["project"]
    return project


@lru_cache(maxsize=2048)
def list_projection(plan: Plan) -> ListProjection | None:
    """As `projection`, for a list of such objects: one generated comprehension, so an item costs its dict
    display and no call (a 10k-node answer completes 20k objects)."""
    generated = _generate(plan)
    if generated is None:
        return None
    display, namespace = generated
    exec(f"def project_all(items):\n    return [{display} for o in items]\n", namespace)  # noqa: S102 - as above
    project_all: ListProjection = namespace["project_all"]
    return project_all


class PlainObjectExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing plain objects in one call (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keyed like graphql-core's own memo of collected subfields: the object type and the identity of the
        # field group (kept alive by that memo for the whole execution).
        self._projections: dict[tuple[GraphQLObjectType, int], Projection | None] = {}
        self._list_projections: dict[tuple[GraphQLObjectType, int], ListProjection | None] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        project = self._projection_for(return_type, field_details_list)
        if project is not None:
            try:
                return project(result)
            except Exception:  # noqa: S110 - plain reads have no effects: the general way redoes it
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
            project_all = self._list_projection_for(object_type, field_details_list)
            if project_all is not None and self.get_stream_usage(field_details_list, path) is None:
                try:
                    return project_all(items)
                except Exception:  # noqa: S110 - a null item or a bad value: completed (and reported) the general
                    pass  # way, which reads the same fields again
        return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def _projection_for(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Projection | None:
        return self._compiled(self._projections, projection, return_type, field_details_list)

    def _list_projection_for(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> ListProjection | None:
        return self._compiled(self._list_projections, list_projection, return_type, field_details_list)

    def _compiled(
        self,
        compiled: dict[tuple[GraphQLObjectType, int], Compiled | None],
        compile_plan: Callable[[Plan], Compiled | None],
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
    ) -> Compiled | None:
        """What `compile_plan` makes of this selection's plan, once per execution (the plan's own cache hashes
        the whole plan, which an object completed outside a list would pay every time)."""
        key = (return_type, id(field_details_list))
        if key in compiled:
            return compiled[key]
        plan = self._plan(return_type, field_details_list)
        made = compiled[key] = None if plan is None else compile_plan(plan)
        return made

    def _plan(self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList) -> Plan | None:
        if return_type.is_type_of is not None:
            return None
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:
            return None
        grouped, defer_usages, _forbidden = self.collect_subfields(return_type, field_details_list)
        if defer_usages:
            return None
        plan: list[tuple[str, Read, GraphQLOutputType | None]] = []
        for response_key, details in grouped.items():
            if any(d.defer_usage is not None for d in details):
                return None
            name = details[0].node.name.value
            if name == "__typename":
                plan.append((response_key, return_type.name, None))
                continue
            definition = return_type.fields.get(name)
            field = definition.extensions.get(_DEFINITION) if definition is not None else None
            if definition is None or not isinstance(field, StrawberryField) or definition.args or field.extensions:
                return None
            read = _plain_read(field, definition.resolve)
            if read is None:
                return None
            plan.append((response_key, read, definition.type))
        return tuple(plan)


def _plain_read(field: StrawberryField, resolve: Any) -> Read | None:
    """What a plain field reads: its attribute (a basic field, which Strawberry resolves with its default
    resolver, an attribute read) or what a `source_field` reads; None for any other resolver."""
    if field.base_resolver is None:
        basic = field.is_basic_field and getattr(resolve, "_is_default", False)
        return field.python_name if basic and field.default_resolver is getattr else None
    read: Read | None = getattr(field.base_resolver.wrapped_func, "reads_source", None)
    return read
