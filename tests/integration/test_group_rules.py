"""A group's own rules over HTTP against the real Neo4j: registration contracts, lifecycle stages with gates,
and automated promotion (exactly once under 16 concurrent clients, never on an unmet contract or policy)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from neo4j import Driver

from lineage_graph.domain.auth import Role
from tests.support import AUDIT_LABELS, GraphQLClient, error_codes, graph_fingerprint, problem_fields

ClientAs = Callable[..., GraphQLClient]

GROUP = "fraud"
REGISTER = """
mutation($input: RegisterModelVersionInput!) {
  registerModelVersion(input: $input) { id version stage approvalStatus contractVersion }
}"""
SET_CONTRACT = """
mutation($group: String!, $contract: RegistrationContractInput!) {
  setRegistrationContract(group: $group, contract: $contract) { version requiredMetrics { name split } }
}"""
SET_STAGES = """
mutation($group: String!, $stages: [StageInput!]!) {
  setLifecycleStages(group: $group, stages: $stages) { stages { name } }
}"""
SET_STAGE = """
mutation($id: ID!, $stage: String!) {
  setModelVersionStage(id: $id, stage: $stage, stageStatus: "Approved") { stage stageStatus archived }
}"""
SET_PROMOTION = """
mutation($group: String!, $policy: PromotionPolicyInput!) {
  setPromotionPolicy(group: $group, policy: $policy) { approve toStage principal }
}"""
ADD_METRICS = """
mutation($id: ID!, $metrics: [MetricInput!]!) { addModelVersionMetrics(id: $id, metrics: $metrics) { version } }
"""
CONTRACT = {
    "requiredMetrics": [{"name": "auc", "split": "validation"}],
    "requiredHyperparameters": [{"name": "max_depth", "type": "INTEGER"}],
    "requiredProperties": [
        {"name": "team", "allowedValues": ["risk", "growth"]},
        {"name": "ticket", "pattern": "ML-[0-9]+"},
    ],
    "requireTrainingData": True,
    "requireCodeVersion": True,
    "tagVocabulary": ["nightly", "candidate"],
    "aliasPattern": "(champion|challenger)",
}
GOOD: dict[str, Any] = {
    "group": GROUP,
    "artifactUri": "s3://models/fraud/model.tar.gz",
    "hyperparameters": {"max_depth": 6},
    "metrics": [{"name": "auc", "value": 0.91, "split": "validation"}],
    "customProperties": {"team": "risk", "ticket": "ML-7"},
    "tags": ["nightly"],
    "trainedOnDatasets": [{"namespace": "s3://lake", "name": "tx", "version": "1"}],
    "code": {"repository": "github.com/acme/fraud", "commit": "1c9e2b7a55d0"},
}


def _group(gql: GraphQLClient, name: str = GROUP) -> None:
    gql.data("mutation($n: String!) { createModelGroup(input: {name: $n}) { name } }", {"n": name})


def _register(gql: GraphQLClient, **changes: Any) -> dict[str, Any]:
    data = gql.data(REGISTER, {"input": {**GOOD, **changes}})
    version: dict[str, Any] = data["registerModelVersion"]
    return version


def _events(gql: GraphQLClient, action: str) -> list[dict[str, Any]]:
    data = gql.data(
        "query($a: String) { auditLog(action: $a, first: 100) { edges { node { actor action outcome payload } } } }",
        {"a": action},
    )
    return [e["node"] for e in data["auditLog"]["edges"]]


# ---- contracts ----------------------------------------------------------------------------------------
def test_a_registration_breaking_the_contract_names_every_violation_and_writes_nothing(
    gql: GraphQLClient, db: Driver, client_as: ClientAs
) -> None:
    _group(gql)
    saved = gql.data(SET_CONTRACT, {"group": GROUP, "contract": CONTRACT})["setRegistrationContract"]
    assert saved["version"] == 1
    pipeline = client_as("pipeline", Role.CONTRIBUTOR)
    before = graph_fingerprint(db, AUDIT_LABELS)
    body = pipeline.execute(
        REGISTER,
        {
            "input": {
                "group": GROUP,
                "artifactUri": "s3://models/fraud/bad.tar.gz",
                "hyperparameters": {"max_depth": "six"},
                "metrics": [{"name": "auc", "value": 0.9, "split": "train"}],
                "customProperties": {"team": "ops", "ticket": "JIRA-1"},
                "tags": ["wip"],
            }
        },
    )
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == [
        "metrics.auc",
        "hyperparameters.max_depth",
        "customProperties.team",
        "customProperties.ticket",
        "trainedOn",
        "code",
        "tags[0]",
    ]
    assert graph_fingerprint(db, AUDIT_LABELS) == before

    created = pipeline.data(REGISTER, {"input": GOOD})["registerModelVersion"]
    assert (created["version"], created["contractVersion"], created["stage"]) == (1, 1, "Development")

    # Aliases and later tag edits are held to the same contract.
    body = pipeline.execute(
        'mutation($id: ID!) { setModelAlias(modelVersionId: $id, alias: "best") { version } }',
        {"id": created["id"]},
    )
    assert problem_fields(body) == ["alias"]
    body = pipeline.execute(
        'mutation($id: ID!) { updateModelVersion(id: $id, input: {tags: ["nightly", "oops"]}) { version } }',
        {"id": created["id"]},
    )
    assert problem_fields(body) == ["tags[1]"]


def test_contracts_are_versioned_audited_and_never_rewrite_history(gql: GraphQLClient, client_as: ClientAs) -> None:
    _group(gql)
    gql.data(SET_CONTRACT, {"group": GROUP, "contract": {"requiredMetrics": [{"name": "auc"}]}})
    first = _register(gql)
    gql.data(SET_CONTRACT, {"group": GROUP, "contract": CONTRACT})
    history = gql.data(
        'query { registrationContractHistory(group: "fraud") { version createdBy } '
        'registrationContract(group: "fraud") { version tagVocabulary } }'
    )
    assert [c["version"] for c in history["registrationContractHistory"]] == [2, 1]
    assert history["registrationContract"] == {"version": 2, "tagVocabulary": ["nightly", "candidate"]}
    groups = gql.data(
        "{ modelGroups { edges { node { name registrationContract { version requiredMetrics { name } } } } } }"
    )
    assert groups["modelGroups"]["edges"][0]["node"]["registrationContract"] == {
        "version": 2,
        "requiredMetrics": [{"name": "auc"}],
    }
    version = gql.data(
        "query($id: ID!) { node(id: $id) { ... on ModelVersion { contractVersion } } }", {"id": first["id"]}
    )
    assert version["node"]["contractVersion"] == 1
    assert [e["payload"]["contract_version"] for e in _events(gql, "model_group.contract_set")] == [2, 1]
    # Only admins set contracts.
    body = client_as("carol", Role.APPROVER).execute(SET_CONTRACT, {"group": GROUP, "contract": CONTRACT})
    assert error_codes(body) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("contract", "field"),
    [
        ({"requiredProperties": [{"name": "env", "pattern": "(a+)+$"}]}, "requiredProperties[0].pattern"),
        ({"aliasPattern": "(x|xx)*y"}, "aliasPattern"),
        ({"aliasPattern": "("}, "aliasPattern"),
        ({"requiredMetrics": [{"name": ""}]}, "requiredMetrics[0].name"),
        ({"tagVocabulary": ["no spaces"]}, "tagVocabulary[0]"),
    ],
)
def test_hostile_contracts_are_refused_when_set(
    gql: GraphQLClient, db: Driver, contract: dict[str, Any], field: str
) -> None:
    _group(gql)
    before = graph_fingerprint(db, AUDIT_LABELS)
    body = gql.execute(SET_CONTRACT, {"group": GROUP, "contract": contract})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == [field]
    assert graph_fingerprint(db, AUDIT_LABELS) == before


def test_a_run_joined_at_registration_brings_its_training_data_and_code(gql: GraphQLClient) -> None:
    _group(gql)
    gql.data(SET_CONTRACT, {"group": GROUP, "contract": {"requireTrainingData": True, "requireCodeVersion": True}})
    gql.data(
        """mutation { recordRun(input: {runId: "run-1", job: {namespace: "airflow", name: "train"}, kind: TRAINING,
          status: COMPLETED, inputDatasets: [{namespace: "s3://lake", name: "tx", version: "1"}],
          code: {repository: "github.com/acme/fraud", commit: "1c9e2b7a55d0"}}) { runId } }"""
    )
    created = gql.data(
        REGISTER, {"input": {"group": GROUP, "artifactUri": "s3://m/1", "producedBy": {"runId": "run-1"}}}
    )
    assert created["registerModelVersion"]["version"] == 1


# ---- stages and gates ---------------------------------------------------------------------------------
STAGES = [
    {"name": "Development"},
    {"name": "Staging", "gate": {"metricThresholds": [{"name": "auc", "operator": ">=", "threshold": 0.85}]}},
    {
        "name": "Production",
        "gate": {
            "requireApproved": True,
            "requireApprover": True,
            "metricThresholds": [{"name": "auc", "operator": ">=", "threshold": 0.95}],
            "forbidOpenIncidentsUpstream": True,
            "requireDeploymentTo": ["staging"],
        },
    },
    {"name": "Archived"},
]


def test_a_gate_refuses_with_every_unmet_reason_and_records_only_the_attempt(
    gql: GraphQLClient, db: Driver, client_as: ClientAs
) -> None:
    _group(gql)
    gql.data(SET_STAGES, {"group": GROUP, "stages": STAGES})
    pipeline = client_as("pipeline", Role.CONTRIBUTOR)
    version = pipeline.data(REGISTER, {"input": GOOD})["registerModelVersion"]
    gql.data(
        'mutation($id: ID!) { flagDatasetVersion(id: $id, reason: "leak") { needsReview { version } } }',
        {"id": _dataset_version_id(gql)},
    )
    before = graph_fingerprint(db, AUDIT_LABELS)
    body = pipeline.execute(SET_STAGE, {"id": version["id"], "stage": "Production"})
    assert error_codes(body) == ["POLICY_NOT_MET"]
    codes = [p["code"] for p in body["errors"][0]["extensions"]["problems"]]
    assert codes == ["GATE_APPROVAL", "GATE_APPROVER", "GATE_METRIC", "GATE_INCIDENT", "GATE_DEPLOYMENT"]
    assert graph_fingerprint(db, AUDIT_LABELS) == before
    refused = _events(gql, "model_version.stage_changed")
    assert [(e["actor"], e["outcome"]) for e in refused] == [("pipeline", "REFUSED")]

    moved = pipeline.data(SET_STAGE, {"id": version["id"], "stage": "Staging"})["setModelVersionStage"]
    assert moved == {"stage": "Staging", "stageStatus": "Approved", "archived": False}
    archived = pipeline.data(SET_STAGE, {"id": version["id"], "stage": "Archived"})["setModelVersionStage"]
    assert archived["archived"] is True
    history = gql.data(
        "query($id: ID!) { stageHistory(id: $id) { fromStage toStage actor automated } }",
        {"id": version["id"]},
    )["stageHistory"]
    assert [(t["fromStage"], t["toStage"], t["actor"]) for t in history] == [
        ("Development", "Staging", "pipeline"),
        ("Staging", "Archived", "pipeline"),
    ]


def _dataset_version_id(gql: GraphQLClient) -> str:
    found = gql.data('{ datasetVersion(namespace: "s3://lake", name: "tx", version: "1") { id } }')
    return str(found["datasetVersion"]["id"])


@pytest.mark.parametrize(
    ("stages", "field"),
    [
        ([{"name": "Development"}, {"name": "Staging"}], "stages"),
        (
            [
                {"name": "Development"},
                {
                    "name": "Production",
                    "gate": {"metricThresholds": [{"name": "auc", "operator": "~=", "threshold": 1}]},
                },
            ],
            "stages[1].gate.metricThresholds[0].operator",
        ),
        ([{"name": "Production"}, {"name": "Production"}], "stages[1].name"),
    ],
)
def test_nonsensical_stage_lists_are_refused(
    gql: GraphQLClient, db: Driver, stages: list[dict[str, Any]], field: str
) -> None:
    _group(gql)
    before = graph_fingerprint(db, AUDIT_LABELS)
    body = gql.execute(SET_STAGES, {"group": GROUP, "stages": stages})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert field in problem_fields(body)
    assert graph_fingerprint(db, AUDIT_LABELS) == before


# ---- automated promotion -------------------------------------------------------------------------------
def test_automated_approval_fires_exactly_once_under_16_concurrent_metric_updates(
    gql: GraphQLClient, client_as: ClientAs
) -> None:
    _group(gql)
    gql.data(
        'mutation { setApprovalPolicy(group: "fraud", policy: {fourEyes: false, requiredMetrics: '
        '[{name: "auc", operator: ">=", threshold: 0.85}, {name: "f1", operator: ">=", threshold: 0.5}]}) '
        "{ fourEyes } }"
    )
    gql.data(SET_PROMOTION, {"group": GROUP, "policy": {"approve": True, "toStage": "Staging"}})
    pipeline = client_as("pipeline", Role.CONTRIBUTOR)
    version = pipeline.data(REGISTER, {"input": {**GOOD, "metrics": [{"name": "auc", "value": 0.7}]}})[
        "registerModelVersion"
    ]
    assert version["approvalStatus"] == "PENDING_MANUAL_APPROVAL"  # the policy is not met: nothing fires

    def add(i: int) -> dict[str, Any]:
        # Each client adds its own evaluation; every one of them meets the policy once committed.
        metrics = [{"name": "auc", "value": 0.9, "step": i}, {"name": "f1", "value": 0.6, "step": i}]
        return pipeline.execute(ADD_METRICS, {"id": version["id"], "metrics": metrics})

    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(add, range(1, 17)))
    assert all(not b.get("errors") for b in bodies), [b["errors"] for b in bodies if b.get("errors")]

    decisions = gql.data(
        "query($id: ID!) { approvalHistory(id: $id) { actor toStatus evidence } }", {"id": version["id"]}
    )["approvalHistory"]
    assert [(d["actor"], d["toStatus"]) for d in decisions] == [("policy:fraud", "APPROVED")]
    assert decisions[0]["evidence"]["metrics"]
    transitions = gql.data(
        "query($id: ID!) { stageHistory(id: $id) { toStage actor automated } }", {"id": version["id"]}
    )["stageHistory"]
    assert transitions == [{"toStage": "Staging", "actor": "policy:fraud", "automated": True}]
    assert [e["actor"] for e in _events(gql, "model_version.approve")] == ["policy:fraud"]


def test_automated_approval_is_refused_where_four_eyes_asks_for_a_person(gql: GraphQLClient, db: Driver) -> None:
    _group(gql)
    before = graph_fingerprint(db, AUDIT_LABELS)
    body = gql.execute(SET_PROMOTION, {"group": GROUP, "policy": {"approve": True}})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == ["approve"]
    body = gql.execute(SET_PROMOTION, {"group": GROUP, "policy": {"toStage": "Production"}})
    assert problem_fields(body) == ["toStage"]
    assert graph_fingerprint(db, AUDIT_LABELS) == before


def test_automated_promotion_never_fires_on_an_unmet_policy(gql: GraphQLClient, client_as: ClientAs) -> None:
    _group(gql)
    gql.data(
        'mutation { setApprovalPolicy(group: "fraud", policy: {fourEyes: false, requireProducingRun: true}) '
        "{ fourEyes } }"
    )
    gql.data(SET_PROMOTION, {"group": GROUP, "policy": {"approve": True}})
    pipeline = client_as("pipeline", Role.CONTRIBUTOR)
    version = pipeline.data(REGISTER, {"input": GOOD})["registerModelVersion"]
    pipeline.data(ADD_METRICS, {"id": version["id"], "metrics": [{"name": "f1", "value": 0.9}]})
    decisions = gql.data("query($id: ID!) { approvalHistory(id: $id) { actor } }", {"id": version["id"]})[
        "approvalHistory"
    ]
    assert decisions == []
    # Met at registration: approved on the spot, by the policy.
    ran = {**GOOD, "producedBy": {"runId": "run-9"}}
    assert pipeline.data(REGISTER, {"input": ran})["registerModelVersion"]["approvalStatus"] == "APPROVED"


def test_clearing_an_incident_lets_automated_promotion_approve(gql: GraphQLClient, client_as: ClientAs) -> None:
    _group(gql)
    gql.data(
        'mutation { setApprovalPolicy(group: "fraud", policy: {fourEyes: false, forbiddenUpstreamTags: ["incident"]}) '
        "{ fourEyes } }"
    )
    gql.data(SET_PROMOTION, {"group": GROUP, "policy": {"approve": True}})
    gql.data('mutation { registerDatasetVersion(input: {namespace: "s3://lake", name: "tx", version: "1"}) { id } }')
    approver = client_as("bob", Role.APPROVER)
    approver.data(
        'mutation($id: ID!) { flagDatasetVersion(id: $id, reason: "late rows") { needsReview { version } } }',
        {"id": _dataset_version_id(gql)},
    )
    version = client_as("pipeline", Role.CONTRIBUTOR).data(REGISTER, {"input": GOOD})["registerModelVersion"]
    assert version["approvalStatus"] == "PENDING_MANUAL_APPROVAL"  # the incident upstream holds it back

    body = client_as("pat", Role.CONTRIBUTOR).execute(
        'mutation($id: ID!) { clearDatasetIncident(id: $id, comment: "false alarm") { version } }',
        {"id": _dataset_version_id(gql)},
    )
    assert error_codes(body) == ["FORBIDDEN"]
    cleared = approver.data(
        'mutation($id: ID!) { clearDatasetIncident(id: $id, comment: "false alarm") { version approvalStatus } }',
        {"id": _dataset_version_id(gql)},
    )["clearDatasetIncident"]
    assert cleared == [{"version": 1, "approvalStatus": "APPROVED"}]
    decisions = gql.data("query($id: ID!) { approvalHistory(id: $id) { actor comment } }", {"id": version["id"]})[
        "approvalHistory"
    ]
    assert [d["actor"] for d in decisions] == ["policy:fraud"]
    assert "incident cleared" in decisions[0]["comment"]
    assert [e["payload"]["comment"] for e in _events(gql, "dataset_version.incident_cleared")] == ["false alarm"]


def test_the_worked_example_from_registration_to_production(gql: GraphQLClient, client_as: ClientAs) -> None:
    """docs/governance.md's worked example, step by step, with the events it lists."""
    gql.data('mutation { createModelGroup(input: {name: "fraud-detector"}) { name } }')
    gql.data(
        """mutation {
          setRegistrationContract(group: "fraud-detector", contract: {
            requiredMetrics: [{name: "auc", split: "validation"}]
            requiredHyperparameters: [{name: "max_depth", type: INTEGER}]
            requiredProperties: [{name: "team", allowedValues: ["risk"]}]
            requireTrainingData: true, requireCodeVersion: true, aliasPattern: "champion|challenger"
          }) { version }
          setLifecycleStages(group: "fraud-detector", stages: [
            {name: "Development"}
            {name: "Staging", gate: {metricThresholds: [{name: "auc", operator: ">=", threshold: 0.85}]}}
            {name: "Production", gate: {requireApproved: true, requireApprover: true,
                                        forbidOpenIncidentsUpstream: true, requireDeploymentTo: ["staging"]}}
            {name: "Archived"}
          ]) { stages { name } }
          setPromotionPolicy(group: "fraud-detector", policy: {toStage: "Staging"}) { principal }
        }"""
    )
    pipeline, bob = client_as("pipeline", Role.CONTRIBUTOR), client_as("bob", Role.APPROVER)
    good = {**GOOD, "group": "fraud-detector", "customProperties": {"team": "risk"}}
    body = pipeline.execute(REGISTER, {"input": {**good, "customProperties": {}}})
    assert problem_fields(body) == ["customProperties.team"]
    version = pipeline.data(REGISTER, {"input": good})["registerModelVersion"]
    assert (version["version"], version["stage"], version["contractVersion"]) == (1, "Staging", 1)
    pipeline.data(
        'mutation($id: ID!) { createDeployment(input: {endpoint: "fraud-staging", environment: "staging", '
        "modelVersionId: $id, trafficShare: 100}) { id } }",
        {"id": version["id"]},
    )
    body = pipeline.execute(SET_STAGE, {"id": version["id"], "stage": "Production"})
    assert [p["code"] for p in body["errors"][0]["extensions"]["problems"]] == ["GATE_APPROVAL", "GATE_APPROVER"]
    bob.data("mutation($id: ID!) { approveModelVersion(id: $id) { decision { actor } } }", {"id": version["id"]})
    assert bob.data(SET_STAGE, {"id": version["id"], "stage": "Production"})["setModelVersionStage"]["stage"] == (
        "Production"
    )

    log = gql.data("{ auditLog(first: 100) { edges { node { actor action outcome } } } }")["auditLog"]["edges"]
    events = [(e["node"]["action"], e["node"]["actor"], e["node"]["outcome"]) for e in reversed(log)]
    events = [e for e in events if not e[0].startswith(("token.", "model_group.create"))]
    assert events == [
        ("model_group.contract_set", "test-admin", "OK"),
        ("model_group.stages_set", "test-admin", "OK"),
        ("model_group.promotion_set", "test-admin", "OK"),
        ("model_version.register", "pipeline", "OK"),
        ("model_version.stage_changed", "policy:fraud-detector", "OK"),
        ("deployment.create", "pipeline", "OK"),
        ("model_version.stage_changed", "pipeline", "REFUSED"),
        ("model_version.approve", "bob", "OK"),
        ("model_version.stage_changed", "bob", "OK"),
    ]
