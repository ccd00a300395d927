"""Domain rules without a database: ids, validation, metric merging, comparison, the approval state machine."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_graph.domain.approval import (
    TRANSITIONS,
    ApprovalPolicy,
    Decision,
    Evidence,
    MetricRequirement,
    decide,
)
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.compare import compare
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ApprovalStatus, Metric, ModelVersion
from lineage_graph.domain.registry import Checker, higher_is_better, merge_metrics
from lineage_graph.services.discovery import lucene_query


def test_global_ids_round_trip_any_characters() -> None:
    ref = NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake/a:b", "tx/2024", "v1 ü")
    assert NodeRef.parse(ref.global_id) == ref
    assert NodeRef.parse(NodeRef.of(NodeKind.MODEL_VERSION, "g", 3).global_id).parts == ("g", 3)
    for bad in ["", "!!!", NodeRef.of(NodeKind.RUN, "x").global_id[:-3] + "zzz"]:
        with pytest.raises(ValidationFailed):
            NodeRef.parse(bad)
    with pytest.raises(ValidationFailed, match="expected the id of a ModelVersion"):
        ref.expect(NodeKind.MODEL_VERSION)


@given(st.text(), st.text(), st.integers() | st.integers(min_value=-(2**63), max_value=2**64 - 1))
def test_global_ids_are_the_canonical_json_form(namespace: str, name: str, number: int) -> None:
    # Ids are stable across releases: always base64 of the compact, non-ASCII-preserving JSON array (written by
    # orjson, and by the standard library's encoder for integers orjson refuses: beyond 64 bits).
    for kind, parts in (
        (NodeKind.DATASET_VERSION, (namespace, name, "v1")),
        (NodeKind.MODEL_VERSION, (name, number)),
        (NodeKind.RUN, (namespace,)),
    ):
        raw = json.dumps([kind.label, *parts], separators=(",", ":"), ensure_ascii=False)
        expected = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        ref = NodeRef(kind, parts)
        assert ref.global_id == expected
        assert NodeRef.parse(ref.global_id) == ref


@pytest.mark.parametrize("name", ["a", "A1", "fraud-detector", "x--y", "a" * 63])
def test_group_names_as_sagemaker(name: str) -> None:
    check = Checker()
    check.group_name("name", name)
    check.done()


@pytest.mark.parametrize("name", ["", "-a", "a-", "a_b", "a.b", "a" * 64])
def test_bad_group_names(name: str) -> None:
    check = Checker()
    check.group_name("name", name)
    with pytest.raises(ValidationFailed):
        check.done()


def test_checker_collects_every_problem() -> None:
    check = Checker()
    check.artifact_uri("artifactUri", "ftp://x")
    check.metrics("metrics", [Metric("auc", float("nan")), Metric("bad name!", 1.0)])
    check.json_object("hyperparameters", {"x": float("inf")})
    with pytest.raises(ValidationFailed) as failed:
        check.done()
    assert [p.field for p in failed.value.problems] == [
        "artifactUri",
        "metrics[0].value",
        "metrics[1].name",
        "hyperparameters",
    ]


def test_metrics_are_never_overwritten() -> None:
    existing = (Metric("auc", 0.9, None, "val"),)
    assert merge_metrics(existing, [Metric("auc", 0.9, None, "val")]) == existing
    assert len(merge_metrics(existing, [Metric("auc", 0.8, None, "test")])) == 2
    with pytest.raises(ValidationFailed, match="never overwritten"):
        merge_metrics(existing, [Metric("auc", 0.8, None, "val")])


def _version(n: int, metrics: tuple[Metric, ...], params: dict[str, object]) -> ModelVersion:
    now = datetime.now(UTC)
    return ModelVersion(
        "g",
        n,
        "s3://m",
        None,
        None,
        None,
        None,
        params,
        metrics,
        {},
        (),
        ApprovalStatus.PENDING_MANUAL_APPROVAL,
        False,
        "a",
        now,
        now,
    )


def test_compare_picks_best_by_direction_and_final_step() -> None:
    a = _version(1, (Metric("loss", 0.5, 1), Metric("loss", 0.3, 9), Metric("auc", 0.8)), {"lr": 0.1})
    b = _version(2, (Metric("loss", 0.4), Metric("auc", 0.85)), {"lr": 0.1, "depth": 3})
    result = compare([a, b], [{"d@1"}, {"d@1", "d@2"}], [set(), {"c@1"}])
    rows = {m.name: m for m in result.metrics}
    assert rows["loss"].values == (0.3, 0.4)
    assert rows["loss"].best_index == 0
    assert rows["auc"].best_index == 1
    assert [p.name for p in result.hyperparameter_differences] == ["depth"]
    assert result.common_datasets == ("d@1",)
    assert higher_is_better("accuracy")
    assert not higher_is_better("latency_ms")


def test_lucene_query_escapes_syntax() -> None:
    assert lucene_query('a:b (c) "d"') == '(a\\:b OR a\\:b*) AND (\\(c\\) OR \\(c\\)*) AND (\\"d\\" OR \\"d\\"*)'


def _evidence(status: ApprovalStatus = ApprovalStatus.PENDING_MANUAL_APPROVAL, **kw: object) -> Evidence:
    base: dict[str, object] = {
        "status": status,
        "registered_by": "alice",
        "metrics": (Metric("auc", 0.9),),
        "training_datasets": ("d",),
        "code_versions": (),
        "producing_runs": (),
        "upstream_tags": {},
    }
    base.update(kw)
    return Evidence(**base)  # type: ignore[arg-type]


def test_state_machine_table() -> None:
    assert TRANSITIONS[(Decision.REJECT, ApprovalStatus.APPROVED)] is ApprovalStatus.REJECTED
    assert (Decision.APPROVE, ApprovalStatus.APPROVED) not in TRANSITIONS
    assert (Decision.REJECT, ApprovalStatus.REJECTED) not in TRANSITIONS


def test_decide_lists_every_reason() -> None:
    policy = ApprovalPolicy(required_metrics=(MetricRequirement("auc", ">=", 0.95),), require_code_version=True)
    outcome = decide(Decision.APPROVE, Principal("alice", Role.CONTRIBUTOR), "g", policy, _evidence(), None)
    assert [p.code for p in outcome.problems] == ["MISSING_ROLE", "FOUR_EYES", "METRIC_THRESHOLD", "MISSING_LINEAGE"]
    assert outcome.to_status is ApprovalStatus.PENDING_MANUAL_APPROVAL


def test_n_of_m_and_group_grants() -> None:
    policy = ApprovalPolicy(min_approvers=2)
    bob = Principal("bob", Role.VIEWER, {"g": Role.APPROVER})
    assert bob.may_approve("g")
    assert not bob.may_approve("other")
    assert not Principal("root", Role.ADMIN).may_approve("g")
    first = decide(Decision.APPROVE, bob, "g", policy, _evidence(), None)
    assert (first.to_status, first.approvals, first.approvals_needed) == (ApprovalStatus.PENDING_MANUAL_APPROVAL, 1, 2)
    second = decide(
        Decision.APPROVE, Principal("carol", Role.APPROVER), "g", policy, _evidence(approvers_so_far=("bob",)), None
    )
    assert second.to_status is ApprovalStatus.APPROVED


def test_policy_round_trips_through_json() -> None:
    policy = ApprovalPolicy((MetricRequirement("auc", ">=", 0.8, "val"),), True, False, True, ("pii",), (), 2, False)
    assert ApprovalPolicy.from_json(policy.to_json()) == policy
    with pytest.raises(ValidationFailed):
        ApprovalPolicy(required_metrics=(MetricRequirement("auc", "=>", 1),), min_approvers=0).validate()
