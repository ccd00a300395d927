"""Limits that refuse hostile documents at parse or validation time, before any resolver (or Neo4j) runs.

The body size cap is HTTP-level (middleware.BodyLimitMiddleware); batching stays off (Strawberry's default:
a JSON array body is a 400); mutations over GET are a 405 and non-JSON POSTs a 400 in Strawberry's view, so
a browser form (urlencoded, multipart or text/plain: the CSRF-able kinds) can never run an operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 5000
    max_depth: int = 15
    max_aliases: int = 50


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Factories (not instances) so every request gets fresh extension objects."""
    return [
        # The token cap is enforced by the lexer itself, so a 1 MB document stops at the first excess token.
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(QueryDepthLimiter, max_depth=limits.max_depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
    ]
