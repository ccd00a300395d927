"""The only place with Cypher and the Neo4j driver. It returns domain objects and raises domain errors."""
