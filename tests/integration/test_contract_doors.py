"""Every registration door goes through the group's contract: boto3's CreateModelPackage (SigV4 against the
live server) is refused with each violation, and the SageMaker importer reports-and-skips or imports flagged
as it is told."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from neo4j import Driver

from lineage_graph.app import graph_settings
from lineage_graph.cli import main
from lineage_graph.config import Settings
from lineage_graph.domain.contracts import ContractMode
from lineage_graph.integrations.sagemaker.source import Boto3SageMakerSource
from lineage_graph.services.container import Services
from lineage_graph.services.sagemaker_import import ImportSummary, SageMakerImporter
from lineage_graph.store.graph import Neo4jGraph
from tests.aws_support import REGION
from tests.support import AUDIT_LABELS, GraphQLClient, graph_fingerprint

CONTRACT = """mutation { setRegistrationContract(group: "churn", contract: {
  requiredProperties: [{name: "team", allowedValues: ["growth"]}], requireCodeVersion: true}) { version } }"""
SPEC = {
    "Containers": [{"Image": "xgb:1", "ModelDataUrl": "s3://models/churn.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def _key(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    monkeypatch.setenv("NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("LINEAGE_GRAPH_DATA_DIR", str(settings.data_dir))
    capsys.readouterr()
    assert main(["sagemaker-key", "create", "--name", "pipeline", "--role", "contributor"]) == 0
    out = capsys.readouterr().out
    key_id, secret = re.search(r"aws_access_key_id = (\S+)", out), re.search(r"aws_secret_access_key = (\S+)", out)
    assert key_id, out
    assert secret, out
    return key_id[1], secret[1]


def test_create_model_package_is_held_to_the_contract(
    settings: Settings,
    base_url: str,
    gql: GraphQLClient,
    db: Driver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_id, secret = _key(settings, monkeypatch, capsys)
    sm = boto3.client(
        "sagemaker",
        region_name="eu-west-1",
        endpoint_url=f"{base_url}/sagemaker",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
    sm.create_model_package_group(ModelPackageGroupName="churn")
    gql.data(CONTRACT)
    before = graph_fingerprint(db, AUDIT_LABELS)
    with pytest.raises(ClientError) as refused:
        sm.create_model_package(
            ModelPackageGroupName="churn", InferenceSpecification=SPEC, CustomerMetadataProperties={"team": "ops"}
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "customProperties.team" in error["Message"]
    assert "code: the contract requires a code version" in error["Message"]
    assert graph_fingerprint(db, AUDIT_LABELS) == before
    arn = sm.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification=SPEC,
        CustomerMetadataProperties={"team": "growth"},
        MetadataProperties={"CommitId": "a1b2c3d4e5f6", "Repository": "git@x:churn"},
    )["ModelPackageArn"]
    assert arn.endswith("model-package/churn/1")


def _import(settings: Settings, url: str, mode: ContractMode) -> ImportSummary:
    async def run() -> ImportSummary:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            importer = SageMakerImporter(Services.build(graph), on_contract_violation=mode)
            return await importer.run(Boto3SageMakerSource.connect(REGION, url), ("churn",))
        finally:
            await graph.close()

    return asyncio.run(run())


def test_the_importer_reports_and_skips_or_imports_flagged(
    aws: str, settings: Settings, gql: GraphQLClient, db: Driver
) -> None:
    remote: Any = boto3.client("sagemaker", region_name=REGION, endpoint_url=aws)
    remote.create_model_package_group(ModelPackageGroupName="churn")
    remote.create_model_package(ModelPackageGroupName="churn", InferenceSpecification=SPEC)
    gql.data('mutation { createModelGroup(input: {name: "churn"}) { name } }')
    gql.data(CONTRACT)

    skipped = _import(settings, aws, ContractMode.REFUSE)
    assert skipped.counts["versions"]["skipped"] == 1
    assert skipped.counts["versions"]["failed"] == 0
    assert any("customProperties.team" in f for f in skipped.failures), skipped.failures
    assert gql.data('{ modelGroup(name: "churn") { versionCount } }')["modelGroup"]["versionCount"] == 0

    # Automated approval is on and the (empty) approval policy is met, but a flagged version is never promoted.
    gql.data('mutation { setApprovalPolicy(group: "churn", policy: {fourEyes: false}) { fourEyes } }')
    gql.data('mutation { setPromotionPolicy(group: "churn", policy: {approve: true}) { approve } }')
    flagged = _import(settings, aws, ContractMode.FLAG)
    assert flagged.counts["versions"]["created"] == 1
    version = gql.data(
        '{ modelVersion(group: "churn", version: 1) { contractVersion contractViolations approvalStatus } }'
    )
    assert version["modelVersion"]["contractVersion"] == 1
    assert version["modelVersion"]["approvalStatus"] == "PENDING_MANUAL_APPROVAL"
    assert [v.split(":")[0] for v in version["modelVersion"]["contractViolations"]] == ["customProperties.team", "code"]
