"""The approval workflow against the real Neo4j, through the services with real principals: every refusal
reason, N-of-M, revocation, the deployment guard and incident flags. Refusals write only their audit record."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.approval import ApprovalPolicy, MetricRequirement
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.commands import (
    CreateDeployment,
    CreateModelGroup,
    DatasetVersionSpec,
    RecordRun,
    RegisterDatasetVersion,
    RegisterModelVersion,
    RunSpec,
)
from lineage_graph.domain.errors import Conflict, Forbidden, PolicyNotMet
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ApprovalStatus, Metric, ModelVersion, RunKind, RunStatus
from lineage_graph.services.container import Services
from lineage_graph.store.graph import Neo4jGraph
from tests.support import graph_counts

T = TypeVar("T")
ALICE = Principal("alice", Role.CONTRIBUTOR)  # registers
BOB = Principal("bob", Role.APPROVER)
CAROL = Principal("carol", Role.APPROVER)
ADMIN = Principal("root", Role.ADMIN)
RAW = DatasetVersionSpec("s3://lake", "raw", "1")


class Harness:
    """Runs service calls on one event loop with one driver, as the server does."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.graph = Neo4jGraph.connect(graph_settings(settings))
        self.services = Services.build(self.graph)

    def run(self, call: Callable[[Services], Awaitable[T]]) -> T:
        return self.loop.run_until_complete(call(self.services))

    def close(self) -> None:
        self.loop.run_until_complete(self.graph.close())
        self.loop.close()


@pytest.fixture
def h(settings: Settings, db: Driver) -> Iterator[Harness]:
    harness = Harness(settings)
    yield harness
    harness.close()


def _version(h: Harness, policy: ApprovalPolicy | None = None, **extra: Any) -> ModelVersion:
    async def go(s: Services) -> ModelVersion:
        if await s.registry.group(ADMIN, "churn") is None:
            await s.registry.create_group(ALICE, CreateModelGroup("churn"))
        if policy is not None:
            await s.approvals.set_policy(ADMIN, "churn", policy)
        return await s.registry.register_version(
            ALICE,
            RegisterModelVersion(
                "churn", "s3://m/churn.tar.gz", metrics=(Metric("auc", 0.9, None, "validation"),), **extra
            ),
        )

    return h.run(go)


def _audit(db: Driver) -> list[tuple[str, str]]:
    rows = db.execute_query("MATCH (e:AuditEvent) RETURN e.action AS a, e.outcome AS o ORDER BY e.at").records
    return [(r["a"], r["o"]) for r in rows]


def _refused(h: Harness, db: Driver, call: Callable[[Services], Awaitable[Any]]) -> list[str]:
    """Run a call that must be refused; assert it wrote only one REFUSED audit event; return the codes."""
    before_nodes, before_rels = graph_counts(db)
    audit_before = _audit(db)
    with pytest.raises(PolicyNotMet) as refused:
        h.run(call)
    assert graph_counts(db) == (before_nodes + 1, before_rels), "only the audit record of the refusal"
    assert _audit(db)[: len(audit_before)] == audit_before
    assert _audit(db)[-1][1] == "REFUSED"
    return [p.code for p in refused.value.problems]


def test_registrant_and_non_approvers_are_refused(h: Harness, db: Driver) -> None:
    v = _version(h)
    assert _refused(h, db, lambda s: s.approvals.approve(ALICE, v.ref)) == ["MISSING_ROLE", "FOUR_EYES"]
    assert _refused(h, db, lambda s: s.approvals.approve(ADMIN, v.ref)) == ["MISSING_ROLE"]
    self_registered = h.run(
        lambda s: s.registry.register_version(
            Principal("bob", Role.APPROVER), RegisterModelVersion("churn", "s3://m/b")
        )
    )
    assert _refused(h, db, lambda s: s.approvals.approve(BOB, self_registered.ref)) == ["FOUR_EYES"]
    result = h.run(lambda s: s.approvals.approve(BOB, v.ref, "looks good"))
    assert result.version.approval_status is ApprovalStatus.APPROVED
    assert result.decision.evidence["registered_by"] == "alice"


def test_four_eyes_can_be_switched_off_per_group(h: Harness, db: Driver) -> None:
    v = _version(h, ApprovalPolicy(four_eyes=False))
    approver_registrant = Principal("alice", Role.APPROVER)
    assert h.run(lambda s: s.approvals.approve(approver_registrant, v.ref)).version.approval_status is (
        ApprovalStatus.APPROVED
    )


def test_policy_metrics_lineage_and_upstream_tags(h: Harness, db: Driver) -> None:
    h.run(
        lambda s: s.registry.register_dataset_version(
            ALICE, RegisterDatasetVersion("s3://lake", "raw", "1", tags=("pii",))
        )
    )
    h.run(
        lambda s: s.registry.record_run(
            ALICE,
            RecordRun(
                "clean-1",
                "etl",
                "clean",
                RunKind.PROCESSING,
                RunStatus.COMPLETED,
                input_specs=(RAW,),
                output_specs=(DatasetVersionSpec("s3://lake", "clean", "1"),),
            ),
        )
    )
    policy = ApprovalPolicy(
        required_metrics=(
            MetricRequirement("auc", ">=", 0.95, "validation"),
            MetricRequirement("latency_ms", "<=", 50),
        ),
        require_code_version=True,
        require_producing_run=True,
        forbidden_upstream_tags=("pii",),
        required_upstream_tags=("reviewed",),
    )
    v = _version(h, policy, trained_on_specs=(DatasetVersionSpec("s3://lake", "clean", "1"),))
    codes = _refused(h, db, lambda s: s.approvals.approve(BOB, v.ref))
    assert codes == [
        "METRIC_THRESHOLD",
        "METRIC_MISSING",
        "MISSING_LINEAGE",
        "MISSING_LINEAGE",
        "FORBIDDEN_UPSTREAM_TAG",
        "REQUIRED_UPSTREAM_TAG",
    ]
    with pytest.raises(PolicyNotMet, match="raw@1 are tagged 'pii'"):
        h.run(lambda s: s.approvals.approve(BOB, v.ref))


def test_policy_met_then_n_of_m(h: Harness, db: Driver) -> None:
    policy = ApprovalPolicy(
        required_metrics=(MetricRequirement("auc", ">=", 0.85),), require_training_data=True, min_approvers=2
    )
    v = _version(h, policy, trained_on_specs=(RAW,), produced_by=RunSpec("train-1"))
    first = h.run(lambda s: s.approvals.approve(BOB, v.ref))
    assert first.version.approval_status is ApprovalStatus.PENDING_MANUAL_APPROVAL
    assert _refused(h, db, lambda s: s.approvals.approve(BOB, v.ref)) == ["ALREADY_APPROVED"]
    second = h.run(lambda s: s.approvals.approve(CAROL, v.ref))
    assert second.version.approval_status is ApprovalStatus.APPROVED
    assert second.decision.evidence["approvers_so_far"] == ["bob"]
    history = h.run(lambda s: s.approvals.store.decisions_for([("churn", v.version)]))[("churn", v.version)]
    assert [(d.actor, d.to_status) for d in history] == [
        ("bob", ApprovalStatus.PENDING_MANUAL_APPROVAL),
        ("carol", ApprovalStatus.APPROVED),
    ]


def test_revoking_needs_a_comment_and_lists_deployments(h: Harness, db: Driver) -> None:
    v = _version(h)
    with pytest.raises(Conflict, match="must be APPROVED"):
        h.run(lambda s: s.registry.create_deployment(ALICE, CreateDeployment("churn-prod", "production", v.ref)))
    h.run(lambda s: s.approvals.approve(BOB, v.ref))
    deployment = h.run(
        lambda s: s.registry.create_deployment(ALICE, CreateDeployment("churn-prod", "production", v.ref))
    )
    assert _refused(h, db, lambda s: s.approvals.reject(CAROL, v.ref)) == ["REQUIRED"]
    revoked = h.run(lambda s: s.approvals.reject(CAROL, v.ref, "label leak found"))
    assert revoked.version.approval_status is ApprovalStatus.REJECTED
    assert [d.deployment_id for d in revoked.active_deployments] == [deployment.deployment_id]
    assert _refused(h, db, lambda s: s.approvals.reject(CAROL, v.ref, "again")) == ["INVALID_TRANSITION"]
    # a new round: earlier approvals no longer count
    again = h.run(lambda s: s.approvals.approve(BOB, v.ref, "fixed"))
    assert again.version.approval_status is ApprovalStatus.APPROVED


def test_only_admins_set_policies(h: Harness, db: Driver) -> None:
    _version(h)
    with pytest.raises(Forbidden):
        h.run(lambda s: s.approvals.set_policy(BOB, "churn", ApprovalPolicy(min_approvers=2)))
    assert h.run(lambda s: s.approvals.policy(BOB, "churn")) == ApprovalPolicy()


def test_incident_flag_marks_approved_downstream_versions(h: Harness, db: Driver) -> None:
    h.run(
        lambda s: s.registry.record_run(
            ALICE,
            RecordRun(
                "clean-1",
                "etl",
                "clean",
                RunKind.PROCESSING,
                RunStatus.COMPLETED,
                input_specs=(RAW,),
                output_specs=(DatasetVersionSpec("s3://lake", "clean", "1"),),
            ),
        )
    )
    approved = _version(h, trained_on_specs=(DatasetVersionSpec("s3://lake", "clean", "1"),))
    pending = _version(h, trained_on_specs=(DatasetVersionSpec("s3://lake", "clean", "1"),))
    unrelated = _version(h)
    h.run(lambda s: s.approvals.approve(BOB, approved.ref))
    h.run(lambda s: s.approvals.approve(BOB, unrelated.ref))
    fine_tune = _version(h, derived_from=approved.ref)
    h.run(lambda s: s.approvals.approve(BOB, fine_tune.ref))
    flagged = h.run(
        lambda s: s.approvals.flag_dataset_version(
            BOB, NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", "raw", "1"), "contains restricted data", "restricted"
        )
    )
    assert [v.version for v in flagged] == [approved.version, fine_tune.version]
    assert all(v.needs_review for v in flagged)
    assert pending.version not in [v.version for v in flagged]
    review = db.execute_query("MATCH (e:AuditEvent {action: 'model_version.review_needed'}) RETURN e.subject AS s")
    assert sorted(r["s"] for r in review.records) == sorted(str(v.ref) for v in flagged)
    tags = db.execute_query("MATCH (d:DatasetVersion {name: 'raw'}) RETURN d.tags AS t").records[0]["t"]
    assert "restricted" in tags
