"""The tag model: ordinary tags are a contributor's labels; governance tags carry a decision.

Governance tags (a configured set, by default `incident`, `pii`, `restricted`) feed approval policies
(`forbiddenUpstreamTags`) and flags, so they are set and cleared by approvers only:

- a `tags` input (registering or updating a group, a version, a dataset or a dataset version, from any door)
  replaces the node's ordinary tags and never removes a governance tag; naming a governance tag there needs
  the approver role (refused as FORBIDDEN otherwise, before any work);
- `changeGovernanceTags` (approvers) adds and removes governance tags explicitly, with a reason;
- every change of a node's tags is audited with the list before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lineage_graph.domain.auth import Principal
from lineage_graph.domain.errors import Forbidden, Problem, ValidationFailed

DEFAULT_GOVERNANCE_TAGS = ("incident", "pii", "restricted")


@dataclass(frozen=True)
class TagChange:
    """A node's tags before and after a write; `changed` tells whether the audit records them."""

    before: tuple[str, ...]
    after: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def audit(self) -> dict[str, list[str]]:
        return {"before": list(self.before), "after": list(self.after)}


@dataclass(frozen=True)
class TagPolicy:
    governance: frozenset[str] = frozenset(DEFAULT_GOVERNANCE_TAGS)

    @classmethod
    def of(cls, tags: Iterable[str]) -> TagPolicy:
        return cls(frozenset(tags))

    def is_governance(self, tag: str) -> bool:
        return tag in self.governance

    def check_input(self, principal: Principal, group: str | None, tags: Sequence[str] | None, field: str) -> None:
        """Before any work: a `tags` input may name governance tags only when `principal` is an approver
        (of `group`, for a model group or version; globally for datasets)."""
        if tags is None or principal.may_approve(group):
            return
        problems = [
            Problem(
                f"{field}[{i}]",
                f"{tag!r} is a governance tag: only an approver may set it ({principal.name} is not one)",
                "GOVERNANCE_TAG",
            )
            for i, tag in enumerate(tags)
            if self.is_governance(tag)
        ]
        if problems:
            raise Forbidden("; ".join(p.message for p in problems), problems)

    def merge(self, current: Sequence[str] | None, requested: Sequence[str] | None) -> TagChange:
        """The tags after a `tags` input: the requested ordinary tags, every governance tag already there,
        and the requested governance tags (already authorized by `check_input`). None leaves them as they are."""
        before = tuple(current or ())
        if requested is None:
            return TagChange(before, before)
        kept = [t for t in before if self.is_governance(t)]
        return TagChange(before, _unique([*requested, *kept]))

    def check_change(self, add: Sequence[str], remove: Sequence[str]) -> None:
        """`changeGovernanceTags` only touches governance tags, and at least one of them."""
        problems = [
            Problem(f"{field}[{i}]", f"{tag!r} is not a governance tag (one of {', '.join(sorted(self.governance))})")
            for field, tags in (("add", add), ("remove", remove))
            for i, tag in enumerate(tags)
            if not self.is_governance(tag)
        ]
        problems += [Problem("remove", f"{tag!r} is both added and removed") for tag in sorted(set(add) & set(remove))]
        if not add and not remove:
            problems.append(Problem("add", "name at least one governance tag to add or remove", "REQUIRED"))
        if problems:
            raise ValidationFailed.of(problems)

    def change(self, current: Sequence[str] | None, add: Sequence[str], remove: Sequence[str]) -> TagChange:
        before = tuple(current or ())
        return TagChange(before, _unique([*(t for t in before if t not in remove), *add]))


def _unique(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tags))
