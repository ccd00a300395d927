"""The lineage API types over the domain's nodes and edges: the plain execution answers what the general one does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import strawberry

from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import EdgeType
from lineage_graph.domain.lineage import LineageEdge as DomainEdge
from lineage_graph.domain.lineage import LineageNode as DomainNode
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.graphql.execution import PlainObjectExecution
from lineage_graph.graphql.lineage import LineageEdge, LineageNode, presented_edges, presented_nodes

_DV = NodeRef.of(NodeKind.DATASET_VERSION, "s3://lake", "events/é", "v1")
_RUN = NodeRef.of(NodeKind.RUN, "run-1")
_MV = NodeRef.of(NodeKind.MODEL_VERSION, "fraud", 3)
_CODE = NodeRef.of(NodeKind.CODE_VERSION, "github.com/acme/x", "abc123")
_HIDDEN = NodeRef.of(NodeKind.RUN, "run-2")


def _nodes() -> list[DomainNode]:
    return [
        DomainNode(_DV, tags=("pii", "raw")),
        DomainNode(_RUN, job_name="train", distance=1),
        DomainNode(_MV, ApprovalStatus.APPROVED, False, distance=2, needs_review=True, expandable=True),
        DomainNode(_CODE, distance=2),
        DomainNode(NodeRef.of(NodeKind.RUN, "run-3"), distance=3, tags=()),
    ]


def _edges() -> list[DomainEdge]:
    return [
        DomainEdge(_DV, _RUN, EdgeType.INPUT_TO),
        DomainEdge(_RUN, _MV, EdgeType.OUTPUT),
        DomainEdge(_CODE, _RUN, EdgeType.EXECUTED_BY),
        DomainEdge(_DV, _MV, EdgeType.INPUT_TO, (_HIDDEN,), (EdgeType.INPUT_TO, EdgeType.OUTPUT)),
    ]


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self) -> list[LineageNode]:
        return presented_nodes(_nodes())

    @strawberry.field
    def edges(self) -> list[LineageEdge]:
        return presented_edges(_edges())

    @strawberry.field
    def node(self) -> LineageNode:
        return presented_nodes(_nodes())[2]


_NODE_FIELDS = (
    "id kind displayName distance namespace name group version repository commit runId approvalStatus archived "
    "tags needsReview expandable __typename"
)
DOCUMENTS = [
    f"{{ nodes {{ {_NODE_FIELDS} }} edges {{ source target type via path __typename }} }}",
    "{ nodes { id kind displayName distance approvalStatus tags expandable } edges { source target type } }",
    "{ nodes { tags t: tags } node { id version group } }",
    "{ edges { type path via } e2: edges { source } }",
]
general = strawberry.Schema(query=Query)
plain = strawberry.Schema(query=Query, execution_context_class=PlainObjectExecution)


def _run(schema: strawberry.Schema, document: str) -> tuple[Any, Any]:
    result = asyncio.run(schema.execute(document))
    return result.data, [e.message for e in result.errors or []]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_plain_answer_is_the_general_one(document: str) -> None:
    answer = _run(plain, document)
    assert answer == _run(general, document)
    assert not answer[1]


def test_the_answer_reads_the_domain_objects() -> None:
    data, errors = _run(plain, "{ nodes { id displayName tags version } edges { type via path } }")
    assert not errors
    first = {"id": _DV.global_id, "displayName": "s3://lake/events/é@v1", "tags": ["pii", "raw"], "version": "v1"}
    assert data["nodes"][0] == first
    assert data["nodes"][1]["displayName"] == "train (run-1)"
    assert data["nodes"][2]["version"] == "3"
    assert data["nodes"][4]["tags"] == []
    assert data["edges"][3] == {"type": "COLLAPSED", "via": [_HIDDEN.global_id], "path": ["INPUT_TO", "OUTPUT"]}
