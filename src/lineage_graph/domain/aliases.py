"""Protected aliases: the names (e.g. `champion`) that serving code trusts, so only approvers move them, and
only onto APPROVED versions.

A group lists its protected aliases; any other alias stays a contributor's pointer. The rules are checked
twice by the service: once before any lock (the caller's role against the protection it can read), and
again under the alias's lock (the protection and the target's status as they are when the move commits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lineage_graph.domain.auth import Principal
from lineage_graph.domain.errors import Conflict, Forbidden, Problem, ValidationFailed
from lineage_graph.domain.models import ApprovalStatus

MAX_PROTECTED_ALIASES = 20


def check_may_move(principal: Principal, group: str, alias: str, protected: bool) -> None:
    """Raise FORBIDDEN when `alias` is protected and `principal` is not an approver of `group`."""
    if protected and not principal.may_approve(group):
        message = f"{group}@{alias} is a protected alias: only an approver of {group} may move or delete it"
        raise Forbidden(message, [Problem("alias", message, "PROTECTED_ALIAS")])


def check_target(group: str, alias: str, version: int, protected: bool, status: ApprovalStatus) -> None:
    """Raise CONFLICT when a protected alias would point at a version that is not APPROVED."""
    if protected and status is not ApprovalStatus.APPROVED:
        message = f"{group}@{alias} is a protected alias: version {version} must be APPROVED (it is {status.value})"
        raise Conflict(message, [Problem("modelVersionId", message, "NOT_APPROVED")])


def normalize_protected(aliases: Sequence[str]) -> tuple[str, ...]:
    """The protected list as stored: unique, sorted; at most MAX_PROTECTED_ALIASES names."""
    unique = tuple(sorted(set(aliases)))
    if len(unique) > MAX_PROTECTED_ALIASES:
        raise ValidationFailed.field("aliases", f"at most {MAX_PROTECTED_ALIASES} protected aliases per group")
    return unique


@dataclass(frozen=True)
class GroupAlias:
    """One alias of a group as a reader sees it: the version it names (None for a protected alias that names
    no APPROVED version, or is not set yet) and whether it is protected."""

    name: str
    version: int | None
    protected: bool


def group_aliases(
    protected: Sequence[str], pointers: Sequence[tuple[str, int, ApprovalStatus]]
) -> tuple[GroupAlias, ...]:
    """Every alias of a group, by name: the set ones from `(alias, version, status)` pointers, and the protected
    ones not set yet. A protected alias names only an APPROVED version, as `modelVersionByAlias` resolves it."""
    guarded = set(protected)
    named: dict[str, int | None] = {name: None for name in guarded}
    for alias, version, status in pointers:
        if alias not in guarded or status is ApprovalStatus.APPROVED:
            named[alias] = version
        else:
            named.setdefault(alias, None)
    return tuple(GroupAlias(name, named[name], name in guarded) for name in sorted(named))
