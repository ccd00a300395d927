"""Apply `schema/constraints.cypher`: the same function at start-up, in the CLI and in the test fixture."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from neo4j import AsyncManagedTransaction

from lineage_graph.store.graph import Neo4jGraph

SEARCH_INDEX = "registry_search"

# Earlier releases created the full-text index synchronous: every commit that touched an indexed node waited for
# Lucene to refresh. `IF NOT EXISTS` keeps such an index as it is, so `lineage-graph migrate` rebuilds it.
_SEARCH_INDEX_CONFIG = """
SHOW FULLTEXT INDEXES YIELD name, options WHERE name = $name
RETURN options.indexConfig['fulltext.eventually_consistent'] AS eventually_consistent
"""


def constraint_statements() -> list[str]:
    """The statements of constraints.cypher, comments stripped, one per `;`."""
    text = _constraints_file().read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("//")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


async def apply_constraints(graph: Neo4jGraph) -> int:
    """Create every constraint and index that is missing (IF NOT EXISTS makes this idempotent)."""
    statements = constraint_statements()
    # Schema commands cannot share a transaction with each other's data, so one auto-commit call each.
    for statement in statements:
        await graph.schema_command(statement)
    await graph.schema_command("CALL db.awaitIndexes(120)")
    return len(statements)


async def list_constraints(graph: Neo4jGraph) -> list[str]:
    async def work(tx: AsyncManagedTransaction) -> list[str]:
        result = await tx.run("SHOW CONSTRAINTS YIELD name RETURN name ORDER BY name")
        return [record["name"] async for record in result]

    return await graph.read(work)


async def search_index_is_synchronous(graph: Neo4jGraph) -> bool:
    """Whether the full-text index is the kind earlier releases created (commits wait for its refresh)."""
    rows = await graph.rows(_SEARCH_INDEX_CONFIG, name=SEARCH_INDEX)
    return bool(rows) and rows[0]["eventually_consistent"] is not True


async def rebuild_search_index(graph: Neo4jGraph, timeout_seconds: int = 3600) -> None:
    """Drop the full-text index and create it as constraints.cypher declares it, then wait until it is
    populated again (searches fail while it is not: run this when the server is stopped)."""
    create = next(s for s in constraint_statements() if f"FULLTEXT INDEX {SEARCH_INDEX} " in s)
    await graph.schema_command(f"DROP INDEX {SEARCH_INDEX} IF EXISTS")
    await graph.schema_command(create)
    await graph.schema_command(f"CALL db.awaitIndex('{SEARCH_INDEX}', {int(timeout_seconds)})")


def _constraints_file() -> Path:
    packaged = resources.files("lineage_graph").joinpath("schema/constraints.cypher")
    if packaged.is_file():
        return Path(str(packaged))
    # Editable installs and a source checkout: the file lives at the repository root.
    return Path(__file__).resolve().parents[3] / "schema" / "constraints.cypher"
