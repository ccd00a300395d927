"""One async driver, managed transactions with per-request budgets, and driver errors turned into domain ones."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction, NotificationDisabledClassification
from neo4j.api import AsyncBookmarkManager
from neo4j.exceptions import (
    ClientError,
    ConnectionAcquisitionTimeoutError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from lineage_graph.domain.errors import OutcomeUnknown, QueryTimedOut, Unavailable, ValidationFailed

T = TypeVar("T")

_CONTENTION_CODES = frozenset(
    {
        "Neo.ClientError.Transaction.LockClientStopped",
        "Neo.ClientError.Transaction.Terminated",
        "Neo.ClientError.Transaction.LockAcquisitionTimeout",
    }
)
Work = Callable[[AsyncManagedTransaction], Awaitable[T]]


@dataclass(frozen=True)
class GraphSettings:
    uri: str
    user: str
    password: str
    database: str = "neo4j"
    connection_timeout: float = 2.0
    acquire_timeout: float = 5.0
    retry_time: float = 2.5
    query_timeout: float = 15.0
    pool_size: int = 50


@dataclass
class GraphStats:
    """What the store saw, read by /metrics at scrape time (so the store itself knows nothing of Prometheus).

    `attempts` counts runs of work functions: attempts minus transactions is the driver's retries."""

    transactions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (read|write, outcome)
    attempts: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    in_flight: int = 0
    registrations: int = 0  # model versions registered (repeated client tokens and refusals included)
    registration_batches: int = 0  # the transactions that wrote them: registrations / batches is the batch size


@dataclass
class CausalChain:
    """One request's place in the causal order, across server instances: the bookmarks its client sent back
    (its transactions start after those), and the bookmarks its last write ended with (sent to the client)."""

    incoming: tuple[str, ...] = ()
    latest: tuple[str, ...] = ()


_CHAIN: ContextVar[CausalChain | None] = ContextVar("lineage_graph_causal_chain", default=None)


def current_chain() -> CausalChain | None:
    """The causal chain of the request running now, if any (work done for it elsewhere carries it along)."""
    return _CHAIN.get()


@contextmanager
def causal_chain(incoming: tuple[str, ...] = ()) -> Iterator[CausalChain]:
    """Run the enclosed request's transactions after `incoming`, and collect the bookmarks its writes leave."""
    chain = CausalChain(incoming)
    token = _CHAIN.set(chain)
    try:
        yield chain
    finally:
        _CHAIN.reset(token)


@dataclass
class Neo4jGraph:
    """The store's handle on Neo4j. `round_trips` counts transactions run, for the N+1 tests and metrics.

    Fail fast while the database is down: after a connection failure every transaction gets a single attempt
    (no retry loop holding the request open for `retry_time`) until one succeeds again, so callers see
    UNAVAILABLE in about `connection_timeout` and the first success restores normal retries, no restart.

    Causal consistency: every session of this instance shares one bookmark manager, so a transaction starts
    after every transaction this instance committed before (a read routed to a cluster secondary waits until
    that secondary has caught up). Across instances, the request's `CausalChain` carries the client's own
    bookmarks in and the new ones out (see middleware.CausalConsistencyMiddleware)."""

    driver: AsyncDriver
    database: str
    query_timeout: float
    retry_time: float = 2.5
    round_trips: int = field(default=0)
    stats: GraphStats = field(default_factory=GraphStats)
    down_since: float | None = None
    bookmarks: AsyncBookmarkManager = field(default_factory=AsyncGraphDatabase.bookmark_manager)

    @classmethod
    def connect(cls, settings: GraphSettings) -> Neo4jGraph:
        # The driver's defaults (retry 30 s, wait 60 s for a connection) suit batch jobs, not an API.
        driver = AsyncGraphDatabase.driver(
            settings.uri,
            auth=(settings.user, settings.password),
            connection_timeout=settings.connection_timeout,
            connection_acquisition_timeout=settings.acquire_timeout,
            max_transaction_retry_time=settings.retry_time,
            max_connection_pool_size=settings.pool_size,
            liveness_check_timeout=30.0,
            # "Unrecognized" notifications say a label, relationship type or property does not exist *yet*:
            # normal for a registry whose optional relationships (aliases, fine-tunes, …) appear with use. Left
            # on, every read of a young database logs several warnings and the server spends CPU building them.
            notifications_disabled_classifications=[NotificationDisabledClassification.UNRECOGNIZED],
        )
        return cls(
            driver=driver,
            database=settings.database,
            query_timeout=settings.query_timeout,
            retry_time=settings.retry_time,
        )

    async def close(self) -> None:
        await self.driver.close()

    async def read(self, work: Work[T], timeout: float | None = None) -> T:
        """Run `work` in a managed read transaction (routable to a secondary, retried on transient errors)."""
        return await self._run(work, write=False, timeout=timeout)

    async def write(self, work: Work[T], timeout: float | None = None) -> T:
        """Run `work` in a managed write transaction; `work` must be idempotent, the driver may re-run it."""
        return await self._run(work, write=True, timeout=timeout)

    async def rows(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """A single read query returning plain dicts: the common case for lookups and lists."""
        return await self._read_once(cypher, params, _data)

    async def maps(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """`rows` for a query whose values are already plain (map projections, lists, scalars — no node,
        relationship or path): skips the driver's recursive export of every value, which costs more than the
        query on a listed page."""
        return await self._read_once(cypher, params, _values)

    async def _read_once(
        self, cypher: str, params: dict[str, Any], decode: Callable[[neo4j.Record], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        # One statement in an auto-commit read transaction: its begin, the statement and its end are one exchange
        # with the server, where a managed one needs a second for COMMIT (a read has nothing to commit). The
        # session is the same read session (routable to a secondary, in the causal chain), and transient
        # failures are retried here within the same budget as the driver's own retries of managed reads.
        query = neo4j.Query(cypher, timeout=self.query_timeout)

        async def body(session: neo4j.AsyncSession) -> list[dict[str, Any]]:
            deadline = time.monotonic() + self.retry_budget
            delay = 0.05
            while True:
                self.stats.attempts["read"] += 1
                try:
                    result = await session.run(query, params)
                    return [decode(record) async for record in result]
                except (TransientError, ServiceUnavailable, SessionExpired):
                    if time.monotonic() + delay > deadline:
                        raise
                    await asyncio.sleep(delay)
                    delay *= 2

        return await _shielded(self._run_in_session(body, write=False))

    async def schema_command(self, cypher: str) -> None:
        """An auto-commit statement (schema commands cannot run inside a managed transaction)."""
        try:
            await self.driver.execute_query(cypher, database_=self.database)
        except (DriverError, TransientError) as exc:
            raise Unavailable(f"the database is unavailable: {type(exc).__name__}") from None

    async def ping(self, timeout: float = 2.0) -> None:
        """Raise Unavailable unless the database answers a trivial query within `timeout` seconds."""
        try:
            # A plain auto-commit run, not execute_query: a probe must not retry (and log each retry).
            await asyncio.wait_for(self._probe(), timeout)
        except (TimeoutError, DriverError, Neo4jError, OSError) as exc:
            self._mark_down()
            raise Unavailable(f"Neo4j is not answering: {type(exc).__name__}") from None
        self.down_since = None

    async def _probe(self) -> None:
        async with self.driver.session(database=self.database) as session:
            await (await session.run("RETURN 1")).consume()

    @property
    def retry_budget(self) -> float:
        """Seconds the driver may spend retrying the next transaction: none while the database is down."""
        return 0.0 if self.down_since is not None else self.retry_time

    async def _run(self, work: Work[T], *, write: bool, timeout: float | None) -> T:
        # GraphQL cancels sibling resolvers when one field fails; a driver cancelled while it opens a
        # connection leaks the socket and may leave the pool confused. The transaction is therefore shielded:
        # it runs to its end (bounded by its own timeouts) and a cancelled caller simply drops the result.
        return await _shielded(self._transaction(work, write=write, timeout=timeout))

    async def _transaction(self, work: Work[T], *, write: bool, timeout: float | None) -> T:
        kind = "write" if write else "read"
        stats = self.stats

        # Set once a write's work function has returned, i.e. the driver is committing it. A connection
        # failure from then on leaves the outcome unknown: the driver (which would retry it as "transient")
        # must not run the work again, and the caller must not be told "try again".
        committing = False

        async def attempt(tx: AsyncManagedTransaction) -> T:
            nonlocal committing
            if committing:
                raise _CommitInterrupted
            stats.attempts[kind] += 1
            result = await work(tx)
            committing = write
            return result

        wrapped = neo4j.unit_of_work(timeout=timeout or self.query_timeout)(attempt)

        async def body(session: neo4j.AsyncSession) -> T:
            # BEGIN goes out with the first statement instead of waiting for its own answer, as the driver's
            # `execute_query` does: one round trip less per transaction (of three for a read). The switch is
            # the driver's private flag; a driver without it begins unpipelined.
            pipelined = getattr(session, "_pipelined_begin", None)
            with pipelined if pipelined is not None else contextlib.nullcontext():
                return await (session.execute_write(wrapped) if write else session.execute_read(wrapped))

        return await self._run_in_session(body, write=write, committing=lambda: committing)

    async def _run_in_session(
        self,
        body: Callable[[neo4j.AsyncSession], Awaitable[T]],
        *,
        write: bool,
        committing: Callable[[], bool] = lambda: False,
    ) -> T:
        kind = "write" if write else "read"
        stats = self.stats
        self.round_trips += 1
        stats.in_flight += 1
        started = time.monotonic()
        outcome = "error"
        chain = _CHAIN.get()
        try:
            async with self.driver.session(
                database=self.database,
                default_access_mode=neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS,
                max_transaction_retry_time=self.retry_budget,
                bookmark_manager=self.bookmarks,
                bookmarks=neo4j.Bookmarks.from_raw_values(chain.incoming) if chain else None,
            ) as session:
                result = await body(session)
                if write and chain is not None:
                    chain.latest = tuple((await session.last_bookmarks()).raw_values)
            outcome = "ok"
            self.down_since = None
            return result
        except (IncompleteCommit, _CommitInterrupted):
            outcome = "outcome_unknown"
            raise self._outcome_unknown() from None
        except (ServiceUnavailable, SessionExpired) as exc:
            if committing():
                outcome = "outcome_unknown"
                raise self._outcome_unknown() from None
            outcome = "unavailable"
            self._mark_down()
            raise Unavailable(f"the database is unavailable, try again: {type(exc).__name__}") from None
        except TransientError as exc:
            outcome = "transient"
            raise Unavailable(f"the database is busy, try again: {type(exc).__name__}") from None
        except ClientError as exc:
            if exc.code and "TransactionTimedOut" in exc.code:
                outcome = "timeout"
                raise QueryTimedOut("the query exceeded its time budget") from None
            if exc.code and "InvalidBookmark" in exc.code:
                outcome = "invalid_bookmark"
                raise ValidationFailed.field(
                    "bookmark", "is not a bookmark this database issued", "INVALID_BOOKMARK"
                ) from None
            if exc.code in _CONTENTION_CODES:
                # Under contention (many writers queued on one lock) a transaction can be stopped while it
                # waits for a lock: the load's doing, not the request's, so retryable, never an internal error.
                # (Constraint violations stay ClientErrors: stores turn them into AlreadyExists.)
                outcome = "contention"
                raise Unavailable("the database is busy with concurrent changes, try again") from None
            raise
        except ConnectionAcquisitionTimeoutError:
            # Every pooled connection is busy: the server is saturated, the database is not down.
            outcome = "pool_exhausted"
            raise Unavailable("the server is busy: no database connection was free in time, try again") from None
        except DriverError as exc:
            outcome = "unavailable"
            self._mark_down()
            raise Unavailable(f"the database connection failed: {type(exc).__name__}") from None
        finally:
            stats.in_flight -= 1
            stats.transactions[(kind, outcome)] += 1
            stats.seconds[kind] = stats.seconds.get(kind, 0.0) + time.monotonic() - started

    def _outcome_unknown(self) -> OutcomeUnknown:
        # The write may or may not have happened, so this is not "try again": a retry without a client token
        # could register twice.
        self._mark_down()
        return OutcomeUnknown(
            "the connection to the database broke while the change was being committed: it may or may not "
            "have been applied. Read the current state before repeating it (a request with a client token "
            "is safe to repeat)."
        )

    def _mark_down(self) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()


def _data(record: neo4j.Record) -> dict[str, Any]:
    return record.data()


def _values(record: neo4j.Record) -> dict[str, Any]:
    return dict(zip(record.keys(), record.values(), strict=True))


async def fetch_all(tx: AsyncManagedTransaction, cypher: str, **params: Any) -> list[dict[str, Any]]:
    result = await tx.run(cypher, params)
    return [record.data() async for record in result]


async def fetch_one(tx: AsyncManagedTransaction, cypher: str, **params: Any) -> dict[str, Any] | None:
    result = await tx.run(cypher, params)
    record = await result.single()
    return None if record is None else record.data()


async def fetch_values(tx: AsyncManagedTransaction, cypher: str, **params: Any) -> dict[str, Any] | None:
    """As `fetch_one`, for a statement whose row holds only values (lists, maps, scalars; never a node,
    relationship or path): the row as decoded. `Record.data()` copies every nested value through abstract-class
    checks, which for one collected 10k-node row costs more than the database spent producing it."""
    result = await tx.run(cypher, params)
    record = await result.single()
    return None if record is None else dict(zip(record.keys(), record.values(), strict=True))


class _CommitInterrupted(Exception):
    """Raised inside a retried write whose previous attempt reached COMMIT (see Neo4jGraph._transaction)."""


async def _shielded(transaction: Coroutine[Any, Any, T]) -> T:
    task = asyncio.ensure_future(transaction)
    task.add_done_callback(_consume_exception)
    return await asyncio.shield(task)


def _consume_exception(task: asyncio.Future[Any]) -> None:
    """Retrieve a shielded transaction's exception so an abandoned one is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()
