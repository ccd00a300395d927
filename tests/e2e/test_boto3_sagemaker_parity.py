"""SageMaker parity: the unmodified boto3 client against one live server (module-scoped, reading ModelMetrics
reports from moto's S3 server), every field of CreateModelPackage/UpdateModelPackage round-tripping exactly,
and the operations of the registry, lineage and tag families with SageMaker's semantics translated to ours.

The graph is emptied once for the module; each test works in groups of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from neo4j import Driver

from lineage_graph.app import graph_settings, sigv4_master_key
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Role
from lineage_graph.services.access_keys import AccessKeyService
from lineage_graph.store.access_keys import AccessKeyStore
from lineage_graph.store.graph import Neo4jGraph
from tests.aws_support import REGION
from tests.support import GraphQLClient, bearer, clean_graph, issue_token, live_server

pytestmark = pytest.mark.slow

Client = Any
MODEL = botocore.session.get_session().get_service_model("sagemaker")
# Server-set members of DescribeModelPackage (not in the request) and request members SageMaker never returns.
SERVER_SET = {
    "ModelPackageName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "CreationTime",
    "ModelPackageStatus",
    "ModelPackageStatusDetails",
    "CreatedBy",
    "LastModifiedTime",
    "LastModifiedBy",
    "ApprovalDescription",
}
NOT_RETURNED = {"Tags", "ClientToken"}
QUALITY = {"binary_classification_metrics": {"auc": {"value": 0.93}, "f1": {"value": 0.81}}}


@pytest.fixture(scope="module")
def sm_env(settings: Settings, driver: Driver, admin_token: str, moto_url: str) -> Iterator[dict[str, Any]]:
    """One server whose S3 is moto; the graph emptied once; SigV4 keys and a GraphQL approver for the module."""
    clean_graph(driver)
    httpx.post(f"{moto_url}/moto-api/reset").raise_for_status()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
        s3.create_bucket(Bucket="reports")
        s3.put_object(Bucket="reports", Key="quality.json", Body=json.dumps(QUALITY).encode())
        keys = _issue_keys(
            settings,
            [
                ("pipeline", Role.CONTRIBUTOR),
                ("reviewer", Role.APPROVER),
                ("second", Role.APPROVER),
                ("guest", Role.VIEWER),
                ("admin-key", Role.ADMIN),
            ],
        )
        server_settings = settings.model_copy(update={"s3_endpoint_url": moto_url})
        with live_server(server_settings) as url:
            clients = {name: _boto(url, *key) for name, key in keys.items()}
            approver = issue_token(settings, "carol", Role.APPROVER)
            with (
                httpx.Client(base_url=url, timeout=30, headers=bearer(admin_token)) as admin,
                httpx.Client(base_url=url, timeout=30, headers=bearer(approver)) as carol,
            ):
                yield {"sm": clients, "gql": GraphQLClient(admin), "carol": GraphQLClient(carol), "s3": s3}


def _issue_keys(settings: Settings, wanted: list[tuple[str, Role]]) -> dict[str, tuple[str, str]]:
    async def issue() -> dict[str, tuple[str, str]]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            service = AccessKeyService(AccessKeyStore(graph), sigv4_master_key(settings))
            issued = {name: await service.issue(SYSTEM, name, role) for name, role in wanted}
            return {name: (k.key.access_key_id, k.secret) for name, k in issued.items()}
        finally:
            await graph.close()

    return asyncio.run(issue())


def _boto(url: str, key_id: str, secret: str, region: str = "eu-west-1") -> Client:
    return boto3.client(
        "sagemaker",
        region_name=region,
        endpoint_url=f"{url}/sagemaker",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _minimal(sm: Client, group: str, uri: str, **extra: Any) -> str:
    arn: str = sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={"Containers": [{"Image": "img:1", "ModelDataUrl": uri}]},
        **extra,
    )["ModelPackageArn"]
    return arn


def _full_request(group: str) -> dict[str, Any]:
    """A CreateModelPackage request giving a value to every member botocore defines."""
    container = {
        "ContainerHostname": "main",
        "Image": "123.dkr.ecr/xgb:1",
        "ImageDigest": "sha256:0123abcd",
        "ModelDataUrl": f"s3://models/{group}/model.tar.gz",
        "ProductId": "prod-1",
        "Environment": {"SAGEMAKER_PROGRAM": "serve.py"},
        "ModelInput": {"DataInputConfig": '{"input": [1, 3]}'},
        "Framework": "XGBOOST",
        "FrameworkVersion": "1.7",
        "NearestModelName": "xgboost",
        "AdditionalS3DataSource": {
            "S3DataType": "S3Object",
            "S3Uri": "s3://extra/vocab.txt",
            "CompressionType": "None",
        },
        "ModelDataETag": "etag-1",
        "IsCheckpoint": False,
    }
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": "every member",
        "ModelPackageRegistrationType": "Registered",
        "InferenceSpecification": {
            "Containers": [container, {"Image": "123.dkr.ecr/post:1", "ModelDataUrl": f"s3://models/{group}/post"}],
            "SupportedTransformInstanceTypes": ["ml.m5.large"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.xlarge", "ml.c5.xlarge"],
            "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ValidationSpecification": {
            "ValidationRole": "arn:aws:iam::123456789012:role/validate",
            "ValidationProfiles": [
                {
                    "ProfileName": "batch",
                    "TransformJobDefinition": {
                        "TransformInput": {
                            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://v/in"}}
                        },
                        "TransformOutput": {"S3OutputPath": "s3://v/out"},
                        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                    },
                }
            ],
        },
        "SourceAlgorithmSpecification": {
            "SourceAlgorithms": [{"AlgorithmName": "xgboost", "ModelDataUrl": "s3://a/m"}]
        },
        "CertifyForMarketplace": False,
        "Tags": [{"Key": "team", "Value": "risk"}, {"Key": "tier", "Value": ""}],
        "ModelApprovalStatus": "PendingManualApproval",
        "MetadataProperties": {
            "CommitId": "a1b2c3d4e5",
            "Repository": "git@example.com:risk/full",
            "GeneratedBy": f"train-{group}",
            "ProjectId": "p-123",
        },
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://reports/quality.json"}},
            "Bias": {"Report": {"ContentType": "application/json", "S3Uri": "s3://reports/missing.json"}},
        },
        "ClientToken": f"token-{group}",
        "Domain": "MACHINE_LEARNING",
        "Task": "CLASSIFICATION",
        "SamplePayloadUrl": "s3://payloads/sample.csv",
        "CustomerMetadataProperties": {"owner": "risk-ml", "ticket": "RISK-7"},
        "DriftCheckBaselines": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://drift/stats.json"}},
            "Bias": {"ConfigFile": {"ContentType": "application/json", "S3Uri": "s3://drift/bias.json"}},
        },
        "AdditionalInferenceSpecifications": [
            {
                "Name": "gpu",
                "Description": "for GPUs",
                "Containers": [{"Image": "123.dkr.ecr/xgb-gpu:1", "ModelDataUrl": f"s3://models/{group}/gpu"}],
                "SupportedContentTypes": ["text/csv"],
            }
        ],
        "SkipModelValidation": "None",
        "SourceUri": f"s3://models/{group}/source",
        "SecurityConfig": {"KmsKeyId": "alias/models"},
        "ModelCard": {"ModelCardContent": '{"model_overview": {"model_name": "full"}}', "ModelCardStatus": "Draft"},
        "ModelLifeCycle": {"Stage": "Development", "StageStatus": "InProgress", "StageDescription": "first cut"},
        "ManagedStorageType": "DefaultStorage",
    }


def test_create_model_package_round_trips_every_member(sm_env: dict[str, Any]) -> None:
    sm = sm_env["sm"]["pipeline"]
    sm.create_model_package_group(ModelPackageGroupName="full")
    request = _full_request("full")
    members = set(MODEL.operation_model("CreateModelPackage").input_shape.members)
    # Every member but the unversioned package's name, so a new botocore member fails here until handled.
    assert members - set(request) == {"ModelPackageName"}
    arn = sm.create_model_package(**request)["ModelPackageArn"]
    described = sm.describe_model_package(ModelPackageName=arn)
    described.pop("ResponseMetadata")
    expected = {k: v for k, v in request.items() if k not in NOT_RETURNED}
    assert {k: described[k] for k in expected} == expected
    assert set(described) - set(expected) <= SERVER_SET | {"ModelPackageName"}
    assert described["ModelPackageName"] == "full"
    assert described["ModelPackageVersion"] == 1
    assert sm.list_tags(ResourceArn=arn)["Tags"] == request["Tags"]
    # The readable report became typed metrics; the unreadable one says so, in Describe and in GraphQL.
    statuses = described["ModelPackageStatusDetails"]["ValidationStatuses"]
    assert {s["Name"]: s["Status"] for s in statuses} == {
        "ModelMetrics.Bias.Report": "Failed",
        "ModelMetrics.ModelQuality.Statistics": "Completed",
    }
    version = sm_env["gql"].data(
        '{ modelVersion(group: "full", version: 1) { metrics { name value split } '
        "customProperties tags code { commit } producedBy { runId } } }"
    )["modelVersion"]
    assert {(m["name"], m["split"]): m["value"] for m in version["metrics"]} == {
        ("auc", "ModelQuality"): 0.93,
        ("f1", "ModelQuality"): 0.81,
    }
    assert version["customProperties"]["sagemaker:metrics_report.Bias.Report"].startswith("unreadable: s3://")
    assert version["tags"] == ["team=risk", "tier"]
    assert version["code"] == [{"commit": "a1b2c3d4e5"}]
    assert version["producedBy"] == {"runId": "train-full"}
    # The same ClientToken returns the same package instead of a second one.
    assert sm.create_model_package(**request)["ModelPackageArn"] == arn


def test_update_model_package_round_trips_every_member(sm_env: dict[str, Any]) -> None:
    sm, reviewer = sm_env["sm"]["pipeline"], sm_env["sm"]["reviewer"]
    sm.create_model_package_group(ModelPackageGroupName="upd")
    arn = _minimal(sm, "upd", "s3://m/upd/1", CustomerMetadataProperties={"a": "1", "b": "2"})
    update = {
        "ModelPackageArn": arn,
        "ModelApprovalStatus": "Approved",
        "ApprovalDescription": "reviewed the report",
        "ModelPackageRegistrationType": "Registered",
        "CustomerMetadataProperties": {"c": "3"},
        "CustomerMetadataPropertiesToRemove": ["a"],
        "AdditionalInferenceSpecificationsToAdd": [
            {"Name": "arm", "Containers": [{"Image": "img-arm:1", "ModelDataUrl": "s3://m/upd/1"}]}
        ],
        "InferenceSpecification": {
            "Containers": [{"Image": "img:2", "ModelDataUrl": "s3://m/upd/1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        "SourceUri": "s3://m/upd/source",
        "ModelCard": {"ModelCardContent": "{}", "ModelCardStatus": "PendingReview"},
        "ModelLifeCycle": {"Stage": "Staging", "StageStatus": "Approved"},
        "ClientToken": "upd-1",
    }
    assert set(MODEL.operation_model("UpdateModelPackage").input_shape.members) == set(update)
    assert reviewer.update_model_package(**update)["ModelPackageArn"] == arn
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "reviewed the report"
    assert described["CustomerMetadataProperties"] == {"b": "2", "c": "3"}
    assert described["AdditionalInferenceSpecifications"] == update["AdditionalInferenceSpecificationsToAdd"]
    for name in ("InferenceSpecification", "SourceUri", "ModelCard", "ModelLifeCycle", "ModelPackageRegistrationType"):
        assert described[name] == update[name], name
    # A changed artifact is refused and nothing of that request is written.
    with pytest.raises(ClientError) as exc:
        sm.update_model_package(
            ModelPackageArn=arn,
            SourceUri="s3://elsewhere",
            InferenceSpecification={"Containers": [{"Image": "x", "ModelDataUrl": "s3://m/other"}]},
        )
    assert _code(exc) == "ValidationException"
    assert "ModelDataUrl" in str(exc.value)
    assert sm.describe_model_package(ModelPackageName=arn)["SourceUri"] == "s3://m/upd/source"


def test_approvals_from_either_facade_say_what_happened(sm_env: dict[str, Any]) -> None:
    sm, reviewer, second = (sm_env["sm"][n] for n in ("pipeline", "reviewer", "second"))
    gql, carol = sm_env["gql"], sm_env["carol"]
    sm.create_model_package_group(ModelPackageGroupName="two-eyes")
    gql.data('mutation { setApprovalPolicy(group: "two-eyes", policy: {minApprovers: 2}) { minApprovers } }')
    arn = _minimal(sm, "two-eyes", "s3://m/two/1")
    response = reviewer.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="first look"
    )
    header = response["ResponseMetadata"]["HTTPHeaders"]["x-lineage-graph-approval"]
    assert header.startswith("approvals 1 of 2 (reviewer)")
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ApprovalDescription"].startswith("first look (approvals 1 of 2 (reviewer);")
    second.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="agreed")
    assert sm.describe_model_package(ModelPackageName=arn)["ApprovalDescription"] == "agreed"
    # A decision taken in GraphQL is the ApprovalDescription boto3 reads.
    gid = gql.data('{ modelVersion(group: "two-eyes", version: 1) { id } }')["modelVersion"]["id"]
    carol.data('mutation($id: ID!) { rejectModelVersion(id: $id, comment: "drift found") { __typename } }', {"id": gid})
    described = sm.describe_model_package(ModelPackageName=arn)
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Rejected", "drift found")


def test_mixed_flow_register_approve_tag_search_delete_and_trace(sm_env: dict[str, Any]) -> None:
    sm, guest = sm_env["sm"]["pipeline"], sm_env["sm"]["guest"]
    gql, carol = sm_env["gql"], sm_env["carol"]
    sm.create_model_package_group(ModelPackageGroupName="mixed")
    gql.data(
        'mutation { setApprovalPolicy(group: "mixed", policy: {requiredMetrics: '
        '[{name: "auc", operator: ">=", threshold: 0.9}]}) { minApprovers } }'
    )
    data = sm.create_artifact(ArtifactType="DataSet", Source={"SourceUri": "s3://lake/mixed.csv"})["ArtifactArn"]
    metrics = {
        "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://reports/quality.json"}}
    }
    first = _minimal(
        sm,
        "mixed",
        "s3://m/mixed/1",
        ModelMetrics=metrics,
        ModelLifeCycle={"Stage": "Staging", "StageStatus": "InProgress"},
    )
    second = _minimal(sm, "mixed", "s3://m/mixed/2")
    for arn in (first, second):
        sm.add_association(SourceArn=data, DestinationArn=arn, AssociationType="ContributedTo")
    ids = gql.data(
        '{ a: modelVersion(group: "mixed", version: 1) { id } b: modelVersion(group: "mixed", version: 2) { id } }'
    )
    # The metric policy is met by the metrics read from the report; version 2 has none and is refused.
    carol.data(
        'mutation($id: ID!) { approveModelVersion(id: $id, comment: "auc ok") { __typename } }', {"id": ids["a"]["id"]}
    )
    refused = carol.execute(
        "mutation($id: ID!) { approveModelVersion(id: $id) { __typename } }", {"id": ids["b"]["id"]}
    )
    assert "the metric is not recorded" in json.dumps(refused["errors"])
    carol.data(
        'mutation($id: ID!) { rejectModelVersion(id: $id, comment: "no metrics") { __typename } }',
        {"id": ids["b"]["id"]},
    )
    described = guest.describe_model_package(ModelPackageName=first)
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Approved", "auc ok")
    assert described["ModelLifeCycle"] == {"Stage": "Staging", "StageStatus": "InProgress"}

    sm.add_tags(ResourceArn=first, Tags=[{"Key": "release", "Value": "2026-12"}])
    assert gql.data('{ modelVersion(group: "mixed", version: 1) { tags } }')["modelVersion"]["tags"] == [
        "release=2026-12"
    ]
    found = guest.search(
        Resource="ModelPackage",
        SearchExpression={
            "Filters": [
                {"Name": "Tags.release", "Operator": "Equals", "Value": "2026-12"},
                {"Name": "ModelApprovalStatus", "Operator": "Equals", "Value": "Approved"},
            ]
        },
    )
    assert [r["ModelPackage"]["ModelPackageArn"] for r in found["Results"]] == [first]
    assert found["Results"][0]["ModelPackage"]["Tags"] == [{"Key": "release", "Value": "2026-12"}]

    sm.delete_model_package(ModelPackageName=second)
    listed = guest.list_model_packages(ModelPackageGroupName="mixed")["ModelPackageSummaryList"]
    assert [p["ModelPackageVersion"] for p in listed] == [1]
    with pytest.raises(ClientError) as exc:
        guest.describe_model_package(ModelPackageName=second)
    assert _code(exc) == "ResourceNotFound"
    # The tombstone keeps its lineage and its number.
    up = guest.query_lineage(StartArns=[second], Direction="Ascendants", IncludeEdges=True)
    assert data in {v["Arn"] for v in up["Vertices"]}
    assert _minimal(sm, "mixed", "s3://m/mixed/3").endswith("/mixed/3")
    deleted = gql.data('{ modelVersion(group: "mixed", version: 2) { archived approvalStatus } }')["modelVersion"]
    assert deleted == {"archived": True, "approvalStatus": "REJECTED"}


def test_deletes_are_refused_while_something_depends_on_them(sm_env: dict[str, Any]) -> None:
    sm, reviewer, gql = sm_env["sm"]["pipeline"], sm_env["sm"]["reviewer"], sm_env["gql"]
    sm.create_model_package_group(ModelPackageGroupName="served")
    arn = _minimal(sm, "served", "s3://m/served/1")
    reviewer.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    gid = gql.data('{ modelVersion(group: "served", version: 1) { id } }')["modelVersion"]["id"]
    gql.data(
        'mutation($id: ID!) { createDeployment(input: {endpoint: "ep", environment: "production", '
        "modelVersionId: $id}) { id } }",
        {"id": gid},
    )
    with pytest.raises(ClientError) as exc:
        sm.delete_model_package(ModelPackageName=arn)
    assert _code(exc) == "ConflictException"
    assert "deployed to ep" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        sm.delete_model_package_group(ModelPackageGroupName="served")
    assert _code(exc) == "ConflictException"
    sm.create_model_package_group(ModelPackageGroupName="empty")
    sm.delete_model_package_group(ModelPackageGroupName="empty")
    with pytest.raises(ClientError) as exc:
        sm.describe_model_package_group(ModelPackageGroupName="empty")
    assert _code(exc) == "ResourceNotFound"
    names = [
        g["ModelPackageGroupName"]
        for g in sm.list_model_package_groups(NameContains="empty")["ModelPackageGroupSummaryList"]
    ]
    assert names == []
    # A deleted group takes no versions from any door (checked under the group's lock).
    refused = gql.execute(
        'mutation { registerModelVersion(input: {group: "empty", artifactUri: "s3://m/empty/1"}) { version } }'
    )
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    sm.create_model_package_group(ModelPackageGroupName="empty", ModelPackageGroupDescription="back")
    assert sm.describe_model_package_group(ModelPackageGroupName="empty")["ModelPackageGroupDescription"] == "back"


def test_paging_is_full_and_edges_stay_on_their_page(sm_env: dict[str, Any]) -> None:
    sm = sm_env["sm"]["pipeline"]
    for name in ("page-alpha", "page-beta", "page-alphabet"):
        sm.create_model_package_group(ModelPackageGroupName=name)
        _minimal(sm, name, f"s3://m/{name}/1")
    pages, token, seen = 0, None, []
    while True:
        kwargs: dict[str, Any] = {"NameContains": "ALPHA", "MaxResults": 1, **({"NextToken": token} if token else {})}
        page = sm.list_model_packages(**kwargs)
        pages += 1
        assert len(page["ModelPackageSummaryList"]) == 1  # never a short page
        seen.append(page["ModelPackageSummaryList"][0]["ModelPackageGroupName"])
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == ["page-alpha", "page-alphabet"]
    arn = sm.list_model_packages(ModelPackageGroupName="page-beta")["ModelPackageSummaryList"][0]["ModelPackageArn"]
    data = sm.create_artifact(ArtifactType="DataSet", Source={"SourceUri": "s3://lake/beta.csv"})["ArtifactArn"]
    sm.add_association(SourceArn=data, DestinationArn=arn, AssociationType="ContributedTo")
    first = sm.query_lineage(StartArns=[arn], Direction="Ascendants", MaxResults=1)
    arns = {v["Arn"] for v in first["Vertices"]}
    assert all(e["SourceArn"] in arns and e["DestinationArn"] in arns for e in first["Edges"])
    both = sm.query_lineage(StartArns=[arn], Direction="Ascendants", MaxResults=2)
    assert [(e["SourceArn"], e["DestinationArn"]) for e in both["Edges"]] == [(data, arn)]
    assert sm.query_lineage(StartArns=[arn], Direction="Ascendants", IncludeEdges=False)["Edges"] == []
    # A package ARN keeps its region, whatever region the client signs for.
    west = arn.replace(":eu-west-1:", ":us-west-2:")
    assert sm.describe_model_package(ModelPackageName=west)["ModelPackageArn"] == west
    batch = sm.batch_describe_model_package(ModelPackageArnList=[arn, arn.replace("/1", "/9"), "not-an-arn"])
    assert list(batch["ModelPackageSummaries"]) == [arn]
    assert batch["ModelPackageSummaries"][arn]["ModelApprovalStatus"] == "PendingManualApproval"
    assert {k: v["ErrorCode"] for k, v in batch["BatchDescribeModelPackageErrorMap"].items()} == {
        arn.replace("/1", "/9"): "ResourceNotFound",
        "not-an-arn": "ValidationException",
    }
    groups = sm.search(
        Resource="ModelPackageGroup",
        SearchExpression={
            "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Contains", "Value": "page-alpha"}]
        },
        SortBy="ModelPackageGroupName",
        SortOrder="Ascending",
    )
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in groups["Results"]] == [
        "page-alpha",
        "page-alphabet",
    ]
    with pytest.raises(ClientError) as exc:
        sm.search(Resource="ModelPackage", SearchExpression={"Filters": [{"Name": "Nope", "Value": "x"}]})
    assert "SearchExpression.Filters[0].Name" in str(exc.value)
    suggested = sm.get_search_suggestions(
        Resource="ModelPackage", SuggestionQuery={"PropertyNameQuery": {"PropertyNameHint": "ModelPackageV"}}
    )
    assert suggested["PropertyNameSuggestions"] == [{"PropertyName": "ModelPackageVersion"}]


def test_lineage_entities_describe_update_delete_list(sm_env: dict[str, Any]) -> None:
    sm, reviewer = sm_env["sm"]["pipeline"], sm_env["sm"]["reviewer"]
    artifact = {
        "ArtifactName": "features",
        "ArtifactType": "DataSet",
        "Properties": {"rows": "1000"},
        "Source": {
            "SourceUri": "s3://lake/features.parquet",
            "SourceTypes": [{"SourceIdType": "S3ETag", "Value": "e-42"}],
        },
        "MetadataProperties": {"ProjectId": "p-1"},
    }
    art = sm.create_artifact(**artifact, Tags=[{"Key": "domain", "Value": "risk"}])["ArtifactArn"]
    described = sm.describe_artifact(ArtifactArn=art)
    assert {k: described[k] for k in artifact} == artifact
    sm.update_artifact(
        ArtifactArn=art, ArtifactName="features-v2", Properties={"cols": "12"}, PropertiesToRemove=["rows"]
    )
    described = sm.describe_artifact(ArtifactArn=art)
    assert (described["ArtifactName"], described["Properties"]) == ("features-v2", {"cols": "12"})
    assert sm.list_tags(ResourceArn=art)["Tags"] == [{"Key": "domain", "Value": "risk"}]
    action = {
        "ActionName": "score-risk",
        "ActionType": "Scoring",
        "Source": {"SourceUri": "s3://code/score.py"},
        "Description": "nightly",
        "Status": "Completed",
        "Properties": {"k": "v"},
    }
    act = sm.create_action(**action)["ActionArn"]
    described = sm.describe_action(ActionName="score-risk")
    assert {k: described[k] for k in action} == action
    sm.update_action(ActionName="score-risk", Status="Failed", Description="rerun")
    assert sm.describe_action(ActionName="score-risk")["Status"] == "Failed"
    context = {
        "ContextName": "risk-pipeline",
        "ContextType": "Pipeline",
        "Source": {"SourceUri": "arn:pipe"},
        "Description": "the pipeline",
        "Properties": {"owner": "risk"},
    }
    ctx = sm.create_context(**context)["ContextArn"]
    described = sm.describe_context(ContextName="risk-pipeline")
    assert {k: described[k] for k in context} == context
    sm.update_context(ContextName="risk-pipeline", Properties={"stage": "prod"})
    assert sm.describe_context(ContextName="risk-pipeline")["Properties"] == {"owner": "risk", "stage": "prod"}
    listed = sm.list_artifacts(SourceUri="s3://lake/features.parquet")["ArtifactSummaries"]
    assert [a["ArtifactArn"] for a in listed] == [art]
    assert [a["ActionArn"] for a in sm.list_actions(ActionType="Scoring")["ActionSummaries"]] == [act]
    assert [c["ContextArn"] for c in sm.list_contexts(ContextType="Pipeline")["ContextSummaries"]] == [ctx]

    sm.add_association(SourceArn=act, DestinationArn=ctx, AssociationType="AssociatedWith")
    sm.delete_association(SourceArn=act, DestinationArn=ctx)
    assert sm.list_associations(SourceArn=act)["AssociationSummaries"] == []
    sm.delete_context(ContextName="risk-pipeline")
    with pytest.raises(ClientError):
        sm.describe_context(ContextName="risk-pipeline")
    assert sm.list_contexts(ContextType="Pipeline")["ContextSummaries"] == []
    sm.delete_action(ActionName="score-risk")
    sm.delete_artifact(ArtifactArn=art)
    assert sm.list_artifacts(SourceUri="s3://lake/features.parquet")["ArtifactSummaries"] == []
    # The evidence of an approved version is not deleted from under it.
    sm.create_model_package_group(ModelPackageGroupName="evidence")
    pkg = _minimal(sm, "evidence", "s3://m/evidence/1")
    data = sm.create_artifact(ArtifactType="DataSet", Source={"SourceUri": "s3://lake/evidence.csv"})["ArtifactArn"]
    sm.add_association(SourceArn=data, DestinationArn=pkg, AssociationType="ContributedTo")
    reviewer.update_model_package(ModelPackageArn=pkg, ModelApprovalStatus="Approved")
    with pytest.raises(ClientError) as exc:
        sm.delete_association(SourceArn=data, DestinationArn=pkg)
    assert _code(exc) == "ConflictException"


def test_tags_and_group_policy(sm_env: dict[str, Any]) -> None:
    sm, guest, admin = sm_env["sm"]["pipeline"], sm_env["sm"]["guest"], sm_env["sm"]["admin-key"]
    group_arn = sm.create_model_package_group(
        ModelPackageGroupName="shared", Tags=[{"Key": "cost-center", "Value": "42"}]
    )["ModelPackageGroupArn"]
    sm.add_tags(ResourceArn=group_arn, Tags=[{"Key": "cost-center", "Value": "43"}, {"Key": "env", "Value": "dev"}])
    sm.delete_tags(ResourceArn=group_arn, TagKeys=["env"])
    assert sm.list_tags(ResourceArn=group_arn)["Tags"] == [{"Key": "cost-center", "Value": "43"}]
    # Governance tags carry a decision: a contributor may neither set nor clear them, an approver may.
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=group_arn, Tags=[{"Key": "pii", "Value": ""}])
    assert _code(exc) == "AccessDeniedException"
    sm_env["sm"]["reviewer"].add_tags(ResourceArn=group_arn, Tags=[{"Key": "pii", "Value": ""}])
    with pytest.raises(ClientError) as exc:
        sm.delete_tags(ResourceArn=group_arn, TagKeys=["pii"])
    assert _code(exc) == "AccessDeniedException"
    assert sm_env["gql"].data('{ modelGroup(name: "shared") { tags } }')["modelGroup"]["tags"] == [
        "cost-center=43",
        "pii",
    ]
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=group_arn, Tags=[{"Key": "has space", "Value": "x"}])
    assert _code(exc) == "ValidationException"

    arn = _minimal(sm, "shared", "s3://m/shared/1")
    with pytest.raises(ClientError) as exc:  # the guest is a viewer
        guest.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert _code(exc) == "AccessDeniedException"
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReviewersApprove",
                    "Effect": "Allow",
                    "Principal": {"AWS": ["arn:aws:iam::000000000000:user/guest"]},
                    "Action": ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
                    "Resource": [group_arn, group_arn.replace("model-package-group/shared", "model-package/shared/*")],
                }
            ],
        }
    )
    with pytest.raises(ClientError) as exc:  # policies are an admin's
        sm.put_model_package_group_policy(ModelPackageGroupName="shared", ResourcePolicy=policy)
    assert _code(exc) == "AccessDeniedException"
    admin.put_model_package_group_policy(ModelPackageGroupName="shared", ResourcePolicy=policy)
    assert admin.get_model_package_group_policy(ModelPackageGroupName="shared")["ResourcePolicy"] == policy
    guest.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")  # granted by the policy
    assert guest.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"
    deny = json.dumps(
        {"Statement": [{"Sid": "NoOne", "Effect": "Deny", "Principal": "*", "Action": "sagemaker:*", "Resource": "*"}]}
    )
    with pytest.raises(ClientError) as exc:
        admin.put_model_package_group_policy(ModelPackageGroupName="shared", ResourcePolicy=deny)
    assert _code(exc) == "ValidationException"
    assert "Statement[0] (NoOne)" in str(exc.value)
    assert admin.get_model_package_group_policy(ModelPackageGroupName="shared")["ResourcePolicy"] == policy
    admin.delete_model_package_group_policy(ModelPackageGroupName="shared")
    with pytest.raises(ClientError):
        admin.get_model_package_group_policy(ModelPackageGroupName="shared")


# ---- ModelLifeCycle is the version's lifecycle stage -----------------------------------------------------
STAGE = """query($v: Int!) { modelVersion(group: "staged", version: $v) {
  id stage stageStatus stageDescription approvalStatus } }"""
MOVE = """mutation($id: ID!, $stage: String!, $status: String) {
  setModelVersionStage(id: $id, stage: $stage, stageStatus: $status) { stage stageStatus } }"""
HISTORY = "query($id: ID!) { stageHistory(id: $id) { fromStage toStage toStatus actor } }"


def test_model_life_cycle_is_the_stage_whichever_api_moved_it(sm_env: dict[str, Any]) -> None:
    sm, reviewer, gql = sm_env["sm"]["pipeline"], sm_env["sm"]["reviewer"], sm_env["gql"]
    sm.create_model_package_group(ModelPackageGroupName="staged")
    # The stage is named as the group names it, ignoring case.
    arn = _minimal(
        sm,
        "staged",
        "s3://m/staged/1",
        ModelLifeCycle={"Stage": "staging", "StageStatus": "InProgress", "StageDescription": "canary"},
    )
    lifecycle = {"Stage": "Staging", "StageStatus": "InProgress", "StageDescription": "canary"}
    assert sm.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == lifecycle
    version = gql.data(STAGE, {"v": 1})["modelVersion"]
    assert (version["stage"], version["stageStatus"], version["stageDescription"]) == (
        "Staging",
        "InProgress",
        "canary",
    )
    # A version never moved has no ModelLifeCycle, as in SageMaker.
    unmoved = _minimal(sm, "staged", "s3://m/staged/2")
    assert "ModelLifeCycle" not in sm.describe_model_package(ModelPackageName=unmoved)

    # Moved in GraphQL, read back in every boto3 read.
    gql.data(MOVE, {"id": version["id"], "stage": "Development", "status": "Approved"})
    moved = {"Stage": "Development", "StageStatus": "Approved"}
    assert sm.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == moved
    listed = sm.list_model_packages(ModelPackageGroupName="staged")["ModelPackageSummaryList"]
    assert [p.get("ModelLifeCycle") for p in listed] == [moved, None]
    found = sm.search(
        Resource="ModelPackage",
        SearchExpression={"Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": "staged"}]},
        SortBy="CreationTime",
        SortOrder="Ascending",
    )["Results"]
    assert found[0]["ModelPackage"]["ModelLifeCycle"] == moved

    # An approval and a promotion in one UpdateModelPackage: the gate sees the version as approved.
    reviewer.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved", "StageDescription": "go"},
    )
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ModelLifeCycle"] == {"Stage": "Production", "StageStatus": "Approved", "StageDescription": "go"}
    history = gql.data(HISTORY, {"id": version["id"]})["stageHistory"]
    assert [(t["fromStage"], t["toStage"], t["toStatus"]) for t in history] == [
        ("Development", "Staging", "InProgress"),
        ("Staging", "Development", "Approved"),
        ("Development", "Production", "Approved"),
    ]
    assert history[-1]["actor"] == "reviewer"
    # Setting what is already set is a no-op, as in SageMaker.
    reviewer.update_model_package(
        ModelPackageArn=arn, ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"}
    )
    assert len(gql.data(HISTORY, {"id": version["id"]})["stageHistory"]) == 3
    # A retried CreateModelPackage (same ClientToken) does not undo a later move.
    retry: dict[str, Any] = {"ModelLifeCycle": {"Stage": "Staging", "StageStatus": "InProgress"}, "ClientToken": "st-3"}
    third = _minimal(sm, "staged", "s3://m/staged/3", **retry)
    gql.data(MOVE, {"id": gql.data(STAGE, {"v": 3})["modelVersion"]["id"], "stage": "Development", "status": "Done"})
    assert _minimal(sm, "staged", "s3://m/staged/3", **retry) == third
    assert sm.describe_model_package(ModelPackageName=third)["ModelLifeCycle"] == moved | {"StageStatus": "Done"}


def test_model_life_cycle_refusals_name_every_unmet_gate_and_write_nothing(
    sm_env: dict[str, Any], driver: Driver
) -> None:
    sm, reviewer, gql = sm_env["sm"]["pipeline"], sm_env["sm"]["reviewer"], sm_env["gql"]
    sm.create_model_package_group(ModelPackageGroupName="gated")
    gql.data(
        'mutation($s: [StageInput!]!) { setLifecycleStages(group: "gated", stages: $s) { stages { name } } }',
        {
            "s": [
                {"name": "Development"},
                {"name": "Staging"},
                {
                    "name": "Production",
                    "gate": {
                        "requireApproved": True,
                        "requireApprover": True,
                        "metricThresholds": [
                            {"name": "auc", "operator": ">=", "threshold": 0.95, "split": "ModelQuality"}
                        ],
                    },
                },
                {"name": "Archived"},
            ]
        },
    )
    quality = {
        "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://reports/quality.json"}}
    }
    # Registering straight into Production: refused before anything is written, every gate named.
    with pytest.raises(ClientError) as exc:
        _minimal(
            sm,
            "gated",
            "s3://m/gated/0",
            ModelMetrics=quality,
            ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"},
        )
    assert _code(exc) == "ValidationException"
    message = str(exc.value)
    assert "requires an APPROVED version" in message
    assert "approver role" in message
    assert "auc >= 0.95" in message
    assert "it is 0.93" in message
    assert sm.list_model_packages(ModelPackageGroupName="gated")["ModelPackageSummaryList"] == []
    # A stage the group does not have.
    with pytest.raises(ClientError) as exc:
        _minimal(sm, "gated", "s3://m/gated/0", ModelLifeCycle={"Stage": "QA", "StageStatus": "Approved"})
    assert _code(exc) == "ValidationException"
    assert "ModelLifeCycle.Stage" in str(exc.value)
    assert "Development, Staging, Production, Archived" in str(exc.value)
    assert sm.list_model_packages(ModelPackageGroupName="gated")["ModelPackageSummaryList"] == []

    arn = _minimal(sm, "gated", "s3://m/gated/1", ModelMetrics=quality)
    # Approve and promote together: the metric gate refuses, and the approval is not written either.
    with pytest.raises(ClientError) as exc:
        reviewer.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus="Approved",
            ApprovalDescription="ship it",
            ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"},
        )
    assert _code(exc) == "ValidationException"
    assert "auc >= 0.95" in str(exc.value)
    assert "requires an APPROVED version" not in str(exc.value)  # checked as the version would stand
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert "ModelLifeCycle" not in described
    refused = driver.execute_query(
        "MATCH (e:AuditEvent {action: 'model_version.stage_changed', outcome: 'REFUSED', actor: 'reviewer'}) "
        "WHERE e.subject = 'ModelVersion:gated/1' RETURN count(e) AS n"
    ).records[0]["n"]
    assert refused == 1
    # The same gate refuses the GraphQL door, with the same reasons.
    version = gql.data('{ modelVersion(group: "gated", version: 1) { id } }')["modelVersion"]
    body = sm_env["carol"].execute(MOVE, {"id": version["id"], "stage": "Production", "status": "Approved"})
    assert "auc >= 0.95" in json.dumps(body["errors"])
    decisions = driver.execute_query(
        "MATCH (d:ApprovalDecision)-[:DECIDES]->(:ModelVersion {group: 'gated', version: 1}) RETURN count(d) AS n"
    ).records[0]["n"]
    assert decisions == 0


# ---- model card export jobs ---------------------------------------------------------------------------------
def test_model_card_export_jobs_write_the_card_to_s3(sm_env: dict[str, Any], driver: Driver) -> None:
    sm, guest, s3 = sm_env["sm"]["pipeline"], sm_env["sm"]["guest"], sm_env["s3"]
    sm.create_model_package_group(ModelPackageGroupName="carded")
    package = _minimal(sm, "carded", "s3://m/carded/1")
    content = {"model_overview": {"model_id": package}, "intended_uses": {"intended_uses": "Score <b>loans</b>"}}
    sm.create_model_card(ModelCardName="carded-card", Content=json.dumps(content), ModelCardStatus="Draft")
    content["intended_uses"]["intended_uses"] = "Score loans and leases"
    sm.update_model_card(ModelCardName="carded-card", Content=json.dumps(content))
    s3.create_bucket(Bucket="cards")

    arn = sm.create_model_card_export_job(
        ModelCardName="carded-card", ModelCardExportJobName="first", OutputConfig={"S3OutputPath": "s3://cards/out/"}
    )["ModelCardExportJobArn"]
    assert arn == "arn:aws:sagemaker:eu-west-1:000000000000:model-card/carded-card/export-job/first"
    job = sm.describe_model_card_export_job(ModelCardExportJobArn=arn)
    assert (job["Status"], job["ModelCardName"], job["ModelCardVersion"]) == ("Completed", "carded-card", 2)
    assert job["OutputConfig"] == {"S3OutputPath": "s3://cards/out/"}
    artifact = job["ExportArtifacts"]["S3ExportArtifacts"]
    assert artifact == "s3://cards/out/carded-card/first/carded-card.html"
    written = s3.get_object(Bucket="cards", Key="out/carded-card/first/carded-card.html")
    assert written["ContentType"] == "text/html"
    page = written["Body"].read().decode()
    assert "Score loans and leases" in page
    # An earlier card version, by number; user text stays escaped on the page.
    sm.create_model_card_export_job(
        ModelCardName="carded-card",
        ModelCardVersion=1,
        ModelCardExportJobName="second",
        OutputConfig={"S3OutputPath": "s3://cards/out"},
    )
    old = s3.get_object(Bucket="cards", Key="out/carded-card/second/carded-card.html")["Body"].read().decode()
    assert "Score &lt;b&gt;loans&lt;/b&gt;" in old
    # A store that refuses the write gives a Failed job saying why.
    failed_arn = sm.create_model_card_export_job(
        ModelCardName="carded-card", ModelCardExportJobName="nowhere", OutputConfig={"S3OutputPath": "s3://no-bucket"}
    )["ModelCardExportJobArn"]
    failed = sm.describe_model_card_export_job(ModelCardExportJobArn=failed_arn)
    assert failed["Status"] == "Failed"
    assert "NoSuchBucket" in failed["FailureReason"]
    assert "ExportArtifacts" not in failed

    # Bad input is refused naming the field, and records nothing.
    for bad, field in (
        ({"ModelCardExportJobName": "first", "OutputConfig": {"S3OutputPath": "s3://cards"}}, "first"),
        ({"ModelCardExportJobName": "x", "OutputConfig": {"S3OutputPath": "https://cards"}}, "S3OutputPath"),
        ({"ModelCardExportJobName": "has space", "OutputConfig": {"S3OutputPath": "s3://cards"}}, "JobName"),
    ):
        with pytest.raises(ClientError) as exc:
            sm.create_model_card_export_job(ModelCardName="carded-card", **bad)
        assert _code(exc) in ("ValidationException", "ConflictException")
        assert field in str(exc.value)
    with pytest.raises(ClientError) as exc:
        sm.create_model_card_export_job(
            ModelCardName="no-card", ModelCardExportJobName="x", OutputConfig={"S3OutputPath": "s3://cards"}
        )
    assert _code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:  # a viewer reads jobs but does not write to the store
        guest.create_model_card_export_job(
            ModelCardName="carded-card", ModelCardExportJobName="x", OutputConfig={"S3OutputPath": "s3://cards"}
        )
    assert _code(exc) == "AccessDeniedException"

    listed = guest.list_model_card_export_jobs(ModelCardName="carded-card", SortBy="Name", SortOrder="Ascending")
    assert [(j["ModelCardExportJobName"], j["Status"]) for j in listed["ModelCardExportJobSummaries"]] == [
        ("first", "Completed"),
        ("nowhere", "Failed"),
        ("second", "Completed"),
    ]
    assert [
        j["ModelCardExportJobName"]
        for j in sm.list_model_card_export_jobs(ModelCardName="carded-card", StatusEquals="Failed")[
            "ModelCardExportJobSummaries"
        ]
    ] == ["nowhere"]
    assert (
        sm.list_model_card_export_jobs(ModelCardName="carded-card", ModelCardVersion=1)["ModelCardExportJobSummaries"][
            0
        ]["ModelCardExportJobName"]
        == "second"
    )
    names = []
    kwargs: dict[str, Any] = {"ModelCardName": "carded-card", "MaxResults": 1, "SortBy": "CreationTime"}
    while True:
        page_ = sm.list_model_card_export_jobs(**kwargs)
        assert len(page_["ModelCardExportJobSummaries"]) == 1
        names += [j["ModelCardExportJobName"] for j in page_["ModelCardExportJobSummaries"]]
        if "NextToken" not in page_:
            break
        kwargs["NextToken"] = page_["NextToken"]
    assert names == ["nowhere", "second", "first"]  # newest first by default
    exported = driver.execute_query(
        "MATCH (e:AuditEvent {action: 'model_card.exported', subject: 'ModelCard:carded-card'}) "
        "RETURN e.actor AS actor, e.payload AS payload ORDER BY e.at"
    ).records
    assert [(r["actor"], json.loads(r["payload"])["status"]) for r in exported] == [
        ("pipeline", "Completed"),
        ("pipeline", "Completed"),
        ("pipeline", "Failed"),
    ]


def test_search_nested_filters_need_one_tag_meeting_every_filter(sm_env: dict[str, Any]) -> None:
    sm = sm_env["sm"]["pipeline"]
    sm.create_model_package_group(ModelPackageGroupName="nested", Tags=[{"Key": "tier", "Value": "Risk-Gold"}])
    _minimal(sm, "nested", "s3://m/nested/1", Tags=[{"Key": "team", "Value": "risk"}, {"Key": "tier", "Value": "gold"}])
    _minimal(
        sm, "nested", "s3://m/nested/2", Tags=[{"Key": "team", "Value": "growth"}, {"Key": "tier", "Value": "risk"}]
    )

    def versions(*filters: dict[str, str], **expression: Any) -> list[int]:
        nested = [{"NestedPropertyName": "Tags", "Filters": list(filters)}]
        found = sm.search(
            Resource="ModelPackage",
            SearchExpression={
                "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": "nested"}],
                "NestedFilters": nested,
                **expression,
            },
            SortBy="ModelPackageVersion",
            SortOrder="Ascending",
        )
        return [r["ModelPackage"]["ModelPackageVersion"] for r in found["Results"]]

    tier_risk = ({"Name": "Tags.Key", "Value": "tier"}, {"Name": "Tags.Value", "Value": "risk"})
    assert versions(*tier_risk) == [2]  # version 1 has a tier and a "risk", but not on one tag
    assert versions({"Name": "Tags.Value", "Operator": "In", "Value": "gold, growth"}) == [1, 2]
    assert versions(
        {"Name": "Tags.Key", "Value": "team"}, {"Name": "Tags.Value", "Operator": "NotEquals", "Value": "risk"}
    ) == [2]
    assert versions(*tier_risk, Operator="Or") == [1, 2]  # Or: the group filter alone matches both
    groups = sm.search(
        Resource="ModelPackageGroup",
        SearchExpression={
            "NestedFilters": [
                {
                    "NestedPropertyName": "Tags",
                    "Filters": [{"Name": "Tags.Value", "Operator": "Contains", "Value": "risk-"}],
                }
            ]
        },
    )
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in groups["Results"]] == ["nested"]
    with pytest.raises(ClientError) as exc:
        sm.search(
            Resource="ModelPackage",
            SearchExpression={
                "NestedFilters": [
                    {
                        "NestedPropertyName": "InferenceSpecification.Containers",
                        "Filters": [{"Name": "x", "Value": "y"}],
                    }
                ]
            },
        )
    assert _code(exc) == "ValidationException"
    assert "SearchExpression.NestedFilters[0].NestedPropertyName" in str(exc.value)


def test_lineage_groups_are_the_model_package_groups(sm_env: dict[str, Any]) -> None:
    sm, admin, guest = sm_env["sm"]["pipeline"], sm_env["sm"]["admin-key"], sm_env["sm"]["guest"]
    for name in ("lg-b", "lg-a"):
        sm.create_model_package_group(ModelPackageGroupName=name, ModelPackageGroupDescription=f"{name} lineage")
    described = guest.describe_lineage_group(LineageGroupName="lg-a")
    arn = "arn:aws:sagemaker:eu-west-1:000000000000:lineage-group/lg-a"
    assert described["LineageGroupArn"] == arn
    assert (described["LineageGroupName"], described["DisplayName"]) == ("lg-a", "lg-a")
    assert described["Description"] == "lg-a lineage"
    assert described["CreatedBy"] == {"UserProfileName": "pipeline"}
    group = sm.describe_model_package_group(ModelPackageGroupName="lg-a")
    assert described["CreationTime"] == group["CreationTime"]
    west = arn.replace("eu-west-1", "us-west-2")
    assert guest.describe_lineage_group(LineageGroupName=west)["LineageGroupArn"] == west

    created = sorted(
        (g["CreationTime"], g["ModelPackageGroupName"])
        for g in sm.list_model_package_groups(MaxResults=100)["ModelPackageGroupSummaryList"]
    )
    names, token = [], None
    while True:  # full pages, in creation order, as the groups
        page_ = guest.list_lineage_groups(MaxResults=1, **({"NextToken": token} if token else {}))
        assert len(page_["LineageGroupSummaries"]) == 1
        names += [g["LineageGroupName"] for g in page_["LineageGroupSummaries"]]
        token = page_.get("NextToken")
        if not token:
            break
    assert names == [name for _, name in created]
    by_name = guest.list_lineage_groups(SortBy="Name", SortOrder="Descending", MaxResults=100)
    listed = [g["LineageGroupName"] for g in by_name["LineageGroupSummaries"]]
    assert listed == sorted(listed, reverse=True)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert guest.list_lineage_groups(CreatedAfter=tomorrow)["LineageGroupSummaries"] == []
    assert len(guest.list_lineage_groups(CreatedBefore=tomorrow, MaxResults=100)["LineageGroupSummaries"]) == len(names)

    with pytest.raises(ClientError) as exc:
        guest.get_lineage_group_policy(LineageGroupName="lg-a")
    assert _code(exc) == "ValidationException"
    assert "no resource policy" in str(exc.value)
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Sid": "GuestReads",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::000000000000:user/guest"},
                    "Action": "sagemaker:DescribeModelPackage",
                    "Resource": group["ModelPackageGroupArn"],
                }
            ]
        }
    )
    admin.put_model_package_group_policy(ModelPackageGroupName="lg-a", ResourcePolicy=policy)
    got = guest.get_lineage_group_policy(LineageGroupName=arn)
    assert (got["LineageGroupArn"], got["ResourcePolicy"]) == (arn, policy)
    with pytest.raises(ClientError) as exc:
        guest.describe_lineage_group(LineageGroupName="lg-none")
    assert _code(exc) == "ResourceNotFound"
    assert "LineageGroupName" in str(exc.value) or "lg-none" in str(exc.value)
