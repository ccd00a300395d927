"""Roles, grants and the require() rule, without a database."""

from __future__ import annotations

import inspect

import pytest

import lineage_graph.graphql.audit
import lineage_graph.graphql.auth
from lineage_graph.domain.auth import (
    ANONYMOUS,
    Principal,
    Role,
    anonymous,
    hash_token,
    mint_token,
    parse_group_roles,
    validate_principal_name,
)
from lineage_graph.domain.errors import Forbidden, Unauthenticated, ValidationFailed
from lineage_graph.graphql import permissions
from lineage_graph.services.authorization import require, require_approver


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.includes(Role.APPROVER)
    assert Role.APPROVER.includes(Role.CONTRIBUTOR)
    assert Role.CONTRIBUTOR.includes(Role.VIEWER)
    assert not Role.VIEWER.includes(Role.CONTRIBUTOR)


def test_a_group_grant_raises_the_role_for_that_group_only() -> None:
    ci = Principal("ci", Role.VIEWER, {"fraud": Role.APPROVER})
    require(ci, Role.CONTRIBUTOR, "fraud")
    with pytest.raises(Forbidden, match="ci needs the contributor role for model group churn"):
        require(ci, Role.CONTRIBUTOR, "churn")


def test_a_grant_never_lowers_the_global_role() -> None:
    assert Principal("a", Role.ADMIN, {"fraud": Role.VIEWER}).role_for("fraud") is Role.ADMIN


def test_anonymous_without_a_role_is_unauthenticated_not_forbidden() -> None:
    with pytest.raises(Unauthenticated, match="API token"):
        require(ANONYMOUS, Role.VIEWER)
    require(anonymous(Role.VIEWER), Role.VIEWER)
    with pytest.raises(Unauthenticated):
        require(anonymous(Role.VIEWER), Role.CONTRIBUTOR)


def test_approving_needs_the_approver_role_itself() -> None:
    require_approver(Principal("r", Role.APPROVER))
    require_approver(Principal("g", Role.VIEWER, {"fraud": Role.APPROVER}), "fraud")
    with pytest.raises(Forbidden, match="approver role"):
        require_approver(Principal("root", Role.ADMIN))
    with pytest.raises(Forbidden):
        require_approver(Principal("g", Role.VIEWER, {"fraud": Role.APPROVER}), "churn")
    with pytest.raises(Unauthenticated):
        require_approver(ANONYMOUS)


def test_tokens_are_random_and_hashed_with_sha256() -> None:
    first, second = mint_token(), mint_token()
    assert first != second
    assert first.startswith("lgt_")
    assert len(first) >= 40
    assert hash_token(first) == hash_token(first)
    assert len(hash_token(first)) == 64
    assert first not in hash_token(first)


def test_group_roles_parse_and_name_the_bad_one() -> None:
    assert parse_group_roles(["fraud=approver", "churn=contributor"]) == {
        "fraud": Role.APPROVER,
        "churn": Role.CONTRIBUTOR,
    }
    with pytest.raises(ValidationFailed, match=r"grants\.1: 'churn' is not GROUP=ROLE"):
        parse_group_roles(["fraud=approver", "churn"], "grants")
    with pytest.raises(ValidationFailed, match=r"grants\.0: 'boss' is not a role"):
        parse_group_roles(["fraud=boss"], "grants")


def test_reserved_and_blank_principal_names_are_refused() -> None:
    for bad in ("", "two words", "system", "anonymous"):
        with pytest.raises(ValidationFailed, match="name"):
            validate_principal_name(bad)


def test_every_permission_check_is_async() -> None:
    """A sync has_permission returning an awaitable would always pass: ours are all `async def`."""
    from strawberry.permission import BasePermission

    modules = [permissions, lineage_graph.graphql.auth, lineage_graph.graphql.audit]
    classes = {
        obj
        for module in modules
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, BasePermission) and obj is not BasePermission
    }
    assert classes >= {permissions.IsAdmin, permissions.IsApprover}
    for cls in classes:
        assert inspect.iscoroutinefunction(cls.has_permission), cls
