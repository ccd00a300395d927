"""The unmodified boto3 `sagemaker` client against the live server's /sagemaker endpoint, signed with SigV4
keys issued by `lineage-graph sagemaker-key create`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from neo4j import Driver

from lineage_graph.cli import main
from lineage_graph.config import Settings
from tests.support import GraphQLClient, graph_counts

Client = Any  # mypy_boto3_sagemaker's client; tests are not type-checked strictly
MakeClient = Callable[..., Client]


@pytest.fixture
def issue_key(
    settings: Settings, db: Driver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[str, str], tuple[str, str]]:
    """Issue a key through the CLI, as an admin would; returns (access key id, secret)."""
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    monkeypatch.setenv("NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("LINEAGE_GRAPH_DATA_DIR", str(settings.data_dir))

    def issue(name: str, role: str) -> tuple[str, str]:
        capsys.readouterr()
        assert main(["sagemaker-key", "create", "--name", name, "--role", role]) == 0
        out = capsys.readouterr().out
        key_id = re.search(r"aws_access_key_id = (\S+)", out)
        secret = re.search(r"aws_secret_access_key = (\S+)", out)
        assert key_id, out
        assert secret, out
        return key_id[1], secret[1]

    return issue


@pytest.fixture
def client(base_url: str, issue_key: Callable[[str, str], tuple[str, str]]) -> MakeClient:
    def make(name: str = "pipeline", role: str = "contributor", secret: str | None = None) -> Client:
        key_id, issued_secret = issue_key(name, role)
        return _boto(base_url, key_id, secret or issued_secret)

    return make


def _boto(base_url: str, key_id: str, secret: str) -> Client:
    return boto3.client(
        "sagemaker",
        region_name="eu-west-1",
        endpoint_url=f"{base_url}/sagemaker",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _package(sm: Client, group: str, uri: str, **extra: Any) -> str:
    arn: str = sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "123.dkr.ecr/xgb:1", "ModelDataUrl": uri, "Framework": "XGBOOST"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **extra,
    )["ModelPackageArn"]
    return arn


def test_create_list_approve_and_query_lineage(client: MakeClient, gql: GraphQLClient) -> None:
    pipeline = client("pipeline", "contributor")
    reviewer = client("reviewer", "approver")
    group_arn = pipeline.create_model_package_group(
        ModelPackageGroupName="churn", ModelPackageGroupDescription="churn model"
    )["ModelPackageGroupArn"]
    assert group_arn == "arn:aws:sagemaker:eu-west-1:000000000000:model-package-group/churn"

    data_arn = pipeline.create_artifact(
        ArtifactType="DataSet",
        Source={"SourceUri": "s3://data/churn/train.csv", "SourceTypes": [{"SourceIdType": "S3ETag", "Value": "e1"}]},
    )["ArtifactArn"]
    action_arn = pipeline.create_action(
        ActionName="train-churn-1",
        ActionType="Training",
        Source={"SourceUri": "s3://code/train.py"},
        Status="Completed",
    )["ActionArn"]
    pipeline.add_association(SourceArn=data_arn, DestinationArn=action_arn, AssociationType="ContributedTo")
    package_arn = _package(
        pipeline,
        "churn",
        "s3://models/churn/1/model.tar.gz",
        ModelPackageDescription="first",
        MetadataProperties={"GeneratedBy": "train-churn-1", "CommitId": "a1b2c3d4e5f6", "Repository": "git@x:churn"},
        CustomerMetadataProperties={"team": "growth"},
        ModelLifeCycle={"Stage": "Development", "StageStatus": "Approved"},
    )
    assert package_arn.endswith(":model-package/churn/1")

    listed = pipeline.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert [(p["ModelPackageVersion"], p["ModelApprovalStatus"]) for p in listed] == [(1, "PendingManualApproval")]

    reviewer.update_model_package(
        ModelPackageArn=package_arn, ModelApprovalStatus="Approved", ApprovalDescription="looks good"
    )
    described = pipeline.describe_model_package(ModelPackageName=package_arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "looks good"
    assert described["CustomerMetadataProperties"] == {"team": "growth"}
    assert described["ModelLifeCycle"] == {"Stage": "Development", "StageStatus": "Approved"}
    assert described["MetadataProperties"] == {
        "GeneratedBy": "train-churn-1",
        "CommitId": "a1b2c3d4e5f6",
        "Repository": "git@x:churn",
    }
    assert described["InferenceSpecification"]["Containers"][0]["Image"] == "123.dkr.ecr/xgb:1"
    approved = pipeline.list_model_packages(ModelPackageGroupName="churn", ModelApprovalStatus="Approved")
    assert len(approved["ModelPackageSummaryList"]) == 1

    lineage = pipeline.query_lineage(StartArns=[package_arn], Direction="Ascendants", IncludeEdges=True)
    vertices = {v["Arn"]: (v["Type"], v["LineageType"]) for v in lineage["Vertices"]}
    assert vertices[data_arn] == ("DataSet", "Artifact")
    assert vertices[action_arn] == ("Action", "Action")
    edges = {(e["SourceArn"], e["DestinationArn"], e["AssociationType"]) for e in lineage["Edges"]}
    assert (data_arn, action_arn, "ContributedTo") in edges
    assert (action_arn, package_arn, "Produced") in edges
    down = pipeline.query_lineage(StartArns=[data_arn], Direction="Descendants")
    assert package_arn in {v["Arn"] for v in down["Vertices"]}

    # The same version, through GraphQL: its lineage and the decision.
    data = gql.data(
        """{ modelVersion(group: "churn", version: 1) { approvalStatus
             trainedOn { namespace name version } producedBy { runId } code { commit } } }"""
    )["modelVersion"]
    assert data["approvalStatus"] == "APPROVED"
    assert data["trainedOn"] == [{"namespace": "s3://data", "name": "churn/train.csv", "version": "e1"}]
    assert data["producedBy"] == {"runId": "train-churn-1"}
    assert data["code"] == [{"commit": "a1b2c3d4e5f6"}]


def test_graphql_versions_show_up_with_their_lineage(client: MakeClient, gql: GraphQLClient) -> None:
    gql.data('mutation { createModelGroup(input: {name: "fraud"}) { name } }')
    gql.data(
        """mutation { registerModelVersion(input: {group: "fraud", artifactUri: "s3://m/fraud/1",
             trainedOnDatasets: [{namespace: "s3://data", name: "fraud/2024", version: "v3"}]}) { version } }"""
    )
    sm = client("auditor", "viewer")
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["fraud"]
    arn = sm.list_model_packages(ModelPackageGroupName="fraud")["ModelPackageSummaryList"][0]["ModelPackageArn"]
    up = sm.query_lineage(StartArns=[arn], Direction="Ascendants")
    data_vertices = [v for v in up["Vertices"] if v["Type"] == "DataSet"]
    assert len(data_vertices) == 1
    associations = sm.list_associations(DestinationArn=arn)["AssociationSummaries"]
    assert [(a["SourceArn"], a["AssociationType"]) for a in associations] == [
        (data_vertices[0]["Arn"], "ContributedTo")
    ]


def test_contexts_and_generic_associations(client: MakeClient) -> None:
    sm = client()
    context_arn = sm.create_context(ContextName="nightly-pipeline", ContextType="Pipeline", Source={"SourceUri": "x"})[
        "ContextArn"
    ]
    action_arn = sm.create_action(ActionName="step-1", ActionType="Processing", Source={"SourceUri": "y"})["ActionArn"]
    sm.add_association(SourceArn=action_arn, DestinationArn=context_arn, AssociationType="AssociatedWith")
    sm.add_association(SourceArn=action_arn, DestinationArn=context_arn, AssociationType="AssociatedWith")  # no-op
    found = sm.list_associations(SourceArn=action_arn, AssociationType="AssociatedWith")["AssociationSummaries"]
    assert [(a["DestinationArn"], a["DestinationType"]) for a in found] == [(context_arn, "Context")]
    both = sm.query_lineage(StartArns=[context_arn], Direction="Both", IncludeEdges=True)
    assert {v["Arn"] for v in both["Vertices"]} == {context_arn, action_arn}


def test_pagination_with_next_token_and_paginators(client: MakeClient) -> None:
    sm = client()
    sm.create_model_package_group(ModelPackageGroupName="paged")
    for i in range(7):
        _package(sm, "paged", f"s3://m/paged/{i}")
    seen: list[int] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"ModelPackageGroupName": "paged", "MaxResults": 3, "SortBy": "CreationTime"}
        if token:
            kwargs["NextToken"] = token
        page = sm.list_model_packages(**kwargs)
        pages += 1
        seen += [p["ModelPackageVersion"] for p in page["ModelPackageSummaryList"]]
        token = page.get("NextToken")
        if not token:
            break
    assert (pages, seen) == (3, [1, 2, 3, 4, 5, 6, 7])
    paginator = sm.get_paginator("list_model_packages")
    versions = [
        p["ModelPackageVersion"]
        for page in paginator.paginate(
            ModelPackageGroupName="paged", SortOrder="Descending", PaginationConfig={"PageSize": 2}
        )
        for p in page["ModelPackageSummaryList"]
    ]
    assert versions == [7, 6, 5, 4, 3, 2, 1]
    with pytest.raises(ClientError) as exc:
        sm.list_model_packages(ModelPackageGroupName="paged", MaxResults=101)
    assert _code(exc) == "ValidationException"
    assert "MaxResults" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        sm.list_model_packages(ModelPackageGroupName="other", NextToken=page_token_of(sm))
    assert _code(exc) == "ValidationException"


def page_token_of(sm: Client) -> str:
    token: str = sm.list_model_packages(ModelPackageGroupName="paged", MaxResults=1)["NextToken"]
    return token


def test_error_codes(client: MakeClient, db: Driver) -> None:
    sm = client()
    viewer = client("viewer", "viewer")
    sm.create_model_package_group(ModelPackageGroupName="errors")
    with pytest.raises(ClientError) as exc:
        sm.describe_model_package_group(ModelPackageGroupName="missing")
    assert _code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.describe_model_package(ModelPackageName="arn:aws:sagemaker:eu-west-1:000000000000:model-package/errors/9")
    assert _code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.create_model_package_group(ModelPackageGroupName="errors")
    assert _code(exc) == "ConflictException"
    before = graph_counts(db)
    with pytest.raises(ClientError) as exc:
        sm.create_model_package_group(ModelPackageGroupName="bad_name!")
    assert _code(exc) == "ValidationException"
    assert "ModelPackageGroupName" in str(exc.value) or "name" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        sm.create_model_package(ModelPackageGroupName="errors", ModelPackageDescription="no artifact")
    assert _code(exc) == "ValidationException"
    assert "ModelDataUrl" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        viewer.create_model_package_group(ModelPackageGroupName="nope")
    assert _code(exc) == "AccessDeniedException"
    assert graph_counts(db) == before


def test_governance_holds_through_boto3(client: MakeClient, db: Driver) -> None:
    alice = client("alice", "approver")  # may approve, but registers this one herself
    viewer = client("viewer", "viewer")
    alice.create_model_package_group(ModelPackageGroupName="gov")
    arn = _package(alice, "gov", "s3://m/gov/1")
    with pytest.raises(ClientError) as exc:
        alice.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert _code(exc) == "ConflictException"
    assert "four-eyes" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        viewer.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert _code(exc) == "AccessDeniedException"
    assert "approver role" in exc.value.response["Error"]["Message"]
    assert alice.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"
    refused = db.execute_query(
        "MATCH (e:AuditEvent {outcome: 'REFUSED', action: 'model_version.approve'}) RETURN count(e) AS n"
    ).records[0]["n"]
    assert refused == 1  # the approver's four-eyes refusal; the viewer is stopped at the gate, writing nothing


def test_signatures_are_verified(client: MakeClient, base_url: str) -> None:
    good = client("pipeline", "contributor")
    assert good.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    forged = client("pipeline", "contributor", secret="x" * 40)
    with pytest.raises(ClientError) as exc:
        forged.list_model_package_groups()
    assert _code(exc) == "InvalidSignatureException"
    unknown = _boto(base_url, "LGAKUNKNOWNUNKNOWN00", "y" * 40)
    with pytest.raises(ClientError) as exc:
        unknown.list_model_package_groups()
    assert _code(exc) == "UnrecognizedClientException"


def test_a_revoked_key_is_refused(base_url: str, issue_key: Callable[[str, str], tuple[str, str]]) -> None:
    key_id, secret = issue_key("temp", "viewer")
    sm = _boto(base_url, key_id, secret)
    sm.list_model_package_groups()
    assert main(["sagemaker-key", "revoke", key_id]) == 0
    with pytest.raises(ClientError) as exc:
        sm.list_model_package_groups()
    assert _code(exc) == "UnrecognizedClientException"
