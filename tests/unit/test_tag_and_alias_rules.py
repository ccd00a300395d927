"""The tag model and protected-alias rules, without a database."""

from __future__ import annotations

import pytest

from lineage_graph.domain.aliases import GroupAlias, check_may_move, check_target, group_aliases, normalize_protected
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Conflict, Forbidden, ValidationFailed
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.domain.tags import TagPolicy

CONTRIBUTOR = Principal("carla", Role.CONTRIBUTOR)
APPROVER = Principal("abe", Role.VIEWER, {"fraud": Role.APPROVER})
ADMIN = Principal("root", Role.ADMIN)
POLICY = TagPolicy()


def test_a_tags_input_replaces_ordinary_tags_and_keeps_governance_ones() -> None:
    change = POLICY.merge(["raw", "pii", "gbm"], ["clean"])
    assert change.after == ("clean", "pii")
    assert change.audit() == {"before": ["raw", "pii", "gbm"], "after": ["clean", "pii"]}
    assert not POLICY.merge(["a"], None).changed
    assert POLICY.merge(None, ["a", "a"]).after == ("a",)


def test_only_approvers_name_governance_tags() -> None:
    with pytest.raises(Forbidden) as refused:
        POLICY.check_input(CONTRIBUTOR, "fraud", ["ok", "restricted"], "tags")
    assert [(p.field, p.code) for p in refused.value.problems] == [("tags[1]", "GOVERNANCE_TAG")]
    with pytest.raises(Forbidden):
        POLICY.check_input(ADMIN, "fraud", ["pii"], "tags")  # administering is not deciding
    with pytest.raises(Forbidden):
        POLICY.check_input(APPROVER, "churn", ["pii"], "tags")  # an approver of another group
    POLICY.check_input(APPROVER, "fraud", ["pii"], "tags")
    POLICY.check_input(CONTRIBUTOR, "fraud", ["ok"], "tags")
    TagPolicy.of(["secret"]).check_input(CONTRIBUTOR, None, ["pii"], "tags")  # the set is configured


def test_governance_changes_touch_governance_tags_only() -> None:
    assert POLICY.change(["a", "pii"], ["incident"], ["pii"]).after == ("a", "incident")
    with pytest.raises(ValidationFailed) as refused:
        POLICY.check_change(["a", "pii"], ["pii"])
    assert [p.field for p in refused.value.problems] == ["add[0]", "remove"]
    with pytest.raises(ValidationFailed):
        POLICY.check_change([], [])


def test_protected_aliases_move_by_approvers_onto_approved_versions() -> None:
    check_may_move(CONTRIBUTOR, "fraud", "challenger", protected=False)
    with pytest.raises(Forbidden):
        check_may_move(CONTRIBUTOR, "fraud", "champion", protected=True)
    check_may_move(APPROVER, "fraud", "champion", protected=True)
    with pytest.raises(Conflict):
        check_target("fraud", "champion", 3, True, ApprovalStatus.REJECTED)
    check_target("fraud", "champion", 3, True, ApprovalStatus.APPROVED)
    check_target("fraud", "challenger", 3, False, ApprovalStatus.REJECTED)
    assert normalize_protected(["b", "a", "b"]) == ("a", "b")
    with pytest.raises(ValidationFailed):
        normalize_protected([f"a{i}" for i in range(21)])


def test_group_aliases_show_protected_ones_only_on_approved_versions_and_unset_ones_as_none() -> None:
    listed = group_aliases(
        ["champion", "prod", "shadow"],
        [
            ("champion", 3, ApprovalStatus.APPROVED),
            ("shadow", 4, ApprovalStatus.REJECTED),
            ("challenger", 5, ApprovalStatus.PENDING_MANUAL_APPROVAL),
        ],
    )
    assert listed == (
        GroupAlias("challenger", 5, False),
        GroupAlias("champion", 3, True),
        GroupAlias("prod", None, True),
        GroupAlias("shadow", None, True),
    )
    assert group_aliases([], []) == ()
