"""The Python client against the real server over HTTP: registration with lineage, runs as context managers,
retry safety behind a proxy that loses a response, back-off on 503, and typed errors carrying the problems."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from neo4j import Driver

from lineage_graph.client import (
    ApprovalRejected,
    ApprovalTimeout,
    AsyncClient,
    Client,
    CodeVersionKey,
    DatasetVersionKey,
    Forbidden,
    NotFound,
    RetryPolicy,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from lineage_graph.client._operations import Operation
from lineage_graph.domain.auth import Role
from tests.faulty_proxy import Faults, faulty_proxy
from tests.support import AUDIT_LABELS, graph_fingerprint

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
DATA = "s3://acme-lake/transactions@2024-06-01"
CODE = "github.com/acme/fraud@3f2c1e9a"

TokenFactory = Callable[..., str]


def _count_versions(db: Driver, group: str) -> int:
    records = db.execute_query("MATCH (v:ModelVersion {group: $g}) RETURN count(v) AS n", g=group).records
    return int(records[0]["n"])


@pytest.fixture
def contributor(base_url: str, make_token: TokenFactory) -> Iterator[Client]:
    with Client(base_url, make_token("training-pipeline", Role.CONTRIBUTOR), retry=FAST) as client:
        client.create_model_group("fraud", description="card fraud")
        yield client


def test_run_and_registration_become_lineage(contributor: Client, db: Driver) -> None:
    with contributor.record_run("train-fraud", inputs=[DATA], code=CODE, parameters={"max_depth": 6}) as run:
        assert run.run is not None
        assert run.run.status == "RUNNING"
        assert run.run.started_at is not None
        run.log_metric("auc", 0.91, split="validation")
    assert run.run is not None
    assert run.run.status == "COMPLETED"
    assert run.run.ended_at is not None
    assert {(m.name, m.value) for m in run.run.metrics} == {("auc", 0.91)}

    version = contributor.register_model_version(
        "fraud",
        "s3://models/fraud/1.tar.gz",
        metrics={"auc": 0.91},
        hyperparameters={"max_depth": 6, "eta": 0.3},
        trained_on=[DatasetVersionKey("s3://acme-lake", "transactions", "2024-06-01")],
        code=CodeVersionKey("github.com/acme/fraud", "3f2c1e9a"),
        produced_by=run,
    )
    assert (version.group, version.version, version.approval_status) == ("fraud", 1, "PENDING_MANUAL_APPROVAL")
    assert version.hyperparameters == {"max_depth": 6, "eta": 0.3}
    assert version.created_by == "training-pipeline"

    lineage = contributor.lineage("fraud", 1)
    kinds = {n.kind for n in lineage.nodes}
    assert {"ModelVersion", "Run", "DatasetVersion", "CodeVersion"} <= kinds
    assert [n.properties["runId"] for n in lineage.of_kind("Run")] == [run.run_id]
    assert [n.properties["version"] for n in lineage.of_kind("DATASET_VERSION")] == ["2024-06-01"]

    contributor.add_metrics(version.id, {"f1": 0.8})
    aliased = contributor.set_alias("challenger", version.id)
    assert aliased.aliases == ("challenger",)
    by_alias = contributor.model_version_by_alias("fraud", "challenger")
    assert {m.name for m in by_alias.metrics} == {"auc", "f1"}


def test_a_failing_block_records_a_failed_run(contributor: Client) -> None:
    with pytest.raises(RuntimeError, match="out of memory"), contributor.record_run("train-fraud") as run:
        raise RuntimeError("out of memory")
    assert run.run is not None
    assert run.run.status == "FAILED"


def test_a_lost_response_is_retried_and_registers_once(
    base_url: str, make_token: TokenFactory, contributor: Client, db: Driver
) -> None:
    faults = Faults(drop_responses=1)
    with faulty_proxy(base_url, faults) as proxy_url, Client(proxy_url, contributor.endpoint.token, retry=FAST) as lg:
        version = lg.register_model_version("fraud", "s3://models/fraud/1.tar.gz", metrics={"auc": 0.9})
    # The server registered on the first try; the retry carried the same client token and got that version.
    assert len(faults.forwarded) == 2
    assert faults.forwarded[0] == faults.forwarded[1]
    assert version.version == 1
    assert _count_versions(db, "fraud") == 1


def test_503_is_retried_with_back_off_and_then_raised(base_url: str, contributor: Client, db: Driver) -> None:
    faults = Faults(unavailable=2)
    token = contributor.endpoint.token
    with faulty_proxy(base_url, faults) as proxy_url, Client(proxy_url, token, retry=FAST) as lg:
        assert lg.register_model_version("fraud", "s3://models/fraud/1.tar.gz").version == 1
        assert faults.seen == 3

        faults.unavailable = 10
        with pytest.raises(Unavailable):
            lg.register_model_version("fraud", "s3://models/fraud/2.tar.gz")
    assert faults.seen == 3 + FAST.attempts
    assert _count_versions(db, "fraud") == 1


def test_refusals_are_typed_carry_problems_and_are_not_retried(
    base_url: str, make_token: TokenFactory, contributor: Client, db: Driver
) -> None:
    viewer = Client(base_url, make_token("reader", Role.VIEWER), retry=FAST)
    before = graph_fingerprint(db, AUDIT_LABELS)
    faults = Faults()
    with faulty_proxy(base_url, faults) as proxy_url, Client(proxy_url, contributor.endpoint.token, retry=FAST) as lg:
        with pytest.raises(ValidationFailed) as invalid:
            lg.register_model_version("fraud", "not a uri", metrics={"a uc": 0.9}, code="repo@not-a-commit")
        assert faults.seen == 1  # a refusal is final: never resent
        with pytest.raises(ValidationFailed, match="NaN"):
            lg.register_model_version("fraud", "s3://models/x", metrics={"auc": float("nan")})
        assert faults.seen == 1  # refused before sending
    fields = {p.field for p in invalid.value.problems}
    assert {"artifactUri", "code.commit"} <= fields, invalid.value.problems
    assert any(f and f.startswith("metrics") for f in fields), fields
    assert all(p.message for p in invalid.value.problems)

    with pytest.raises(NotFound) as missing:
        contributor.register_model_version("no-such-group", "s3://models/x")
    assert [p.field for p in missing.value.problems] == ["group"]
    with pytest.raises(NotFound, match="model version fraud/9"):
        contributor.model_version("fraud", 9)

    with pytest.raises(Unauthenticated), Client(base_url, "lgt_not-a-token", retry=FAST) as stranger:
        stranger.register_model_version("fraud", "s3://models/x")
    with viewer, pytest.raises(Forbidden) as forbidden:
        viewer.register_model_version("fraud", "s3://models/x")
    assert forbidden.value.problems
    assert graph_fingerprint(db, AUDIT_LABELS) == before


def test_url_and_token_come_from_the_environment(
    base_url: str, contributor: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAGE_GRAPH_URL", base_url + "/graphql")
    monkeypatch.setenv("LINEAGE_GRAPH_TOKEN", contributor.endpoint.token or "")
    with Client() as lg:
        assert lg.register_model_version("fraud", "s3://models/fraud/1.tar.gz").version == 1


def test_wait_for_approval_returns_raises_or_times_out(
    base_url: str, make_token: TokenFactory, contributor: Client
) -> None:
    first = contributor.register_model_version("fraud", "s3://models/fraud/1.tar.gz")
    second = contributor.register_model_version("fraud", "s3://models/fraud/2.tar.gz")
    contributor.register_model_version("fraud", "s3://models/fraud/3.tar.gz")
    reviewer = make_token("reviewer", Role.APPROVER)
    decide = 'mutation($id: ID!) { result: %s(id: $id, comment: "checked") { decision { toStatus } } }'
    with Client(base_url, reviewer) as approver:
        approver.execute(_raw(decide % "approveModelVersion", first.id))
        approver.execute(_raw(decide % "rejectModelVersion", second.id))

    with Client(base_url, reviewer) as approver:
        readiness = approver.approval_readiness("fraud", 3)
    assert (readiness.ready, readiness.status, readiness.resulting_status) == (
        True,
        "PENDING_MANUAL_APPROVAL",
        "APPROVED",
    )
    own = contributor.approval_readiness("fraud", 3)
    assert not own.ready
    assert {"MISSING_ROLE", "FOUR_EYES"} & {p.code for p in own.unmet}, own.unmet

    assert contributor.wait_for_approval("fraud", 1, timeout=5).approval_status == "APPROVED"
    with pytest.raises(ApprovalRejected):
        contributor.wait_for_approval("fraud", 2, timeout=5)
    with pytest.raises(ApprovalTimeout, match="still PENDING_MANUAL_APPROVAL"):
        contributor.wait_for_approval("fraud", 3, timeout=0.3, poll_interval=0.1)


def test_the_async_client_records_runs_and_registers(base_url: str, contributor: Client, db: Driver) -> None:
    token = contributor.endpoint.token

    async def pipeline() -> tuple[int, str]:
        async with AsyncClient(base_url, token, retry=FAST) as lg:
            async with lg.record_run("train-fraud", inputs=[DATA]) as run:
                run.log_metric("auc", 0.93)
            version = await lg.register_model_version("fraud", "s3://models/fraud/1.tar.gz", produced_by=run)
            lineage = await lg.lineage("fraud", version.version)
            assert run.run is not None
            return version.version, run.run.status if lineage.of_kind("Run") else "no run in lineage"

    assert asyncio.run(pipeline()) == (1, "COMPLETED")
    assert _count_versions(db, "fraud") == 1


def _raw(document: str, node_id: str) -> Operation[object]:
    return Operation(document, {"id": node_id}, lambda raw: raw, retry_safe=False)
