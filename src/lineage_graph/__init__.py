"""lineage-graph: a self-hosted model registry with lineage and governance, over a Neo4j graph."""

__version__ = "0.1.0"
