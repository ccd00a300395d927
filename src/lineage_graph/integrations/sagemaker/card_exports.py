"""SageMaker's model card export jobs: the card's readable page written to the job's S3 output location
(`<S3OutputPath>/<card>/<job>/<card>.html`; SageMaker writes a PDF there)."""

from __future__ import annotations

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.model_card_exports import SORTS, ExportFilter, ExportJob, ExportStatus
from lineage_graph.domain.queries import page
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.integrations.sagemaker.call import Call, Operation, Result
from lineage_graph.integrations.sagemaker.shapes import Params, epoch, from_epoch, obj, paging, required_text, text
from lineage_graph.model_card_page import render_card

_CARD = "model-card/"
_JOB = "/export-job/"


def _job_arn(arns: ArnScope, job: ExportJob) -> str:
    return arns.arn(f"{_CARD}{job.card}{_JOB}{job.name}")


def _card_name(call: Call, value: str) -> str:
    prefix = call.arns.arn(_CARD)
    return value.removeprefix(prefix) if value.startswith("arn:") else value


def _card_version(params: Params) -> int | None:
    number = params.get("ModelCardVersion")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 1):
        raise ValidationFailed.field("ModelCardVersion", "must be a card version number")
    return number


def _summary(arns: ArnScope, job: ExportJob) -> Result:
    return {
        "ModelCardExportJobName": job.name,
        "ModelCardExportJobArn": _job_arn(arns, job),
        "Status": job.status.value,
        "ModelCardName": job.card,
        "ModelCardVersion": job.card_version,
        "CreatedAt": epoch(job.created_at),
        "LastModifiedAt": epoch(job.created_at),
    }


async def create_model_card_export_job(call: Call, params: Params) -> Result:
    card = _card_name(call, required_text(params, "ModelCardName"))
    name = required_text(params, "ModelCardExportJobName")
    output = required_text(obj(params, "OutputConfig"), "S3OutputPath", path="OutputConfig.S3OutputPath")
    job = await call.services.card_exports.export(
        call.principal, card, _card_version(params), name, output, render_card
    )
    return {"ModelCardExportJobArn": _job_arn(call.arns, job)}


async def describe_model_card_export_job(call: Call, params: Params) -> Result:
    arn = required_text(params, "ModelCardExportJobArn")
    card, sep, name = arn.partition(":" + _CARD)[2].partition(_JOB)
    if not arn.startswith("arn:") or not sep or not card or not name:
        raise ValidationFailed.field("ModelCardExportJobArn", "is not a model card export job ARN")
    job = await call.services.card_exports.job(call.principal, card, name)
    shape = {**_summary(call.arns.of_arn(arn), job), "OutputConfig": {"S3OutputPath": job.output_path}}
    if job.artifact is not None:
        shape["ExportArtifacts"] = {"S3ExportArtifacts": job.artifact}
    if job.failure_reason is not None:
        shape["FailureReason"] = job.failure_reason
    return shape


async def list_model_card_export_jobs(call: Call, params: Params) -> Result:
    pg = paging(params)
    sort = text(params, "SortBy") or "CreationTime"
    if sort not in SORTS:
        raise ValidationFailed.field("SortBy", f"must be one of {', '.join(SORTS)}")
    order = text(params, "SortOrder") or "Descending"
    if order not in ("Ascending", "Descending"):
        raise ValidationFailed.field("SortOrder", "must be Ascending or Descending")
    status = text(params, "StatusEquals")
    if status is not None and status not in {s.value for s in ExportStatus} | {"InProgress"}:
        raise ValidationFailed.field("StatusEquals", "must be InProgress, Completed or Failed")
    if status == "InProgress":  # exports finish within their request
        return {"ModelCardExportJobSummaries": []}
    flt = ExportFilter(
        card=_card_name(call, required_text(params, "ModelCardName")),
        card_version=_card_version(params),
        name_contains=text(params, "ModelCardExportJobNameContains"),
        status=ExportStatus(status) if status else None,
        created_after=from_epoch(params, "CreationTimeAfter"),
        created_before=from_epoch(params, "CreationTimeBefore"),
    )
    jobs, total = await call.services.card_exports.jobs(
        call.principal, flt, sort, order == "Descending", page(pg.limit, pg.offset)
    )
    result: Result = {"ModelCardExportJobSummaries": [_summary(call.arns, j) for j in jobs]}
    token = pg.next_token(len(jobs), pg.offset + len(jobs) < total)
    if token:
        result["NextToken"] = token
    return result


OPERATIONS: dict[str, Operation] = {
    "CreateModelCardExportJob": create_model_card_export_job,
    "DescribeModelCardExportJob": describe_model_card_export_job,
    "ListModelCardExportJobs": list_model_card_export_jobs,
}
