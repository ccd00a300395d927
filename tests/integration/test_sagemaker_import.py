"""The SageMaker importer against moto in server mode, seeded through boto3; the result read through GraphQL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import boto3
import pytest
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.cli import main
from lineage_graph.config import Settings
from lineage_graph.integrations.sagemaker.source import Boto3SageMakerSource
from lineage_graph.services.container import Services
from lineage_graph.services.sagemaker_import import ImportSummary, SageMakerImporter, SourcePackage
from lineage_graph.store.graph import Neo4jGraph
from tests.aws_support import REGION
from tests.support import GraphQLClient, graph_counts

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
QUALITY_REPORT = {
    "version": 0.0,
    "binary_classification_metrics": {
        "accuracy": {"value": 0.91, "standard_deviation": 0.01},
        "auc": {"value": 0.95, "standard_deviation": 0.02},
        "confusion_matrix": {"0": {"0": 10, "1": 2}},
    },
}


def _clients(url: str) -> tuple[Any, Any]:
    return (
        boto3.client("sagemaker", region_name=REGION, endpoint_url=url),
        boto3.client("s3", region_name=REGION, endpoint_url=url),
    )


def _training_job(sm: Any, name: str, data: str) -> str:
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "xgboost:1", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": data}}}
        ],
        OutputDataConfig={"S3OutputPath": "s3://out/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
        HyperParameters={"eta": "0.1", "max_depth": "6"},
    )
    arn: str = sm.describe_training_job(TrainingJobName=name)["TrainingJobArn"]
    return arn


def _package(sm: Any, group: str, uri: str, **extra: Any) -> str:
    arn: str = sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "xgboost:1", "ModelDataUrl": uri, "Framework": "XGBOOST"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        **extra,
    )["ModelPackageArn"]
    return arn


def _endpoint(sm: Any, name: str, variants: list[tuple[str, str, float]], environment: str) -> None:
    for model, package_arn, _ in variants:
        sm.create_model(ModelName=model, PrimaryContainer={"ModelPackageName": package_arn}, ExecutionRoleArn=ROLE)
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": model,
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": weight,
            }
            for model, _, weight in variants
        ],
    )
    sm.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config", Tags=[{"Key": "environment", "Value": environment}]
    )


@pytest.fixture
def seeded(aws: str) -> dict[str, str]:
    """Two groups; churn has a package named by its training job, one matched by artifact, and an endpoint
    splitting traffic 3:1 between them."""
    sm, s3 = _clients(aws)
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="churn/1/quality.json", Body=json.dumps(QUALITY_REPORT).encode())
    job1 = _training_job(sm, "churn-train-1", "s3://data/churn/2024-01/")
    _training_job(sm, "churn-train-2", "s3://data/churn/2024-02/")
    sm.create_model_package_group(ModelPackageGroupName="churn", ModelPackageGroupDescription="churn prediction")
    sm.create_model_package_group(ModelPackageGroupName="other")
    v1 = _package(
        sm,
        "churn",
        "s3://out/churn-train-1/output/model.tar.gz",
        ModelPackageDescription="first",
        ModelApprovalStatus="Approved",
        MetadataProperties={"GeneratedBy": job1, "CommitId": "0123abcd4567", "Repository": "git@github.com:acme/churn"},
        CustomerMetadataProperties={"team": "growth"},
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": "s3://reports/churn/1/quality.json"}
            }
        },
    )
    v2 = _package(sm, "churn", "s3://out/churn-train-2/output/model.tar.gz", ModelPackageDescription="second")
    _package(sm, "other", "s3://out/other/model.tar.gz")
    _endpoint(sm, "churn-live", [("churn-a", v1, 3.0), ("churn-b", v2, 1.0)], "staging")
    return {"v1": v1, "v2": v2, "job1": job1, "url": aws}


def _import(settings: Settings, url: str, groups: tuple[str, ...] = (), since: datetime | None = None) -> ImportSummary:
    async def run() -> ImportSummary:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            importer = SageMakerImporter(Services.build(graph))
            return await importer.run(Boto3SageMakerSource.connect(REGION, url), groups, since)
        finally:
            await graph.close()

    return asyncio.run(run())


VERSION = """query($v: Int!) { modelVersion(group: "churn", version: $v) {
  description approvalStatus artifactUri framework customProperties metrics { name value split }
  trainedOn { namespace name version }
  producedBy { runId kind status jobName parameters metrics { name value } inputs { namespace name } }
  code { repository commit }
  deployments { endpoint environment trafficShare status }
} }"""


def test_import_maps_registry_lineage_and_endpoints(
    seeded: dict[str, str],
    settings: Settings,
    gql: GraphQLClient,
    db: Driver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    monkeypatch.setenv("NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    url = seeded["url"]
    assert main(["import", "sagemaker", "--region", REGION, "--endpoint-url", url, "--group", "churn"]) == 0
    out = capsys.readouterr().out
    assert "SageMaker import" in out

    v1 = gql.data(VERSION, {"v": 1})["modelVersion"]
    assert v1["description"] == "first"
    assert v1["approvalStatus"] == "APPROVED"
    assert v1["artifactUri"] == "s3://out/churn-train-1/output/model.tar.gz"
    assert v1["framework"] == "XGBOOST"
    assert v1["customProperties"]["team"] == "growth"
    assert v1["customProperties"]["sagemaker:arn"] == seeded["v1"]
    assert v1["customProperties"]["sagemaker:version"] == "1"
    assert {(m["name"], m["value"], m["split"]) for m in v1["metrics"]} == {
        ("accuracy", 0.91, "ModelQuality"),
        ("auc", 0.95, "ModelQuality"),
    }
    # Lineage from the endpoint back to the training data, through the training job's run.
    assert v1["producedBy"]["runId"] == seeded["job1"]
    assert v1["producedBy"]["kind"] == "TRAINING"
    assert v1["producedBy"]["status"] == "COMPLETED"
    assert v1["producedBy"]["parameters"] == {"eta": "0.1", "max_depth": "6"}
    assert v1["producedBy"]["inputs"] == [{"namespace": "s3://data", "name": "churn/2024-01"}]
    assert v1["trainedOn"] == [{"namespace": "s3://data", "name": "churn/2024-01", "version": "unversioned"}]
    assert v1["code"] == [{"repository": "git@github.com:acme/churn", "commit": "0123abcd4567"}]
    assert v1["deployments"] == [
        {"endpoint": "churn-live", "environment": "staging", "trafficShare": 75.0, "status": "ACTIVE"}
    ]

    v2 = gql.data(VERSION, {"v": 2})["modelVersion"]
    assert v2["approvalStatus"] == "PENDING_MANUAL_APPROVAL"
    # No GeneratedBy: matched to its training job by the artifact it wrote.
    assert v2["producedBy"]["jobName"] == "churn-train-2"
    assert v2["trainedOn"] == [{"namespace": "s3://data", "name": "churn/2024-02", "version": "unversioned"}]
    assert v2["deployments"] == [
        {"endpoint": "churn-live", "environment": "staging", "trafficShare": 25.0, "status": "ACTIVE"}
    ]
    assert gql.data('{ modelGroup(name: "other") { name } }')["modelGroup"] is None

    imported = db.execute_query(
        "MATCH (e:AuditEvent {action: 'model_version.approval_imported'}) RETURN e.payload AS p, e.actor AS a"
    ).records
    assert len(imported) == 1
    assert json.loads(imported[0]["p"])["imported"] is True
    assert imported[0]["a"].startswith("operator:")  # the CLI audits admin commands as their operator
    decision = db.execute_query(
        "MATCH (d:ApprovalDecision)-[:DECIDES]->(:ModelVersion {group: 'churn', version: 1}) RETURN d.evidence AS e"
    ).records
    assert json.loads(decision[0]["e"]) == {"imported": True, "source": seeded["v1"]}
    # The package's document as SageMaker described it is kept, for the SageMaker-compatible API to answer with.
    spec = db.execute_query("MATCH (v:ModelVersion {group: 'churn', version: 1}) RETURN v.external_spec AS s").records[
        0
    ]["s"]
    assert json.loads(spec)["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]


def test_second_import_changes_nothing(seeded: dict[str, str], settings: Settings, db: Driver) -> None:
    url = seeded["url"]
    first = _import(settings, url)
    assert first.counts["versions"]["created"] == 3
    assert first.counts["runs"]["created"] == 2
    assert first.counts["deployments"]["created"] == 2
    assert first.counts["approvals"]["created"] == 1
    assert first.failures == []
    before = graph_counts(db)
    audit = db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS n").records[0]["n"]

    second = _import(settings, url)
    assert second.changed == 0
    assert second.counts["versions"]["unchanged"] == 3
    assert second.counts["runs"]["unchanged"] == 2
    assert second.counts["deployments"]["unchanged"] == 2
    assert graph_counts(db) == before
    assert db.execute_query("MATCH (e:AuditEvent) RETURN count(e) AS n").records[0]["n"] == audit


def test_changes_in_sagemaker_are_picked_up(seeded: dict[str, str], settings: Settings, gql: GraphQLClient) -> None:
    url = seeded["url"]
    _import(settings, url, ("churn",))
    sm, _ = _clients(url)
    sm.update_model_package(ModelPackageArn=seeded["v2"], ModelApprovalStatus="Rejected", ApprovalDescription="drift")
    since = datetime.now(UTC) - timedelta(minutes=5)
    again = _import(settings, url, ("churn",), since)
    assert again.counts["approvals"]["created"] == 1
    assert again.counts["versions"]["updated"] == 1  # the approval description is kept on the version
    assert gql.data(VERSION, {"v": 2})["modelVersion"]["approvalStatus"] == "REJECTED"
    future = datetime.now(UTC) + timedelta(days=1)
    nothing = _import(settings, url, ("churn",), future)
    assert nothing.counts["versions"] == {}  # --since: nothing created after tomorrow
    assert nothing.changed == 0


def test_versions_continue_after_existing_ones(seeded: dict[str, str], settings: Settings, gql: GraphQLClient) -> None:
    gql.data('mutation { createModelGroup(input: {name: "churn"}) { name } }')
    gql.data('mutation { registerModelVersion(input: {group: "churn", artifactUri: "s3://mine/0"}) { version } }')
    _import(settings, seeded["url"], ("churn",))
    v2 = gql.data(VERSION, {"v": 2})["modelVersion"]
    assert v2["customProperties"]["sagemaker:version"] == "1"
    assert v2["customProperties"]["sagemaker:arn"] == seeded["v1"]


class _LifeCycleSource(Boto3SageMakerSource):
    """moto's DescribeModelPackage drops ModelLifeCycle; this reads everything else from moto and adds the
    ModelLifeCycle that SageMaker would have described for each package."""

    lifecycles: ClassVar[dict[str, dict[str, str]]] = {}

    def _package(self, arn: str) -> SourcePackage:
        return replace(super()._package(arn), lifecycle=self.lifecycles.get(arn, {}))


def test_imported_model_life_cycle_becomes_the_stage(
    seeded: dict[str, str], settings: Settings, gql: GraphQLClient, db: Driver
) -> None:
    _LifeCycleSource.lifecycles = {
        seeded["v1"]: {"Stage": "production", "StageStatus": "Approved", "StageDescription": "live"},
        seeded["v2"]: {"Stage": "Production", "StageStatus": "Approved"},  # pending: the gate refuses
    }

    def run() -> ImportSummary:
        async def go() -> ImportSummary:
            graph = Neo4jGraph.connect(graph_settings(settings))
            try:
                source = _LifeCycleSource.connect(REGION, seeded["url"])
                return await SageMakerImporter(Services.build(graph)).run(source, ("churn",))
            finally:
                await graph.close()

        return asyncio.run(go())

    first = run()
    assert first.counts["stages"] == {"updated": 1, "failed": 1}
    [failure] = first.failures
    assert failure.startswith(f"{seeded['v2']}: ")
    assert "requires an APPROVED version" in failure
    stage = 'query($v: Int!) { modelVersion(group: "churn", version: $v) { stage stageStatus stageDescription } }'
    assert gql.data(stage, {"v": 1})["modelVersion"] == {
        "stage": "Production",
        "stageStatus": "Approved",
        "stageDescription": "live",
    }
    assert gql.data(stage, {"v": 2})["modelVersion"]["stageStatus"] is None  # never moved: where it was
    moved = db.execute_query(
        "MATCH (e:AuditEvent {action: 'model_version.stage_changed', subject: 'ModelVersion:churn/1'}) "
        "RETURN e.outcome AS outcome"
    ).records
    assert [r["outcome"] for r in moved] == ["OK"]
    # Imported again: the stage is where SageMaker has it, nothing changes.
    _LifeCycleSource.lifecycles = {seeded["v1"]: _LifeCycleSource.lifecycles[seeded["v1"]]}
    again = run()
    assert again.counts["stages"] == {"unchanged": 1}
