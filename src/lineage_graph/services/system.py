"""Server identity and readiness."""

from __future__ import annotations

from dataclasses import dataclass

from lineage_graph import __version__
from lineage_graph.domain.system import DatabaseInfo
from lineage_graph.store.graph import Neo4jGraph
from lineage_graph.store.system import SystemStore


@dataclass(frozen=True)
class ServerInfo:
    version: str
    database: DatabaseInfo


class SystemService:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph
        self._store = SystemStore(graph)

    @property
    def version(self) -> str:
        return __version__

    async def server_info(self) -> ServerInfo:
        return ServerInfo(version=__version__, database=await self._store.database_info())

    async def database_info(self) -> DatabaseInfo:
        return await self._store.database_info()

    async def check_ready(self, timeout: float = 2.0) -> None:
        """Raise Unavailable when Neo4j does not answer within `timeout`."""
        await self._graph.ping(timeout)
