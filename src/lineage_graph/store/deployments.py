"""Deployments: which model version serves on which endpoint, with what share of its traffic.

Creating a deployment locks the endpoint node first, so two concurrent deployments cannot both see room
for their share; the sum of active shares on one endpoint therefore never exceeds 100.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.commands import CreateDeployment
from lineage_graph.domain.errors import Conflict, NotFound, Problem, ValidationFailed
from lineage_graph.domain.models import Deployment
from lineage_graph.domain.queries import DeploymentFilter as DeploymentFilter  # importable from here too
from lineage_graph.store.audit import append_audit_event
from lineage_graph.store.graph import Neo4jGraph, fetch_one
from lineage_graph.store.records import to_deployment

_LOCK_ENDPOINT = """
MATCH (v:ModelVersion {group: $group, version: $version})
MERGE (e:Endpoint {name: $endpoint})
  ON CREATE SET e.environment = $environment, e.created_at = $now
SET e._lock = true
WITH e, v
RETURN e.environment AS environment, v.approval_status AS approval_status,
  COLLECT { MATCH (d:Deployment {status: 'ACTIVE'})-[:ON]->(e) RETURN d.traffic_share } AS shares,
  EXISTS { MATCH (d:Deployment {status: 'ACTIVE'})-[:ON]->(e) WHERE (d)-[:SERVES]->(v) } AS already
"""

_CREATE = """
MATCH (v:ModelVersion {group: $group, version: $version}), (e:Endpoint {name: $endpoint})
CREATE (d:Deployment {deployment_id: $id, endpoint: $endpoint, environment: $environment, group: $group,
                      version: $version, traffic_share: $share, status: 'ACTIVE', deployed_by: $actor,
                      deployed_at: $now})
CREATE (d)-[:SERVES]->(v), (d)-[:ON]->(e)
REMOVE e._lock
RETURN d {.*} AS d
"""

_RETIRE = """
MATCH (d:Deployment {deployment_id: $id})
WITH d, d.status AS before
SET d.status = 'RETIRED', d.retired_at = coalesce(d.retired_at, $now)
RETURN d {.*} AS d, before
"""

_LIST = """
MATCH (d:Deployment)
WHERE ($endpoint IS NULL OR d.endpoint = $endpoint)
  AND ($environment IS NULL OR d.environment = $environment)
  AND ($status IS NULL OR d.status = $status)
  AND ($group IS NULL OR d.group = $group)
  AND ($version IS NULL OR d.version = $version)
WITH d ORDER BY d.deployed_at DESC, d.deployment_id
WITH collect(d) AS found
RETURN size(found) AS total, [d IN found[$offset..($offset + $limit)] | d {.*}] AS page
"""

_FOR_VERSIONS = """
UNWIND $keys AS k
MATCH (d:Deployment)-[:SERVES]->(:ModelVersion {group: k.group, version: k.version})
WITH k, d ORDER BY d.deployed_at DESC
RETURN k.group AS group, k.version AS version, collect(d {.*}) AS deployments
"""

_BY_ID = "UNWIND $ids AS id MATCH (d:Deployment {deployment_id: id}) RETURN d {.*} AS d"


class DeploymentStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def create(self, cmd: CreateDeployment, actor: str, require_approved: bool) -> Deployment:
        """Record a deployment; refuses a share that would push the endpoint over 100%, a second active
        deployment of the same version on the endpoint, and (when `require_approved`) an unapproved version."""
        group, version = cmd.model_version.parts
        now = datetime.now(UTC)

        async def work(tx: AsyncManagedTransaction) -> Deployment:
            row = await fetch_one(
                tx,
                _LOCK_ENDPOINT,
                group=group,
                version=version,
                endpoint=cmd.endpoint,
                environment=cmd.environment,
                now=now,
            )
            if row is None:
                raise NotFound("model version", str(cmd.model_version), "modelVersionId")
            if row["environment"] != cmd.environment:
                raise ValidationFailed.field(
                    "environment", f"endpoint {cmd.endpoint} belongs to environment {row['environment']}"
                )
            if require_approved and row["approval_status"] != "APPROVED":
                message = (
                    f"{cmd.environment} is a production environment: model version {cmd.model_version} "
                    f"must be APPROVED (it is {row['approval_status']})"
                )
                raise Conflict(message, [Problem("modelVersionId", message, "NOT_APPROVED")])
            if row["already"]:
                message = f"model version {cmd.model_version} is already deployed on {cmd.endpoint}"
                raise Conflict(message, [Problem("modelVersionId", message, "ALREADY_DEPLOYED")])
            used = sum(float(s) for s in row["shares"])
            if used + cmd.traffic_share > 100 + 1e-9:
                message = (
                    f"endpoint {cmd.endpoint} already routes {used:g}% of its traffic; "
                    f"{cmd.traffic_share:g}% more would exceed 100%"
                )
                raise Conflict(message, [Problem("trafficShare", message, "TRAFFIC_OVER_100")])
            created = await fetch_one(
                tx,
                _CREATE,
                group=group,
                version=version,
                endpoint=cmd.endpoint,
                environment=cmd.environment,
                share=cmd.traffic_share,
                actor=actor,
                now=now,
                id=str(uuid.uuid4()),
            )
            assert created is not None
            deployment = to_deployment(created["d"])
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "deployment.create",
                    str(deployment.ref),
                    {
                        "endpoint": cmd.endpoint,
                        "environment": cmd.environment,
                        "model_version": str(cmd.model_version),
                        "traffic_share": cmd.traffic_share,
                    },
                ),
            )
            return deployment

        return await self._graph.write(work)

    async def retire(self, deployment_id: str, actor: str) -> Deployment:
        async def work(tx: AsyncManagedTransaction) -> Deployment:
            row = await fetch_one(tx, _RETIRE, id=deployment_id, now=datetime.now(UTC))
            if row is None:
                raise NotFound("deployment", deployment_id, "id")
            deployment = to_deployment(row["d"])
            if row["before"] == "ACTIVE":
                # The version it served names the group, so a group's subscribers see the retirement too.
                version = f"ModelVersion:{deployment.group}/{deployment.version}"
                payload = {
                    "endpoint": deployment.endpoint,
                    "environment": deployment.environment,
                    "model_version": version,
                }
                await append_audit_event(tx, AuditEntry(actor, "deployment.retire", str(deployment.ref), payload))
            return deployment

        return await self._graph.write(work)

    async def list_deployments(self, flt: DeploymentFilter, offset: int, limit: int) -> tuple[list[Deployment], int]:
        rows = await self._graph.rows(
            _LIST,
            endpoint=flt.endpoint,
            environment=flt.environment,
            status=flt.status.value if flt.status else None,
            group=flt.group,
            version=flt.version,
            offset=offset,
            limit=limit,
        )
        return [to_deployment(d) for d in rows[0]["page"]], int(rows[0]["total"])

    async def for_versions(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[Deployment]]:
        rows = await self._graph.rows(_FOR_VERSIONS, keys=[{"group": g, "version": v} for g, v in keys])
        return {(r["group"], int(r["version"])): [to_deployment(d) for d in r["deployments"]] for r in rows}

    async def by_id(self, ids: Sequence[str]) -> dict[str, Deployment]:
        rows = await self._graph.rows(_BY_ID, ids=list(ids))
        found = [to_deployment(r["d"]) for r in rows]
        return {d.deployment_id: d for d in found}
