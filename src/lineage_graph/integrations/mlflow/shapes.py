"""Our entities in MLflow's JSON (the proto3 JSON of model_registry.proto), as its client parses them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lineage_graph.domain import mlflow as mf
from lineage_graph.domain.models import ModelVersion
from lineage_graph.services.mlflow_registry import RegisteredModel


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def model_version(version: ModelVersion) -> dict[str, Any]:
    props = version.custom_properties
    shaped: dict[str, Any] = {
        "name": version.group,
        "version": str(version.version),
        "creation_timestamp": millis(version.created_at),
        "last_updated_timestamp": millis(version.updated_at),
        "user_id": version.created_by or "",
        "current_stage": mf.current_stage(version),
        "description": version.description or "",
        "source": props.get(mf.PROP_SOURCE, version.artifact_uri),
        "run_id": props.get(mf.PROP_RUN_ID, ""),
        "run_link": props.get(mf.PROP_RUN_LINK, ""),
        "status": "READY",  # registration is synchronous here: the version is usable when it is answered
        "tags": [{"key": k, "value": v} for k, v in sorted(mf.user_tags(props).items())],
        "aliases": sorted(version.aliases),
    }
    if mf.PROP_MODEL_ID in props:
        shaped["model_id"] = props[mf.PROP_MODEL_ID]
    return shaped


def registered_model(model: RegisteredModel) -> dict[str, Any]:
    group = model.group
    return {
        "name": group.name,
        "creation_timestamp": millis(group.created_at),
        "last_updated_timestamp": millis(group.updated_at),
        "user_id": group.created_by or "",
        "description": group.description or "",
        "latest_versions": [model_version(v) for v in mf.latest_per_stage(model.versions)],
        "tags": [{"key": k, "value": v} for k, v in sorted(mf.group_tags(group.tags).items())],
        "aliases": [{"alias": a, "version": str(n)} for a, n in sorted(model.aliases.items())],
    }
