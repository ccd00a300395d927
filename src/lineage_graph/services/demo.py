"""A small, realistic example graph for a first look in GraphiQL, loaded through the ordinary use cases.

Safe to run again: groups that exist are kept, registrations carry client tokens, runs are upserts, and the
deployment is only made when the endpoint has none.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lineage_graph.domain.auth import SYSTEM, Principal, Role
from lineage_graph.domain.commands import (
    CodeVersionSpec,
    CreateDeployment,
    CreateModelGroup,
    DatasetVersionSpec,
    RecordRun,
    RegisterDataset,
    RegisterModelVersion,
    RunSpec,
)
from lineage_graph.domain.errors import AlreadyExists
from lineage_graph.domain.models import Metric, RunKind, RunStatus
from lineage_graph.services.registry import RegistryService, page
from lineage_graph.store.deployments import DeploymentFilter

RAW = DatasetVersionSpec("s3://acme-lake", "transactions_raw", "2024-06-01", "s3://acme-lake/raw/2024-06-01/")
CLEAN = DatasetVersionSpec(
    "s3://acme-lake",
    "transactions_clean",
    "2024-06-01",
    "s3://acme-lake/clean/2024-06-01/",
    "sha256:9f86d081884c7d659a2feaa0c55ad015",
)
LABELS = DatasetVersionSpec("s3://acme-lake", "chargeback_labels", "2024-06", "s3://acme-lake/labels/2024-06/")
ETL_CODE = CodeVersionSpec("github.com/acme/pipelines", "4f2a9c1e7b3d", "etl/clean_transactions.py", "main")
TRAIN_CODE_V1 = CodeVersionSpec("github.com/acme/fraud-model", "1c9e2b7a55d0", "train.py", "main")
TRAIN_CODE_V2 = CodeVersionSpec("github.com/acme/fraud-model", "8d41f0c3aa92", "train.py", "main")
GROUP = "fraud-detector"
# `pii` is a governance tag, which only an approver may set (an admin such as SYSTEM may not).
DATA_STEWARD = Principal(name="demo-data-steward", role=Role.APPROVER)


async def load_demo(registry: RegistryService) -> list[str]:
    """Load the example; returns what it did, one line per step."""
    done: list[str] = []
    try:
        await registry.create_group(
            SYSTEM,
            CreateModelGroup(
                GROUP,
                "Scores card transactions for fraud; trained nightly on cleaned transactions.",
                "risk-ml",
                ("tabular", "xgboost"),
            ),
        )
        done.append(f"created model group {GROUP}")
    except AlreadyExists:
        done.append(f"model group {GROUP} already there")
    await registry.register_dataset(
        DATA_STEWARD,
        RegisterDataset(RAW.namespace, RAW.name, "Card transactions as landed from the payment switch", ("pii",)),
    )
    day = datetime(2024, 6, 2, 1, 0, tzinfo=UTC)
    await registry.record_run(
        SYSTEM,
        RecordRun(
            "0b9d6e1c-5f7a-4c3e-9a41-6f2d8e0c1a01",
            "airflow",
            "clean_transactions",
            RunKind.PROCESSING,
            RunStatus.COMPLETED,
            day,
            day.replace(hour=1, minute=40),
            {"dedupe": "true"},
            (),
            (),
            (RAW,),
            (),
            (CLEAN,),
            ETL_CODE,
        ),
    )
    done.append("recorded the cleaning run raw → clean")
    runs = []
    for n, (run_id, code, auc) in enumerate(
        [
            ("0b9d6e1c-5f7a-4c3e-9a41-6f2d8e0c1a02", TRAIN_CODE_V1, 0.91),
            ("0b9d6e1c-5f7a-4c3e-9a41-6f2d8e0c1a03", TRAIN_CODE_V2, 0.93),
        ]
    ):
        start = day.replace(hour=3 + n)
        await registry.record_run(
            SYSTEM,
            RecordRun(
                run_id,
                "airflow",
                "train_fraud_model",
                RunKind.TRAINING,
                RunStatus.COMPLETED,
                start,
                start.replace(minute=50),
                {"max_depth": str(6 + n), "eta": "0.1"},
                (Metric("auc", auc, None, "validation"),),
                (),
                (CLEAN, LABELS),
                (),
                (),
                code,
            ),
        )
        runs.append((run_id, auc))
    done.append("recorded two training runs on clean transactions and labels")
    versions = []
    for n, (run_id, auc) in enumerate(runs):
        version = await registry.register_version(
            SYSTEM,
            RegisterModelVersion(
                GROUP,
                f"s3://acme-models/fraud/{n + 1}/model.tar.gz",
                None,
                "xgboost",
                "2.0.3",
                f"Nightly retrain #{n + 1}",
                {"max_depth": 6 + n, "eta": 0.1},
                (Metric("auc", auc, None, "validation"), Metric("latency_ms", 12.0 + n)),
                {"owner": "risk-ml"},
                ("nightly",),
                (),
                (CLEAN, LABELS),
                RunSpec(run_id),
                TRAIN_CODE_V1 if n == 0 else TRAIN_CODE_V2,
                None,
                f"demo-version-{n + 1}",
            ),
        )
        versions.append(version)
    tuned = await registry.register_version(
        SYSTEM,
        RegisterModelVersion(
            GROUP,
            "s3://acme-models/fraud/3/model.tar.gz",
            None,
            "xgboost",
            "2.0.3",
            "Fine-tuned from version 2 on June chargebacks",
            {"max_depth": 7, "eta": 0.05},
            (Metric("auc", 0.94, None, "validation"), Metric("latency_ms", 13.0)),
            {},
            ("fine-tune",),
            (),
            (LABELS,),
            None,
            TRAIN_CODE_V2,
            versions[1].ref,
            "demo-version-3",
        ),
    )
    versions.append(tuned)
    done.append(f"registered versions {', '.join(str(v.version) for v in versions)} (3 fine-tunes 2)")
    await registry.set_alias(SYSTEM, GROUP, "champion", versions[1].ref)
    await registry.set_alias(SYSTEM, GROUP, "challenger", tuned.ref)
    done.append("champion → version 2, challenger → version 3")
    active, _ = await registry.list_deployments(SYSTEM, DeploymentFilter(endpoint="fraud-scoring-staging"), page(1, 0))
    if not active:
        await registry.create_deployment(
            SYSTEM, CreateDeployment("fraud-scoring-staging", "staging", versions[1].ref, 90.0)
        )
        await registry.create_deployment(SYSTEM, CreateDeployment("fraud-scoring-staging", "staging", tuned.ref, 10.0))
        done.append("deployed version 2 (90%) and version 3 (10%) to fraud-scoring-staging")
    return done
