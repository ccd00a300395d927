"""SageMaker mapping rules and SigV4 verification, without a database or a network."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lineage_graph.domain.access_keys import derive_secret, new_access_key_id
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Unauthenticated, ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.domain.sagemaker import (
    GENERIC_EDGE,
    ArnScope,
    approval_from_aws,
    approval_to_aws,
    association_type,
    dataset_of_uri,
    edge_for,
    metrics_from_report,
    package_ref,
    parse_arn,
)
from lineage_graph.integrations.sagemaker.sigv4 import SignatureRejected, Verified, verify

SCOPE = ArnScope("eu-west-1", "000000000000")


@pytest.mark.parametrize(
    "ref",
    [
        NodeRef.of(NodeKind.MODEL_GROUP, "churn"),
        NodeRef.of(NodeKind.MODEL_VERSION, "churn", 12),
        NodeRef.of(NodeKind.DATASET_VERSION, "s3://data", "a/b:c", "v1"),
        NodeRef.of(NodeKind.CODE_VERSION, "git@github.com:acme/x", "abc1234"),
        NodeRef.of(NodeKind.RUN, "3f1c-…"),
        NodeRef.of(NodeKind.JOB, "sagemaker", "nightly"),
    ],
)
def test_every_lineage_node_has_an_arn_that_maps_back(ref: NodeRef) -> None:
    assert parse_arn(SCOPE.node_arn(ref), "arn") == ref


def test_foreign_or_malformed_arns_name_the_field() -> None:
    with pytest.raises(ValidationFailed, match="SourceArn"):
        parse_arn("arn:aws:sagemaker:eu-west-1:1:endpoint/x", "SourceArn")
    with pytest.raises(ValidationFailed, match="StartArns"):
        parse_arn("not-an-arn", "StartArns")
    with pytest.raises(ValidationFailed, match="ModelPackageName"):
        package_ref("arn:aws:sagemaker:eu-west-1:1:model-package-group/churn", "ModelPackageName")
    # An artifact ARN must carry the id of a dataset or code version, not of a run.
    run_id = NodeRef.of(NodeKind.RUN, "r1").global_id
    with pytest.raises(ValidationFailed, match="expected the id of a DatasetVersion or CodeVersion"):
        parse_arn(f"arn:aws:sagemaker:eu-west-1:1:artifact/{run_id}", "SourceArn")


def test_approval_statuses_map_both_ways() -> None:
    for status in ApprovalStatus:
        assert approval_from_aws(approval_to_aws(status)) is status
    with pytest.raises(ValidationFailed, match="ModelApprovalStatus"):
        approval_from_aws("Maybe")


def test_associations_become_our_edges_where_one_fits() -> None:
    d, r, m = NodeKind.DATASET_VERSION, NodeKind.RUN, NodeKind.MODEL_VERSION
    assert edge_for(d, r, "ContributedTo") == "INPUT_TO"
    assert edge_for(r, m, "Produced") == "OUTPUT"
    assert edge_for(m, m, "DerivedFrom") == "DERIVED_FROM"
    assert edge_for(r, NodeKind.JOB, "AssociatedWith") == GENERIC_EDGE
    assert edge_for(d, r, "SameAs") == GENERIC_EDGE
    assert association_type("INPUT_TO", None) == "ContributedTo"
    assert association_type(GENERIC_EDGE, "SameAs") == "SameAs"


def test_dataset_identity_of_uris() -> None:
    assert dataset_of_uri("s3://data/churn/2024/") == ("s3://data", "churn/2024")
    assert dataset_of_uri("s3://data") == ("s3://data", "/")


def test_metric_reports_yield_values_not_matrices() -> None:
    report = {
        "version": 0.0,
        "regression_metrics": {"mse": {"value": 1.5, "standard_deviation": 0.1}, "r2": 0.8},
        "binary_classification_metrics": {"confusion_matrix": {"0": {"0": 3}}, "f0.5 score": {"value": 0.7}},
        "bias": {"pre_training": {"CI": {"value": -0.2}}},
        "nan": {"value": float("nan")},
    }
    found = {(m.name, m.value, m.split) for m in metrics_from_report(report, "ModelQuality")}
    assert found == {
        ("mse", 1.5, "ModelQuality"),
        ("r2", 0.8, "ModelQuality"),
        ("f0.5_score", 0.7, "ModelQuality"),
        ("CI", -0.2, "ModelQuality"),
    }


# ---- SigV4 -------------------------------------------------------------------------------------------------
URL = "http://127.0.0.1:8123/sagemaker/"
KEY_ID = new_access_key_id()
SECRET = derive_secret(b"master", KEY_ID)
ALICE = Principal("alice", Role.CONTRIBUTOR)


def _signed(body: bytes, secret: str = SECRET, region: str = "eu-west-1") -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=URL,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListModelPackages"},
    )
    SigV4Auth(Credentials(KEY_ID, secret), "sagemaker", region).add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "127.0.0.1:8123"
    headers["user-agent"] = "added by a proxy, not signed"
    return headers


async def _lookup(key_id: str) -> tuple[Principal, str]:
    if key_id != KEY_ID:
        raise Unauthenticated("unknown key")
    return ALICE, SECRET


def _verify(headers: dict[str, str], body: bytes, now: datetime | None = None) -> Verified:
    return asyncio.run(verify("POST", URL, headers, body, _lookup, now))


def test_a_botocore_signature_verifies() -> None:
    body = b'{"ModelPackageGroupName": "churn"}'
    verified = _verify(_signed(body), body)
    assert (verified.principal, verified.region, verified.access_key_id) == (ALICE, "eu-west-1", KEY_ID)


def test_tampering_a_wrong_secret_or_an_old_signature_is_refused() -> None:
    body = b'{"ModelPackageGroupName": "churn"}'
    headers = _signed(body)
    with pytest.raises(SignatureRejected, match="does not match") as exc:
        _verify(headers, b'{"ModelPackageGroupName": "other"}')
    assert exc.value.code == "InvalidSignatureException"
    with pytest.raises(SignatureRejected, match="does not match"):
        _verify({**headers, "x-amz-target": "SageMaker.UpdateModelPackage"}, body)
    with pytest.raises(SignatureRejected, match="does not match"):
        _verify(_signed(body, secret="x" * 40), body)
    with pytest.raises(SignatureRejected, match="expired"):
        _verify(headers, body, now=datetime.now(UTC) + timedelta(minutes=20))
    with pytest.raises(SignatureRejected) as missing:
        _verify({k: v for k, v in headers.items() if k != "authorization"}, body)
    assert missing.value.code == "MissingAuthenticationTokenException"


def test_secrets_are_derived_per_key_and_master() -> None:
    assert derive_secret(b"master", KEY_ID) == SECRET
    assert derive_secret(b"other", KEY_ID) != SECRET
    assert derive_secret(b"master", new_access_key_id()) != SECRET
    assert len(SECRET) == 40
