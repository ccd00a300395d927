"""A refusal in a foreign protocol's terms. Each facade (MLflow's REST API, SageMaker's JSON API) names its
own error codes and HTTP statuses; which entry a domain error takes, and how its reasons join the message,
is the same for all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lineage_graph.domain.errors import DomainError


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    status: int


@dataclass(frozen=True)
class ErrorCodes:
    """`(kind, code, status)` entries, the first kind the error is an instance of winning; `fallback` for the rest."""

    entries: Sequence[tuple[type[DomainError], str, int]]
    fallback: tuple[str, int]

    def refusal(self, error: DomainError) -> Refusal:
        code, status = next(((c, s) for kind, c, s in self.entries if isinstance(error, kind)), self.fallback)
        return Refusal(code, explained(error), status)


def explained(error: DomainError) -> str:
    """The message with every problem's reason (field first), unless the message already says them: these
    protocols carry one message string, so the reasons must travel inside it."""
    reasons = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in error.problems)
    return error.message if not reasons or reasons in error.message else f"{error.message} ({reasons})"
