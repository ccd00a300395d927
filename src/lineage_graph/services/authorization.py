"""Who may do what. Every service method that reads or writes calls `require` first, so every adapter
(GraphQL, OpenLineage, SageMaker, CLI) enforces the same rules."""

from __future__ import annotations

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Forbidden, Problem


def require(principal: Principal, role: Role, group: str | None = None) -> None:
    """Raise Forbidden unless `principal` holds `role` (globally, or for `group` through a grant)."""
    if principal.role_for(group).includes(role):
        return
    scope = f" for model group {group}" if group else ""
    message = f"{principal.name} needs the {role.value} role{scope}"
    raise Forbidden(message, [Problem(None, message, "MISSING_ROLE")])
