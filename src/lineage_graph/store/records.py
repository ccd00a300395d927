"""Node properties → domain entities, one function per entity. Driver types stop here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lineage_graph.domain.ids import NodeKind
from lineage_graph.domain.models import (
    ApprovalStatus,
    CodeVersion,
    Dataset,
    DatasetVersion,
    Deployment,
    DeploymentStatus,
    Job,
    Metric,
    ModelGroup,
    ModelVersion,
    Run,
    RunKind,
    RunStatus,
)

Props = Mapping[str, Any]


def search_words(kind: NodeKind, tags: Sequence[str]) -> str | None:
    """A node's tags as the full-text index's `search_tags`. A model version has none when it has no tags, so a
    version without a description has no entry in the index (an entry costs Lucene a flush per commit); every
    other node has an entry anyway (its name), and keeps ''."""
    words = " ".join(tags)
    return (words or None) if kind is NodeKind.MODEL_VERSION else words


# Temporal properties a hot read projects as strings (`toString(...)`): the driver builds each DateTime in Python
# through its own types, ~100-300 µs apiece, against ~1 µs for `datetime.fromisoformat` of the same instant —
# on a page of 100 versions, most of the request's Python time. Fragments of a map projection of `v` / `g`.
VERSION_TIMES = "created_at: toString(v.created_at), updated_at: toString(v.updated_at)"
GROUP_TIMES = "created_at: toString(g.created_at), updated_at: toString(g.updated_at)"

# A model version's training data: the dataset versions it was trained on directly, or that the run which
# produced it read. A subquery expression of `v`, for a page's projection and for the loader's batch alike.
TRAINED_ON = """COLLECT { MATCH (d:DatasetVersion)-[:TRAINED]->(v) RETURN d {.*, created_at: toString(d.created_at)}
            UNION MATCH (d:DatasetVersion)-[:INPUT_TO]->(:Run)-[:OUTPUT]->(v)
            RETURN d {.*, created_at: toString(d.created_at)} }"""


def to_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        # Neo4j writes a named zone after the offset (`…+00:00[UTC]`); the offset alone is the instant.
        parsed = datetime.fromisoformat(value.partition("[")[0])
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    native = value.to_native() if hasattr(value, "to_native") else value
    assert isinstance(native, datetime)
    return native if native.tzinfo else native.replace(tzinfo=UTC)


def _opt_datetime(value: Any) -> datetime | None:
    return None if value is None else to_datetime(value)


# Most stored JSON properties are empty; a listed page decodes several per item.
_EMPTY_JSON: dict[str, Any] = {"{}": dict, "[]": list}


def _json(value: str | None, default: Any) -> Any:
    if value is None:
        return default
    empty = _EMPTY_JSON.get(value)
    return empty() if empty is not None else json.loads(value)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def metrics_to_json(metrics: Sequence[Metric]) -> str:
    return dumps([{"name": m.name, "value": m.value, "step": m.step, "split": m.split} for m in metrics])


def metrics_from_json(value: str | None) -> tuple[Metric, ...]:
    return tuple(Metric(m["name"], float(m["value"]), m.get("step"), m.get("split")) for m in _json(value, []))


def to_model_group(p: Props) -> ModelGroup:
    return ModelGroup(
        name=p["name"],
        description=p.get("description"),
        owner=p.get("owner"),
        tags=tuple(p.get("tags") or ()),
        created_by=p.get("created_by"),
        created_at=to_datetime(p["created_at"]),
        updated_at=to_datetime(p.get("updated_at") or p["created_at"]),
        version_count=int(p.get("latest_version") or 0),
    )


def to_model_version(p: Props, aliases: Sequence[str] = ()) -> ModelVersion:
    return ModelVersion(
        group=p["group"],
        version=int(p["version"]),
        artifact_uri=p["artifact_uri"],
        artifact_digest=p.get("artifact_digest"),
        framework=p.get("framework"),
        framework_version=p.get("framework_version"),
        description=p.get("description"),
        hyperparameters=_json(p.get("hyperparameters"), {}),
        metrics=metrics_from_json(p.get("metrics")),
        custom_properties=_json(p.get("custom_properties"), {}),
        tags=tuple(p.get("tags") or ()),
        approval_status=ApprovalStatus(p.get("approval_status") or "PENDING_MANUAL_APPROVAL"),
        archived=bool(p.get("archived")),
        created_by=p.get("created_by"),
        created_at=to_datetime(p["created_at"]),
        updated_at=to_datetime(p.get("updated_at") or p["created_at"]),
        aliases=tuple(sorted(aliases)),
        artifact_size=p.get("artifact_size"),
        artifact_etag=p.get("artifact_etag"),
        needs_review=bool(p.get("needs_review")),
        stage=p.get("stage"),
        stage_status=p.get("stage_status"),
        stage_description=p.get("stage_description"),
        contract_version=p.get("contract_version"),
        contract_violations=tuple(f"{v['field']}: {v['message']}" for v in _json(p.get("contract_violations"), [])),
        external_spec=_json(p.get("external_spec"), None),
    )


def to_dataset(p: Props) -> Dataset:
    return Dataset(
        namespace=p["namespace"],
        name=p["name"],
        description=p.get("description"),
        tags=tuple(p.get("tags") or ()),
        created_at=to_datetime(p["created_at"]),
    )


def unique_dataset_versions(rows: Sequence[Props]) -> list[DatasetVersion]:
    """Dataset versions from `TRAINED_ON`'s rows, each once, in key order."""
    found = {(d.namespace, d.name, d.version): d for d in map(to_dataset_version, rows)}
    return [found[k] for k in sorted(found)]


def to_dataset_version(p: Props) -> DatasetVersion:
    return DatasetVersion(
        namespace=p["namespace"],
        name=p["name"],
        version=str(p["version"]),
        uri=p.get("uri"),
        digest=p.get("digest"),
        tags=tuple(p.get("tags") or ()),
        created_at=to_datetime(p["created_at"]),
        facets=_json(p.get("facets"), {}),
    )


def to_code_version(p: Props) -> CodeVersion:
    return CodeVersion(
        repository=p["repository"],
        commit=p["commit"],
        path=p.get("path"),
        branch=p.get("branch"),
        created_at=to_datetime(p["created_at"]),
    )


def to_job(p: Props) -> Job:
    return Job(
        namespace=p["namespace"],
        name=p["name"],
        description=p.get("description"),
        created_at=to_datetime(p["created_at"]),
        facets=_json(p.get("facets"), {}),
    )


def to_run(p: Props) -> Run:
    return Run(
        run_id=p["run_id"],
        job_namespace=p.get("job_namespace") or "",
        job_name=p.get("job_name") or "",
        kind=RunKind(p.get("kind") or "OTHER"),
        status=RunStatus(p.get("status") or "NEW"),
        started_at=_opt_datetime(p.get("started_at")),
        ended_at=_opt_datetime(p.get("ended_at")),
        parameters=_json(p.get("parameters"), {}),
        metrics=metrics_from_json(p.get("metrics")),
        created_at=to_datetime(p["created_at"]),
        facets=_json(p.get("facets"), {}),
    )


def to_deployment(p: Props) -> Deployment:
    return Deployment(
        deployment_id=p["deployment_id"],
        endpoint=p["endpoint"],
        environment=p["environment"],
        group=p["group"],
        version=int(p["version"]),
        traffic_share=float(p["traffic_share"]),
        status=DeploymentStatus(p["status"]),
        deployed_by=p.get("deployed_by"),
        deployed_at=to_datetime(p["deployed_at"]),
        retired_at=_opt_datetime(p.get("retired_at")),
    )
