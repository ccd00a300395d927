"""Apply `schema/constraints.cypher`: the same function at start-up, in the CLI and in the test fixture."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from neo4j import AsyncManagedTransaction

from lineage_graph.store.graph import Neo4jGraph


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


def _constraints_file() -> Path:
    packaged = resources.files("lineage_graph").joinpath("schema/constraints.cypher")
    if packaged.is_file():
        return Path(str(packaged))
    # Editable installs and a source checkout: the file lives at the repository root.
    return Path(__file__).resolve().parents[3] / "schema" / "constraints.cypher"
