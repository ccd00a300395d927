"""S3 artifact verification against moto server: at registration (present, missing, digest mismatch) through
a live server with the setting on, and the re-verification command reporting drift."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import boto3
import httpx
import pytest
from neo4j import Driver

from lineage_graph.cli import main
from lineage_graph.config import Settings
from tests.aws_support import REGION
from tests.support import GraphQLClient, bearer, error_codes, graph_counts, live_server, problem_fields

MODEL = b"model weights v1"
REGISTER = """mutation($input: RegisterModelVersionInput!) {
  registerModelVersion(input: $input) { version artifactDigest artifactSize artifactEtag } }"""


@pytest.fixture
def s3(aws: str) -> object:
    client = boto3.client("s3", region_name=REGION, endpoint_url=aws)
    client.create_bucket(Bucket="models")
    client.put_object(Bucket="models", Key="churn/1/model.tar.gz", Body=MODEL, ChecksumAlgorithm="SHA256")
    client.put_object(Bucket="models", Key="churn/2/model.tar.gz", Body=b"no checksum kept")
    return client


@pytest.fixture
def verifying(settings: Settings, aws: str, db: Driver, admin_token: str) -> Iterator[GraphQLClient]:
    """A live server with `verify_s3_artifacts` on, pointed at moto."""
    with (
        live_server(settings.model_copy(update={"verify_s3_artifacts": True, "s3_endpoint_url": aws})) as url,
        httpx.Client(base_url=url, timeout=30, headers=bearer(admin_token)) as http,
    ):
        client = GraphQLClient(http)
        client.data('mutation { createModelGroup(input: {name: "churn"}) { name } }')
        yield client


def test_a_present_object_records_size_etag_and_checksum(verifying: GraphQLClient, s3: object) -> None:
    created = verifying.data(REGISTER, {"input": {"group": "churn", "artifactUri": "s3://models/churn/1/model.tar.gz"}})
    version = created["registerModelVersion"]
    assert version["artifactSize"] == len(MODEL)
    assert version["artifactEtag"] == hashlib.md5(MODEL).hexdigest()  # noqa: S324 (S3's single-part ETag)
    assert version["artifactDigest"] == "sha256:" + hashlib.sha256(MODEL).hexdigest()
    declared = "sha256:" + hashlib.sha256(MODEL).hexdigest()
    again = verifying.data(
        REGISTER,
        {"input": {"group": "churn", "artifactUri": "s3://models/churn/1/model.tar.gz", "artifactDigest": declared}},
    )
    assert again["registerModelVersion"]["artifactDigest"] == declared
    # No SHA-256 kept by S3: size and ETag are recorded, a declared digest cannot be checked and is kept.
    other = verifying.data(
        REGISTER,
        {
            "input": {
                "group": "churn",
                "artifactUri": "s3://models/churn/2/model.tar.gz",
                "artifactDigest": "sha256:" + "ab" * 32,
            }
        },
    )
    assert other["registerModelVersion"]["artifactSize"] == len(b"no checksum kept")


def test_a_missing_object_is_refused_and_nothing_written(verifying: GraphQLClient, s3: object, db: Driver) -> None:
    before = graph_counts(db)
    body = verifying.execute(REGISTER, {"input": {"group": "churn", "artifactUri": "s3://models/churn/9/model.tar.gz"}})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == ["artifactUri"]
    assert "does not exist" in body["errors"][0]["message"]
    body = verifying.execute(REGISTER, {"input": {"group": "churn", "artifactUri": "s3://no-such-bucket/x"}})
    assert problem_fields(body) == ["artifactUri"]
    assert graph_counts(db) == before


def test_a_digest_mismatch_is_refused_and_nothing_written(verifying: GraphQLClient, s3: object, db: Driver) -> None:
    before = graph_counts(db)
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    body = verifying.execute(
        REGISTER,
        {"input": {"group": "churn", "artifactUri": "s3://models/churn/1/model.tar.gz", "artifactDigest": wrong}},
    )
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == ["artifactDigest"]
    assert "does not match" in body["errors"][0]["message"]
    assert graph_counts(db) == before


def test_non_s3_artifacts_are_not_checked(verifying: GraphQLClient, s3: object) -> None:
    created = verifying.data(REGISTER, {"input": {"group": "churn", "artifactUri": "gs://bucket/model"}})
    assert created["registerModelVersion"]["artifactSize"] is None


def test_reverify_reports_drift_of_approved_versions(
    verifying: GraphQLClient,
    s3: object,
    db: Driver,
    settings: Settings,
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for n in (1, 2):
        verifying.data(REGISTER, {"input": {"group": "churn", "artifactUri": f"s3://models/churn/{n}/model.tar.gz"}})
    verifying.data(REGISTER, {"input": {"group": "churn", "artifactUri": "s3://models/churn/1/model.tar.gz"}})
    db.execute_query("MATCH (v:ModelVersion) WHERE v.version IN [1, 2] SET v.approval_status = 'APPROVED'")
    assert settings.neo4j_uri is not None
    assert settings.neo4j_password is not None
    monkeypatch.setenv("NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", settings.neo4j_password)
    command = ["artifacts", "verify", "--endpoint-url", aws, "--region", REGION]

    assert main(command) == 0
    assert "checked 2 artifacts, 0 drifted" in capsys.readouterr().out

    client = boto3.client("s3", region_name=REGION, endpoint_url=aws)
    client.put_object(Bucket="models", Key="churn/1/model.tar.gz", Body=b"overwritten!", ChecksumAlgorithm="SHA256")
    client.delete_object(Bucket="models", Key="churn/2/model.tar.gz")
    assert main(command) == 1
    out = capsys.readouterr().out
    assert "DRIFT ModelVersion:churn/1 s3://models/churn/1/model.tar.gz: SIZE_CHANGED" in out
    assert "DRIFT ModelVersion:churn/2 s3://models/churn/2/model.tar.gz: MISSING" in out
    assert "checked 2 artifacts, 2 drifted" in out  # version 3 is not approved: not checked
