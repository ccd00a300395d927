"""Approval decisions, group policies and incident flags in Neo4j.

A decision locks its model version first, then reads the evidence, so two approvers racing on one version
are serialized: the second sees the first's vote (N-of-M counts stay exact).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.approval import ApprovalPolicy, Decision, Evidence, Outcome
from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import NotFound
from lineage_graph.domain.models import ApprovalStatus, Deployment, ModelVersion
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_all, fetch_one
from lineage_graph.store.records import metrics_from_json, to_datetime, to_deployment, to_model_version
from lineage_graph.store.traversal import reachable

_LOCK_AND_READ = """
MATCH (v:ModelVersion {group: $group, version: $version})-[:IN_GROUP]->(g:ModelGroup)
SET v._lock = true
WITH v, g
RETURN elementId(v) AS element_id, v {.*} AS v, g.policy AS policy,
  COLLECT { MATCH (d:DatasetVersion)-[:TRAINED]->(v) RETURN d.namespace + '/' + d.name + '@' + d.version
            UNION MATCH (d:DatasetVersion)-[:INPUT_TO]->(:Run)-[:OUTPUT]->(v)
                  RETURN d.namespace + '/' + d.name + '@' + d.version } AS datasets,
  COLLECT { MATCH (c:CodeVersion)-[:BUILT]->(v) RETURN c.repository + '@' + c.commit
            UNION MATCH (c:CodeVersion)-[:EXECUTED_BY]->(:Run)-[:OUTPUT]->(v) RETURN c.repository + '@' + c.commit }
    AS code,
  COLLECT { MATCH (r:Run)-[:OUTPUT]->(v) RETURN r.run_id } AS runs,
  COLLECT { MATCH (a:ApprovalDecision {decision: 'APPROVE', round: coalesce(v.approval_round, 0)})-[:DECIDES]->(v)
            RETURN DISTINCT a.actor } AS approvers
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

_SET_POLICY = """
MATCH (g:ModelGroup {name: $group})
SET g.policy = $policy, g.four_eyes = $four_eyes, g.updated_at = $now
RETURN g.name AS name
"""

_GROUP_POLICY = "MATCH (g:ModelGroup {name: $group}) RETURN g.policy AS policy"

_FLAG = """
MATCH (d:DatasetVersion {namespace: $namespace, name: $name, version: $version})
SET d.incident = $incident, d.tags = CASE WHEN $tag IN d.tags THEN d.tags ELSE d.tags + $tag END
RETURN elementId(d) AS element_id
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


def _tags_upstream(nodes: Sequence[dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    tags: dict[str, list[str]] = {}
    for node in nodes:
        if node["label"] == "DatasetVersion":
            p = node["props"]
            for tag in p.get("tags") or ():
                tags.setdefault(tag, []).append(f"{p['namespace']}/{p['name']}@{p['version']}")
    return {k: tuple(sorted(v)) for k, v in tags.items()}


class ApprovalStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

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
            upstream = await reachable(tx, [row["element_id"]], upstream=True)
            props = row["v"]
            policy = ApprovalPolicy.from_json(row["policy"])
            evidence = Evidence(
                status=ApprovalStatus(props.get("approval_status") or "PENDING_MANUAL_APPROVAL"),
                registered_by=props.get("created_by"),
                metrics=metrics_from_json(props.get("metrics")),
                training_datasets=tuple(sorted(row["datasets"])),
                code_versions=tuple(sorted(row["code"])),
                producing_runs=tuple(sorted(row["runs"])),
                upstream_tags=_tags_upstream(upstream),
                approvers_so_far=tuple(sorted(row["approvers"])),
            )
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

        try:
            return await self._graph.write(work)
        except _Refused as refused:
            return refused.outcome, None, refused.snapshot

    async def record_refusal(self, entry: AuditEntry) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await append_audit_event(tx, entry)

        await self._graph.write(work)

    async def decisions_for(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[RecordedDecision]]:
        rows = await self._graph.rows(_DECISIONS_FOR, keys=[{"group": g, "version": v} for g, v in keys])
        return {(r["group"], int(r["version"])): [to_decision(d) for d in r["decisions"]] for r in rows}

    async def policy(self, group: str) -> ApprovalPolicy | None:
        rows = await self._graph.rows(_GROUP_POLICY, group=group)
        return ApprovalPolicy.from_json(rows[0]["policy"]) if rows else None

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
    ) -> list[ModelVersion]:
        """Record the incident on the dataset version and mark every downstream APPROVED model version as
        needing re-review, in one transaction; returns those versions."""

        async def work(tx: AsyncManagedTransaction) -> list[ModelVersion]:
            now = datetime.now(UTC)
            incident = json.dumps({"reason": reason, "tag": tag, "by": actor, "at": now.isoformat()})
            row = await fetch_one(
                tx, _FLAG, namespace=namespace, name=name, version=version, incident=incident, tag=tag
            )
            if row is None:
                raise NotFound("dataset version", f"{namespace}/{name}@{version}", "id")
            downstream = await reachable(tx, [row["element_id"]], upstream=False)
            keys = [
                {"group": n["props"]["group"], "version": n["props"]["version"]}
                for n in downstream
                if n["label"] == "ModelVersion" and n["props"].get("approval_status") == "APPROVED"
            ]
            rows = await fetch_all(tx, _MARK_REVIEW, keys=keys, now=now) if keys else []
            flagged = sorted((to_model_version(r["v"], r["aliases"]) for r in rows), key=lambda v: (v.group, v.version))
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "dataset_version.flag",
                    f"DatasetVersion:{namespace}/{name}/{version}",
                    {"reason": reason, "tag": tag, "needs_review": [str(v.ref) for v in flagged]},
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
            return flagged

        return await self._graph.write(work)
