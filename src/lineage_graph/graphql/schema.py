"""The schema: every feature's Query and Mutation parts merged into one, with the hardening extensions."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.tools import merge_types

from lineage_graph.graphql.audit import AuditQuery
from lineage_graph.graphql.auth import AuthMutation, AuthQuery
from lineage_graph.graphql.errors import ErrorPolicy
from lineage_graph.graphql.hardening import Limits, limit_extensions
from lineage_graph.graphql.permissions import RequireCaller
from lineage_graph.graphql.system import SystemQuery

Query = merge_types("Query", (SystemQuery, AuthQuery, AuditQuery))
Mutation = merge_types("Mutation", (AuthMutation,))


def build_schema(*, introspection: bool = True, limits: Limits | None = None) -> strawberry.Schema:
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        ErrorPolicy,
        *limit_extensions(limits or Limits()),
        RequireCaller,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)


def print_schema() -> str:
    """The SDL checked in at schema/schema.graphql."""
    return build_schema().as_str() + "\n"
