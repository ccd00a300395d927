"""The GraphQL adapter: Strawberry types and resolvers of a few lines that call services. No Cypher here."""
