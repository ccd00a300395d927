"""Facts about the database itself."""

from __future__ import annotations

from neo4j import AsyncManagedTransaction

from lineage_graph.domain.system import DatabaseInfo
from lineage_graph.store.graph import Neo4jGraph, fetch_one

_COMPONENTS = "CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition"
# Count-store lookups: constant time, no scan.
_COUNTS = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
RETURN nodes, relationships
"""


class SystemStore:
    def __init__(self, graph: Neo4jGraph) -> None:
        self._graph = graph

    async def database_info(self) -> DatabaseInfo:
        """Neo4j's version and edition and the size of the graph."""

        async def work(tx: AsyncManagedTransaction) -> DatabaseInfo:
            component = await fetch_one(tx, _COMPONENTS)
            counts = await fetch_one(tx, _COUNTS)
            assert component is not None
            assert counts is not None
            return DatabaseInfo(
                name=self._graph.database,
                version=component["version"],
                edition=component["edition"],
                node_count=counts["nodes"],
                relationship_count=counts["relationships"],
            )

        return await self._graph.read(work)
