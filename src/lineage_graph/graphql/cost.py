"""A query's estimated cost, refused above a limit before any resolver runs.

Depth and alias limits bound the document's shape, not its work: `modelGroups(first: 100) { nodes {
versions(first: 100) { nodes { lineage { … } } } } }` is shallow and runs 10,000 traversals. The estimate counts
the objects a response can hold — every list multiplies what it contains by its size (`first`, `limit`, the
number of `ids`, or an assumed size for unbounded lists) — and a traversal field as many objects at once.
Scalars are free: they come with their object. Introspection is bounded by the depth limit and not counted.

It needs the variables (`first: $n`), so it runs at execution, on the document the caches already parsed and
validated; it walks each fragment once (its cost does not depend on where it is spread), so a fragment bomb
costs linear time here too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    is_composite_type,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from lineage_graph.domain.errors import Problem, ValidationFailed

# What one traversal is worth in listed objects: a default lineage answer holds up to 1000 nodes, but one
# traversal visits them in one query, so it costs far less than resolving as many objects one by one.
TRAVERSAL_COST = 50
TRAVERSAL_FIELDS = frozenset({"lineage", "impact", "lineagePath"})
# The size assumed for a list without `first`/`limit`: most such lists (tags of a version, code of a run) are
# short, and the ones that can grow are connections with a `first`.
UNBOUNDED_LIST_SIZE = 10
_SIZE_ARGUMENTS = ("first", "limit")


@dataclass(frozen=True)
class CostEstimate:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        return 0 if root is None else self._selection(operation.selection_set, root, {}, frozenset())

    def _selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        known: dict[tuple[str, str], int],
        visiting: frozenset[str],
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, known, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selection(selection.selection_set, target or parent, known, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visiting:
                    continue  # unknown fragments and cycles are validation errors of their own
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                key = (name, target.name)
                if key not in known:
                    known[key] = self._selection(fragment.selection_set, target, known, visiting | {name})
                total += known[key]
        return total

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, known: dict[tuple[str, str], int], visiting: frozenset[str]
    ) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named, is_list = _unwrap(definition.type)
        if not is_composite_type(named):
            return 0
        inner = self._selection(node.selection_set, named, known, visiting)
        if name in TRAVERSAL_FIELDS:
            return TRAVERSAL_COST + inner  # its `limit` caps the nodes visited: the weight accounts for them
        return self._size(node, definition, parent, is_list) * (1 + inner)

    def _size(self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType, is_list: bool) -> int:
        for argument in _SIZE_ARGUMENTS:
            if argument in definition.args:
                value = self._argument(node, argument)
                if value is Undefined or value is None:
                    value = definition.args[argument].default_value
                if isinstance(value, int) and not isinstance(value, bool):
                    return max(value, 0)
                return UNBOUNDED_LIST_SIZE
        if "ids" in definition.args:
            ids = self._argument(node, "ids")
            return len(ids) if isinstance(ids, list) else UNBOUNDED_LIST_SIZE
        if not is_list:
            return 1
        # A connection's `edges`/`nodes` hold the page its `first` already counted.
        return 1 if parent.name.endswith("Connection") else UNBOUNDED_LIST_SIZE

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                return self.variables.get(value.name.value, Undefined)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, ListValueNode):
                return list(value.values)
            return Undefined
        return Undefined


def _unwrap(graphql_type: Any) -> tuple[GraphQLNamedType, bool]:
    is_list = False
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(graphql_type, GraphQLList)
        graphql_type = graphql_type.of_type
    return graphql_type, is_list


def estimate_cost(
    schema: GraphQLSchema, definitions: Any, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """The estimated cost of the operation `operation_name` (or the only one) of a parsed document."""
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if not chosen:
        return 0
    return CostEstimate(schema, fragments, variables or {}).operation(chosen[0])


def cost_limit_extension(max_cost: int) -> type[SchemaExtension]:
    class CostLimit(SchemaExtension):
        """Refuse (VALIDATION_FAILED, problem code COST_LIMIT) an operation whose estimate exceeds `max_cost`."""

        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None and context.result is None:
                cost = estimate_cost(
                    context.schema._schema, document.definitions, context.operation_name, context.variables
                )
                if cost > max_cost:
                    message = (
                        f"the query's estimated cost {cost} exceeds the limit of {max_cost}: every list counts its "
                        f"items (`first`/`limit`), a lineage traversal {TRAVERSAL_COST}; ask for smaller pages"
                    )
                    refusal = ValidationFailed(message, [Problem("query", message, "COST_LIMIT")])
                    context.result = ExecutionResult(
                        data=None, errors=[GraphQLError(refusal.message, original_error=refusal)]
                    )
            yield

    return CostLimit
