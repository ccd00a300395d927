"""The group rules beyond approval, without a database: contracts, safe patterns, stage gates, automated
promotion's limits and the retention plan."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from lineage_graph.domain.approval import ApprovalPolicy, MetricRequirement
from lineage_graph.domain.contracts import (
    RegistrationContract,
    RegistrationFacts,
    RequiredHyperparameter,
    RequiredMetric,
    RequiredProperty,
    ValueType,
    check_alias,
    check_registration,
)
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.lifecycle import (
    DEFAULT_STAGES,
    LifecyclePolicy,
    StageChange,
    StageDefinition,
    StageEvidence,
    StageGate,
    gate_problems,
)
from lineage_graph.domain.models import ApprovalStatus, Metric
from lineage_graph.domain.patterns import full_match, pattern_problem
from lineage_graph.domain.promotion import PromotionPolicy, policy_principal
from lineage_graph.domain.retention import RetentionCandidate, RetentionPolicy, plan_archival

CONTRACT = RegistrationContract(
    required_metrics=(RequiredMetric("auc", "validation"),),
    required_hyperparameters=(RequiredHyperparameter("max_depth", ValueType.INTEGER),),
    required_properties=(RequiredProperty("team", ("risk", "growth")), RequiredProperty("ticket", pattern=r"ML-\d+")),
    require_training_data=True,
    require_code_version=True,
    tag_vocabulary=("nightly", "candidate"),
    alias_pattern=r"(champion|challenger)(-[a-z]+)?",
)


def test_a_compliant_registration_meets_the_contract() -> None:
    facts = RegistrationFacts(
        metrics=(Metric("auc", 0.9, split="validation"),),
        hyperparameters={"max_depth": 6},
        custom_properties={"team": "risk", "ticket": "ML-12"},
        tags=("nightly",),
        has_training_data=True,
        has_code_version=True,
    )
    assert check_registration(CONTRACT, facts) == []


def test_every_violation_is_listed_with_its_field() -> None:
    facts = RegistrationFacts(
        metrics=(Metric("auc", 0.9, split="train"),),
        hyperparameters={"max_depth": "6"},
        custom_properties={"team": "ops", "ticket": "JIRA-1"},
        tags=("nightly", "wip"),
    )
    problems = check_registration(CONTRACT, facts)
    assert [(p.field, p.code) for p in problems] == [
        ("metrics.auc", "CONTRACT_METRIC_MISSING"),
        ("hyperparameters.max_depth", "CONTRACT_HYPERPARAMETER_TYPE"),
        ("customProperties.team", "CONTRACT_VALUE"),
        ("customProperties.ticket", "CONTRACT_VALUE"),
        ("trainedOn", "CONTRACT_LINEAGE_MISSING"),
        ("code", "CONTRACT_LINEAGE_MISSING"),
        ("tags[1]", "CONTRACT_TAG"),
    ]


def test_value_types_do_not_confuse_booleans_with_numbers() -> None:
    assert ValueType.INTEGER.accepts(3)
    assert ValueType.INTEGER.accepts(3.0)
    assert not ValueType.INTEGER.accepts(True)
    assert not ValueType.NUMBER.accepts(False)
    assert ValueType.NUMBER.accepts(0.1)
    assert not ValueType.NUMBER.accepts("0.1")
    assert ValueType.BOOLEAN.accepts(False)
    assert not ValueType.STRING.accepts(1)


def test_alias_pattern() -> None:
    assert check_alias(CONTRACT, "champion") == []
    assert check_alias(CONTRACT, "challenger-eu") == []
    assert [p.code for p in check_alias(CONTRACT, "best")] == ["CONTRACT_ALIAS"]


def test_the_contract_round_trips_through_json() -> None:
    assert RegistrationContract.from_json(CONTRACT.to_json()) == CONTRACT


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+$", r"(a|aa)*b", r"(\d*)*", r"((ab)*)+", r"(.*a){1,}", r"(a)\1", r"(?=a)b", "x" * 201, "[", ""],
)
def test_hostile_or_broken_patterns_are_refused(pattern: str) -> None:
    assert pattern_problem(pattern) is not None


@pytest.mark.parametrize("pattern", [r"ML-\d+", r"(?:eu|us)-[a-z]+", r"[a-z][a-z0-9_-]{0,62}", r"(ab)+c", r"[()+*]+"])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


def test_an_accepted_pattern_matches_a_long_hostile_value_quickly() -> None:
    started = time.monotonic()
    assert not full_match(r"[a-z]+[0-9]*x", "a" * 1024 + "!")
    assert time.monotonic() - started < 1.0


def test_a_hostile_contract_is_refused_with_each_field_named() -> None:
    hostile = RegistrationContract(
        required_metrics=(RequiredMetric(""),),
        required_properties=(RequiredProperty("env", pattern=r"(a+)+$"), RequiredProperty("x", ("a",), "a")),
        tag_vocabulary=("bad tag",),
        alias_pattern=r"(x|y)*",
    )
    with pytest.raises(ValidationFailed) as refused:
        hostile.validate()
    assert [p.field for p in refused.value.problems] == [
        "requiredMetrics[0].name",
        "requiredProperties[0].pattern",
        "requiredProperties[1].pattern",
        "tagVocabulary[0]",
        "aliasPattern",
    ]


# ---- lifecycle ----------------------------------------------------------------------------------------
PRODUCTION_GATE = StageGate(
    require_approved=True,
    require_approver=True,
    metric_thresholds=(MetricRequirement("auc", ">=", 0.85),),
    forbid_open_incidents_upstream=True,
    require_deployment_to=("staging",),
)
STAGES = LifecyclePolicy(
    (StageDefinition("Development"), StageDefinition("Staging"), StageDefinition("Production", PRODUCTION_GATE))
)


def _evidence(**changes: object) -> StageEvidence:
    base: dict[str, object] = {
        "stage": "Staging",
        "stage_status": "Approved",
        "approval_status": ApprovalStatus.APPROVED,
        "metrics": (Metric("auc", 0.9),),
        "open_incidents_upstream": (),
        "deployment_environments": ("staging",),
        "by_approver": True,
    }
    return StageEvidence(**{**base, **changes})  # type: ignore[arg-type]


def test_a_gate_refuses_with_every_unmet_condition() -> None:
    evidence = _evidence(
        approval_status=ApprovalStatus.PENDING_MANUAL_APPROVAL,
        metrics=(Metric("auc", 0.7),),
        open_incidents_upstream=("s3://lake/tx@1",),
        deployment_environments=(),
        by_approver=False,
    )
    problems = gate_problems(STAGES, evidence, StageChange("Production", "Approved"))
    assert [p.code for p in problems] == [
        "GATE_APPROVAL",
        "GATE_APPROVER",
        "GATE_METRIC",
        "GATE_INCIDENT",
        "GATE_DEPLOYMENT",
    ]
    assert gate_problems(STAGES, _evidence(), StageChange("Production", "Approved")) == []


def test_unknown_stage_and_repeated_transition_are_refused() -> None:
    assert [p.code for p in gate_problems(STAGES, _evidence(), StageChange("Canary", "Approved"))] == ["UNKNOWN_STAGE"]
    assert [p.code for p in gate_problems(STAGES, _evidence(), StageChange("Staging", "Approved"))] == [
        "ALREADY_IN_STAGE"
    ]
    assert gate_problems(STAGES, _evidence(), StageChange("Staging", "InProgress")) == []


@pytest.mark.parametrize(
    ("stages", "field"),
    [
        ((StageDefinition("Development"), StageDefinition("Staging")), "stages"),
        ((StageDefinition("Production"),), "stages"),
        ((StageDefinition("Production"), StageDefinition("production")), "stages[1].name"),
        ((StageDefinition("Dev!"), StageDefinition("Production")), "stages[0].name"),
        (
            (
                StageDefinition("Dev"),
                StageDefinition("Production", StageGate(metric_thresholds=(MetricRequirement("auc", "~", 1),))),
            ),
            "stages[1].gate.metricThresholds[0].operator",
        ),
    ],
)
def test_nonsensical_stage_lists_are_refused(stages: tuple[StageDefinition, ...], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        LifecyclePolicy(stages).validate()
    assert field in [p.field for p in refused.value.problems]


def test_stages_round_trip_through_json() -> None:
    assert LifecyclePolicy.from_json(STAGES.to_json()) == STAGES
    assert LifecyclePolicy.from_json(None).stages == DEFAULT_STAGES


# ---- promotion ----------------------------------------------------------------------------------------
def test_automated_approval_never_stands_in_for_a_second_person() -> None:
    policy = PromotionPolicy(approve=True)
    assert [p.code for p in policy.problems(STAGES, ApprovalPolicy())] == ["AUTOMATION_NOT_ALLOWED"]
    assert [p.code for p in policy.problems(STAGES, ApprovalPolicy(four_eyes=False, min_approvers=2))] == [
        "AUTOMATION_NOT_ALLOWED"
    ]
    assert policy.problems(STAGES, ApprovalPolicy(four_eyes=False)) == []


def test_automated_promotion_targets_a_stage_a_policy_may_enter() -> None:
    assert PromotionPolicy(to_stage="Staging").problems(STAGES, ApprovalPolicy()) == []
    codes = [p.code for p in PromotionPolicy(to_stage="Production").problems(STAGES, ApprovalPolicy())]
    assert codes == ["GATE_APPROVER"]
    assert [p.code for p in PromotionPolicy(to_stage="Nope").problems(STAGES, ApprovalPolicy())] == ["UNKNOWN_STAGE"]


def test_the_policy_principal_approves_only_its_group() -> None:
    principal = policy_principal("fraud")
    assert principal.name == "policy:fraud"
    assert principal.may_approve("fraud")
    assert not principal.may_approve("other")


# ---- retention ----------------------------------------------------------------------------------------
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _candidate(version: int, stage: str = "Development", age_days: int = 1, **changes: object) -> RetentionCandidate:
    base: dict[str, object] = {
        "group": "g",
        "version": version,
        "stage": stage,
        "created_at": NOW - timedelta(days=age_days),
        "approval_status": ApprovalStatus.PENDING_MANUAL_APPROVAL,
        "aliases": (),
        "deployed": False,
    }
    return RetentionCandidate(**{**base, **changes})  # type: ignore[arg-type]


def test_keep_last_n_per_stage_never_archives_what_is_deployed_or_aliased() -> None:
    candidates = [
        _candidate(1),
        _candidate(2, deployed=True),
        _candidate(3, aliases=("champion",)),
        _candidate(4),
        _candidate(5),
        _candidate(6, stage="Production"),
    ]
    plan = plan_archival(RetentionPolicy(keep_last_per_stage=2), candidates, NOW)
    assert [(p.version, p.reasons) for p in plan] == [(1, ("beyond the last 2 in stage Development",))]


def test_old_versions_are_archived_unless_approved_aliased_or_deployed() -> None:
    candidates = [
        _candidate(1, age_days=40),
        _candidate(2, age_days=40, approval_status=ApprovalStatus.APPROVED),
        _candidate(3, age_days=40, aliases=("x",)),
        _candidate(4, age_days=40, deployed=True),
        _candidate(5, age_days=10),
    ]
    plan = plan_archival(RetentionPolicy(archive_older_than_days=30), candidates, NOW)
    assert [p.version for p in plan] == [1]


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        (RetentionPolicy(keep_last_per_stage=-1), "keepLastPerStage"),
        (RetentionPolicy(keep_last_per_stage=0), "keepLastPerStage"),
        (RetentionPolicy(archive_older_than_days=-5), "archiveOlderThanDays"),
    ],
)
def test_nonsensical_retention_is_refused(policy: RetentionPolicy, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        policy.validate()
    assert [p.field for p in refused.value.problems] == [field]
