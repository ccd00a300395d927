"""What the client sends and receives, as frozen values (independent of the server's own classes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage_graph.client.errors import Problem


@dataclass(frozen=True)
class DatasetVersionKey:
    """A dataset version by its OpenLineage identity; the server creates it when it is new."""

    namespace: str
    name: str
    version: str
    uri: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> DatasetVersionKey:
        """`namespace/name@version`; the namespace may itself hold slashes (`s3://lake/raw@2024-06-01`)."""
        body, at, version = text.rpartition("@")
        namespace, slash, name = body.rpartition("/")
        if not (at and slash and namespace and name and version):
            raise ValueError(f"{text!r} is not namespace/name@version")
        return cls(namespace, name, version)

    def as_input(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "digest": self.digest,
        }


@dataclass(frozen=True)
class CodeVersionKey:
    repository: str
    commit: str
    path: str | None = None
    branch: str | None = None

    @classmethod
    def parse(cls, text: str) -> CodeVersionKey:
        """`repository@commit`; the last `@` splits, so `git@host:org/repo@abc123` works."""
        repository, at, commit = text.rpartition("@")
        if not (at and repository and commit):
            raise ValueError(f"{text!r} is not repository@commit")
        return cls(repository, commit)

    def as_input(self) -> dict[str, Any]:
        return {"repository": self.repository, "commit": self.commit, "path": self.path, "branch": self.branch}


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    step: int | None = None
    split: str | None = None

    def as_input(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "step": self.step, "split": self.split}


@dataclass(frozen=True)
class ModelVersion:
    id: str
    group: str
    version: int
    artifact_uri: str
    approval_status: str
    metrics: tuple[Metric, ...]
    hyperparameters: Mapping[str, Any]
    tags: tuple[str, ...]
    aliases: tuple[str, ...]
    archived: bool
    created_by: str | None
    created_at: datetime
    description: str | None = None
    custom_properties: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ModelVersion:
        return cls(
            id=raw["id"],
            group=raw["groupName"],
            version=int(raw["version"]),
            artifact_uri=raw["artifactUri"],
            approval_status=raw["approvalStatus"],
            metrics=tuple(_metric(m) for m in raw.get("metrics") or ()),
            hyperparameters=raw.get("hyperparameters") or {},
            tags=tuple(raw.get("tags") or ()),
            aliases=tuple(raw.get("aliases") or ()),
            archived=bool(raw.get("archived")),
            created_by=raw.get("createdBy"),
            created_at=datetime.fromisoformat(raw["createdAt"]),
            description=raw.get("description"),
            custom_properties=raw.get("customProperties") or {},
        )


@dataclass(frozen=True)
class Run:
    id: str
    run_id: str
    job_namespace: str
    job_name: str
    kind: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    parameters: Mapping[str, str]
    metrics: tuple[Metric, ...]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Run:
        return cls(
            id=raw["id"],
            run_id=raw["runId"],
            job_namespace=raw["jobNamespace"],
            job_name=raw["jobName"],
            kind=raw["kind"],
            status=raw["status"],
            started_at=_time(raw.get("startedAt")),
            ended_at=_time(raw.get("endedAt")),
            parameters=raw.get("parameters") or {},
            metrics=tuple(_metric(m) for m in raw.get("metrics") or ()),
        )


@dataclass(frozen=True)
class ApprovalReadiness:
    """What approving a version would take now, as the server judges it for the calling principal."""

    ready: bool
    status: str
    resulting_status: str
    approvals: int
    approvals_needed: int
    lineage_complete: bool
    unmet: tuple[Problem, ...]

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ApprovalReadiness:
        return cls(
            ready=bool(raw["ready"]),
            status=raw["status"],
            resulting_status=raw["resultingStatus"],
            approvals=int(raw["approvals"]),
            approvals_needed=int(raw["approvalsNeeded"]),
            lineage_complete=bool(raw["lineageComplete"]),
            unmet=tuple(Problem(u.get("field"), u["message"], u["code"]) for u in raw.get("unmet") or ()),
        )


@dataclass(frozen=True)
class LineageNode:
    id: str
    kind: str
    display_name: str
    distance: int
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class LineageEdge:
    source: str
    target: str
    type: str


@dataclass(frozen=True)
class LineageGraph:
    root: str
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]
    depth_reached: int
    truncated: bool

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LineageGraph:
        core = {"id", "kind", "displayName", "distance"}
        nodes = tuple(
            LineageNode(
                n["id"],
                n["kind"],
                n["displayName"],
                int(n["distance"]),
                {k: v for k, v in n.items() if k not in core and v is not None},
            )
            for n in raw["nodes"]
        )
        edges = tuple(LineageEdge(e["source"], e["target"], e["type"]) for e in raw["edges"])
        return cls(raw["root"], nodes, edges, int(raw["depthReached"]), bool(raw["truncated"]))

    def of_kind(self, kind: str) -> list[LineageNode]:
        """Nodes of one kind, named as the server names them: MODEL_VERSION, DATASET_VERSION, RUN…"""
        return [n for n in self.nodes if n.kind == kind]


def _metric(raw: Mapping[str, Any]) -> Metric:
    return Metric(raw["name"], float(raw["value"]), raw.get("step"), raw.get("split"))


def _time(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None
