"""Reading SageMaker request shapes and writing response shapes: field access that names the bad field,
page tokens, timestamps, and our entities rendered as SageMaker's."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.models import ModelGroup, ModelVersion
from lineage_graph.domain.sagemaker import (
    PREFIX,
    PROP_IMAGE,
    PROP_REPORT,
    ArnScope,
    approval_to_aws,
    tag_pair,
)
from lineage_graph.domain.sagemaker_lifecycle import lifecycle_shape
from lineage_graph.services.sagemaker_registry import PackageView

PROP_MODEL_METRICS = "sagemaker:model_metrics"
PROP_PROJECT_ID = "sagemaker:project_id"

Params = Mapping[str, Any]


def text(params: Params, name: str, required: bool = False, path: str | None = None) -> str | None:
    value = params.get(name)
    where = path or name
    if value is None:
        if required:
            raise ValidationFailed.field(where, "is required", "REQUIRED")
        return None
    if not isinstance(value, str):
        raise ValidationFailed.field(where, "must be a string")
    return value


def required_text(params: Params, name: str, path: str | None = None) -> str:
    value = text(params, name, required=True, path=path)
    assert value is not None
    return value


def obj(params: Params, name: str) -> Params:
    value = params.get(name) or {}
    if not isinstance(value, Mapping):
        raise ValidationFailed.field(name, "must be an object")
    return value


def string_map(params: Params, name: str) -> dict[str, str]:
    value = obj(params, name)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationFailed.field(name, "must map strings to strings")
    return dict(value)


def epoch(value: datetime) -> float:
    return value.timestamp()


def from_epoch(params: Params, name: str) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise ValidationFailed.field(name, "must be a timestamp")


# ---- paging ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int
    fingerprint: str

    def next_token(self, returned: int, more: bool) -> str | None:
        if not more or returned == 0:
            return None
        raw = json.dumps({"o": self.offset + returned, "f": self.fingerprint}).encode()
        return base64.urlsafe_b64encode(raw).decode()


def paging(params: Params, default_limit: int = 10, maximum: int = 100) -> Paging:
    """MaxResults 1-`maximum`; NextToken is only valid with the same filters it was issued for."""
    limit = params.get("MaxResults", default_limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise ValidationFailed.field("MaxResults", f"must be between 1 and {maximum}")
    filters = {k: v for k, v in params.items() if k not in ("MaxResults", "NextToken")}
    fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]
    token = params.get("NextToken")
    offset = 0
    if token is not None:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
            offset = int(decoded["o"])
            if decoded["f"] != fingerprint or offset < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
            raise ValidationFailed.field("NextToken", "is not a token this request's filters issued") from None
    return Paging(offset, limit, fingerprint)


# ---- our entities as SageMaker shapes -------------------------------------------------------------------
def group_shape(group: ModelGroup, arns: ArnScope) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "ModelPackageGroupName": group.name,
        "ModelPackageGroupArn": arns.group_arn(group.name),
        "CreationTime": epoch(group.created_at),
        "ModelPackageGroupStatus": "Completed",
    }
    if group.description:
        shape["ModelPackageGroupDescription"] = group.description
    return shape


def package_summary(version: ModelVersion, arns: ArnScope) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "ModelPackageName": version.group,
        "ModelPackageGroupName": version.group,
        "ModelPackageVersion": version.version,
        "ModelPackageArn": arns.package_arn(version.group, version.version),
        "CreationTime": epoch(version.created_at),
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": approval_to_aws(version.approval_status),
    }
    if version.description:
        shape["ModelPackageDescription"] = version.description
    spec = version.external_spec or {}
    if "ModelPackageRegistrationType" in spec:
        shape["ModelPackageRegistrationType"] = spec["ModelPackageRegistrationType"]
    shape.pop("ModelLifeCycle", None)
    if (lifecycle := lifecycle_shape(version)) is not None:
        shape["ModelLifeCycle"] = lifecycle
    return shape


def _inference_specification(version: ModelVersion) -> dict[str, Any]:
    """For versions registered outside the SageMaker API: one container built from our own fields."""
    container: dict[str, Any] = {
        "ModelDataUrl": version.artifact_uri,
        "Image": version.custom_properties.get(PROP_IMAGE, ""),
    }
    if version.framework:
        container["Framework"] = version.framework
    if version.framework_version:
        container["FrameworkVersion"] = version.framework_version
    return {"Containers": [container]}


def _report_statuses(props: Mapping[str, str]) -> list[dict[str, str]]:
    statuses = []
    for key, value in sorted(props.items()):
        if key.startswith(PROP_REPORT):
            item = {"Name": "ModelMetrics." + key.removeprefix(PROP_REPORT)}
            if value.startswith("parsed"):
                item["Status"] = "Completed"
            else:
                item.update(Status="Failed", FailureReason=value)
            statuses.append(item)
    return statuses


def package_shape(view: PackageView, arns: ArnScope) -> dict[str, Any]:
    """DescribeModelPackage: what CreateModelPackage was given (kept verbatim), our fields where they are
    the truth (description, customer metadata, approval), and SageMaker's server-set fields."""
    version, lineage = view.version, view.lineage
    props = version.custom_properties
    # A ModelLifeCycle kept from an import or an earlier release is not the truth: the version's stage is.
    spec = {k: v for k, v in (version.external_spec or {}).items() if k != "ModelLifeCycle"}
    shape: dict[str, Any] = {**spec, **package_summary(version, arns)}
    shape.setdefault("InferenceSpecification", _inference_specification(version))
    shape.setdefault("CertifyForMarketplace", False)
    shape.update(
        {
            "LastModifiedTime": epoch(version.updated_at),
            "ModelPackageStatusDetails": {"ValidationStatuses": _report_statuses(props), "ImageScanStatuses": []},
        }
    )
    customer = {k: v for k, v in props.items() if not k.startswith(PREFIX)}
    if customer:
        shape["CustomerMetadataProperties"] = customer
    if version.created_by:
        shape["CreatedBy"] = {"UserProfileName": version.created_by}
    if "MetadataProperties" not in spec:
        metadata: dict[str, str] = {}
        if lineage.code:
            metadata["CommitId"] = lineage.code[0].commit
            metadata["Repository"] = lineage.code[0].repository
        if lineage.runs:
            metadata["GeneratedBy"] = lineage.runs[0].run_id
        if PROP_PROJECT_ID in props:
            metadata["ProjectId"] = props[PROP_PROJECT_ID]
        if metadata:
            shape["MetadataProperties"] = metadata
    if view.approval_description is not None:
        shape["ApprovalDescription"] = view.approval_description
    if PROP_MODEL_METRICS in props and "ModelMetrics" not in spec:
        shape["ModelMetrics"] = json.loads(props[PROP_MODEL_METRICS])
    return shape


def tags_shape(tags: Sequence[str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in map(tag_pair, tags)]


def customer_properties(params: Params, name: str = "CustomerMetadataProperties") -> dict[str, str]:
    props = string_map(params, name)
    for key in props:
        if key.startswith(PREFIX):
            raise ValidationFailed.field(f"{name}.{key[:40]}", f"keys starting with {PREFIX!r} are reserved")
    return props
