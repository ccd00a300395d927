"""SageMaker's model card operations through the unmodified boto3 client, SigV4-signed against /sagemaker,
round-tripped with GraphQL."""

from __future__ import annotations

import json
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
from tests.support import GraphQLClient


@pytest.fixture
def sagemaker(
    settings: Settings,
    db: Driver,
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[[str, str], Any]:
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    monkeypatch.setenv("NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    monkeypatch.setenv("LINEAGE_GRAPH_DATA_DIR", str(settings.data_dir))

    def make(name: str, role: str) -> Any:
        capsys.readouterr()
        assert main(["sagemaker-key", "create", "--name", name, "--role", role]) == 0
        out = capsys.readouterr().out
        key_id = re.search(r"aws_access_key_id = (\S+)", out)
        secret = re.search(r"aws_secret_access_key = (\S+)", out)
        assert key_id, out
        assert secret, out
        return boto3.client(
            "sagemaker",
            region_name="eu-west-1",
            endpoint_url=f"{base_url}/sagemaker",
            aws_access_key_id=key_id[1],
            aws_secret_access_key=secret[1],
            config=Config(retries={"max_attempts": 1}),
        )

    return make


def test_model_cards_round_trip_through_boto3_and_graphql(
    sagemaker: Callable[[str, str], Any], gql: GraphQLClient
) -> None:
    sm = sagemaker("pipeline", "contributor")
    sm.create_model_package_group(ModelPackageGroupName="churn")
    package = sm.create_model_package(
        ModelPackageGroupName="churn",
        InferenceSpecification={
            "Containers": [{"Image": "xgb:1", "ModelDataUrl": "s3://models/churn.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    content = {
        "model_overview": {"model_id": package},
        "intended_uses": {"intended_uses": "Predict churn for retention offers", "risk_rating": "Medium"},
        "additional_information": {"caveats_and_recommendations": "Retrain quarterly"},
    }
    arn = sm.create_model_card(ModelCardName="churn-card", Content=json.dumps(content), ModelCardStatus="Draft")[
        "ModelCardArn"
    ]
    assert arn == "arn:aws:sagemaker:eu-west-1:000000000000:model-card/churn-card"

    described = sm.describe_model_card(ModelCardName="churn-card")
    assert (described["ModelCardVersion"], described["ModelCardStatus"]) == (1, "Draft")
    document = json.loads(described["Content"])
    assert document["model_overview"]["model_id"] == package
    assert document["intended_uses"]["risk_rating"] == "Medium"
    assert document["governance"]["approval_status"] == "PENDING_MANUAL_APPROVAL"

    sm.update_model_card(ModelCardName="churn-card", ModelCardStatus="PendingReview")
    graphql = gql.data('{ modelCard(name: "churn-card") { cardVersion status intendedUses riskRating } }')
    assert graphql["modelCard"] == {
        "cardVersion": 2,
        "status": "PENDING_REVIEW",
        "intendedUses": "Predict churn for retention offers",
        "riskRating": "MEDIUM",
    }
    gql.data(
        'mutation { updateModelCard(name: "churn-card", input: {intendedUses: "Churn", riskRating: LOW}) { name } }'
    )
    again = json.loads(sm.describe_model_card(ModelCardName="churn-card")["Content"])
    assert again["intended_uses"]["intended_uses"] == "Churn"
    versions = sm.list_model_card_versions(ModelCardName="churn-card")["ModelCardVersionSummaryList"]
    assert [(v["ModelCardVersion"], v["ModelCardStatus"]) for v in versions] == [
        (1, "Draft"),
        (2, "PendingReview"),
        (3, "PendingReview"),
    ]
    first = json.loads(sm.describe_model_card(ModelCardName="churn-card", ModelCardVersion=1)["Content"])
    assert first["intended_uses"]["intended_uses"] == "Predict churn for retention offers"
    listed = sm.list_model_cards(NameContains="churn")["ModelCardSummaries"]
    assert [c["ModelCardName"] for c in listed] == ["churn-card"]

    with pytest.raises(ClientError) as refused:
        sm.create_model_card(ModelCardName="other", Content=json.dumps({}), ModelCardStatus="Draft")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "model_overview.model_id" in refused.value.response["Error"]["Message"]

    sm.delete_model_card(ModelCardName="churn-card")
    with pytest.raises(ClientError) as missing:
        sm.describe_model_card(ModelCardName="churn-card")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
