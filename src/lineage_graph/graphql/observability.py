"""What only the GraphQL layer knows about a request: its operation and its error codes, for metrics and logs;
and the HTTP status of a response that failed only because the database is down."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from lineage_graph.domain.errors import Unavailable
from lineage_graph.graphql.context import Context
from lineage_graph.observability import current_observation

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1


def error_code(error: GraphQLError) -> str:
    """`extensions.code` as ErrorPolicy set it; errors about the document itself get a code of their own."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


class OperationObserver(SchemaExtension):
    """Records the operation's name, type and error codes on the request's observation.

    Listed before ErrorPolicy so that its exit runs after ErrorPolicy has given every error its code."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        result = context.result
        # graphql-core's ExecutionResult or Strawberry's: both have `data` and `errors`.
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        codes = [error_code(error) for error in errors]
        try:
            kind = context.operation_type.value
        except Exception:  # no parsable document, or an operationName the document lacks
            kind = "unknown"
        name = context.operation_name
        observation = current_observation()
        if observation is not None:
            observation.operation_name = name
            observation.operation_type = kind
            observation.error_codes = codes
        if codes:
            # The server's own trouble (database down, a bug) is a warning; a client's mistake is information.
            level = logging.WARNING if {Unavailable.code, "INTERNAL"} & set(codes) else logging.INFO
            logger.log(level, "graphql errors", extra={"operation": (name or "")[:200], "error_codes": codes})
        if (
            codes
            and all(code == Unavailable.code for code in codes)
            and _nothing_answered(getattr(result, "data", None))
            and isinstance(context.context, Context)
            and context.context.response is not None
        ):
            # Nothing could be answered and retrying later will help: say so in HTTP too, so load balancers,
            # proxies and generic HTTP clients back off without parsing GraphQL. The body is unchanged.
            context.context.response.status_code = 503
            context.context.response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)


def _nothing_answered(data: object) -> bool:
    """No root field has a value: `data` is null, or (mutation results are nullable) every field in it is."""
    return data is None or (isinstance(data, dict) and all(value is None for value in data.values()))
