"""Stage transitions in Neo4j: one `StageTransition` node per change, the version's current stage on it.

A transition locks its model version first and then reads the evidence (approval status, metrics,
deployments, open incidents upstream through the shared lineage walk), so concurrent transitions of one
version are serialized and each is checked against what the one before it committed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.errors import NotFound, Problem
from lineage_graph.domain.ids import NodeKind
from lineage_graph.domain.lifecycle import ARCHIVED, LifecyclePolicy, StageChange, StageEvidence
from lineage_graph.domain.lineage import LINEAGE_EDGES, Direction, WalkLimits
from lineage_graph.domain.models import ApprovalStatus, ModelVersion
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import metrics_from_json, to_datetime, to_model_version
from lineage_graph.store.traversal import Walk, to_lineage_node

_LOCK_AND_READ = """
MATCH (v:ModelVersion {group: $group, version: $version})-[:IN_GROUP]->(g:ModelGroup)
SET v._lock = true
WITH v, g
RETURN elementId(v) AS element_id, v {.*} AS v, g.lifecycle AS lifecycle,
  COLLECT { MATCH (d:Deployment)-[:SERVES]->(v) RETURN DISTINCT d.environment } AS environments
"""

_RECORD = """
MATCH (v:ModelVersion {group: $group, version: $version})
CREATE (t:StageTransition {transition_id: $id, group: $group, version: $version, from_stage: $from_stage,
                           from_status: $from_status, to_stage: $to_stage, to_status: $to_status,
                           description: $description, actor: $actor, automated: $automated, at: $now,
                           evidence: $evidence})
CREATE (t)-[:TRANSITIONS]->(v)
SET v.stage = $to_stage, v.stage_status = $to_status, v.stage_description = $description,
    v.stage_changed_at = $now, v.updated_at = $now,
    v.archived = CASE WHEN $to_stage = $archived THEN true
                      WHEN $from_stage = $archived THEN false
                      ELSE coalesce(v.archived, false) END
REMOVE v._lock
RETURN v {.*} AS v, COLLECT { MATCH (al:Alias)-[:POINTS_TO]->(v) RETURN al.name } AS aliases
"""

_TRANSITIONS_FOR = """
UNWIND $keys AS k
MATCH (t:StageTransition)-[:TRANSITIONS]->(:ModelVersion {group: k.group, version: k.version})
WITH k, t ORDER BY t.at
RETURN k.group AS group, k.version AS version, collect(t {.*}) AS transitions
"""

GateRule = Callable[[LifecyclePolicy, StageEvidence], Sequence[Problem]]


@dataclass(frozen=True)
class StageTransition:
    transition_id: str
    group: str
    version: int
    from_stage: str
    from_status: str | None
    to_stage: str
    to_status: str
    description: str | None
    actor: str
    automated: bool
    at: datetime
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class TransitionResult:
    """`problems` empty: `version` and `transition` say what was recorded; else nothing was written."""

    problems: tuple[Problem, ...]
    evidence: Mapping[str, Any]
    version: ModelVersion | None = None
    transition: StageTransition | None = None


class _Refused(Exception):  # internal control flow: rolls the lock back, never leaves this module
    def __init__(self, result: TransitionResult) -> None:
        super().__init__("refused")
        self.result = result


INCIDENT_TAG = "incident"


async def open_incidents_upstream(
    tx: AsyncManagedTransaction, element_id: str, group: str, version: int, limits: WalkLimits | None = None
) -> tuple[str, ...]:
    """Dataset versions upstream of a model version that carry an open incident (its tag, set by a flag and
    removed when the incident is cleared), through the one lineage walk. A walk cut short by a limit is
    reported as an entry of its own, so a gate that forbids incidents fails safe rather than pass unseen."""
    bounds = limits or WalkLimits()
    seed = {element_id: to_lineage_node(["ModelVersion"], {"group": group, "version": version}, 0)}
    walk = Walk.of(seed, Direction.UPSTREAM, LINEAGE_EDGES, bounds)
    await walk.run(tx)
    found = sorted(
        n.display_name for n in walk.nodes.values() if n.ref.kind is NodeKind.DATASET_VERSION and INCIDENT_TAG in n.tags
    )
    if walk.truncated is not None:
        found.append(f"(unchecked beyond: the upstream walk stopped at {bounds.describe(walk.truncated)})")
    return tuple(found)


def to_transition(p: Mapping[str, Any]) -> StageTransition:
    return StageTransition(
        transition_id=p["transition_id"],
        group=p["group"],
        version=int(p["version"]),
        from_stage=p["from_stage"],
        from_status=p.get("from_status"),
        to_stage=p["to_stage"],
        to_status=p["to_status"],
        description=p.get("description"),
        actor=p["actor"],
        automated=bool(p.get("automated")),
        at=to_datetime(p["at"]),
        evidence=json.loads(p.get("evidence") or "{}"),
    )


class LifecycleStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def transition(
        self,
        group: str,
        version: int,
        change: StageChange,
        actor: str,
        *,
        by_approver: bool,
        automated: bool,
        rule: GateRule,
        dry_run: bool = False,
    ) -> TransitionResult:
        """Lock the version, gather the evidence, let `rule` list what is unmet, and record the transition
        (with its audit event) only when nothing is. A dry run only answers what is unmet (the lock is
        rolled back with the rest)."""

        async def work(tx: AsyncManagedTransaction) -> TransitionResult:
            row = await fetch_one(tx, _LOCK_AND_READ, group=group, version=version)
            if row is None:
                raise NotFound("model version", f"{group}/{version}", "id")
            policy = LifecyclePolicy.from_json(row["lifecycle"])
            props = row["v"]
            evidence = StageEvidence(
                stage=props.get("stage") or policy.initial,
                stage_status=props.get("stage_status"),
                approval_status=ApprovalStatus(props.get("approval_status") or "PENDING_MANUAL_APPROVAL"),
                metrics=metrics_from_json(props.get("metrics")),
                open_incidents_upstream=await open_incidents_upstream(tx, row["element_id"], group, version),
                deployment_environments=tuple(sorted(row["environments"])),
                by_approver=by_approver,
            )
            snapshot = evidence.snapshot()
            problems = tuple(rule(policy, evidence))
            if problems or dry_run:
                raise _Refused(TransitionResult(problems, snapshot))
            now = datetime.now(UTC)
            transition = StageTransition(
                str(uuid.uuid4()),
                group,
                version,
                evidence.stage,
                evidence.stage_status,
                change.stage,
                change.status,
                change.description,
                actor,
                automated,
                now,
                snapshot,
            )
            recorded = await fetch_one(
                tx,
                _RECORD,
                group=group,
                version=version,
                id=transition.transition_id,
                from_stage=transition.from_stage,
                from_status=transition.from_status,
                to_stage=change.stage,
                to_status=change.status,
                description=change.description,
                actor=actor,
                automated=automated,
                now=now,
                evidence=json.dumps(snapshot, sort_keys=True),
                archived=ARCHIVED,
            )
            assert recorded is not None
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "model_version.stage_changed",
                    f"ModelVersion:{group}/{version}",
                    {
                        "transition_id": transition.transition_id,
                        "from": transition.from_stage,
                        "from_status": transition.from_status,
                        "to": change.stage,
                        "to_status": change.status,
                        "description": change.description,
                        "automated": automated,
                        # the SageMaker-shaped event carries the package's approval status beside its stage
                        "approval_status": evidence.approval_status.value,
                    },
                ),
            )
            return TransitionResult((), snapshot, to_model_version(recorded["v"], recorded["aliases"]), transition)

        try:
            return await self._graph.write(work)
        except _Refused as refused:
            return refused.result

    async def record_refusal(self, entry: AuditEntry) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            await append_audit_event(tx, entry)

        await self._graph.write(work)

    async def transitions_for(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[StageTransition]]:
        rows = await self._graph.rows(_TRANSITIONS_FOR, keys=[{"group": g, "version": v} for g, v in keys])
        return {(r["group"], int(r["version"])): [to_transition(t) for t in r["transitions"]] for r in rows}
