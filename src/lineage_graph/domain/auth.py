"""Who is calling: principals and their roles. The rules for what each role may do live in services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Role(Enum):
    """Ordered: each includes the ones before it (approving is checked explicitly, see governance)."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (a person or a pipeline), or the anonymous one."""

    name: str
    role: Role
    # Per-group roles that raise (never lower) the global role for that group, e.g. approver of one group.
    group_roles: Mapping[str, Role] = field(default_factory=dict)
    authenticated: bool = True

    def role_for(self, group: str | None) -> Role:
        granted = self.group_roles.get(group) if group is not None else None
        if granted is not None and granted.rank > self.role.rank:
            return granted
        return self.role


SYSTEM = Principal(name="system", role=Role.ADMIN)
ANONYMOUS = Principal(name="anonymous", role=Role.VIEWER, authenticated=False)
