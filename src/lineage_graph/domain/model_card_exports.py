"""Model card export jobs: a card version written, as its readable page, to an S3 output location.

An export runs within the request that asks for it, so a job is recorded once, Completed (with the object it
wrote) or Failed (with the reason the store gave); SageMaker's InProgress is never seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from lineage_graph.domain.errors import Problem
from lineage_graph.domain.model_cards import CARD_NAME

MAX_OUTPUT_PATH = 1024
# Listing sorts: SageMaker's SortBy values and the job property each orders by.
SORTS = {"Name": "name", "CreationTime": "created_at", "Status": "status"}


class ExportStatus(Enum):
    COMPLETED = "Completed"
    FAILED = "Failed"


@dataclass(frozen=True)
class ExportJob:
    card: str
    name: str
    card_version: int
    output_path: str
    status: ExportStatus
    artifact: str | None  # the object written (Completed)
    failure_reason: str | None  # why nothing was written (Failed)
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class ExportFilter:
    card: str
    card_version: int | None = None
    name_contains: str | None = None
    status: ExportStatus | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def export_problems(job_name: str, output_path: str) -> list[Problem]:
    """The request itself: a job name as SageMaker spells names, an s3:// output location."""
    problems = []
    if not CARD_NAME.fullmatch(job_name):
        problems.append(
            Problem("ModelCardExportJobName", "is 1-63 letters, digits and hyphens, starting with a letter or digit")
        )
    bucket = output_path.removeprefix("s3://").split("/", 1)[0]
    if not output_path.startswith("s3://") or not bucket or len(output_path) > MAX_OUTPUT_PATH:
        problems.append(
            Problem("OutputConfig.S3OutputPath", f"must be an s3://bucket/prefix URI of at most {MAX_OUTPUT_PATH}")
        )
    return problems


def artifact_uri(output_path: str, card: str, job_name: str) -> str:
    """Where a job writes: under the output location, one folder per card and job (as SageMaker lays it out),
    so two jobs never overwrite each other."""
    return f"{output_path.rstrip('/')}/{card}/{job_name}/{card}.html"
