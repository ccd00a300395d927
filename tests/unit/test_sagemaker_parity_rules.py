"""The SageMaker API's pure rules: approval descriptions, tags, search expressions, group resource policies,
ModelMetrics report references and the verbatim package spec."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

from lineage_graph.domain.approval import MetricRequirement
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.lifecycle import (
    LifecyclePolicy,
    StageChange,
    StageDefinition,
    StageGate,
    registration_gate_problems,
)
from lineage_graph.domain.model_card_exports import artifact_uri, export_problems
from lineage_graph.domain.models import ApprovalStatus, Metric
from lineage_graph.domain.sagemaker import (
    Vote,
    approval_description,
    merge_tags,
    metric_report_uris,
    metrics_from_reports,
    package_spec,
    tags_from_aws,
)
from lineage_graph.domain.sagemaker_lifecycle import stage_change
from lineage_graph.domain.sagemaker_policy import grants_of_policy, with_grant
from lineage_graph.domain.sagemaker_search import Resource, parse_expression
from lineage_graph.integrations.sagemaker.operations import OPERATIONS
from lineage_graph.store.sagemaker_packages import compile_expression

PENDING, APPROVED = ApprovalStatus.PENDING_MANUAL_APPROVAL, ApprovalStatus.APPROVED
GROUP_ARN = "arn:aws:sagemaker:eu-west-1:000000000000:model-package-group/churn"
PACKAGES = "arn:aws:sagemaker:eu-west-1:000000000000:model-package/churn/"


def test_the_approval_description_is_the_latest_comment_with_the_progress_while_pending() -> None:
    assert approval_description([], PENDING, 2) is None
    first = Vote("APPROVE", "alice", "looks fine", PENDING)
    assert approval_description([first], PENDING, 2) == (
        "looks fine (approvals 1 of 2 (alice); PendingManualApproval until 1 more distinct approver approve)"
    )
    second = Vote("APPROVE", "bob", None, APPROVED)
    assert approval_description([first, second], APPROVED, 2) is None
    rejected = Vote("REJECT", "carol", "drift", ApprovalStatus.REJECTED)
    assert approval_description([first, rejected], ApprovalStatus.REJECTED, 2) == "drift"
    # A rejection starts a new round: earlier votes no longer count.
    again = Vote("APPROVE", "dave", None, PENDING)
    assert approval_description([first, rejected, again], PENDING, 3).startswith("approvals 1 of 3 (dave)")


def test_tags_are_key_value_strings() -> None:
    assert tags_from_aws([{"Key": "team", "Value": "risk"}, {"Key": "tier", "Value": ""}]) == [
        ("team", "risk"),
        ("tier", ""),
    ]
    assert merge_tags(["team=risk", "tier"], [("team", "ml"), ("new", "1")], ["tier"]) == ["team=ml", "new=1"]
    with pytest.raises(ValidationFailed, match=r"Tags\[0\]\.Key"):
        tags_from_aws([{"Key": "a=b", "Value": "c"}])
    with pytest.raises(ValidationFailed, match="Tags"):
        tags_from_aws("team=risk")


def test_search_expressions_compile_from_fixed_fragments() -> None:
    expr = parse_expression(
        Resource.MODEL_PACKAGE,
        {
            "Filters": [
                {"Name": "ModelApprovalStatus", "Operator": "Equals", "Value": "Approved"},
                {"Name": "Tags.team", "Operator": "Equals", "Value": "risk"},
            ],
            "SubExpressions": [
                {
                    "Operator": "Or",
                    "Filters": [
                        {"Name": "ModelPackageVersion", "Operator": "GreaterThan", "Value": "3"},
                        {"Name": "ModelPackageGroupName", "Operator": "In", "Value": "a, b"},
                    ],
                }
            ],
        },
    )
    params: dict[str, object] = {}
    where = compile_expression(Resource.MODEL_PACKAGE, expr, params)
    assert where == (
        "(n.approval_status = $p0 AND $p1 IN coalesce(n.tags, []) AND (n.version > $p2 OR n.group IN $p3))"
    )
    assert params == {"p0": "APPROVED", "p1": "team=risk", "p2": 3, "p3": ["a", "b"]}
    nested = parse_expression(
        Resource.MODEL_PACKAGE,
        {
            "NestedFilters": [
                {
                    "NestedPropertyName": "Tags",
                    "Filters": [
                        {"Name": "Tags.Key", "Operator": "Equals", "Value": "team"},
                        {"Name": "Tags.Value", "Operator": "In", "Value": "risk, growth"},
                    ],
                }
            ]
        },
    )
    params = {}
    assert compile_expression(Resource.MODEL_PACKAGE, nested, params) == (
        "(any(t IN coalesce(n.tags, []) WHERE split(t, '=')[0] = $p0 AND "
        "CASE WHEN t CONTAINS '=' THEN substring(t, size(split(t, '=')[0]) + 1) ELSE '' END IN $p1))"
    )
    assert params == {"p0": "team", "p1": ["risk", "growth"]}
    created = parse_expression(
        Resource.MODEL_PACKAGE_GROUP, {"Filters": [{"Name": "CreationTime", "Operator": "LessThan", "Value": "0"}]}
    )
    assert created.conditions[0].value.year == 1970


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ({"Filters": [{"Name": "Nope", "Value": "x"}]}, "SearchExpression.Filters[0].Name"),
        ({"Filters": [{"Name": "ModelPackageVersion", "Value": "x"}]}, "SearchExpression.Filters[0].Value"),
        ({"Filters": [{"Name": "CreationTime", "Operator": "Contains", "Value": "x"}]}, "Filters[0].Operator"),
        ({"Filters": [{"Name": "Tags.a", "Operator": "GreaterThan", "Value": "x"}]}, "Filters[0].Operator"),
        ({"NestedFilters": [{"NestedPropertyName": "x"}]}, "SearchExpression.NestedFilters[0].NestedPropertyName"),
        ({"NestedFilters": [{"NestedPropertyName": "Tags", "Filters": []}]}, "NestedFilters[0].Filters"),
        (
            {"NestedFilters": [{"NestedPropertyName": "Tags", "Filters": [{"Name": "Tags.Colour", "Value": "x"}]}]},
            "NestedFilters[0].Filters[0].Name",
        ),
        (
            {
                "NestedFilters": [
                    {"NestedPropertyName": "Tags", "Filters": [{"Name": "Tags.Key", "Operator": "Exists"}]}
                ]
            },
            "NestedFilters[0].Filters[0].Operator",
        ),
        ({"Operator": "Xor"}, "SearchExpression.Operator"),
    ],
)
def test_unsupported_search_parts_are_refused_naming_them(expression: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_expression(Resource.MODEL_PACKAGE, expression)
    assert field in (exc.value.problems[0].field or "")


def _policy(**statement: object) -> str:
    base = {
        "Sid": "S",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
        "Action": ["sagemaker:DescribeModelPackage"],
        "Resource": GROUP_ARN,
    }
    return json.dumps({"Statement": [{**base, **statement}]})


def test_policies_grant_the_role_their_actions_need() -> None:
    grants = grants_of_policy(
        _policy(Action=["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"], Resource=PACKAGES + "*"),
        "churn",
        GROUP_ARN,
        PACKAGES,
    )
    assert grants == {"alice": Role.APPROVER}
    alice = Principal("alice", Role.VIEWER)
    seen = with_grant(alice, "churn", {"alice": "approver"})
    assert seen.may_approve("churn")
    assert not seen.may_approve("other")
    admin_for_group = Principal("alice", Role.VIEWER, {"churn": Role.ADMIN})
    assert with_grant(admin_for_group, "churn", {"alice": "viewer"}) is admin_for_group  # never lowers


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ({"Effect": "Deny"}, "Effect 'Deny'"),
        ({"Principal": "*"}, "Principal"),
        ({"Action": "sagemaker:*"}, "does not map onto a role"),
        ({"Resource": "*"}, "not this group"),
        ({"Condition": {"Bool": {"aws:SecureTransport": "true"}}}, "uses Condition"),
        ({"Principal": {"AWS": "arn:aws:iam::123456789012:root"}}, "not an IAM user or role"),
    ],
)
def test_statements_outside_the_subset_are_refused_naming_them(statement: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        grants_of_policy(_policy(**statement), "churn", GROUP_ARN, PACKAGES)
    problem = exc.value.problems[0]
    assert problem.field == "ResourcePolicy.Statement[0] (S)"
    assert reason in problem.message


def test_report_references_and_their_metrics() -> None:
    metrics = {
        "ModelQuality": {"Statistics": {"S3Uri": "s3://r/q.json"}, "Constraints": {"S3Uri": "s3://r/c.json"}},
        "Bias": {"Report": {"S3Uri": "s3://r/b.json"}},
        "Unknown": {"Report": {"S3Uri": "s3://r/u.json"}},
    }
    assert metric_report_uris(metrics) == [
        ("ModelQuality.Constraints", "s3://r/c.json"),
        ("ModelQuality.Statistics", "s3://r/q.json"),
        ("Bias.Report", "s3://r/b.json"),
    ]
    found = metrics_from_reports(
        {"ModelQuality.Statistics": {"m": {"auc": {"value": 0.9}}}, "Bias.Report": {"dpl": {"value": 0.1}}}
    )
    assert {(m.name, m.split, m.value) for m in found} == {("auc", "ModelQuality", 0.9), ("dpl", "Bias", 0.1)}


def test_the_package_spec_keeps_everything_without_a_typed_home() -> None:
    request = {
        "ModelPackageGroupName": "g",
        "ModelPackageDescription": "d",
        "Tags": [],
        "ClientToken": "t",
        "Domain": "NLP",
        "InferenceSpecification": {"Containers": [{"Image": "i"}, {"Image": "j"}]},
        "CustomerMetadataProperties": {"a": "b"},
    }
    assert package_spec(request) == {"Domain": "NLP", "InferenceSpecification": request["InferenceSpecification"]}


def test_the_operation_table_covers_the_four_families_and_matches_the_server() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    words = ("ModelPackage", "Artifact", "Action", "Context", "Association", "Lineage", "ModelCard", "Tags", "Search")
    family = {op for op in model.operation_names if any(w in op for w in words)}
    assert len(family) == 50
    table = (Path(__file__).parents[2] / "docs" / "sagemaker.md").read_text()
    rows = re.findall(r"^\| (`.+?) \| (implemented|partial|not implemented|see model cards) \|", table, re.MULTILINE)
    documented = {name: state for names, state in rows for name in re.findall(r"`(\w+)`", names)}
    assert set(documented) == family
    answered = {name for name, state in documented.items() if state in ("implemented", "partial")}
    assert answered == set(OPERATIONS)


# ---- ModelLifeCycle and our stages --------------------------------------------------------------------
def test_model_life_cycle_names_a_stage_of_the_group_ignoring_case() -> None:
    policy = LifecyclePolicy()
    change = stage_change({"Stage": "production", "StageStatus": "Approved", "StageDescription": "go"}, policy)
    assert change == StageChange("Production", "Approved", "go")
    with pytest.raises(ValidationFailed, match=r"ModelLifeCycle\.Stage: 'QA' is not a stage of this model group"):
        stage_change({"Stage": "QA", "StageStatus": "Approved"}, policy)
    with pytest.raises(ValidationFailed) as exc:
        stage_change({"StageDescription": 3}, policy)
    assert [p.field for p in exc.value.problems] == [
        "ModelLifeCycle.Stage",
        "ModelLifeCycle.StageStatus",
        "ModelLifeCycle.StageDescription",
    ]
    with pytest.raises(ValidationFailed, match="must be an object"):
        stage_change("Production", policy)


def test_a_new_version_is_checked_as_it_will_stand() -> None:
    gate = StageGate(
        require_approved=True,
        metric_thresholds=(MetricRequirement("auc", ">=", 0.9, "ModelQuality"),),
        forbid_open_incidents_upstream=True,
    )
    policy = LifecyclePolicy(
        (StageDefinition("Development"), StageDefinition("Staging"), StageDefinition("Production", gate))
    )
    auc = (Metric("auc", 0.95, split="ModelQuality"),)
    codes = [p.code for p in registration_gate_problems(policy, StageChange("Production", "Approved"), auc, True)]
    assert codes == ["GATE_APPROVAL", "GATE_INCIDENT"]  # pending, and its lineage is only checked once it exists
    assert registration_gate_problems(policy, StageChange("Staging", "InProgress"), (), False) == []
    assert registration_gate_problems(policy, StageChange("Development", "InProgress"), (), False) == []


def test_export_jobs_write_one_folder_per_card_and_job() -> None:
    assert artifact_uri("s3://cards/out/", "churn", "q3") == "s3://cards/out/churn/q3/churn.html"
    assert artifact_uri("s3://cards", "churn", "q3") == "s3://cards/churn/q3/churn.html"
    assert export_problems("q3", "s3://cards") == []
    fields = [p.field for p in export_problems("-bad name", "https://cards")]
    assert fields == ["ModelCardExportJobName", "OutputConfig.S3OutputPath"]
    assert [p.field for p in export_problems("q3", "s3://")] == ["OutputConfig.S3OutputPath"]
