"""MLflow's vocabulary mapped onto ours, without I/O: the search filter grammar, stages, sources, runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lineage_graph.domain import mlflow as mf
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.mlflow_runs import record_of
from lineage_graph.domain.models import ApprovalStatus, ModelVersion, RunStatus

ATTRS = frozenset({"name", "run_id", "source_path", "version_number"})
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _version(**fields: object) -> ModelVersion:
    base = ModelVersion(
        group="fraud", version=1, artifact_uri="s3://m/1", artifact_digest=None, framework=None,
        framework_version=None, description=None, hyperparameters={}, metrics=(), custom_properties={}, tags=(),
        approval_status=ApprovalStatus.PENDING_MANUAL_APPROVAL, archived=False, created_by="ci", created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def test_filters_parse_as_mlflow_writes_them() -> None:
    clauses = mf.parse_filter(
        "name = 'fraud' and tags.`team name` LIKE 'risk%' AND run_id IN ('a', \"b\") "
        "AND tags.`mlflow.prompt.is_prompt` != 'true'",
        ATTRS,
        frozenset({"run_id"}),
    )
    assert clauses == [
        mf.Clause("name", False, "=", "fraud"),
        mf.Clause("team name", True, "LIKE", "risk%"),
        mf.Clause("run_id", False, "IN", ("a", "b")),
        mf.Clause("mlflow.prompt.is_prompt", True, "!=", "true"),
    ]
    assert mf.matches(clauses, {"name": "fraud", "run_id": "b"}, {"team name": "risk-ml"})
    assert not mf.matches(clauses, {"name": "fraud", "run_id": "c"}, {"team name": "risk-ml"})
    assert mf.matches(mf.parse_filter("name ILIKE 'FR%'", ATTRS, frozenset()), {"name": "fraud"}, {})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name", "incomplete"),
        ("nam = 'x'", "invalid attribute key 'nam'"),
        ("name = 'x' OR name = 'y'", "expected AND"),
        ("name = x", "needs a quoted value"),
        ("name > 'x'", "invalid comparator"),
        ("name IN ('x')", "IN is only supported"),
        ("run_id IN ('a'", "unclosed IN list"),
        ("name = 'x' ;", "cannot parse"),
    ],
)
def test_bad_filters_name_the_filter_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValidationFailed, match=reason) as refused:
        mf.parse_filter(text, ATTRS, frozenset({"run_id"}))
    assert [p.field for p in refused.value.problems] == ["filter"]


def test_stages_are_approval_archive_and_a_marker() -> None:
    pending, approved = _version(), _version(approval_status=ApprovalStatus.APPROVED)
    assert mf.current_stage(pending) == "None"
    assert mf.current_stage(approved) == "Production"
    assert mf.current_stage(_version(archived=True, approval_status=ApprovalStatus.APPROVED)) == "Archived"
    assert mf.stage_moves(pending, "production") == [mf.StageMove.APPROVE]
    assert mf.stage_moves(approved, "Staging") == [mf.StageMove.REJECT, mf.StageMove.STAGING]
    assert mf.stage_moves(_version(archived=True), "Production") == [mf.StageMove.NONE, mf.StageMove.APPROVE]
    assert mf.stage_moves(approved, "Production") == []
    with pytest.raises(ValidationFailed, match="not one of"):
        mf.stage_moves(pending, "QA")


def test_sources_become_storable_uris() -> None:
    assert mf.artifact_uri_of("models:/m-0123") == "models://m-0123"
    assert mf.artifact_uri_of("mlflow-artifacts:/1/abc/artifacts") == "mlflow-artifacts://1/abc/artifacts"
    assert mf.artifact_uri_of("/srv/models/fraud") == "file:///srv/models/fraud"
    assert mf.artifact_uri_of("s3://bucket/key") == "s3://bucket/key"


def test_a_run_becomes_a_training_run_with_inputs_and_code() -> None:
    run = mf.MlflowRun(
        run_id="abc123", experiment="fraud-training", status="FINISHED", start_ms=1_700_000_000_000,
        end_ms=1_700_000_060_000, params={"eta": "0.3"}, metrics=(("val auc", 0.8, 1), ("val auc", 0.9, 2)),
        datasets=(mf.MlflowDataset("transactions", "d1g3st", "s3", "s3://lake/tx"),
                  mf.MlflowDataset("holdout", "", "code", None)),
        tags={"mlflow.source.git.commit": "3f2c1e9a", "mlflow.source.git.repoURL": "https://github.com/acme/x"},
    )  # fmt: skip
    record = record_of(run)
    assert (record.job_namespace, record.job_name, record.status) == ("mlflow", "fraud-training", RunStatus.COMPLETED)
    assert [(m.name, m.value) for m in record.metrics] == [("val_auc", 0.9)]  # the latest, renamed to our rule
    assert [(d.namespace, d.name, d.version) for d in record.input_specs] == [
        ("s3://lake/tx", "transactions", "d1g3st"),
        ("mlflow-code", "holdout", "unversioned"),
    ]
    assert record.code is not None
    assert (record.code.repository, record.code.commit) == ("https://github.com/acme/x", "3f2c1e9a")
    assert record_of(replace(run, tags={"mlflow.source.git.commit": "not-hex"})).code is None
