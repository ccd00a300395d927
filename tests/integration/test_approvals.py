"""The approval workflow against the real Neo4j, through the services with real principals: every refusal
reason, N-of-M, revocation, the deployment guard and incident flags. Refusals write only their audit record."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
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
from lineage_graph.domain.lineage import WalkLimits
from lineage_graph.domain.models import ApprovalStatus, Metric, ModelVersion, RunKind, RunStatus
from lineage_graph.services.approvals import ApprovalService
from lineage_graph.services.container import Services
from lineage_graph.store.approvals import ApprovalStore
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


def _forbidden(h: Harness, db: Driver, call: Callable[[Services], Awaitable[Any]]) -> list[str]:
    """Run a call that the authorization gate must refuse: FORBIDDEN, and nothing written, not even audit."""
    before = graph_counts(db)
    locks = db.execute_query("MATCH (v:ModelVersion) WHERE v._lock IS NOT NULL RETURN count(v) AS n").records
    with pytest.raises(Forbidden) as refused:
        h.run(call)
    assert graph_counts(db) == before, "a caller without the role writes nothing, not even an audit record"
    assert db.execute_query("MATCH (v:ModelVersion) WHERE v._lock IS NOT NULL RETURN count(v) AS n").records == locks
    return [p.code for p in refused.value.problems]


def test_registrant_and_non_approvers_are_refused(h: Harness, db: Driver) -> None:
    v = _version(h)
    # The role is checked before anything else: no lock, no lineage walk, no audit record to grow.
    assert _forbidden(h, db, lambda s: s.approvals.approve(ALICE, v.ref)) == ["MISSING_ROLE"]
    assert _forbidden(h, db, lambda s: s.approvals.approve(ADMIN, v.ref)) == ["MISSING_ROLE"]
    assert _forbidden(h, db, lambda s: s.approvals.reject(Principal("vic", Role.VIEWER), v.ref, "no")) == [
        "MISSING_ROLE"
    ]
    other_group = Principal("olga", Role.VIEWER, {"fraud": Role.APPROVER})
    assert _forbidden(h, db, lambda s: s.approvals.approve(other_group, v.ref)) == ["MISSING_ROLE"]
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
    # `pii` is a governance tag: an approver sets it (docs/governance.md).
    h.run(
        lambda s: s.registry.register_dataset_version(
            BOB, RegisterDatasetVersion("s3://lake", "raw", "1", tags=("pii",))
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
    assert [v.version for v in flagged.needs_review] == [approved.version, fine_tune.version]
    assert all(v.needs_review for v in flagged.needs_review)
    assert pending.version not in [v.version for v in flagged.needs_review]
    assert flagged.incomplete is None
    review = db.execute_query("MATCH (e:AuditEvent {action: 'model_version.review_needed'}) RETURN e.subject AS s")
    assert sorted(r["s"] for r in review.records) == sorted(str(v.ref) for v in flagged.needs_review)
    tags = db.execute_query("MATCH (d:DatasetVersion {name: 'raw'}) RETURN d.tags AS t").records[0]["t"]
    assert "restricted" in tags


def _chain(h: Harness, length: int, tagged: str) -> DatasetVersionSpec:
    """raw@1 (tagged `tagged`) -> step-1 -> ... -> step-`length`, each a processing run; the last version."""
    raw = RegisterDatasetVersion("s3://lake", "raw", "1", tags=(tagged,))
    h.run(lambda s: s.registry.register_dataset_version(BOB, raw))  # an approver: `pii` is a governance tag
    previous = RAW
    for i in range(1, length + 1):
        output = DatasetVersionSpec("s3://lake", f"step-{i}", "1")
        run = RecordRun(f"step-{i}", "etl", "step", RunKind.PROCESSING, RunStatus.COMPLETED, input_specs=(previous,))
        run = replace(run, output_specs=(output,))
        h.run(lambda s, run=run: s.registry.record_run(ALICE, run))
        previous = output
    return previous


def test_a_forbidden_tag_beyond_the_walk_limit_refuses_the_approval(h: Harness, db: Driver) -> None:
    # The walk may only go 4 edges up; `pii` sits 2 + 2 x 4 = 10 edges above the version.
    short = ApprovalService(ApprovalStore(h.graph, WalkLimits(depth=4)))
    last = _chain(h, 4, "pii")
    v = _version(h, ApprovalPolicy(forbidden_upstream_tags=("pii",)), trained_on_specs=(last,))
    codes = _refused(h, db, lambda s: short.approve(BOB, v.ref))
    assert codes == ["LINEAGE_INCOMPLETE"]
    with pytest.raises(PolicyNotMet, match="depth limit of 4 lineage edges"):
        h.run(lambda s: short.approve(BOB, v.ref))
    assert h.run(lambda s: short.readiness(BOB, v.ref)).lineage_complete is False
    # With the default limits the walk reaches the tag and names it.
    with pytest.raises(PolicyNotMet, match="raw@1 are tagged 'pii'"):
        h.run(lambda s: s.approvals.approve(BOB, v.ref))
    status = db.execute_query("MATCH (v:ModelVersion) RETURN v.approval_status AS s").records[0]["s"]
    assert status == "PENDING_MANUAL_APPROVAL"


def test_a_cut_walk_does_not_block_a_policy_that_reads_no_lineage(h: Harness, db: Driver) -> None:
    short = ApprovalService(ApprovalStore(h.graph, WalkLimits(depth=2)))
    last = _chain(h, 3, "reviewed")
    v = _version(h, trained_on_specs=(last,))
    result = h.run(lambda s: short.approve(BOB, v.ref))
    assert result.version.approval_status is ApprovalStatus.APPROVED
    assert result.decision.evidence["lineage_complete"] is False


def test_readiness_lists_every_unmet_rule_for_the_caller_and_writes_nothing(h: Harness, db: Driver) -> None:
    policy = ApprovalPolicy(required_metrics=(MetricRequirement("auc", ">=", 0.95),), min_approvers=2)
    v = _version(h, policy)
    before = graph_counts(db)
    for_alice = h.run(lambda s: s.approvals.readiness(ALICE, v.ref))
    assert [p.code for p in for_alice.problems] == ["MISSING_ROLE", "FOUR_EYES", "METRIC_THRESHOLD"]
    for_bob = h.run(lambda s: s.approvals.readiness(BOB, v.ref))
    assert [p.code for p in for_bob.problems] == ["METRIC_THRESHOLD"]
    assert not for_bob.ready
    assert (for_bob.approvals, for_bob.approvals_needed) == (0, 2)
    assert graph_counts(db) == before
    h.run(lambda s: s.approvals.set_policy(ADMIN, "churn", ApprovalPolicy(min_approvers=2)))
    ready = h.run(lambda s: s.approvals.readiness(BOB, v.ref))
    assert ready.ready
    assert ready.resulting_status is ApprovalStatus.PENDING_MANUAL_APPROVAL
    h.run(lambda s: s.approvals.approve(BOB, v.ref))
    assert [p.code for p in h.run(lambda s: s.approvals.readiness(BOB, v.ref)).problems] == ["ALREADY_APPROVED"]
    last = h.run(lambda s: s.approvals.readiness(CAROL, v.ref))
    assert last.ready
    assert last.resulting_status is ApprovalStatus.APPROVED
    assert last.approvals == 1
