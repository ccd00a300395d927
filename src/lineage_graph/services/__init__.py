"""Use cases: the one entry point every adapter (GraphQL, CLI, OpenLineage, SageMaker) calls."""
