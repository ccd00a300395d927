"""What a read asks for and what it gets back: filters, pages and read results, shared by every layer.

Filters name the fields a caller may constrain; a None field does not constrain (the store then leaves its
condition out of the query altogether, so the database can use an index for the ones that remain).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.models import (
    ApprovalStatus,
    CodeVersion,
    Dataset,
    DatasetVersion,
    Deployment,
    DeploymentStatus,
    Job,
    ModelGroup,
    ModelVersion,
    Run,
    RunKind,
    RunStatus,
)

T = TypeVar("T")

MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def page(first: int | None, offset: int) -> Page:
    """`first` is 1-100 (default 20); a bad value is an OUT_OF_RANGE validation error naming it."""
    limit = DEFAULT_PAGE if first is None else first
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed.field("first", f"must be between 1 and {MAX_PAGE}, got {limit}", "OUT_OF_RANGE")
    if offset < 0:
        raise ValidationFailed.field("after", "is not a valid cursor")
    return Page(offset, limit)


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list and the size of the whole list."""

    items: list[T]
    total: int


@dataclass(frozen=True)
class GroupFilter:
    name_contains: str | None = None
    owner: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class VersionFilter:
    group: str | None = None
    approval_status: ApprovalStatus | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    archived: bool | None = None


@dataclass(frozen=True)
class VersionPageIncludes:
    """What the reader of a page of versions will ask of each version beyond its own fields, fetched with the
    page instead of by one more batch each (a page is then one statement)."""

    groups: bool = False
    training_data: bool = False


@dataclass(frozen=True)
class VersionPage:
    """A page of versions, how many match, and what `VersionPageIncludes` asked for: the groups of the page's
    versions by name, and each version's training data by (group, version)."""

    versions: list[ModelVersion]
    total: int
    groups: dict[str, ModelGroup]
    training_data: dict[tuple[str, int], list[DatasetVersion]]


@dataclass(frozen=True)
class DeploymentFilter:
    endpoint: str | None = None
    environment: str | None = None
    status: DeploymentStatus | None = None
    group: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class DatasetFilter:
    namespace: str | None = None
    name_contains: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class RunFilter:
    job_namespace: str | None = None
    job_name: str | None = None
    status: RunStatus | None = None
    kind: RunKind | None = None


@dataclass(frozen=True)
class RunNeighbours:
    """What a run read and wrote, the code it ran and its parent runs."""

    inputs: list[DatasetVersion]
    outputs: list[DatasetVersion]
    models: list[tuple[str, int]]
    code: list[CodeVersion]
    parents: list[str]


@dataclass(frozen=True)
class ModelLineage:
    """What a model version was made from, as recorded at registration or by its producing run."""

    datasets: list[DatasetVersion]
    runs: list[Run]
    code: list[CodeVersion]
    parents: list[tuple[str, int]]
    children: list[tuple[str, int]]


Entity = ModelGroup | ModelVersion | Dataset | DatasetVersion | CodeVersion | Job | Run | Deployment


@dataclass(frozen=True)
class SearchHit:
    """A full-text match: the entity itself (so nothing is fetched again to show it) and its score."""

    entity: Entity
    score: float
