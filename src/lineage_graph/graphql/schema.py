"""The schema: every feature's Query and Mutation parts merged into one, with the hardening extensions."""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from lineage_graph.graphql.approvals import ApprovalMutation, ApprovalQuery
from lineage_graph.graphql.audit import AuditQuery
from lineage_graph.graphql.auth import AuthMutation, AuthQuery
from lineage_graph.graphql.contracts import ContractMutation, ContractQuery
from lineage_graph.graphql.errors import ErrorPolicy, code_document_errors
from lineage_graph.graphql.execution import PlainObjectExecution
from lineage_graph.graphql.extension_hooks import PlannedExtensionsRunner
from lineage_graph.graphql.governance import GovernanceMutation, GovernanceQuery
from lineage_graph.graphql.hardening import Limits, limit_extensions
from lineage_graph.graphql.input_conversion import plan_inputs
from lineage_graph.graphql.lifecycle import LifecycleMutation, LifecycleQuery
from lineage_graph.graphql.lineage import LineageQuery
from lineage_graph.graphql.model_cards import ModelCardMutation, ModelCardQuery
from lineage_graph.graphql.observability import OperationObserver
from lineage_graph.graphql.permissions import RequireCaller
from lineage_graph.graphql.registry_mutations import RegistryMutation
from lineage_graph.graphql.registry_queries import RegistryQuery
from lineage_graph.graphql.retention import RetentionMutation, RetentionQuery
from lineage_graph.graphql.subscriptions import EventSubscription
from lineage_graph.graphql.system import SystemQuery
from lineage_graph.graphql.webhooks import WebhookMutation, WebhookQuery

logger = logging.getLogger(__name__)


class LineageSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Strawberry logs every error with the offending source excerpt, so one hostile 250 KB line would be
        # written to the log in full, per request. Unexpected errors are logged by ErrorPolicy with their
        # trace; domain errors are expected; a refused document gets one short line.
        for error in errors:
            if error.original_error is None:
                logger.info("refused document: %s", error.message[:200])
        code_document_errors(errors)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        # Each extension class's hooks are analysed once for the process, not per request (extension_hooks.py).
        return PlannedExtensionsRunner(execution_context=execution_context, extensions=extensions)


Query = merge_types(
    "Query",
    (
        SystemQuery,
        AuthQuery,
        AuditQuery,
        RegistryQuery,
        LineageQuery,
        ApprovalQuery,
        GovernanceQuery,
        ContractQuery,
        LifecycleQuery,
        RetentionQuery,
        ModelCardQuery,
        WebhookQuery,
    ),
)
# Every mutation field is nullable: mutations run one after another and each commits on its own, so when a
# later field of a document fails, the earlier fields' results (a token's secret, a new version) must still
# reach the client instead of a non-null error nulling the whole response.
Mutation = merge_types(
    "Mutation",
    (
        AuthMutation,
        RegistryMutation,
        ApprovalMutation,
        GovernanceMutation,
        ContractMutation,
        LifecycleMutation,
        RetentionMutation,
        ModelCardMutation,
        WebhookMutation,
    ),
)


def build_schema(*, introspection: bool = True, limits: Limits | None = None) -> strawberry.Schema:
    # OperationObserver first: extensions exit in reverse order, so it sees the errors ErrorPolicy has coded.
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        OperationObserver,
        ErrorPolicy,
        *limit_extensions(limits or Limits()),
        RequireCaller,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    schema = LineageSchema(
        query=Query,
        mutation=Mutation,
        subscription=EventSubscription,
        extensions=extensions,
        execution_context_class=PlainObjectExecution,
    )
    plan_inputs(schema)  # input objects built by a plan per type (input_conversion.py)
    return schema


def print_schema() -> str:
    """The SDL checked in at schema/schema.graphql."""
    return build_schema().as_str() + "\n"
