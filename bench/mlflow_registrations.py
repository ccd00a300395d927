"""Run by bench/client.py with MLflow's python (.venv-mlflow): N model versions registered through the real
MLflow client against one registry URI; prints {"seconds": …, "registered": …} as one JSON line."""

from __future__ import annotations

import json
import sys
import time

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def main(registry_uri: str, name: str, count: int) -> None:
    client = MlflowClient(registry_uri=registry_uri)
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    began = time.perf_counter()
    for i in range(count):
        client.create_model_version(name, f"s3://models/{name}/{i}.tar.gz", await_creation_for=0)
    print(json.dumps({"seconds": time.perf_counter() - began, "registered": count}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
