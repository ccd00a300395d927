"""Scenarios run by the real `mlflow` client (in .venv-mlflow, not the project's venv); each prints one JSON
line. The environment names the tracking server (MLFLOW_TRACKING_URI), the registry (REGISTRY_URI) and the
token (MLFLOW_TRACKING_TOKEN, which MLflow sends as a bearer token)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel


class Doubler(PythonModel):
    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return model_input * 2


def _refusal(call: Any) -> dict[str, str]:
    try:
        call()
    except MlflowException as exc:
        return {"type": type(exc).__name__, "error_code": exc.error_code, "message": exc.message}
    return {"type": "none"}


def train(experiment: str, model: str, commit: str) -> str:
    """One training run with params, metrics, a logged dataset and a commit; the model logged and registered."""
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.set_tag("mlflow.source.git.commit", commit)
        mlflow.set_tag("mlflow.source.git.repoURL", "https://github.com/acme/fraud")
        mlflow.log_params({"max_depth": 6, "eta": 0.3})
        mlflow.log_metric("auc", 0.91)
        frame = pd.DataFrame({"amount": [1.0, 2.0], "label": [0, 1]})
        mlflow.log_input(mlflow.data.from_pandas(frame, source="s3://acme-lake/transactions", name="transactions"))
        mlflow.pyfunc.log_model(name="model", python_model=Doubler())
    return str(run.info.run_id)


def scenario_registry() -> dict[str, Any]:
    mlflow.set_registry_uri(os.environ["REGISTRY_URI"])
    client = MlflowClient()
    run_id = train("fraud-training", "fraud", "3f2c1e9a")
    version = mlflow.register_model(f"runs:/{run_id}/model", "fraud")
    again = mlflow.register_model(f"runs:/{run_id}/model", "fraud", tags={"team": "risk"})
    client.set_registered_model_alias("fraud", "champion", version.version)
    client.set_model_version_tag("fraud", again.version, "validated", "yes")
    client.set_registered_model_tag("fraud", "owner", "risk-ml")
    by_alias = client.get_model_version_by_alias("fraud", "champion")
    found = client.search_model_versions("name = 'fraud' AND tags.validated = 'yes'")
    by_run = client.search_model_versions(f"run_id IN ('{run_id}', 'other')")
    models = client.search_registered_models("name LIKE 'fra%'")
    latest = client.get_latest_versions("fraud", stages=["None"])
    return {
        "run_id": run_id,
        "version": version.version,
        "again": again.version,
        "status": version.status,
        "source": version.source,
        "by_alias": [by_alias.version, list(by_alias.aliases)],
        "found": [(v.name, v.version, v.tags) for v in found],
        "by_run": sorted(v.version for v in by_run),
        "models": [(m.name, m.tags, {a: v for a, v in m.aliases.items()}) for m in models],
        "latest": [v.version for v in latest],
        "download": client.get_model_version_download_uri("fraud", version.version),
        "self_approval": _refusal(
            lambda: client.transition_model_version_stage("fraud", version.version, "Production")
        ),
        "bad_filter": _refusal(lambda: client.search_model_versions("name == fraud OR x")),
        "unknown_model": _refusal(lambda: client.get_registered_model("no-such-model")),
        "bad_name": _refusal(lambda: client.create_registered_model("bad name with spaces")),
    }


def scenario_approve(name: str, version: str) -> dict[str, Any]:
    mlflow.set_registry_uri(os.environ["REGISTRY_URI"])
    client = MlflowClient()
    moved = client.transition_model_version_stage(name, version, "Production")
    return {
        "stage": moved.current_stage,
        "latest": [v.version for v in client.get_latest_versions(name, ["Production"])],
    }


def scenario_seed(model: str, count: str) -> dict[str, Any]:
    """Runs and versions in MLflow's own registry (the tracking server's), for the importer."""
    client = MlflowClient()
    versions = []
    for i in range(int(count)):
        run_id = train(f"{model}-training", model, f"{i + 1:07x}abc")
        versions.append(mlflow.register_model(f"runs:/{run_id}/model", model).version)
    client.set_registered_model_alias(model, "champion", versions[-1])
    client.set_model_version_tag(model, versions[0], "validated", "yes")
    client.set_registered_model_tag(model, "owner", "risk-ml")
    client.transition_model_version_stage(model, versions[0], "Production")
    return {"versions": versions}


if __name__ == "__main__":
    scenario = globals()[f"scenario_{sys.argv[1]}"]
    print(json.dumps(scenario(*sys.argv[2:]), default=str))
