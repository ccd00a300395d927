"""lineage_graph.client: register models, record runs and read lineage from training scripts and pipelines.

Talks to a lineage-graph server over HTTP (GraphQL) with httpx only, so it installs without the server's
dependencies (see docs/pipelines.md):

    from lineage_graph.client import Client

    with Client() as lg:  # LINEAGE_GRAPH_URL, LINEAGE_GRAPH_TOKEN
        with lg.record_run("train-fraud", inputs=["s3://lake/transactions@2024-06-01"]) as run:
            run.log_metric("auc", 0.91)
        version = lg.register_model_version("fraud", "s3://models/fraud/7", metrics={"auc": 0.91},
                                            produced_by=run, code="github.com/acme/fraud@3f2c1e9")
"""

from lineage_graph.client._transport import RetryPolicy
from lineage_graph.client.aio import AsyncClient, AsyncRunHandle
from lineage_graph.client.errors import (
    AlreadyExists,
    ApprovalRejected,
    ApprovalTimeout,
    Conflict,
    Forbidden,
    LineageGraphError,
    NotFound,
    PolicyNotMet,
    Problem,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from lineage_graph.client.models import (
    ApprovalReadiness,
    CodeVersionKey,
    DatasetVersionKey,
    LineageEdge,
    LineageGraph,
    LineageNode,
    Metric,
    ModelVersion,
    Run,
)
from lineage_graph.client.sync import Client, RunHandle

__all__ = [
    "AlreadyExists",
    "ApprovalReadiness",
    "ApprovalRejected",
    "ApprovalTimeout",
    "AsyncClient",
    "AsyncRunHandle",
    "Client",
    "CodeVersionKey",
    "Conflict",
    "DatasetVersionKey",
    "Forbidden",
    "LineageEdge",
    "LineageGraph",
    "LineageGraphError",
    "LineageNode",
    "Metric",
    "ModelVersion",
    "NotFound",
    "PolicyNotMet",
    "Problem",
    "RetryPolicy",
    "Run",
    "RunHandle",
    "Unauthenticated",
    "Unavailable",
    "ValidationFailed",
]
