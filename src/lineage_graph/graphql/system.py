"""Server and database facts, the one query that proves every layer works end to end."""

from __future__ import annotations

import strawberry

from lineage_graph.graphql.context import Context


@strawberry.type(description="The Neo4j database this server reads and writes.")
class DatabaseInfo:
    name: str
    version: str
    edition: str
    node_count: int
    relationship_count: int


@strawberry.type(description="This lineage-graph server and the database behind it.")
class ServerInfo:
    version: str

    @strawberry.field(description="The database, asked when this field is selected (a round trip to Neo4j).")
    async def database(self, info: strawberry.Info[Context, None]) -> DatabaseInfo:
        db = await info.context.services.system.database_info()
        return DatabaseInfo(
            name=db.name,
            version=db.version,
            edition=db.edition,
            node_count=db.node_count,
            relationship_count=db.relationship_count,
        )


@strawberry.type
class SystemQuery:
    @strawberry.field(description="The server's version and the Neo4j it runs on.")
    async def server_info(self, info: strawberry.Info[Context, None]) -> ServerInfo:
        # The version needs no database; `database` goes to Neo4j only when it is asked for.
        return ServerInfo(version=info.context.services.system.version)
