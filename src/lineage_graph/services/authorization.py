"""Who may do what. Every service method that reads or writes calls `require` first, so every adapter
(GraphQL, OpenLineage, SageMaker, CLI) enforces the same rules."""

from __future__ import annotations

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Forbidden, Problem, Unauthenticated


def require(principal: Principal, role: Role, group: str | None = None) -> None:
    """Raise unless `principal` holds `role` (globally, or for `group` through a grant).

    An anonymous caller without the role is UNAUTHENTICATED (a token would help); an authenticated one is
    FORBIDDEN (it would not).
    """
    held = principal.role_for(group)
    if held is not None and held.includes(role):
        return
    scope = f" for model group {group}" if group else ""
    if not principal.authenticated:
        message = f"sign in with an API token: anonymous callers lack the {role.value} role{scope}"
        raise Unauthenticated(message, [Problem(None, message, "UNAUTHENTICATED")])
    message = f"{principal.name} needs the {role.value} role{scope}"
    raise Forbidden(message, [Problem(None, message, "MISSING_ROLE")])


def require_approver(principal: Principal, group: str | None = None) -> None:
    """Raise unless `principal` may decide approvals (the approver role itself, see Principal.may_approve)."""
    if principal.may_approve(group):
        return
    require(principal, Role.VIEWER)  # an anonymous caller is told to authenticate first
    scope = f" for model group {group}" if group else ""
    message = f"{principal.name} needs the approver role{scope} to decide approvals"
    raise Forbidden(message, [Problem(None, message, "MISSING_ROLE")])
