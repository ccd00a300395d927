"""Expected failures, each a type a client can branch on. Adapters turn them into GraphQL, HTTP or AWS errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a request was refused: which input (a dotted path) and why, in words and as a code."""

    field: str | None
    message: str
    code: str = "INVALID"


class DomainError(Exception):
    """Base of every expected failure. `code` is stable and machine-readable; the message is for people."""

    code = "ERROR"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)


class ValidationFailed(DomainError):
    """The input is malformed or breaks a rule; `problems` names every bad field."""

    code = "VALIDATION_FAILED"

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> ValidationFailed:
        text = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
        return cls(text, problems)

    @classmethod
    def field(cls, field: str, message: str, code: str = "INVALID") -> ValidationFailed:
        return cls.of([Problem(field, message, code)])


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, key: str, field: str | None = None) -> None:
        super().__init__(f"{kind} {key} does not exist", [Problem(field, f"{kind} {key} does not exist", "NOT_FOUND")])
        self.kind = kind
        self.key = key


class AlreadyExists(DomainError):
    code = "ALREADY_EXISTS"

    def __init__(self, kind: str, key: str, field: str | None = None) -> None:
        super().__init__(
            f"{kind} {key} already exists", [Problem(field, f"{kind} {key} already exists", "ALREADY_EXISTS")]
        )
        self.kind = kind
        self.key = key


class Conflict(DomainError):
    """The request is well-formed but clashes with the current state (e.g. traffic over 100%)."""

    code = "CONFLICT"


class Forbidden(DomainError):
    """The caller may not do this; `problems` says which permission is missing."""

    code = "FORBIDDEN"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class PolicyNotMet(DomainError):
    """An approval was refused; `problems` lists every unmet rule (role, four-eyes, metric, lineage, tag)."""

    code = "POLICY_NOT_MET"


class Unavailable(DomainError):
    """The database cannot be reached within the request's budget; safe to retry later."""

    code = "UNAVAILABLE"


class QueryTimedOut(Unavailable):
    """A query ran out of its server-side time budget (a traversal turns this into a truncated answer)."""


class OutcomeUnknown(DomainError):
    """The database connection broke while a change was being committed: it may or may not have been applied.
    Unlike UNAVAILABLE this is not "try again": the caller reads the state first, or repeats the request with
    the same client token, which makes the repeat return what the first attempt created."""

    code = "OUTCOME_UNKNOWN"
