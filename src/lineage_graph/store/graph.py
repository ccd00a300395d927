"""One async driver, managed transactions with per-request budgets, and driver errors turned into domain ones."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from neo4j.exceptions import (
    ClientError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from lineage_graph.domain.errors import QueryTimedOut, Unavailable

T = TypeVar("T")
Work = Callable[[AsyncManagedTransaction], Awaitable[T]]


@dataclass(frozen=True)
class GraphSettings:
    uri: str
    user: str
    password: str
    database: str = "neo4j"
    connection_timeout: float = 2.0
    acquire_timeout: float = 5.0
    retry_time: float = 5.0
    query_timeout: float = 15.0
    pool_size: int = 50


@dataclass
class Neo4jGraph:
    """The store's handle on Neo4j. `round_trips` counts transactions run, for the N+1 tests and metrics."""

    driver: AsyncDriver
    database: str
    query_timeout: float
    round_trips: int = field(default=0)

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
        )
        return cls(driver=driver, database=settings.database, query_timeout=settings.query_timeout)

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

        async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            result = await tx.run(cypher, params)
            return [record.data() async for record in result]

        return await self.read(work)

    async def schema_command(self, cypher: str) -> None:
        """An auto-commit statement (schema commands cannot run inside a managed transaction)."""
        try:
            await self.driver.execute_query(cypher, database_=self.database)
        except (DriverError, TransientError) as exc:
            raise Unavailable(f"the database is unavailable: {type(exc).__name__}") from None

    async def ping(self, timeout: float = 2.0) -> None:
        """Raise Unavailable unless the database answers a trivial query within `timeout` seconds."""
        try:
            await asyncio.wait_for(self.driver.execute_query("RETURN 1", database_=self.database), timeout)
        except (TimeoutError, DriverError, Neo4jError, OSError) as exc:
            raise Unavailable(f"Neo4j is not answering: {type(exc).__name__}") from None

    async def _run(self, work: Work[T], *, write: bool, timeout: float | None) -> T:
        budget = timeout or self.query_timeout
        wrapped = neo4j.unit_of_work(timeout=budget)(work)
        self.round_trips += 1
        try:
            async with self.driver.session(database=self.database) as session:
                if write:
                    return await session.execute_write(wrapped)
                return await session.execute_read(wrapped)
        except (ServiceUnavailable, SessionExpired, TransientError) as exc:
            raise Unavailable(f"the database is unavailable, try again: {type(exc).__name__}") from None
        except ClientError as exc:
            if exc.code and "TransactionTimedOut" in exc.code:
                raise QueryTimedOut("the query exceeded its time budget") from None
            raise
        except DriverError as exc:
            raise Unavailable(f"the database connection failed: {type(exc).__name__}") from None


async def fetch_all(tx: AsyncManagedTransaction, cypher: str, **params: Any) -> list[dict[str, Any]]:
    result = await tx.run(cypher, params)
    return [record.data() async for record in result]


async def fetch_one(tx: AsyncManagedTransaction, cypher: str, **params: Any) -> dict[str, Any] | None:
    result = await tx.run(cypher, params)
    record = await result.single()
    return None if record is None else record.data()
