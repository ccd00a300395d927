"""Approval decisions, group policies and incident flags in Neo4j.

A decision locks its model version first, then reads the evidence, so two approvers racing on one version
are serialized: the second sees the first's vote (N-of-M counts stay exact). The evidence is one upstream walk
(`store/traversal.py`) under `WalkLimits`; a walk that stops at a limit says so in the evidence, and the policy
refuses to decide on it (LINEAGE_INCOMPLETE) rather than approve on part of the lineage.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.approval import ApprovalPolicy, Decision, Evidence, IncidentFlag, Outcome
from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import NotFound
from lineage_graph.domain.ids import NodeKind
from lineage_graph.domain.lineage import LINEAGE_EDGES, Direction, EdgeType, LineageNode, WalkLimits
from lineage_graph.domain.models import ApprovalStatus, Deployment, ModelVersion
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_all, fetch_one
from lineage_graph.store.records import metrics_from_json, to_datetime, to_deployment, to_model_version
from lineage_graph.store.traversal import PROJECTION, Walk, to_lineage_node

# The version, its group's policy and this round's approvers; its lineage comes from the walk.
_VERSION_AND_POLICY = f"""
WITH v, g
RETURN elementId(v) AS element_id, v {{.*}} AS v, v {PROJECTION} AS node, labels(v) AS labels, g.policy AS policy,
  COLLECT {{ MATCH (a:ApprovalDecision {{decision: 'APPROVE', round: coalesce(v.approval_round, 0)}})-[:DECIDES]->(v)
            RETURN DISTINCT a.actor }} AS approvers
"""
_LOCK_AND_READ = (
    "MATCH (v:ModelVersion {group: $group, version: $version})-[:IN_GROUP]->(g:ModelGroup) SET v._lock = true"
    + _VERSION_AND_POLICY
)
_READ = "MATCH (v:ModelVersion {group: $group, version: $version})-[:IN_GROUP]->(g:ModelGroup)" + _VERSION_AND_POLICY

_REGISTRANT = """
MATCH (v:ModelVersion {group: $group, version: $version})-[:IN_GROUP]->(g:ModelGroup)
RETURN v.created_by AS created_by, g.policy AS policy
"""

_RECORD = """
MATCH (v:ModelVersion {group: $group, version: $version})
CREATE (a:ApprovalDecision {decision_id: $id, decision: $decision, from_status: $from_status,
                            to_status: $to_status, actor: $actor, at: $now, comment: $comment,
                            evidence: $evidence, round: coalesce(v.approval_round, 0)})
CREATE (a)-[:DECIDES]->(v)
SET v.approval_status = $to_status, v.updated_at = $now,
    v.approval_round = CASE WHEN $decision = 'REJECT' THEN coalesce(v.approval_round, 0) + 1
                            ELSE coalesce(v.approval_round, 0) END,
    v.needs_review = CASE WHEN $to_status = 'APPROVED' THEN false ELSE v.needs_review END
REMOVE v._lock
RETURN v {.*} AS v, COLLECT { MATCH (al:Alias)-[:POINTS_TO]->(v) RETURN al.name } AS aliases,
  COLLECT { MATCH (d:Deployment {status: 'ACTIVE'})-[:SERVES]->(v) RETURN d {.*} } AS deployments
"""

_DECISIONS_FOR = """
UNWIND $keys AS k
MATCH (a:ApprovalDecision)-[:DECIDES]->(:ModelVersion {group: k.group, version: k.version})
WITH k, a ORDER BY a.at
RETURN k.group AS group, k.version AS version, collect(a {.*}) AS decisions
"""

_DECISIONS_BY_ID = "UNWIND $ids AS id MATCH (a:ApprovalDecision {decision_id: id}) RETURN a {.*} AS a"

_SET_POLICY = """
MATCH (g:ModelGroup {name: $group})
SET g.policy = $policy, g.four_eyes = $four_eyes, g.updated_at = $now
RETURN g.name AS name
"""

_GROUP_POLICY = "MATCH (g:ModelGroup {name: $group}) RETURN g.policy AS policy"
_GROUP_POLICIES = """
UNWIND $groups AS name
MATCH (g:ModelGroup {name: name})
RETURN collect([name, g.policy]) AS policies
"""

_FLAG = """
MATCH (d:DatasetVersion {namespace: $namespace, name: $name, version: $version})
SET d.incident = $incident, d.tags = CASE WHEN $tag IN d.tags THEN d.tags ELSE d.tags + $tag END
RETURN elementId(d) AS element_id, d {.namespace, .name, .version} AS key
"""

_MARK_REVIEW = """
UNWIND $keys AS k
MATCH (v:ModelVersion {group: k.group, version: k.version})
SET v.needs_review = true, v.updated_at = $now
RETURN v {.*} AS v, COLLECT { MATCH (al:Alias)-[:POINTS_TO]->(v) RETURN al.name } AS aliases
"""


class _Refused(Exception):  # internal control flow: never leaves this module
    def __init__(self, outcome: Outcome, snapshot: dict[str, Any]) -> None:
        super().__init__("refused")
        self.outcome = outcome
        self.snapshot = snapshot


@dataclass(frozen=True)
class RecordedDecision:
    decision_id: str
    decision: Decision
    from_status: ApprovalStatus
    to_status: ApprovalStatus
    actor: str
    at: datetime
    comment: str | None
    evidence: dict[str, Any]


@dataclass(frozen=True)
class DecisionResult:
    version: ModelVersion
    decision: RecordedDecision
    active_deployments: list[Deployment]


def to_decision(p: dict[str, Any]) -> RecordedDecision:
    return RecordedDecision(
        p["decision_id"],
        Decision(p["decision"]),
        ApprovalStatus(p["from_status"]),
        ApprovalStatus(p["to_status"]),
        p["actor"],
        to_datetime(p["at"]),
        p.get("comment"),
        json.loads(p.get("evidence") or "{}"),
    )


def _name(node: LineageNode) -> str:
    parts = node.ref.parts
    if node.ref.kind is NodeKind.DATASET_VERSION:
        return f"{parts[0]}/{parts[1]}@{parts[2]}"
    if node.ref.kind is NodeKind.CODE_VERSION:
        return f"{parts[0]}@{parts[1]}"
    return str(parts[0])


async def _evidence(tx: AsyncManagedTransaction, row: dict[str, Any], limits: WalkLimits) -> Evidence:
    """The evidence for a decision on the version `row` describes: one upstream walk gives its training data,
    code and producing runs (the nodes one or two edges up) and every upstream dataset version's tags."""
    root: str = row["element_id"]
    walk = Walk.of({root: to_lineage_node(row["labels"], row["node"], 0)}, Direction.UPSTREAM, LINEAGE_EDGES, limits)
    await walk.run(tx)
    nodes = walk.nodes
    into: dict[tuple[str, EdgeType], list[str]] = {}
    for source, target, edge_type in walk.result_edges():
        into.setdefault((target, edge_type), []).append(source)

    def sources(targets: Sequence[str], edge_type: EdgeType, kind: NodeKind) -> set[str]:
        found = (nodes[s] for t in targets for s in into.get((t, edge_type), ()))
        return {_name(n) for n in found if n.ref.kind is kind}

    runs = [s for s in into.get((root, EdgeType.OUTPUT), ()) if nodes[s].ref.kind is NodeKind.RUN]
    datasets = sources([root], EdgeType.TRAINED, NodeKind.DATASET_VERSION)
    datasets |= sources(runs, EdgeType.INPUT_TO, NodeKind.DATASET_VERSION)
    code = sources([root], EdgeType.BUILT, NodeKind.CODE_VERSION) | sources(
        runs, EdgeType.EXECUTED_BY, NodeKind.CODE_VERSION
    )
    tags: dict[str, list[str]] = {}
    for node in nodes.values():
        if node.ref.kind is NodeKind.DATASET_VERSION:
            for tag in node.tags:
                tags.setdefault(tag, []).append(_name(node))
    props = row["v"]
    return Evidence(
        status=ApprovalStatus(props.get("approval_status") or "PENDING_MANUAL_APPROVAL"),
        registered_by=props.get("created_by"),
        metrics=metrics_from_json(props.get("metrics")),
        training_datasets=tuple(sorted(datasets)),
        code_versions=tuple(sorted(code)),
        producing_runs=tuple(sorted(_name(nodes[r]) for r in runs)),
        upstream_tags={k: tuple(sorted(v)) for k, v in tags.items()},
        approvers_so_far=tuple(sorted(row["approvers"])),
        lineage_incomplete=None
        if walk.truncated is None
        else f"the upstream walk stopped at {limits.describe(walk.truncated)}",
    )


class ApprovalStore:
    """`limits` bound every walk behind evidence and incident flags (the lineage defaults: depth 100, 100,000
    nodes, 10 s); a walk cut by one of them is reported, never taken for the whole lineage."""

    def __init__(self, graph: Neo4jGraph, limits: WalkLimits | None = None) -> None:
        self._graph = graph
        self._limits = limits or WalkLimits()

    async def registrant(self, group: str, version: int) -> tuple[ApprovalPolicy, str | None]:
        """The group's policy and who registered the version: enough for four-eyes, without lock or walk."""
        rows = await self._graph.rows(_REGISTRANT, group=group, version=version)
        if not rows:
            raise NotFound("model version", f"{group}/{version}", "id")
        return ApprovalPolicy.from_json(rows[0]["policy"]), rows[0]["created_by"]

    async def evidence(self, group: str, version: int) -> tuple[ApprovalPolicy, Evidence]:
        """The policy and the evidence a decision would be taken on now, read without locking or writing."""

        async def work(tx: AsyncManagedTransaction) -> tuple[ApprovalPolicy, Evidence]:
            row = await fetch_one(tx, _READ, group=group, version=version)
            if row is None:
                raise NotFound("model version", f"{group}/{version}", "id")
            return ApprovalPolicy.from_json(row["policy"]), await _evidence(tx, row, self._limits)

        return await self._graph.read(work, timeout=self._limits.seconds * 1.5 + 1.0)

    async def decide(
        self,
        group: str,
        version: int,
        decision: Decision,
        actor: str,
        comment: str | None,
        rule: Callable[[ApprovalPolicy, Evidence], Outcome],
    ) -> tuple[Outcome, DecisionResult | None, dict[str, Any]]:
        """Lock the version, gather the evidence, let `rule` decide, and record the decision if it may be.
        Returns the outcome, the recorded result (None when refused) and the evidence snapshot."""

        async def work(tx: AsyncManagedTransaction) -> tuple[Outcome, DecisionResult | None, dict[str, Any]]:
            row = await fetch_one(tx, _LOCK_AND_READ, group=group, version=version)
            if row is None:
                raise NotFound("model version", f"{group}/{version}", "id")
            policy = ApprovalPolicy.from_json(row["policy"])
            evidence = await _evidence(tx, row, self._limits)
            snapshot = evidence.snapshot(policy)
            outcome = rule(policy, evidence)
            if outcome.problems:
                # Roll back (the lock included); the caller records the refused attempt on its own.
                raise _Refused(outcome, snapshot)
            now = datetime.now(UTC)
            decision_id = str(uuid.uuid4())
            recorded = await fetch_one(
                tx,
                _RECORD,
                group=group,
                version=version,
                id=decision_id,
                decision=decision.value,
                from_status=outcome.from_status.value,
                to_status=outcome.to_status.value,
                actor=actor,
                now=now,
                comment=comment,
                evidence=json.dumps(snapshot, sort_keys=True),
            )
            assert recorded is not None
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    f"model_version.{decision.value.lower()}",
                    f"ModelVersion:{group}/{version}",
                    {
                        "decision_id": decision_id,
                        "comment": comment,
                        "from": outcome.from_status.value,
                        "to": outcome.to_status.value,
                        "approvals": outcome.approvals,
                        "approvals_needed": outcome.approvals_needed,
                    },
                ),
            )
            result = DecisionResult(
                version=to_model_version(recorded["v"], recorded["aliases"]),
                decision=RecordedDecision(
                    decision_id, decision, outcome.from_status, outcome.to_status, actor, now, comment, snapshot
                ),
                active_deployments=[to_deployment(d) for d in recorded["deployments"]],
            )
            return outcome, result, snapshot

        walk_seconds = self._limits.seconds * 1.5 + 1.0
        try:
            return await self._graph.write(work, timeout=max(walk_seconds, self._graph.query_timeout))
        except _Refused as refused:
            return refused.outcome, None, refused.snapshot

    async def record_refusal(self, entry: AuditEntry) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await append_audit_event(tx, entry)

        await self._graph.write(work)

    async def decisions_by_id(self, ids: Sequence[str]) -> dict[str, RecordedDecision]:
        """Decisions by their ids (`node(id:)` of an ApprovalDecision)."""
        rows = await self._graph.rows(_DECISIONS_BY_ID, ids=list(ids))
        return {r["a"]["decision_id"]: to_decision(r["a"]) for r in rows}

    async def decisions_for(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[RecordedDecision]]:
        rows = await self._graph.rows(_DECISIONS_FOR, keys=[{"group": g, "version": v} for g, v in keys])
        return {(r["group"], int(r["version"])): [to_decision(d) for d in r["decisions"]] for r in rows}

    async def policy(self, group: str) -> ApprovalPolicy | None:
        rows = await self._graph.rows(_GROUP_POLICY, group=group)
        return ApprovalPolicy.from_json(rows[0]["policy"]) if rows else None

    async def policies(self, groups: Sequence[str]) -> dict[str, ApprovalPolicy]:
        """Each existing group's approval policy (the default policy for a group that never set one)."""
        rows = await self._graph.rows(_GROUP_POLICIES, groups=list(groups))
        return {name: ApprovalPolicy.from_json(raw) for name, raw in (rows[0]["policies"] if rows else [])}

    async def set_policy(self, group: str, policy: ApprovalPolicy, actor: str) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            row = await fetch_one(
                tx, _SET_POLICY, group=group, policy=policy.to_json(), four_eyes=policy.four_eyes, now=datetime.now(UTC)
            )
            if row is None:
                raise NotFound("model group", group, "group")
            await append_audit_event(
                tx, AuditEntry(actor, "model_group.set_policy", f"ModelGroup:{group}", json.loads(policy.to_json()))
            )

        await self._graph.write(work)

    async def flag_dataset_version(
        self, namespace: str, name: str, version: str, reason: str, tag: str, actor: str
    ) -> IncidentFlag:
        """Record the incident on the dataset version and mark every downstream APPROVED model version as
        needing re-review, in one transaction; returns those versions, and whether the walk was cut."""

        async def work(tx: AsyncManagedTransaction) -> IncidentFlag:
            now = datetime.now(UTC)
            incident = json.dumps({"reason": reason, "tag": tag, "by": actor, "at": now.isoformat()})
            row = await fetch_one(
                tx, _FLAG, namespace=namespace, name=name, version=version, incident=incident, tag=tag
            )
            if row is None:
                raise NotFound("dataset version", f"{namespace}/{name}@{version}", "id")
            root = {row["element_id"]: to_lineage_node(["DatasetVersion"], {**row["key"]}, 0)}
            walk = Walk.of(root, Direction.DOWNSTREAM, LINEAGE_EDGES, self._limits)
            await walk.run(tx)
            keys = [
                {"group": n.ref.parts[0], "version": n.ref.parts[1]}
                for n in walk.nodes.values()
                if n.ref.kind is NodeKind.MODEL_VERSION and n.approval_status is ApprovalStatus.APPROVED
            ]
            cut = (
                None
                if walk.truncated is None
                else f"the downstream walk stopped at {self._limits.describe(walk.truncated)}"
            )
            rows = await fetch_all(tx, _MARK_REVIEW, keys=keys, now=now) if keys else []
            flagged = sorted((to_model_version(r["v"], r["aliases"]) for r in rows), key=lambda v: (v.group, v.version))
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "dataset_version.flag",
                    f"DatasetVersion:{namespace}/{name}/{version}",
                    {"reason": reason, "tag": tag, "needs_review": [str(v.ref) for v in flagged], "incomplete": cut},
                ),
            )
            # Each approved version that now needs review is an event of its own group (webhooks, subscriptions).
            for flagged_version in flagged:
                await append_audit_event(
                    tx,
                    AuditEntry(
                        actor,
                        "model_version.review_needed",
                        str(flagged_version.ref),
                        {"dataset_version": f"{namespace}/{name}/{version}", "reason": reason, "tag": tag},
                    ),
                )
            return IncidentFlag(tuple(flagged), cut)

        return await self._graph.write(work)
