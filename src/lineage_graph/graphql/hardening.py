"""Limits that refuse hostile documents at parse or validation time, before any resolver (or Neo4j) runs.

The body size cap is HTTP-level (middleware.BodyLimitMiddleware); batching stays off (Strawberry's default:
a JSON array body is a 400); mutations over GET are a 405 and non-JSON POSTs a 400 in Strawberry's view, so
a browser form (urlencoded, multipart or text/plain: the CSRF-able kinds) can never run an operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, SchemaExtension, ValidationCache

from lineage_graph.graphql.cost import cost_limit_extension


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 5000
    max_depth: int = 20
    max_aliases: int = 50
    max_cost: int = 10_000
    # Distinct documents kept parsed and validated. Clients send a handful of documents over and over; the
    # bound keeps a caller who sends endless distinct texts from growing memory (they just miss the cache).
    document_cache_size: int = 512


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Factories (not instances) so every request gets fresh extension objects."""
    return [
        # The token cap is enforced by the lexer itself, so a 1 MB document stops at the first excess token.
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        # Parsing and validating a 30-line document costs milliseconds of Python per request; both caches are
        # process-wide LRUs keyed by the text (and, for validation, by the rules, so the limits above still
        # apply to a cached document). A failed parse is never cached: it raises.
        partial(ParserCache, maxsize=limits.document_cache_size),
        partial(AddValidationRules, [_depth_rule(limits.max_depth), _alias_rule(limits.max_aliases)]),
        partial(ValidationCache, maxsize=limits.document_cache_size),
        cost_limit_extension(limits.max_cost),
    ]


def _alias_rule(max_aliases: int) -> type[ValidationRule]:
    """Aliased fields in the document, each counted once where it is written. Strawberry's MaxAliasesLimiter
    follows every fragment spread afresh, so 30 fragments that each spread the next twice took 2**30 steps
    (a one-line document that hung the server); counting the text is linear, and spreads of one fragment
    merge into the same response keys anyway."""

    class MaxAliases(ValidationRule):
        count = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None:
                self.count += 1

        def leave_document(self, *_: Any) -> None:
            if self.count > max_aliases:
                self.report_error(GraphQLError(f"{self.count} aliases found. Allowed: {max_aliases}"))

    return MaxAliases


def _depth_rule(max_depth: int) -> type[ValidationRule]:
    """Selection depth, introspection included (Strawberry's QueryDepthLimiter skips `__schema`/`__type`
    subtrees, which would let a 100-level `ofType` nest through). GraphiQL's own introspection query is 15 deep."""

    class MaxDepth(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d for d in self.context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            depth = _depth(node.selection_set, fragments, frozenset(), max_depth, {})
            if depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", node))

    return MaxDepth


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: frozenset[str],
    budget: int,
    known: dict[tuple[str, int], int],
) -> int:
    """The depth of `selection_set`, but never walking more than `budget` + 1 levels: enough to know it is
    over the limit, and a hostile document costs no more than a legal one. A fragment's depth is computed once
    per remaining budget (`known`): a fragment spread twice in each of 30 nested fragments is 2**30 walks
    otherwise."""
    if selection_set is None or budget < 0:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            depth = 1 + _depth(selection.selection_set, fragments, visiting, budget - 1, known)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection.selection_set, fragments, visiting, budget, known)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            # A fragment cycle is its own validation error; here it just must not recurse forever.
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                continue
            if (name, budget) not in known:
                known[(name, budget)] = _depth(fragment.selection_set, fragments, visiting | {name}, budget, known)
            depth = known[(name, budget)]
        else:
            continue
        deepest = max(deepest, depth)
    return deepest
