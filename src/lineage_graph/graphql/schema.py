"""The schema: every feature's Query and Mutation parts merged into one, with the hardening extensions."""

from __future__ import annotations

import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.tools import merge_types

from lineage_graph.graphql.approvals import ApprovalMutation, ApprovalQuery
from lineage_graph.graphql.errors import ErrorPolicy
from lineage_graph.graphql.registry_mutations import RegistryMutation
from lineage_graph.graphql.registry_queries import RegistryQuery
from lineage_graph.graphql.system import SystemQuery

Query = merge_types("Query", (SystemQuery, RegistryQuery, ApprovalQuery))
Mutation = merge_types("Mutation", (RegistryMutation, ApprovalMutation))


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    extensions: list[type[SchemaExtension]] = [ErrorPolicy]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)


def print_schema() -> str:
    """The SDL checked in at schema/schema.graphql."""
    return build_schema().as_str() + "\n"
