"""How failures reach clients: domain errors keep their message and gain a code; anything else is masked."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from lineage_graph.domain.errors import DomainError

logger = logging.getLogger(__name__)


def problem_extensions(error: DomainError) -> dict[str, Any]:
    return {
        "code": error.code,
        "problems": [{"field": p.field, "message": p.message, "code": p.code} for p in error.problems],
    }


# A refused document (it describes the document, not the server) carries a code a client can branch on, as
# Apollo Server names them: the syntax is wrong, or the document or its variables do not fit the schema
# (unknown field or enum value, an Int out of range, a missing argument, a hardening limit).
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def _document_error(error: GraphQLError) -> GraphQLError:
    if error.path is not None or (error.extensions or {}).get("code"):
        return error  # raised while executing (e.g. by a permission class), already as its author meant it
    code = PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else VALIDATION_FAILED
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        extensions={**(error.extensions or {}), "code": code},
    )


def code_document_errors(errors: list[GraphQLError]) -> None:
    """Give refused documents their code in place: a syntax error is answered before the extensions that
    post-process results see it, but every error passes through the schema's `process_errors`."""
    for error in errors:
        if error.original_error is None and error.path is None and not (error.extensions or {}).get("code"):
            code = PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else VALIDATION_FAILED
            error.extensions = {**(error.extensions or {}), "code": code}


class ErrorPolicy(MaskErrors):
    """No stack traces, Cypher or driver text in responses: unexpected errors become "Internal server error"
    (and are logged here); domain errors carry `extensions.code` and `extensions.problems`."""

    def __init__(self) -> None:
        super().__init__(error_message="Internal server error")

    def _process_result(self, result: object) -> None:
        # Strawberry's check is `isinstance` against a runtime Protocol, which walks the protocol's members on
        # every call (a twentieth of a `{__typename}` request); reading the attribute is the same test.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._process(error) for error in errors]

    def _process(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or (isinstance(original, GraphQLError) and error.path is None):
            return _document_error(error)
        if isinstance(original, DomainError):
            return GraphQLError(
                original.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions=problem_extensions(original),
            )
        if isinstance(original, GraphQLError):
            return error
        logger.error("unexpected error in %s", error.path, exc_info=original)
        return GraphQLError(
            self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL"},
        )
