"""Registering model versions: their numbers, the versions with their lineage and their audit events, in one
transaction that usually costs one statement and the commit — for one registration, or for every registration
of a group that arrived while the previous one was being written.

Numbers: the statement takes the group's lock (`SET g._lock`) before it reads `latest_version`, so concurrent
registrations into one group queue on that lock and each transaction sees the number its predecessor committed;
the (group, version) uniqueness constraint is the database's guarantee on top. A rolled-back transaction rolls
back its numbers too, so there are no gaps. Client tokens are read under the same lock, which makes a retried
request return the version it already created.

Round trips: an audit event's hash covers the previous hash of the group's audit partition, and it is computed
here (not in Cypher), so a registration needs that head before it can write. Under the locks, the first
statement reads the group's number, the partition's head, the group's rules and what the references and the
contract need. This process remembers, per group, what its own last transaction there committed (the number,
the partition head, the rules it ran under): when that is still what the statement finds under the locks,
nothing else wrote to the group in between, and the same statement also creates the versions, sealed in advance
against that head. Otherwise (the first registration of a group here, another instance or writer in between,
changed rules, a reference missing, a client token used before) it creates nothing, and a second statement
creates the versions from what the first one read. The memory is only ever a guess checked under the lock,
never trusted: a wrong guess costs one round trip.

Group commit: registrations of one group take turns in this process (they would queue on the group's lock in
the database anyway). The ones that arrive while a transaction of the group is being written wait for the
turn, and the next turn writes all of them (at most `MAX_BATCH`) in one transaction: consecutive numbers in
arrival order, each version with its own lineage and its own audit event, chained in that order, one commit.
Each registration is decided on its own: a refused one (a missing reference, the group's contract) gets its
own error and nothing of it is written, and the others are created without it; a repeated client token returns
the version it created. A transaction that fails for a reason that is not the database's state is tried again
one registration at a time, so one registration's failure stays its own.

Search: a version enters the full-text index only with words of its own (a description, tags). Its name
(`group/version`) is made of its group's name, which the group's own entry holds, so the version carries no
`name` and no empty `search_tags`: an entry in the index costs Lucene a flush and a reader refresh per commit,
most of Neo4j's work for a registration. A search for `group/version` finds the version by its key instead.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.audit import GENESIS_HASH, AuditEntry, partition_of
from lineage_graph.domain.commands import DatasetVersionSpec, RegisterModelVersion
from lineage_graph.domain.errors import DomainError, NotFound, OutcomeUnknown, Problem, Unavailable, ValidationFailed
from lineage_graph.domain.models import ModelVersion
from lineage_graph.store.audit import PartitionHead, append_events, seal
from lineage_graph.store.graph import CausalChain, Neo4jGraph, causal_chain, current_chain, fetch_values
from lineage_graph.store.group_rules import GroupRules, rules_from_row
from lineage_graph.store.records import VERSION_TIMES, to_model_version
from lineage_graph.store.stable_plans import KEEP_PLAN


@dataclass(frozen=True)
class RunLineage:
    """What the producing run already records, for a contract that asks for training data or code."""

    has_inputs: bool
    has_code: bool


# The version properties the group's rules add (initial stage, the contract met or its violations); raises to
# refuse. Called with `None` for the run's lineage before it was read: it answers None when it needs it.
RulesDecision = Callable[[GroupRules, RunLineage | None], Mapping[str, Any] | None]

# Registrations written in one transaction at most: bounds the statement, and the wait of the last of them.
MAX_BATCH = 32
_REMEMBERED_GROUPS = 1024

# The creation of `$batch.creations` (versions with their lineage) and of their audit events `$batch.events`, from
# `g` (the locked group); `$batch.latest` is the group's number after them, `$batch.head` the partition's head.
# The batch is one map parameter because Neo4j keys its plan cache on the types of the parameters, and a list's
# type includes its size bucket (0, 1, up to 10, up to 100): as separate lists, every batch size would be planned
# anew (0.5-2 s each on a freshly started JVM); in one map they share one plan. Times go as ISO strings that
# Neo4j turns into DateTimes (`datetime(...)`): the driver converts a Python datetime in Python, ~100 µs apiece.
_CREATE = """
SET g.updated_at = datetime($batch.now), g.latest_version = $batch.latest
WITH g
CALL (g) {
  UNWIND $batch.creations AS c
  CREATE (v:ModelVersion)
  SET v = c.props
  SET v.created_at = datetime(c.at), v.updated_at = datetime(c.at)
  CREATE (v)-[:IN_GROUP]->(g)
  WITH v, c
  CALL (v, c) {
    UNWIND c.datasets AS k
    MERGE (ds:Dataset {namespace: k.namespace, name: k.name})
      ON CREATE SET ds.created_at = datetime($batch.now), ds.tags = [], ds.search_tags = ''
    MERGE (d:DatasetVersion {namespace: k.namespace, name: k.name, version: k.version})
      ON CREATE SET d.uri = k.uri, d.digest = k.digest, d.created_at = datetime($batch.now), d.tags = [],
                    d.search_tags = ''
    MERGE (d)-[:VERSION_OF]->(ds)
    RETURN collect(d) AS datasets
  }
  CALL (v, c, datasets) {
    UNWIND c.runs AS run_id
    MERGE (r:Run {run_id: run_id})
      ON CREATE SET r.status = 'NEW', r.kind = 'TRAINING', r.created_at = datetime($batch.now), r.parameters = '{}',
                    r.metrics = '[]', r.job_namespace = '', r.job_name = ''
    MERGE (r)-[:OUTPUT]->(v)
    WITH r
    UNWIND datasets AS d
    MERGE (d)-[:INPUT_TO]->(r)
  }
  CALL (v, c, datasets) {
    WITH v, datasets WHERE size(c.runs) = 0
    UNWIND datasets AS d
    MERGE (d)-[:TRAINED]->(v)
  }
  CALL (v, c) {
    UNWIND c.code AS code
    MERGE (cv:CodeVersion {repository: code.repository, commit: code.commit})
      ON CREATE SET cv.path = code.path, cv.branch = code.branch, cv.created_at = datetime($batch.now)
    WITH v, c, cv
    OPTIONAL MATCH (r:Run {run_id: c.runs[0]})
    FOREACH (_ IN CASE WHEN r IS NULL THEN [1] ELSE [] END | MERGE (cv)-[:BUILT]->(v))
    FOREACH (_ IN CASE WHEN r IS NULL THEN [] ELSE [1] END | MERGE (cv)-[:EXECUTED_BY]->(r))
  }
  CALL (v, c) {
    UNWIND c.parents AS p
    MATCH (parent:ModelVersion {group: p.group, version: p.version})
    MERGE (v)-[:DERIVED_FROM]->(parent)
  }
  CALL (v, c) {
    UNWIND c.tokens AS token
    CREATE (:ClientToken {group: v.group, token: token, version: v.version})
  }
  RETURN count(*) AS versions
}
WITH g
""" + append_events("$batch.events", "$batch.head")

# Locks the group and its audit partition (held until the commit: the marker properties are removed at once, so
# a transaction that creates nothing leaves nothing), reads for each of `$batch.checks` what deciding it needs,
# and creates `$batch.creations` too when `$batch.expected` (what this process last committed for the group) is
# what it finds and every registration is new, with all its references present.
_REGISTER = (
    KEEP_PLAN
    + """
MATCH (g:ModelGroup {name: $group})
SET g._lock = true
WITH g WHERE g.deleted_at IS NULL
MERGE (p:AuditPartition {name: $partition})
  ON CREATE SET p.sequence = 0, p.hash = $genesis
SET p._lock = true
REMOVE g._lock, p._lock
WITH g, p, coalesce(g.latest_version, 0) AS latest, p.sequence AS sequence, p.hash AS hash,
  {policy: coalesce(g.policy, ''), contract: coalesce(g.contract, ''),
   contract_version: coalesce(g.contract_version, 0), lifecycle: coalesce(g.lifecycle, ''),
   promotion: coalesce(g.promotion, ''), retention: coalesce(g.retention, '')} AS rules
CALL (rules) {
  UNWIND range(0, size($batch.checks) - 1) AS i
  WITH i, $batch.checks[i] AS r
  OPTIONAL MATCH (t:ClientToken {group: $group, token: r.token})
  RETURN collect({
    i: i,
    existing: t.version,
    existing_version: CASE WHEN t IS NULL THEN [] ELSE COLLECT {
      MATCH (v:ModelVersion {group: $group, version: t.version})
      RETURN v {.*, """
    + VERSION_TIMES
    + """, aliases: COLLECT { MATCH (a:Alias)-[:POINTS_TO]->(v) RETURN a.name }}
    } END,
    missing_datasets: [j IN range(0, size(r.dataset_ids) - 1) WHERE NOT EXISTS {
      MATCH (:DatasetVersion {namespace: r.dataset_ids[j].namespace, name: r.dataset_ids[j].name,
                              version: r.dataset_ids[j].version}) }],
    digest_conflicts: [j IN range(0, size(r.dataset_specs) - 1) WHERE EXISTS {
      MATCH (d:DatasetVersion {namespace: r.dataset_specs[j].namespace, name: r.dataset_specs[j].name,
                               version: r.dataset_specs[j].version})
      WHERE r.dataset_specs[j].digest IS NOT NULL AND d.digest IS NOT NULL AND d.digest <> r.dataset_specs[j].digest
    }],
    parent_exists: CASE WHEN r.parent IS NULL THEN true
      ELSE EXISTS { MATCH (:ModelVersion {group: r.parent.group, version: r.parent.version}) } END,
    run_lineage: CASE WHEN r.run_id IS NOT NULL AND rules.contract_version > 0 THEN COLLECT {
      MATCH (run:Run {run_id: r.run_id})
      RETURN {has_inputs: EXISTS { (:DatasetVersion)-[:INPUT_TO]->(run) },
              has_code: EXISTS { (:CodeVersion)-[:EXECUTED_BY]->(run) }}
    } END
  }) AS checks
}
WITH *, $batch.expected IS NOT NULL AND latest = $batch.expected.latest AND sequence = $batch.expected.sequence
        AND hash = $batch.expected.hash AND rules = $batch.expected.rules
        AND all(c IN checks WHERE c.existing IS NULL AND size(c.missing_datasets) = 0
                AND size(c.digest_conflicts) = 0 AND c.parent_exists) AS as_expected
CALL (g, as_expected) {
  WITH g WHERE as_expected
"""
    + _CREATE
    + """
  RETURN count(*) AS created
}
RETURN latest, sequence, hash, checks, created > 0 AS created, CASE WHEN created = 0 THEN rules END AS group_rules
"""
)

_CREATE_VERSIONS = KEEP_PLAN + "MATCH (g:ModelGroup {name: $group})" + _CREATE + "RETURN 1 AS created"


@dataclass(frozen=True)
class _Committed:
    """What this process's last transaction in a group committed: the next one's guess."""

    version: int
    sequence: int
    hash: str
    raw_rules: Mapping[str, Any]
    rules: GroupRules


@dataclass(frozen=True)
class Registered:
    version: ModelVersion
    created: bool  # False when the client token had already registered `version`
    rules: GroupRules | None  # the rules it was registered under (None for a repeated client token)


Outcome = Registered | DomainError


@dataclass(eq=False)
class _Pending:
    """One registration, waiting for its turn or written in a batch; `answer` is its caller's result."""

    cmd: RegisterModelVersion
    props: Mapping[str, Any]
    actor: str
    decide: RulesDecision
    answer: asyncio.Future[Registered]
    taken: bool = False  # in a batch being written (or written)
    chain: CausalChain | None = field(default_factory=current_chain)  # its request's place in the causal order
    datasets: list[dict[str, Any]] = field(init=False)
    lineage: dict[str, Any] = field(init=False)
    check: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        cmd = self.cmd
        ids = [
            {"namespace": r.parts[0], "name": r.parts[1], "version": r.parts[2], "uri": None, "digest": None}
            for r in cmd.trained_on
        ]
        specs = [_key(s) for s in cmd.trained_on_specs]
        self.datasets = ids + specs
        parent = cmd.derived_from.key if cmd.derived_from is not None else None
        runs = [cmd.produced_by.run_id] if cmd.produced_by else []
        code = cmd.code
        self.lineage = {
            "datasets": self.datasets,
            "runs": runs,
            "code": [{"repository": code.repository, "commit": code.commit, "path": code.path, "branch": code.branch}]
            if code
            else [],
            "parents": [parent] if parent else [],
            "tokens": [cmd.client_token] if cmd.client_token else [],
        }
        self.check = {
            "token": cmd.client_token,
            "dataset_ids": ids,
            "dataset_specs": specs,
            "parent": parent,
            "run_id": runs[0] if runs else None,
        }


@dataclass
class _Turn:
    """A group's registrations in this process: the ones not yet in a batch, and whose turn it is to write."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    queue: deque[_Pending] = field(default_factory=deque)
    users: int = 0  # registrations and batches in flight: the last one out forgets the group


@dataclass
class _Sealed:
    """A batch's creations, sealed against a partition head: what the statement writes and the callers get."""

    creations: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    versions: list[ModelVersion] = field(default_factory=list)


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


def _reference_problems(cmd: RegisterModelVersion, check: Mapping[str, Any]) -> list[Problem]:
    problems = [
        Problem(f"trainedOn[{i}]", f"dataset version {cmd.trained_on[i]} does not exist", "NOT_FOUND")
        for i in check["missing_datasets"]
    ]
    problems += [
        Problem(
            f"trainedOnDatasets[{i}].digest",
            "differs from the digest already recorded for this dataset version",
            "CONFLICT",
        )
        for i in check["digest_conflicts"]
    ]
    if not check["parent_exists"]:
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


def _seal(
    batch: Sequence[tuple[_Pending, Mapping[str, Any]]], latest: int, head: PartitionHead
) -> tuple[_Sealed, PartitionHead]:
    """The creations of `batch` (each with the properties its rules added) numbered from `latest + 1` in order,
    their events chained from `head`; and the partition's head after the last of them."""
    sealed = _Sealed()
    for n, (pending, extra) in enumerate(batch, start=latest + 1):
        cmd = pending.cmd
        now = _now()
        props = {
            **pending.props,
            **extra,
            "group": cmd.group,
            "version": n,
            "created_by": pending.actor,
        }
        _, audit = seal(head, _audit_entry(cmd, n, pending.actor, pending.datasets))
        head = PartitionHead(head.partition, audit["partition_sequence"], audit["hash"])
        sealed.creations.append({**pending.lineage, "props": props, "at": now.isoformat()})
        sealed.events.append(audit)
        sealed.versions.append(to_model_version({**props, "created_at": now, "updated_at": now}))
    return sealed, head


def _batch(
    sealed: _Sealed, partition: str, after: _Committed | None, checks: list[dict[str, Any]], expected: Any = None
) -> dict[str, Any]:
    """The `$batch` parameter: the checks to read, the sealed creations, and the group's number and partition head
    after them (what this process last committed there, as `expected`, when they were sealed on that guess)."""
    head = None if after is None else {"partition": partition, "sequence": after.sequence, "hash": after.hash}
    return {
        "checks": checks,
        "expected": expected,
        "creations": sealed.creations,
        "events": sealed.events,
        "latest": 0 if after is None else after.version,
        "head": head,
        "now": _now().isoformat(),
    }


class Registrations:
    """The registration of model versions (see the module docstring)."""

    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph
        self._committed: OrderedDict[str, _Committed] = OrderedDict()
        self._turns: dict[str, _Turn] = {}
        self._batches: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps weak ones)

    async def register(
        self, cmd: RegisterModelVersion, props: Mapping[str, Any], actor: str, decide: RulesDecision
    ) -> Registered:
        """Create the next version of `cmd.group` with its lineage edges and its audit event, in one
        transaction with the group's other registrations waiting for theirs; `decide` adds what the group's
        rules ask (or refuses). A used client token returns the version it created, and nothing is written."""
        me = _Pending(cmd, props, actor, decide, asyncio.get_running_loop().create_future())
        turn = self._turns.get(cmd.group)
        if turn is None:
            turn = self._turns[cmd.group] = _Turn()
        turn.queue.append(me)
        turn.users += 1
        try:
            while not me.taken:
                try:
                    await turn.lock.acquire()
                except asyncio.CancelledError:
                    if not me.taken:  # its caller is gone before anything was written for it
                        turn.queue.remove(me)
                    raise
                if me.taken:  # written by the batch of the turn before
                    turn.lock.release()
                    break
                # This turn's batch: every registration waiting, in arrival order. The batch passes the turn
                # on once its statements are done, before its commit (see _write).
                batch = self._take(turn)
                turn.users += 1
                task = asyncio.ensure_future(self._run(cmd.group, turn, batch))
                self._batches.add(task)
                task.add_done_callback(self._batches.discard)
            # The batch runs to its end whatever happens to this caller (as a shielded transaction does).
            return await asyncio.shield(me.answer)
        finally:
            self._leave(cmd.group, turn)

    def _take(self, turn: _Turn) -> list[_Pending]:
        batch: list[_Pending] = []
        tokens: set[str] = set()
        later: list[_Pending] = []
        while turn.queue and len(batch) < MAX_BATCH:
            pending = turn.queue.popleft()
            token = pending.cmd.client_token
            if token is not None and token in tokens:
                # The same token twice in one batch: the second waits for the next turn, where it finds the
                # version the first created (or, if the first was refused, is decided on its own).
                later.append(pending)
                continue
            if token is not None:
                tokens.add(token)
            pending.taken = True
            batch.append(pending)
        turn.queue.extendleft(reversed(later))
        return batch

    def _leave(self, group: str, turn: _Turn) -> None:
        turn.users -= 1
        if turn.users == 0 and self._turns.get(group) is turn:
            del self._turns[group]

    async def _run(self, group: str, turn: _Turn, batch: list[_Pending]) -> None:
        passed = False

        def pass_on() -> None:
            nonlocal passed
            if not passed:
                passed = True
                turn.lock.release()

        outcomes: list[Outcome | BaseException]
        try:
            try:
                outcomes = list(await self._write(group, batch, pass_on))
            except (Unavailable, OutcomeUnknown):
                raise  # the database's state, the same for every registration of the batch
            except Exception:
                if len(batch) == 1:
                    raise
                outcomes = []
                for pending in batch:  # one at a time: whatever failed fails only the registration it is about
                    try:
                        outcomes += await self._write(group, [pending], lambda: None)
                    except Exception as exc:
                        outcomes.append(exc)
        except BaseException as exc:
            outcomes = [exc] * len(batch)
        finally:
            pass_on()
            self._leave(group, turn)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.answer.done():
                continue
            if isinstance(outcome, Registered):
                pending.answer.set_result(outcome)
            elif isinstance(outcome, Exception):
                pending.answer.set_exception(outcome)
            else:
                pending.answer.cancel()

    async def _write(self, group: str, batch: list[_Pending], pass_on: Callable[[], None]) -> list[Outcome]:
        """Write `batch` in one transaction, after everything each of its callers has seen (their causal chains),
        and tell each of them where the transaction ends in that order."""
        partition = partition_of(f"ModelVersion:{group}/0")
        incoming = dict.fromkeys(b for p in batch if p.chain is not None for b in p.chain.incoming)

        async def work(tx: AsyncManagedTransaction) -> list[Outcome]:
            outcomes, done = await self._attempt(tx, group, partition, batch)
            if done is not None:
                self._remember(group, done)
            # The turn passes on once the statements are done, before the commit, with what they wrote
            # remembered: the next batch's statement then waits at the group's lock while this one commits, and
            # finds the guess right when it does (when it does not, the guess is wrong, which the lock tells).
            pass_on()
            return outcomes

        with causal_chain(tuple(incoming)) as chain:
            outcomes = await self._graph.write(work)
        for pending in batch:
            if pending.chain is not None:
                pending.chain.latest = chain.latest
        self._graph.stats.registrations += len(batch)
        self._graph.stats.registration_batches += 1
        return outcomes

    async def _attempt(
        self, tx: AsyncManagedTransaction, group: str, partition: str, batch: list[_Pending]
    ) -> tuple[list[Outcome], _Committed | None]:
        guess = self._guess(group, batch)
        sealed, expected, after = _Sealed(), None, None
        if guess is not None:
            committed, extras = guess
            head = PartitionHead(partition, committed.sequence, committed.hash)
            sealed, head = _seal(list(zip(batch, extras, strict=True)), committed.version, head)
            after = _Committed(
                committed.version + len(batch), head.sequence, head.hash, committed.raw_rules, committed.rules
            )
            expected = {
                "latest": committed.version,
                "sequence": committed.sequence,
                "hash": committed.hash,
                "rules": committed.raw_rules,
            }
        row = await fetch_values(
            tx,
            _REGISTER,
            batch=_batch(sealed, partition, after, [p.check for p in batch], expected),
            group=group,
            partition=partition,
            genesis=GENESIS_HASH,
        )
        if row is None:
            return [NotFound("model group", group, "group") for _ in batch], None
        if row["created"]:
            assert after is not None  # created only as guessed
            return [Registered(v, True, after.rules) for v in sealed.versions], after
        raw_rules = row["group_rules"]
        rules = rules_from_row(raw_rules)
        decided = [
            self._decide(pending, check, rules)
            for pending, check in zip(batch, sorted(row["checks"], key=lambda c: int(c["i"])), strict=True)
        ]
        accepted = [(p, d) for p, d in zip(batch, decided, strict=True) if not isinstance(d, Registered | DomainError)]
        latest = int(row["latest"])
        head = PartitionHead(partition, int(row["sequence"]), str(row["hash"]))
        if accepted:
            sealed, head = _seal(accepted, latest, head)
            latest += len(accepted)
        after = _Committed(latest, head.sequence, head.hash, raw_rules, rules)
        if accepted:
            await fetch_values(tx, _CREATE_VERSIONS, batch=_batch(sealed, partition, after, []), group=group)
        created = iter(sealed.versions)
        return [
            d if isinstance(d, Registered | DomainError) else Registered(next(created), True, rules) for d in decided
        ], after

    @staticmethod
    def _decide(pending: _Pending, check: Mapping[str, Any], rules: GroupRules) -> Outcome | Mapping[str, Any]:
        """What becomes of one registration, from what was read under the lock: the version its client token
        created, a refusal, or the properties its rules add to the version it creates."""
        if check["existing"] is not None:
            found = check["existing_version"][0]
            return Registered(to_model_version(found, found["aliases"]), False, None)
        # Read only when the contract may ask for it; an unknown run has no lineage.
        run = (check["run_lineage"] or [{"has_inputs": False, "has_code": False}])[0]
        try:
            decided = pending.decide(rules, RunLineage(bool(run["has_inputs"]), bool(run["has_code"])))
        except DomainError as refused:
            return refused
        assert decided is not None  # it only asks for the run's lineage, given here
        if problems := _reference_problems(pending.cmd, check):
            return ValidationFailed.of(problems)
        return decided

    def _guess(self, group: str, batch: Sequence[_Pending]) -> tuple[_Committed, list[Mapping[str, Any]]] | None:
        committed = self._committed.get(group)
        if committed is None:
            return None
        extras: list[Mapping[str, Any]] = []
        for pending in batch:
            try:
                extra = pending.decide(committed.rules, None)
            except DomainError:
                # Refused under the remembered rules, which may have changed since: decided again under the lock.
                return None
            if extra is None:
                return None
            extras.append(extra)
        return committed, extras

    def _remember(self, group: str, committed: _Committed) -> None:
        self._committed[group] = committed
        self._committed.move_to_end(group)
        while len(self._committed) > _REMEMBERED_GROUPS:
            self._committed.popitem(last=False)
