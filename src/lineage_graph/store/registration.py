"""Registering a model version: its number, the version with its lineage and its audit event, in one
transaction that usually costs one statement and the commit.

Numbers: the statement takes the group's lock (`SET g._lock`) before it reads `latest_version`, so concurrent
registrations into one group queue on that lock and each sees the number its predecessor committed; the
(group, version) uniqueness constraint is the database's guarantee on top. A rolled-back registration rolls back
its increment too, so numbers have no gaps. The client token is read under the same lock, which makes a retried
request return the version it already created.

Round trips: the audit event's hash covers the previous hash of the group's audit partition, and it is computed
here (not in Cypher), so a registration needs that head before it can write. Under the locks, the first
statement allocates the number, reads the partition's head, the group's rules and what the references and the
contract need. This process remembers, per group, what its own last registration committed (the number, the
partition head, the rules it ran under): when that is still what the statement finds under the locks, nothing
else wrote to the group in between, and the same statement also creates the version, sealed in advance against
that head. Otherwise (the first registration of a group here, another instance or writer in between, changed
rules) nothing is created by it, and a second statement creates the version from what the first one read. The
memory is only ever a guess checked under the lock, never trusted: a wrong guess costs one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import GENESIS_HASH, AuditEntry, partition_of
from lineage_graph.domain.commands import DatasetVersionSpec, RegisterModelVersion
from lineage_graph.domain.errors import NotFound, Problem, ValidationFailed
from lineage_graph.domain.models import ModelVersion
from lineage_graph.store.audit import APPEND_EVENT, PartitionHead, seal
from lineage_graph.store.graph import Neo4jGraph, fetch_values
from lineage_graph.store.group_rules import GroupRules, rules_from_row
from lineage_graph.store.records import VERSION_TIMES, to_model_version


@dataclass(frozen=True)
class RunLineage:
    """What the producing run already records, for a contract that asks for training data or code."""

    has_inputs: bool
    has_code: bool


# The version properties the group's rules add (initial stage, the contract met or its violations); raises to
# refuse. Called with `None` for the run's lineage before it was read: it answers None when it needs it.
RulesDecision = Callable[[GroupRules, RunLineage | None], Mapping[str, Any] | None]

_REMEMBERED_GROUPS = 1024

# The creation of the version, its lineage and its audit event, from `g` (the locked group) and the sealed
# `$audit`; releases the group's lock (held until the commit all the same) and the partition's (APPEND_EVENT).
_CREATE = (
    """
SET g.updated_at = $now
REMOVE g._lock
CREATE (v:ModelVersion)
SET v = $props
CREATE (v)-[:IN_GROUP]->(g)
WITH v
CALL (v) {
  UNWIND $datasets AS k
  MERGE (ds:Dataset {namespace: k.namespace, name: k.name})
    ON CREATE SET ds.created_at = $now, ds.tags = [], ds.search_tags = ''
  MERGE (d:DatasetVersion {namespace: k.namespace, name: k.name, version: k.version})
    ON CREATE SET d.uri = k.uri, d.digest = k.digest, d.created_at = $now, d.tags = [], d.search_tags = ''
  MERGE (d)-[:VERSION_OF]->(ds)
  RETURN collect(d) AS datasets
}
CALL (v, datasets) {
  UNWIND $runs AS run_id
  MERGE (r:Run {run_id: run_id})
    ON CREATE SET r.status = 'NEW', r.kind = 'TRAINING', r.created_at = $now, r.parameters = '{}',
                  r.metrics = '[]', r.job_namespace = '', r.job_name = ''
  MERGE (r)-[:OUTPUT]->(v)
  WITH r
  UNWIND datasets AS d
  MERGE (d)-[:INPUT_TO]->(r)
}
CALL (v, datasets) {
  WITH v, datasets WHERE size($runs) = 0
  UNWIND datasets AS d
  MERGE (d)-[:TRAINED]->(v)
}
CALL (v) {
  UNWIND $code AS c
  MERGE (cv:CodeVersion {repository: c.repository, commit: c.commit})
    ON CREATE SET cv.path = c.path, cv.branch = c.branch, cv.created_at = $now
  WITH cv
  OPTIONAL MATCH (r:Run {run_id: $runs[0]})
  FOREACH (_ IN CASE WHEN r IS NULL THEN [1] ELSE [] END | MERGE (cv)-[:BUILT]->(v))
  FOREACH (_ IN CASE WHEN r IS NULL THEN [] ELSE [1] END | MERGE (cv)-[:EXECUTED_BY]->(r))
}
CALL (v) {
  UNWIND $parents AS p
  MATCH (parent:ModelVersion {group: p.group, version: p.version})
  MERGE (v)-[:DERIVED_FROM]->(parent)
}
CALL (v) {
  UNWIND $tokens AS token
  CREATE (:ClientToken {group: v.group, token: token, version: v.version})
}
WITH v
"""
    + APPEND_EVENT
)

# Locks, allocates and reads everything the registration decides on; creates the version too when `$expected`
# (what this process last committed for the group) is what it finds, the references all exist and no client
# token was used before. `$expected.version` is the number this registration would get.
_REGISTER = (
    """
MATCH (g:ModelGroup {name: $group})
SET g._lock = true
WITH g WHERE g.deleted_at IS NULL
OPTIONAL MATCH (t:ClientToken {group: $group, token: $token})
WITH g, t.version AS existing
SET g.latest_version = CASE WHEN existing IS NULL THEN coalesce(g.latest_version, 0) + 1 ELSE g.latest_version END
MERGE (p:AuditPartition {name: $partition})
  ON CREATE SET p.sequence = 0, p.hash = $genesis
SET p._lock = true
FOREACH (_ IN CASE WHEN existing IS NULL THEN [] ELSE [1] END | REMOVE g._lock, p._lock)
WITH g, p, existing, g.latest_version AS version, p.sequence AS sequence, p.hash AS hash,
  [i IN range(0, size($dataset_ids) - 1) WHERE NOT EXISTS {
     MATCH (:DatasetVersion {namespace: $dataset_ids[i].namespace, name: $dataset_ids[i].name,
                             version: $dataset_ids[i].version}) }] AS missing_datasets,
  [i IN range(0, size($dataset_specs) - 1) WHERE EXISTS {
     MATCH (d:DatasetVersion {namespace: $dataset_specs[i].namespace, name: $dataset_specs[i].name,
                              version: $dataset_specs[i].version})
     WHERE $dataset_specs[i].digest IS NOT NULL AND d.digest IS NOT NULL AND d.digest <> $dataset_specs[i].digest
  }] AS digest_conflicts,
  CASE WHEN $parent IS NULL THEN true
       ELSE EXISTS { MATCH (:ModelVersion {group: $parent.group, version: $parent.version}) } END AS parent_exists,
  {policy: coalesce(g.policy, ''), contract: coalesce(g.contract, ''),
   contract_version: coalesce(g.contract_version, 0), lifecycle: coalesce(g.lifecycle, ''),
   promotion: coalesce(g.promotion, ''), retention: coalesce(g.retention, '')} AS rules
WITH *, existing IS NULL AND $expected IS NOT NULL AND version = $expected.version
        AND sequence = $expected.sequence AND hash = $expected.hash AND rules = $expected.rules
        AND size(missing_datasets) = 0 AND size(digest_conflicts) = 0 AND parent_exists AS as_expected
CALL (g, as_expected) {
  WITH g WHERE as_expected
"""
    + _CREATE
    + """
  RETURN count(*) AS created
}
RETURN version, existing, sequence, hash, missing_datasets, digest_conflicts, parent_exists, created,
  CASE WHEN created = 0 THEN rules END AS group_rules,
  CASE WHEN created = 0 AND $run_id IS NOT NULL AND rules.contract_version > 0 THEN COLLECT {
    MATCH (r:Run {run_id: $run_id})
    RETURN {has_inputs: EXISTS { (:DatasetVersion)-[:INPUT_TO]->(r) },
            has_code: EXISTS { (:CodeVersion)-[:EXECUTED_BY]->(r) }}
  } END AS run_lineage,
  COLLECT {
    MATCH (v:ModelVersion {group: $group, version: existing})
    RETURN v {.*, """
    + VERSION_TIMES
    + """, aliases: COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name }}
  } AS existing_version
"""
)

_CREATE_VERSION = "MATCH (g:ModelGroup {name: $group})" + _CREATE + "RETURN 1 AS created"


@dataclass(frozen=True)
class _Committed:
    """What this process's last registration of a group committed: the next one's guess."""

    version: int
    sequence: int
    hash: str
    raw_rules: Mapping[str, Any]
    rules: GroupRules


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


@dataclass(frozen=True)
class Registered:
    version: ModelVersion
    created: bool  # False when the client token had already registered `version`
    rules: GroupRules | None  # the rules it was registered under (None for a repeated client token)


def _now() -> datetime:
    return datetime.now(UTC)


def _key(spec: DatasetVersionSpec) -> dict[str, Any]:
    return {
        "namespace": spec.namespace,
        "name": spec.name,
        "version": spec.version,
        "uri": spec.uri,
        "digest": spec.digest,
    }


def _reference_problems(cmd: RegisterModelVersion, row: Mapping[str, Any]) -> list[Problem]:
    problems = [
        Problem(f"trainedOn[{i}]", f"dataset version {cmd.trained_on[i]} does not exist", "NOT_FOUND")
        for i in row["missing_datasets"]
    ]
    problems += [
        Problem(
            f"trainedOnDatasets[{i}].digest",
            "differs from the digest already recorded for this dataset version",
            "CONFLICT",
        )
        for i in row["digest_conflicts"]
    ]
    if not row["parent_exists"]:
        problems.append(Problem("derivedFrom", f"model version {cmd.derived_from} does not exist", "NOT_FOUND"))
    return problems


def _audit_entry(
    cmd: RegisterModelVersion, version: int, actor: str, datasets: Sequence[Mapping[str, Any]]
) -> AuditEntry:
    return AuditEntry(
        actor,
        "model_version.register",
        f"ModelVersion:{cmd.group}/{version}",
        {
            "artifact_uri": cmd.artifact_uri,
            "artifact_digest": cmd.artifact_digest,
            "trained_on": [f"{d['namespace']}/{d['name']}@{d['version']}" for d in datasets],
            "produced_by": cmd.produced_by.run_id if cmd.produced_by else None,
            "code": f"{cmd.code.repository}@{cmd.code.commit}" if cmd.code else None,
            "derived_from": str(cmd.derived_from) if cmd.derived_from else None,
            "tags": list(cmd.tags),
        },
    )


class Registrations:
    """The registration of model versions (see the module docstring)."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph
        self._committed: OrderedDict[str, _Committed] = OrderedDict()
        self._turns: dict[str, _Turn] = {}

    async def register(
        self, cmd: RegisterModelVersion, props: Mapping[str, Any], actor: str, decide: RulesDecision
    ) -> Registered:
        """Create the next version of `cmd.group` with its lineage edges and its audit event in one
        transaction; `decide` adds what the group's rules ask (or refuses). A used client token returns the
        version it created, and nothing is written."""
        datasets = [
            {"namespace": r.parts[0], "name": r.parts[1], "version": r.parts[2], "uri": None, "digest": None}
            for r in cmd.trained_on
        ] + [_key(s) for s in cmd.trained_on_specs]
        parent = cmd.derived_from.key if cmd.derived_from is not None else None
        partition = partition_of(f"ModelVersion:{cmd.group}/0")
        # Fixed for every attempt of the transaction; the version properties and the event vary with its number.
        lineage = {
            "group": cmd.group,
            "datasets": datasets,
            "runs": [cmd.produced_by.run_id] if cmd.produced_by else [],
            "code": [
                {
                    "repository": cmd.code.repository,
                    "commit": cmd.code.commit,
                    "path": cmd.code.path,
                    "branch": cmd.code.branch,
                }
            ]
            if cmd.code
            else [],
            "parents": [parent] if parent else [],
            "tokens": [cmd.client_token] if cmd.client_token else [],
        }

        def creation(
            version: int, extra: Mapping[str, Any], head: PartitionHead
        ) -> tuple[dict[str, Any], dict[str, Any]]:
            now = _now()
            full_props = {
                **props,
                **extra,
                "group": cmd.group,
                "version": version,
                "name": f"{cmd.group}/{version}",
                "created_by": actor,
                "created_at": now,
                "updated_at": now,
            }
            _, audit = seal(head, _audit_entry(cmd, version, actor, datasets))
            return full_props, {**lineage, "now": now, "props": full_props, "audit": audit}

        async def attempt(tx: AsyncManagedTransaction) -> tuple[Registered, _Committed | None]:
            guess = self._guess(cmd.group, decide)
            if guess is not None:
                committed, extra = guess
                head = PartitionHead(partition, committed.sequence, committed.hash)
                full_props, params = creation(committed.version + 1, extra, head)
                expected: dict[str, Any] | None = {
                    "version": committed.version + 1,
                    "sequence": committed.sequence,
                    "hash": committed.hash,
                    "rules": committed.raw_rules,
                }
            else:
                full_props, params, expected = {}, {**lineage, "now": _now(), "props": {}, "audit": {}}, None
            row = await fetch_values(
                tx,
                _REGISTER,
                **params,
                token=cmd.client_token,
                partition=partition,
                genesis=GENESIS_HASH,
                dataset_ids=datasets[: len(cmd.trained_on)],
                dataset_specs=[_key(s) for s in cmd.trained_on_specs],
                parent=parent,
                run_id=cmd.produced_by.run_id if cmd.produced_by else None,
                expected=expected,
            )
            if row is None:
                raise NotFound("model group", cmd.group, "group")
            if row["existing"] is not None:
                found = row["existing_version"][0]
                return Registered(to_model_version(found, found["aliases"]), False, None), None
            version, sequence, digest = int(row["version"]), int(row["sequence"]), str(row["hash"])
            if row["created"]:
                assert guess is not None  # created only as guessed
                committed = guess[0]
                audit = params["audit"]
                done = _Committed(
                    version, audit["partition_sequence"], audit["hash"], committed.raw_rules, committed.rules
                )
                return Registered(to_model_version(full_props), True, committed.rules), done
            raw_rules = row["group_rules"]
            rules = rules_from_row(raw_rules)
            # Read only when the contract may ask for it; an unknown run has no lineage.
            run = (row["run_lineage"] or [{"has_inputs": False, "has_code": False}])[0]
            decided = decide(rules, RunLineage(bool(run["has_inputs"]), bool(run["has_code"])))
            assert decided is not None  # it only asks for the run's lineage, given here
            if problems := _reference_problems(cmd, row):
                raise ValidationFailed.of(problems)
            full_props, params = creation(version, decided, PartitionHead(partition, sequence, digest))
            await fetch_values(tx, _CREATE_VERSION, **params)
            audit = params["audit"]
            done = _Committed(version, audit["partition_sequence"], audit["hash"], raw_rules, rules)
            return Registered(to_model_version(full_props), True, rules), done

        # One registration of a group at a time from this process: they would queue on the group's lock in the
        # database anyway, and each queued one would find the guess its predecessor just made stale. The turn
        # passes on once the statement is done, before the commit, with what it wrote remembered: the next
        # registration's statement then waits at the group's lock while this one commits, and finds the guess
        # right when it does (when it does not, the guess is wrong, which the lock tells).
        async with self._turn(cmd.group) as pass_on:

            async def work(tx: AsyncManagedTransaction) -> Registered:
                registered, done = await attempt(tx)
                if done is not None:
                    self._remember(cmd.group, done)
                pass_on()
                return registered

            return await self._graph.write(work)

    @contextlib.asynccontextmanager
    async def _turn(self, group: str) -> AsyncIterator[Callable[[], None]]:
        turn = self._turns.get(group)
        if turn is None:
            turn = self._turns[group] = _Turn()
        turn.waiting += 1
        passed = False

        def pass_on() -> None:
            nonlocal passed
            if not passed:
                passed = True
                turn.lock.release()

        try:
            await turn.lock.acquire()
            try:
                yield pass_on
            finally:
                pass_on()
        finally:
            turn.waiting -= 1
            if turn.waiting == 0:  # the last one out forgets the group: as many entries as groups in flight
                del self._turns[group]

    def _guess(self, group: str, decide: RulesDecision) -> tuple[_Committed, Mapping[str, Any]] | None:
        committed = self._committed.get(group)
        if committed is None:
            return None
        try:
            extra = decide(committed.rules, None)
        except ValidationFailed:
            # Refused under the remembered rules, which may have changed since: decided again under the lock.
            return None
        return None if extra is None else (committed, extra)

    def _remember(self, group: str, committed: _Committed) -> None:
        self._committed[group] = committed
        self._committed.move_to_end(group)
        while len(self._committed) > _REMEMBERED_GROUPS:
            self._committed.popitem(last=False)
