"""`ModelVersion.approvalReadiness` over HTTP: each caller sees the rules an approval by them would not meet,
with reasons, and asking writes nothing; a caller without the approver role is refused an approval at the gate."""

from __future__ import annotations

from collections.abc import Callable

from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.support import GraphQLClient, error_codes, graph_counts

READINESS = """
query($group: String!) {
  modelVersion(group: $group, version: 1) {
    approvalReadiness { ready status resultingStatus approvals approvalsNeeded lineageComplete
                        unmet { code field message } }
  }
}
"""
APPROVE = "mutation($id: ID!) { approveModelVersion(id: $id) { modelVersion { approvalStatus } } }"


def _setup(gql: GraphQLClient) -> str:
    gql.data('mutation { createModelGroup(input: {name: "churn"}) { name } }')
    gql.data(
        'mutation { setApprovalPolicy(group: "churn", policy: {requiredMetrics: [{name: "auc", operator: ">=", '
        "threshold: 0.9}], requireTrainingData: true}) { minApprovers } }"
    )
    created = gql.data(
        'mutation { registerModelVersion(input: {group: "churn", artifactUri: "s3://m/1", '
        'metrics: [{name: "auc", value: 0.8}]}) { id } }'
    )
    version_id: str = created["registerModelVersion"]["id"]
    return version_id


def test_readiness_speaks_for_the_caller_and_writes_nothing(
    gql: GraphQLClient, client_as: Callable[..., GraphQLClient], db: Driver
) -> None:
    version_id = _setup(gql)
    viewer = client_as("vera", Role.VIEWER)
    approver = client_as("abe", Role.APPROVER)
    before = graph_counts(db)
    seen = viewer.data(READINESS, {"group": "churn"})["modelVersion"]["approvalReadiness"]
    assert [u["code"] for u in seen["unmet"]] == ["MISSING_ROLE", "METRIC_THRESHOLD", "MISSING_LINEAGE"]
    assert seen["ready"] is False
    assert seen["status"] == "PENDING_MANUAL_APPROVAL"
    assert seen["lineageComplete"] is True
    for_approver = approver.data(READINESS, {"group": "churn"})["modelVersion"]["approvalReadiness"]
    assert [u["code"] for u in for_approver["unmet"]] == ["METRIC_THRESHOLD", "MISSING_LINEAGE"]
    assert "auc >= 0.9" in for_approver["unmet"][0]["message"]
    assert (for_approver["approvals"], for_approver["approvalsNeeded"]) == (0, 1)
    assert graph_counts(db) == before, "asking writes nothing"
    # The viewer's approval attempt is refused at the gate: FORBIDDEN, and not even an audit record.
    refused = viewer.execute(APPROVE, {"id": version_id})
    assert error_codes(refused) == ["FORBIDDEN"]
    assert refused["errors"][0]["extensions"]["problems"][0]["code"] == "MISSING_ROLE"
    assert graph_counts(db) == before
