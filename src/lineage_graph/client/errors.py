"""The server's refusals as exceptions a pipeline can branch on, each carrying the server's `problems`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One reason the server refused a request: the input (a dotted path), why, and a stable code."""

    field: str | None
    message: str
    code: str


class LineageGraphError(Exception):
    """Base of every error the client raises; `code` is the server's `extensions.code`."""

    code = "ERROR"

    def __init__(self, message: str, problems: Sequence[Problem] = (), code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)
        if code is not None:
            self.code = code


class ValidationFailed(LineageGraphError):
    code = "VALIDATION_FAILED"


class NotFound(LineageGraphError):
    code = "NOT_FOUND"


class AlreadyExists(LineageGraphError):
    code = "ALREADY_EXISTS"


class Conflict(LineageGraphError):
    code = "CONFLICT"


class Forbidden(LineageGraphError):
    code = "FORBIDDEN"


class Unauthenticated(LineageGraphError):
    code = "UNAUTHENTICATED"


class PolicyNotMet(LineageGraphError):
    """An approval (or a gated change) was refused; `problems` lists every unmet rule."""

    code = "POLICY_NOT_MET"


class Unavailable(LineageGraphError):
    """The server or its database could not be reached, after the client's retries."""

    code = "UNAVAILABLE"


class ApprovalRejected(LineageGraphError):
    """`wait_for_approval` saw the version rejected."""

    code = "REJECTED"


class ApprovalTimeout(LineageGraphError, TimeoutError):
    """`wait_for_approval` ran out of time while the version was still pending."""

    code = "TIMEOUT"


_BY_CODE: dict[str, type[LineageGraphError]] = {
    cls.code: cls
    for cls in (
        ValidationFailed,
        NotFound,
        AlreadyExists,
        Conflict,
        Forbidden,
        Unauthenticated,
        PolicyNotMet,
        Unavailable,
    )
}


def problems_of(raw: object) -> tuple[Problem, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        Problem(p.get("field"), str(p.get("message", "")), str(p.get("code", "INVALID")))
        for p in raw
        if isinstance(p, Mapping)
    )


def error_from_graphql(error: Mapping[str, Any]) -> LineageGraphError:
    """The typed exception for one GraphQL error; a parse or schema error of the document is a ValidationFailed."""
    extensions = error.get("extensions") or {}
    code = str(extensions.get("code") or "VALIDATION_FAILED")
    cls = _BY_CODE.get(code, LineageGraphError)
    return cls(str(error.get("message", "request refused")), problems_of(extensions.get("problems")), code)
