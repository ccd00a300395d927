"""Datasets, dataset versions, code versions, jobs and runs: the things models are made from.

Everything here is keyed by its natural key and written with MERGE, so replaying a registration or a run
record converges on the same nodes instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import AuditEntry
from lineage_graph.domain.commands import CodeVersionSpec, RecordRun, RegisterDataset, RegisterDatasetVersion
from lineage_graph.domain.errors import NotFound, Problem, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import CodeVersion, Dataset, DatasetVersion, Job, Run
from lineage_graph.domain.queries import DatasetFilter, Entity, RunFilter, SearchHit
from lineage_graph.domain.queries import ModelLineage as ModelLineage  # importable from here too
from lineage_graph.domain.queries import RunNeighbours as RunNeighbours
from lineage_graph.domain.tags import TagChange
from lineage_graph.store.audit import append_audit_event, fetch_audited, write_audited
from lineage_graph.store.filters import where_clause
from lineage_graph.store.graph import Neo4jGraph, fetch_all, fetch_one
from lineage_graph.store.records import (
    TRAINED_ON,
    dumps,
    metrics_to_json,
    search_words,
    to_code_version,
    to_dataset,
    to_dataset_version,
    to_job,
    to_model_group,
    to_model_version,
    to_run,
    unique_dataset_versions,
)
from lineage_graph.store.registry import TagMerge

# Registering again merges: the node is locked and its tags read first, so the tag model decides the new
# list from the current one (governance tags set by an approver survive a contributor's re-registration).
_LOCK_DATASET = """
MERGE (d:Dataset {namespace: $namespace, name: $name})
  ON CREATE SET d.created_at = $now, d.tags = [], d.search_tags = ''
SET d._lock = true
RETURN d.tags AS tags
"""

_REGISTER_DATASET = """
MATCH (d:Dataset {namespace: $namespace, name: $name})
SET d.description = coalesce($description, d.description), d.tags = $tags, d.search_tags = $search_tags
REMOVE d._lock
RETURN d {.*} AS d
"""

_LOCK_DATASET_VERSION = """
MERGE (d:Dataset {namespace: $namespace, name: $name})
  ON CREATE SET d.created_at = $now, d.tags = [], d.search_tags = ''
MERGE (v:DatasetVersion {namespace: $namespace, name: $name, version: $version})
  ON CREATE SET v.created_at = $now, v.tags = [], v.search_tags = ''
SET v._lock = true
RETURN v.digest AS digest, v.tags AS tags
"""

_REGISTER_DATASET_VERSION = """
MATCH (d:Dataset {namespace: $namespace, name: $name})
MATCH (v:DatasetVersion {namespace: $namespace, name: $name, version: $version})
SET v.uri = coalesce(v.uri, $uri), v.digest = coalesce(v.digest, $digest), v.tags = $tags,
    v.search_tags = $search_tags
REMOVE v._lock
MERGE (v)-[:VERSION_OF]->(d)
RETURN v {.*} AS v
"""

_REGISTER_CODE = """
MERGE (c:CodeVersion {repository: $repository, commit: $commit})
  ON CREATE SET c.created_at = $now, c.path = $path, c.branch = $branch
RETURN c {.*} AS c
"""

_MISSING_DATASET_VERSIONS = """
UNWIND range(0, size($keys) - 1) AS i
WITH i, $keys[i] AS k
WHERE NOT EXISTS { MATCH (:DatasetVersion {namespace: k.namespace, name: k.name, version: k.version}) }
RETURN i
"""

_RECORD_RUN = """
MERGE (j:Job {namespace: $job_namespace, name: $job_name})
  ON CREATE SET j.created_at = $now, j.facets = '{}'
MERGE (r:Run {run_id: $run_id})
  ON CREATE SET r.created_at = $now, r.facets = '{}'
SET r.job_namespace = $job_namespace, r.job_name = $job_name, r.kind = $kind, r.status = $status,
    r.started_at = coalesce($started_at, r.started_at), r.ended_at = coalesce($ended_at, r.ended_at),
    r.parameters = $parameters, r.metrics = $metrics
MERGE (r)-[:INSTANCE_OF]->(j)
WITH r
CALL (r) {
  UNWIND $inputs AS k
  MERGE (ds:Dataset {namespace: k.namespace, name: k.name})
    ON CREATE SET ds.created_at = $now, ds.tags = [], ds.search_tags = ''
  MERGE (d:DatasetVersion {namespace: k.namespace, name: k.name, version: k.version})
    ON CREATE SET d.uri = k.uri, d.digest = k.digest, d.created_at = $now, d.tags = [], d.search_tags = ''
  MERGE (d)-[:VERSION_OF]->(ds)
  MERGE (d)-[:INPUT_TO]->(r)
}
CALL (r) {
  UNWIND $outputs AS k
  MERGE (ds:Dataset {namespace: k.namespace, name: k.name})
    ON CREATE SET ds.created_at = $now, ds.tags = [], ds.search_tags = ''
  MERGE (d:DatasetVersion {namespace: k.namespace, name: k.name, version: k.version})
    ON CREATE SET d.uri = k.uri, d.digest = k.digest, d.created_at = $now, d.tags = [], d.search_tags = ''
  MERGE (d)-[:VERSION_OF]->(ds)
  MERGE (r)-[:OUTPUT]->(d)
}
CALL (r) {
  UNWIND $code AS c
  MERGE (cv:CodeVersion {repository: c.repository, commit: c.commit})
    ON CREATE SET cv.path = c.path, cv.branch = c.branch, cv.created_at = $now
  MERGE (cv)-[:EXECUTED_BY]->(r)
}
RETURN r {.*, created_at: toString(r.created_at), started_at: toString(r.started_at),
          ended_at: toString(r.ended_at)} AS r
"""

_DATASETS_BY_KEY = """
UNWIND $keys AS k MATCH (d:Dataset {namespace: k.namespace, name: k.name})
RETURN k.namespace AS namespace, k.name AS name, d {.*} AS d
"""
_DATASET_VERSIONS_BY_KEY = """
UNWIND $keys AS k MATCH (d:DatasetVersion {namespace: k.namespace, name: k.name, version: k.version})
RETURN d {.*} AS d
"""
_CODE_BY_KEY = """
UNWIND $keys AS k MATCH (c:CodeVersion {repository: k.repository, commit: k.commit}) RETURN c {.*} AS c
"""
_JOBS_BY_KEY = "UNWIND $keys AS k MATCH (j:Job {namespace: k.namespace, name: k.name}) RETURN j {.*} AS j"
_RUNS_BY_ID = "UNWIND $ids AS id MATCH (r:Run {run_id: id}) RETURN r {.*} AS r"

# Lists are assembled like the registry's (see store/registry.py): conditions of the supplied filters only,
# plain-property ORDER BY, the count and the collected page in one statement.
_DATASET_CONDITIONS = {
    "namespace": "d.namespace = $namespace",
    "name_contains": "toLower(d.name) CONTAINS toLower($name_contains)",
    "tag": "$tag IN d.tags",
}
_LIST_DATASETS = """
CALL () {{ MATCH (d:Dataset) {where} RETURN count(d) AS total }}
CALL () {{
  MATCH (d:Dataset) {where}
  WITH d ORDER BY d.namespace, d.name SKIP $offset LIMIT $limit
  RETURN collect(d {{.*}}) AS page
}}
RETURN total, page
"""

_RUN_CONDITIONS = {
    "job_namespace": "r.job_namespace = $job_namespace",
    "job_name": "r.job_name = $job_name",
    "status": "r.status = $status",
    "kind": "r.kind = $kind",
}
_LIST_RUNS = """
CALL () {{ MATCH (r:Run) {where} RETURN count(r) AS total }}
CALL () {{
  MATCH (r:Run) {where}
  WITH r ORDER BY r.created_at DESC, r.run_id SKIP $offset LIMIT $limit
  RETURN collect(r {{.*}}) AS page
}}
RETURN total, page
"""

# One page of versions for each of a batch of datasets (Dataset.versions as a connection).
_VERSIONS_OF_DATASETS_PAGE = """
UNWIND $keys AS k
CALL (k) {
  MATCH (v:DatasetVersion)-[:VERSION_OF]->(:Dataset {namespace: k.namespace, name: k.name})
  WITH v ORDER BY v.created_at DESC, v.version DESC
  WITH collect(v {.*}) AS found
  RETURN size(found) AS total, found[$offset..($offset + $limit)] AS page
}
RETURN k.namespace AS namespace, k.name AS name, total, page
"""

# ---- relationship loaders: one query for a whole batch of parents --------------------------------------
_VERSIONS_OF_DATASETS = """
UNWIND $keys AS k
MATCH (v:DatasetVersion)-[:VERSION_OF]->(:Dataset {namespace: k.namespace, name: k.name})
WITH k, v ORDER BY v.created_at DESC, v.version DESC
RETURN k.namespace AS namespace, k.name AS name, collect(v {.*}) AS versions
"""

_RUN_NEIGHBOURS = """
UNWIND $ids AS id
MATCH (r:Run {run_id: id})
RETURN id,
  COLLECT { MATCH (d:DatasetVersion)-[:INPUT_TO]->(r) RETURN d {.*} ORDER BY d.namespace, d.name } AS inputs,
  COLLECT { MATCH (r)-[:OUTPUT]->(d:DatasetVersion) RETURN d {.*} ORDER BY d.namespace, d.name } AS outputs,
  COLLECT { MATCH (r)-[:OUTPUT]->(m:ModelVersion) RETURN [m.group, m.version] } AS models,
  COLLECT { MATCH (c:CodeVersion)-[:EXECUTED_BY]->(r) RETURN c {.*} } AS code,
  COLLECT { MATCH (r)-[:CHILD_OF]->(p:Run) RETURN p.run_id } AS parents
"""

# Only the training data, for `trainedOn` (the common nested field of a version page): the whole model lineage
# also brings back runs and code, each with timestamps the driver must decode.
_TRAINING_DATA = f"""
UNWIND $keys AS k
MATCH (v:ModelVersion {{group: k.group, version: k.version}})
RETURN k.group AS group, k.version AS version, {TRAINED_ON} AS datasets
"""

# A model version's training data: trained on directly, or read by the run that produced it.
_MODEL_LINEAGE = """
UNWIND $keys AS k
MATCH (v:ModelVersion {group: k.group, version: k.version})
RETURN k.group AS group, k.version AS version,
  COLLECT { MATCH (d:DatasetVersion)-[:TRAINED]->(v) RETURN d {.*}
            UNION MATCH (d:DatasetVersion)-[:INPUT_TO]->(:Run)-[:OUTPUT]->(v) RETURN d {.*} } AS datasets,
  COLLECT { MATCH (r:Run)-[:OUTPUT]->(v) RETURN r {.*} } AS runs,
  COLLECT { MATCH (c:CodeVersion)-[:BUILT]->(v) RETURN c {.*}
            UNION MATCH (c:CodeVersion)-[:EXECUTED_BY]->(:Run)-[:OUTPUT]->(v) RETURN c {.*} } AS code,
  COLLECT { MATCH (v)-[:DERIVED_FROM]->(p:ModelVersion) RETURN [p.group, p.version] } AS parents,
  COLLECT { MATCH (c:ModelVersion)-[:DERIVED_FROM]->(v) RETURN [c.group, c.version] } AS children
"""

# Hits come back with everything needed to render them (a model version's aliases too), so a search costs
# one query however many hits it has.
# The index is eventually consistent (schema/constraints.cypher): commits do not wait for Lucene, and a search
# first waits for what committed before it to be indexed, so it still sees every write that returned to anyone.
# A model version's name (`group/version`) is not in the index (see store/registration.py): the version that
# `$named` names is looked up by its key and comes first; `{group: '', version: -1}` names none.
# The index knows no labels: a search for some kinds reads up to `_FILTERED_SCAN` best hits to find `$limit`
# of those kinds among them (a search for every kind reads `$limit`).
# Timestamps as strings, as in every hot read (see store/records.py); absent ones become null.
_FILTERED_SCAN = 10_000
_SEARCH = """
CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()
CALL () {
  MATCH (node:ModelVersion {group: $named.group, version: $named.version})
  RETURN node, 1 AS named, 0.0 AS score
  UNION ALL
  CALL db.index.fulltext.queryNodes('registry_search', $text, {limit: $scan}) YIELD node, score
  RETURN node, 0 AS named, score
}
WITH node, labels(node)[0] AS label, max(named) AS named, max(score) AS score
WHERE size($labels) = 0 OR label IN $labels
WITH node, score, label, named ORDER BY named DESC, score DESC LIMIT $limit
RETURN collect({label: label, score: score, named: named = 1,
  props: node {.*, created_at: toString(node.created_at), updated_at: toString(node.updated_at),
               started_at: toString(node.started_at), ended_at: toString(node.ended_at)},
  aliases: CASE WHEN label = 'ModelVersion'
                THEN COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(node) RETURN a.name } ELSE [] END}) AS hits
"""


# Nodes that carry tags: for each, the statement that locks it and reads its tags, and the one that writes
# them (labels cannot be parameters, so one pair of named statements per label).
_TAGGED: dict[NodeKind, tuple[str, str]] = {
    NodeKind.MODEL_GROUP: (
        "MATCH (n:ModelGroup {name: $name}) SET n._lock = true RETURN n.tags AS tags",
        "MATCH (n:ModelGroup {name: $name}) SET n.tags = $tags, n.search_tags = $search_tags REMOVE n._lock",
    ),
    NodeKind.MODEL_VERSION: (
        "MATCH (n:ModelVersion {group: $group, version: $version}) SET n._lock = true RETURN n.tags AS tags",
        "MATCH (n:ModelVersion {group: $group, version: $version}) "
        "SET n.tags = $tags, n.search_tags = $search_tags REMOVE n._lock",
    ),
    NodeKind.DATASET: (
        "MATCH (n:Dataset {namespace: $namespace, name: $name}) SET n._lock = true RETURN n.tags AS tags",
        "MATCH (n:Dataset {namespace: $namespace, name: $name}) "
        "SET n.tags = $tags, n.search_tags = $search_tags REMOVE n._lock",
    ),
    NodeKind.DATASET_VERSION: (
        "MATCH (n:DatasetVersion {namespace: $namespace, name: $name, version: $version}) "
        "SET n._lock = true RETURN n.tags AS tags",
        "MATCH (n:DatasetVersion {namespace: $namespace, name: $name, version: $version}) "
        "SET n.tags = $tags, n.search_tags = $search_tags REMOVE n._lock",
    ),
}
TAGGED_KINDS = frozenset(_TAGGED)


def _now() -> datetime:
    return datetime.now(UTC)


def _spec_key(ref: NodeRef) -> dict[str, Any]:
    namespace, name, version = ref.parts
    return {"namespace": namespace, "name": name, "version": version, "uri": None, "digest": None}


class CatalogStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    # ---- writes ------------------------------------------------------------------------------------
    async def register_dataset(self, cmd: RegisterDataset, actor: str, tags: TagMerge) -> Dataset:
        """Create or update the dataset; `tags(current)` gives its tags before and after, under its lock."""
        key = {"namespace": cmd.namespace, "name": cmd.name}

        async def work(tx: AsyncManagedTransaction) -> Dataset:
            locked = await fetch_one(tx, _LOCK_DATASET, **key, now=_now())
            assert locked is not None  # MERGE always yields its node
            change = tags(locked["tags"])
            row = await fetch_one(
                tx,
                _REGISTER_DATASET,
                **key,
                description=cmd.description,
                tags=list(change.after),
                search_tags=" ".join(change.after),
            )
            assert row is not None
            payload: dict[str, Any] = {"description": cmd.description}
            if change.changed:
                payload["tags"] = change.audit()
            await append_audit_event(
                tx, AuditEntry(actor, "dataset.register", f"Dataset:{cmd.namespace}/{cmd.name}", payload)
            )
            return to_dataset(row["d"])

        return await self._graph.write(work)

    async def register_dataset_version(self, cmd: RegisterDatasetVersion, actor: str, tags: TagMerge) -> DatasetVersion:
        """Create or find the version; a digest that differs from the recorded one is refused. Its tags are
        `tags(current)`, read under the version's lock."""
        key = {"namespace": cmd.namespace, "name": cmd.name, "version": cmd.version}

        async def work(tx: AsyncManagedTransaction) -> DatasetVersion:
            existing = await fetch_one(tx, _LOCK_DATASET_VERSION, **key, now=_now())
            assert existing is not None  # MERGE always yields its node
            if existing["digest"] and cmd.digest and existing["digest"] != cmd.digest:
                raise ValidationFailed.field(
                    "digest",
                    f"dataset version {cmd.namespace}/{cmd.name}@{cmd.version} "
                    f"is recorded with digest {existing['digest']}",
                    "CONFLICT",
                )
            change = tags(existing["tags"])
            row = await fetch_one(
                tx,
                _REGISTER_DATASET_VERSION,
                **key,
                uri=cmd.uri,
                digest=cmd.digest,
                tags=list(change.after),
                search_tags=" ".join(change.after),
            )
            assert row is not None
            payload: dict[str, Any] = {"uri": cmd.uri, "digest": cmd.digest}
            if change.changed:
                payload["tags"] = change.audit()
            await append_audit_event(
                tx,
                AuditEntry(
                    actor,
                    "dataset_version.register",
                    f"DatasetVersion:{cmd.namespace}/{cmd.name}/{cmd.version}",
                    payload,
                ),
            )
            return to_dataset_version(row["v"])

        return await self._graph.write(work)

    async def change_tags(self, ref: NodeRef, actor: str, tags: TagMerge, reason: str) -> TagChange:
        """Apply `tags(current)` to the node `ref` names, under its lock, audited with before, after and reason."""
        lock, write = _TAGGED[ref.kind]
        key: dict[str, Any] = dict(zip(ref.kind.keys, ref.parts, strict=True))
        if ref.kind is NodeKind.MODEL_VERSION:
            key["version"] = int(key["version"])

        async def work(tx: AsyncManagedTransaction) -> TagChange:
            locked = await fetch_one(tx, lock, **key)
            if locked is None:
                raise NotFound(ref.kind.label, str(ref), "id")
            change = tags(locked["tags"])
            words = search_words(ref.kind, change.after)
            await (await tx.run(write, **key, tags=list(change.after), search_tags=words)).consume()
            await append_audit_event(
                tx,
                AuditEntry(actor, "tags.change", str(ref), {"reason": reason, "tags": change.audit()}),
            )
            return change

        return await self._graph.write(work)

    async def register_code_version(self, spec: CodeVersionSpec, actor: str) -> CodeVersion:
        entry = AuditEntry(
            actor,
            "code_version.register",
            f"CodeVersion:{spec.repository}/{spec.commit}",
            {"path": spec.path, "branch": spec.branch},
        )
        row = await write_audited(
            self._graph,
            _REGISTER_CODE,
            entry,
            repository=spec.repository,
            commit=spec.commit,
            path=spec.path,
            branch=spec.branch,
            now=_now(),
        )
        assert row is not None  # MERGE always yields its node
        return to_code_version(row["c"])

    async def record_run(self, cmd: RecordRun, actor: str) -> Run:
        """Upsert the run and its edges; inputs and outputs given by id must exist."""
        inputs = [_spec_key(r) for r in cmd.inputs] + [vars_of(s) for s in cmd.input_specs]
        outputs = [_spec_key(r) for r in cmd.outputs] + [vars_of(s) for s in cmd.output_specs]
        entry = AuditEntry(
            actor,
            "run.record",
            f"Run:{cmd.run_id}",
            {
                "job": f"{cmd.job_namespace}/{cmd.job_name}",
                "kind": cmd.kind.value,
                "status": cmd.status.value,
                "inputs": len(inputs),
                "outputs": len(outputs),
            },
        )

        async def work(tx: AsyncManagedTransaction) -> Run:
            problems: list[Problem] = []
            for field, refs in (("inputs", cmd.inputs), ("outputs", cmd.outputs)):
                if not refs:  # named by key only (created if new): nothing that must exist already
                    continue
                rows = await fetch_all(tx, _MISSING_DATASET_VERSIONS, keys=[_spec_key(r) for r in refs])
                problems += [
                    Problem(f"{field}[{r['i']}]", f"dataset version {refs[r['i']]} does not exist", "NOT_FOUND")
                    for r in rows
                ]
            if problems:
                raise ValidationFailed.of(problems)
            row = await fetch_audited(
                tx,
                _RECORD_RUN,
                entry,
                run_id=cmd.run_id,
                job_namespace=cmd.job_namespace,
                job_name=cmd.job_name,
                kind=cmd.kind.value,
                status=cmd.status.value,
                started_at=cmd.started_at,
                ended_at=cmd.ended_at,
                parameters=dumps(dict(cmd.parameters)),
                metrics=metrics_to_json(cmd.metrics),
                inputs=inputs,
                outputs=outputs,
                code=[vars_of_code(cmd.code)] if cmd.code else [],
                now=_now(),
            )
            assert row is not None  # MERGE always yields the run
            return to_run(row["r"])

        return await self._graph.write(work)

    # ---- batched reads (DataLoader back-ends) ------------------------------------------------------
    async def datasets_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Dataset]:
        rows = await self._graph.rows(_DATASETS_BY_KEY, keys=[{"namespace": n, "name": m} for n, m in keys])
        return {(r["namespace"], r["name"]): to_dataset(r["d"]) for r in rows}

    async def dataset_versions_by_key(
        self, keys: Sequence[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], DatasetVersion]:
        rows = await self._graph.rows(
            _DATASET_VERSIONS_BY_KEY, keys=[{"namespace": n, "name": m, "version": v} for n, m, v in keys]
        )
        found = [to_dataset_version(r["d"]) for r in rows]
        return {(d.namespace, d.name, d.version): d for d in found}

    async def code_versions_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], CodeVersion]:
        rows = await self._graph.rows(_CODE_BY_KEY, keys=[{"repository": r, "commit": c} for r, c in keys])
        found = [to_code_version(r["c"]) for r in rows]
        return {(c.repository, c.commit): c for c in found}

    async def jobs_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Job]:
        rows = await self._graph.rows(_JOBS_BY_KEY, keys=[{"namespace": n, "name": m} for n, m in keys])
        found = [to_job(r["j"]) for r in rows]
        return {(j.namespace, j.name): j for j in found}

    async def runs_by_id(self, ids: Sequence[str]) -> dict[str, Run]:
        rows = await self._graph.rows(_RUNS_BY_ID, ids=list(ids))
        found = [to_run(r["r"]) for r in rows]
        return {r.run_id: r for r in found}

    async def versions_of_datasets(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], list[DatasetVersion]]:
        rows = await self._graph.rows(_VERSIONS_OF_DATASETS, keys=[{"namespace": n, "name": m} for n, m in keys])
        return {(r["namespace"], r["name"]): [to_dataset_version(v) for v in r["versions"]] for r in rows}

    async def run_neighbours(self, ids: Sequence[str]) -> dict[str, RunNeighbours]:
        rows = await self._graph.rows(_RUN_NEIGHBOURS, ids=list(ids))
        return {
            r["id"]: RunNeighbours(
                inputs=[to_dataset_version(d) for d in r["inputs"]],
                outputs=[to_dataset_version(d) for d in r["outputs"]],
                models=[(g, int(v)) for g, v in r["models"]],
                code=[to_code_version(c) for c in r["code"]],
                parents=list(r["parents"]),
            )
            for r in rows
        }

    async def training_data(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], list[DatasetVersion]]:
        """For each model version, the dataset versions it was trained on (directly or through its run)."""
        rows = await self._graph.maps(_TRAINING_DATA, keys=[{"group": g, "version": v} for g, v in keys])
        return {(r["group"], int(r["version"])): unique_dataset_versions(r["datasets"]) for r in rows}

    async def model_lineage(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], ModelLineage]:
        rows = await self._graph.rows(_MODEL_LINEAGE, keys=[{"group": g, "version": v} for g, v in keys])
        return {
            (r["group"], int(r["version"])): ModelLineage(
                datasets=unique_dataset_versions(r["datasets"]),
                runs=[to_run(x) for x in r["runs"]],
                code=list({(c.repository, c.commit): c for c in map(to_code_version, r["code"])}.values()),
                parents=[(g, int(v)) for g, v in r["parents"]],
                children=sorted((g, int(v)) for g, v in r["children"]),
            )
            for r in rows
        }

    # ---- lists and search --------------------------------------------------------------------------
    async def list_datasets(self, flt: DatasetFilter, offset: int, limit: int) -> tuple[list[Dataset], int]:
        where, supplied = where_clause(
            _DATASET_CONDITIONS, {"namespace": flt.namespace, "name_contains": flt.name_contains, "tag": flt.tag}
        )
        rows = await self._graph.rows(_LIST_DATASETS.format(where=where), **supplied, offset=offset, limit=limit)
        return [to_dataset(d) for d in rows[0]["page"]], int(rows[0]["total"])

    async def list_runs(self, flt: RunFilter, offset: int, limit: int) -> tuple[list[Run], int]:
        params = {
            "job_namespace": flt.job_namespace,
            "job_name": flt.job_name,
            "status": flt.status.value if flt.status else None,
            "kind": flt.kind.value if flt.kind else None,
        }
        where, supplied = where_clause(_RUN_CONDITIONS, params)
        rows = await self._graph.rows(_LIST_RUNS.format(where=where), **supplied, offset=offset, limit=limit)
        return [to_run(r) for r in rows[0]["page"]], int(rows[0]["total"])

    async def versions_of_datasets_page(
        self, keys: Sequence[tuple[str, str]], offset: int, limit: int
    ) -> dict[tuple[str, str], tuple[list[DatasetVersion], int]]:
        """One page of versions (newest first) for each dataset, and how many each has."""
        rows = await self._graph.rows(
            _VERSIONS_OF_DATASETS_PAGE,
            keys=[{"namespace": n, "name": m} for n, m in keys],
            offset=offset,
            limit=limit,
        )
        return {
            (r["namespace"], r["name"]): ([to_dataset_version(v) for v in r["page"]], int(r["total"])) for r in rows
        }

    async def search(
        self, text: str, labels: Sequence[str], limit: int, named: tuple[str, int] | None = None
    ) -> list[SearchHit]:
        """Full-text hits, best first, as entities (`text` is a Lucene query the caller escaped); the model
        version `named` (group, version), when there is one, first, scored as the best of them."""
        group, version = named or ("", -1)
        rows = await self._graph.maps(
            _SEARCH,
            text=text,
            labels=list(labels),
            limit=limit,
            scan=_FILTERED_SCAN if labels else limit,
            named={"group": group, "version": version},
        )
        hits = rows[0]["hits"]
        best = max((float(h["score"]) for h in hits), default=1.0) or 1.0
        return [
            SearchHit(_to_entity(h["label"], h["props"], h["aliases"]), best if h["named"] else float(h["score"]))
            for h in hits
        ]


def _to_entity(label: str, props: Mapping[str, Any], aliases: Sequence[str]) -> Entity:
    match label:
        case "ModelGroup":
            return to_model_group(props)
        case "ModelVersion":
            return to_model_version(props, aliases)
        case "Dataset":
            return to_dataset(props)
        case "DatasetVersion":
            return to_dataset_version(props)
        case "CodeVersion":
            return to_code_version(props)
        case "Job":
            return to_job(props)
    return to_run(props)


def vars_of(spec: Any) -> dict[str, Any]:
    return {
        "namespace": spec.namespace,
        "name": spec.name,
        "version": spec.version,
        "uri": spec.uri,
        "digest": spec.digest,
    }


def vars_of_code(spec: CodeVersionSpec) -> dict[str, Any]:
    return {"repository": spec.repository, "commit": spec.commit, "path": spec.path, "branch": spec.branch}
