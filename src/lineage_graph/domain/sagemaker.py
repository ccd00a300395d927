"""SageMaker's vocabulary and ours: ARNs, approval statuses, association types, metric reports.

Pure functions shared by the importer and the SageMaker-compatible API, so both map the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.models import ApprovalStatus, Metric, RunStatus

# Keys of a version's custom_properties that carry SageMaker-only fields. They are kept beside the user's
# CustomerMetadataProperties (SageMaker's own field never starts with "sagemaker:"), and hidden from it.
PREFIX = "sagemaker:"
PROP_ARN = "sagemaker:arn"
PROP_VERSION = "sagemaker:version"
PROP_IMAGE = "sagemaker:image"
PROP_APPROVAL_DESCRIPTION = "sagemaker:approval_description"

# Jobs that SageMaker entities become: training jobs and lineage actions/contexts live in this namespace.
JOB_NAMESPACE = "sagemaker"
# SageMaker does not record which object versions a training channel read, so every job reading one S3 URI
# shares this dataset version: impact analysis from that data then reaches all of them.
UNVERSIONED = "unversioned"

_APPROVAL_TO_OURS = {
    "PendingManualApproval": ApprovalStatus.PENDING_MANUAL_APPROVAL,
    "Approved": ApprovalStatus.APPROVED,
    "Rejected": ApprovalStatus.REJECTED,
}
_APPROVAL_TO_AWS = {ours: aws for aws, ours in _APPROVAL_TO_OURS.items()}

_TRAINING_STATUS = {
    "InProgress": RunStatus.RUNNING,
    "Stopping": RunStatus.RUNNING,
    "Completed": RunStatus.COMPLETED,
    "Failed": RunStatus.FAILED,
    "Stopped": RunStatus.ABORTED,
}


def approval_from_aws(value: str, field: str = "ModelApprovalStatus") -> ApprovalStatus:
    try:
        return _APPROVAL_TO_OURS[value]
    except KeyError:
        allowed = ", ".join(_APPROVAL_TO_OURS)
        raise ValidationFailed.field(field, f"{value!r} is not one of {allowed}") from None


def approval_to_aws(status: ApprovalStatus) -> str:
    return _APPROVAL_TO_AWS[status]


def training_status(value: str | None) -> RunStatus:
    return _TRAINING_STATUS.get(value or "", RunStatus.OTHER)


# ---- ARNs ---------------------------------------------------------------------------------------------
class LineageType(Enum):
    ARTIFACT = "Artifact"
    ACTION = "Action"
    CONTEXT = "Context"


@dataclass(frozen=True)
class ArnScope:
    """The region and account our ARNs carry; the region is the one the client signed its request for."""

    region: str = "us-east-1"
    account: str = "000000000000"

    def arn(self, resource: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{resource}"

    def of_arn(self, arn: str) -> ArnScope:
        """The scope to answer a request about `arn` in: an ARN keeps the region it was issued for."""
        match = _ARN.fullmatch(arn)
        region = match["region"] if match else ""
        return ArnScope(region, self.account) if region and region != self.region else self

    def group_arn(self, name: str) -> str:
        return self.arn(f"model-package-group/{name}")

    def package_arn(self, group: str, version: int) -> str:
        return self.arn(f"model-package/{group}/{version}")

    def node_arn(self, ref: NodeRef) -> str:
        """The ARN a graph node answers to. Lineage entities carry their global id, so any node created
        through GraphQL or OpenLineage has an ARN without storing one."""
        if ref.kind is NodeKind.MODEL_VERSION:
            return self.package_arn(str(ref.parts[0]), int(ref.parts[1]))
        if ref.kind is NodeKind.MODEL_GROUP:
            return self.group_arn(str(ref.parts[0]))
        return self.arn(f"{_RESOURCE_OF[ref.kind]}/{ref.global_id}")


_RESOURCE_OF = {
    NodeKind.DATASET_VERSION: "artifact",
    NodeKind.CODE_VERSION: "artifact",
    NodeKind.RUN: "action",
    NodeKind.JOB: "context",
}
_KINDS_OF_RESOURCE = {
    "artifact": (NodeKind.DATASET_VERSION, NodeKind.CODE_VERSION),
    "action": (NodeKind.RUN,),
    "context": (NodeKind.JOB,),
}
_ARN = re.compile(r"arn:aws[\w-]*:sagemaker:(?P<region>[\w-]*):\d*:(?P<type>[a-z-]+)/(?P<rest>.+)")


def lineage_type(kind: NodeKind) -> LineageType:
    if kind is NodeKind.RUN:
        return LineageType.ACTION
    if kind in (NodeKind.JOB, NodeKind.MODEL_GROUP):
        return LineageType.CONTEXT
    return LineageType.ARTIFACT


def vertex_type(kind: NodeKind) -> str:
    """SageMaker's `Type` of a lineage vertex."""
    return {
        NodeKind.DATASET_VERSION: "DataSet",
        NodeKind.CODE_VERSION: "Code",
        NodeKind.MODEL_VERSION: "ModelPackage",
        NodeKind.MODEL_GROUP: "ModelPackageGroup",
        NodeKind.RUN: "Action",
        NodeKind.JOB: "Context",
    }.get(kind, kind.label)


def parse_arn(arn: str, field: str) -> NodeRef:
    """The node an ARN names; a malformed ARN is a validation error naming `field`."""
    match = _ARN.fullmatch(arn)
    if match is None:
        raise ValidationFailed.field(field, f"{arn[:120]!r} is not a SageMaker ARN this server issued")
    kind, rest = match["type"], match["rest"]
    if kind == "model-package-group":
        return NodeRef.of(NodeKind.MODEL_GROUP, rest)
    if kind == "model-package":
        group, _, number = rest.rpartition("/")
        if not group or not number.isdigit():
            raise ValidationFailed.field(field, "a versioned model package ARN ends in <group>/<version>")
        return NodeRef.of(NodeKind.MODEL_VERSION, group, int(number))
    kinds = _KINDS_OF_RESOURCE.get(kind)
    if kinds is None:
        raise ValidationFailed.field(field, f"{kind} ARNs are not part of this server's lineage")
    return NodeRef.parse(rest, field).expect(*kinds, field=field)


def package_ref(name_or_arn: str, field: str) -> NodeRef:
    """DescribeModelPackage and UpdateModelPackage name a versioned package by its ARN."""
    ref = parse_arn(name_or_arn, field) if name_or_arn.startswith("arn:") else None
    if ref is None or ref.kind is not NodeKind.MODEL_VERSION:
        raise ValidationFailed.field(field, "must be the ARN of a versioned model package (…:model-package/<g>/<n>)")
    return ref


def group_name(name_or_arn: str, field: str) -> str:
    if name_or_arn.startswith("arn:"):
        return str(parse_arn(name_or_arn, field).expect(NodeKind.MODEL_GROUP, field=field).parts[0])
    return name_or_arn


# ---- associations -------------------------------------------------------------------------------------
ASSOCIATION_TYPES = ("ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs")
_D, _C, _R, _M = NodeKind.DATASET_VERSION, NodeKind.CODE_VERSION, NodeKind.RUN, NodeKind.MODEL_VERSION
# (source kind, destination kind, association type) -> our lineage edge; other combinations are kept as a
# generic ASSOCIATED_WITH edge carrying SageMaker's type, so nothing a client records is lost.
_NATIVE_EDGES = {
    (_D, _R, "ContributedTo"): "INPUT_TO",
    (_R, _D, "Produced"): "OUTPUT",
    (_R, _M, "Produced"): "OUTPUT",
    (_D, _M, "ContributedTo"): "TRAINED",
    (_C, _R, "ContributedTo"): "EXECUTED_BY",
    (_C, _M, "ContributedTo"): "BUILT",
    (_M, _M, "DerivedFrom"): "DERIVED_FROM",
}
_TYPE_OF_EDGE = {
    "INPUT_TO": "ContributedTo",
    "TRAINED": "ContributedTo",
    "EXECUTED_BY": "ContributedTo",
    "BUILT": "ContributedTo",
    "OUTPUT": "Produced",
    "DERIVED_FROM": "DerivedFrom",
}
GENERIC_EDGE = "ASSOCIATED_WITH"


def edge_for(source: NodeKind, destination: NodeKind, association_type: str) -> str:
    return _NATIVE_EDGES.get((source, destination, association_type), GENERIC_EDGE)


def association_type(edge: str, stored_type: str | None) -> str:
    return stored_type if edge == GENERIC_EDGE and stored_type else _TYPE_OF_EDGE.get(edge, "AssociatedWith")


# ---- S3 URIs and metric reports -----------------------------------------------------------------------
def split_s3_uri(uri: str) -> tuple[str, str]:
    """("bucket", "key") of an s3:// URI; a ValueError when it is not one."""
    scheme, sep, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme != "s3" or not sep or not bucket:
        raise ValueError(f"{uri!r} is not an s3:// URI")
    return bucket, key


def dataset_of_uri(uri: str) -> tuple[str, str]:
    """The OpenLineage dataset identity of a storage URI: namespace `s3://bucket`, name the key path."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return ("file", uri)
    authority, _, path = rest.partition("/")
    return (f"{scheme}://{authority}", path.rstrip("/") or "/")


_METRIC_SAFE = re.compile(r"[^\w.:/@-]")


def metrics_from_report(report: Any, split: str | None) -> list[Metric]:
    """Metrics in a SageMaker Model Monitor / Clarify style report: every `{"name": {"value": x}}` (any depth)
    and every plain number directly inside a `*_metrics` object. Names are sanitised to our metric name rule."""
    found: dict[str, float] = {}
    for name, value in _numeric_leaves(report, in_metrics=False):
        clean = _METRIC_SAFE.sub("_", name)[:128]
        if clean and math.isfinite(value):
            found.setdefault(clean, value)
    return [Metric(name, value, None, split) for name, value in found.items()]


def _numeric_leaves(node: Any, in_metrics: bool) -> Iterator[tuple[str, float]]:
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        if isinstance(value, Mapping):
            inner = value.get("value")
            if isinstance(inner, int | float) and not isinstance(inner, bool):
                yield str(key), float(inner)
            else:
                # Plain numbers count only directly inside a `*_metrics` object, so matrices and histograms
                # nested deeper are not mistaken for metrics.
                yield from _numeric_leaves(value, str(key).endswith("metrics"))
        elif in_metrics and isinstance(value, int | float) and not isinstance(value, bool):
            yield str(key), float(value)


def metric_report_uris(model_metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """("ModelQuality.Statistics", "s3://…") for every report a ModelMetrics structure references, in order."""
    found = []
    for section in REPORT_SECTIONS:
        kinds = model_metrics.get(section)
        if not isinstance(kinds, Mapping):
            continue
        for kind, ref in sorted(kinds.items()):
            uri = ref.get("S3Uri") if isinstance(ref, Mapping) else None
            if isinstance(uri, str) and uri:
                found.append((f"{section}.{kind}", uri))
    return found


def metrics_from_reports(reports: Mapping[str, Any]) -> list[Metric]:
    """Typed metrics from parsed reports keyed by "Section.Kind"; the split is the section (ModelQuality,
    Bias…), and the first report of a section to name a metric wins."""
    metrics: dict[tuple[str, str], Metric] = {}
    for key, report in sorted(reports.items()):
        split = key.split(".")[0]
        for metric in metrics_from_report(report, split):
            metrics.setdefault((metric.name, split), metric)
    return list(metrics.values())


REPORT_SECTIONS = ("ModelQuality", "ModelDataQuality", "Bias", "Explainability")
# Per report: "parsed: N metrics" or "unreadable: <why>", so GraphQL and DescribeModelPackage can tell a
# version whose metrics were read from one whose reports could not be.
PROP_REPORT = "sagemaker:metrics_report."


# ---- CreateModelPackage documents ------------------------------------------------------------------------
# Request members with a typed home of their own (the group, description, status, customer metadata, tags) or
# that SageMaker never returns (ClientToken). Everything else is kept verbatim and given back by Describe.
NOT_IN_SPEC = frozenset(
    {
        "ModelPackageName",
        "ModelPackageGroupName",
        "ModelPackageDescription",
        "ModelApprovalStatus",
        "CustomerMetadataProperties",
        "Tags",
        "ClientToken",
    }
)


def package_spec(params: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a CreateModelPackage request stored as the version's external spec."""
    return {k: v for k, v in params.items() if k not in NOT_IN_SPEC and v is not None}


@dataclass(frozen=True)
class Vote:
    """One recorded approval decision, as the approval description needs it."""

    decision: str  # APPROVE or REJECT
    actor: str
    comment: str | None
    to_status: ApprovalStatus


def current_approvers(votes: Sequence[Vote]) -> list[str]:
    """Distinct approvers since the last rejection (a rejection starts a new round)."""
    approvers: list[str] = []
    for vote in votes:
        if vote.decision == "REJECT":
            approvers = []
        elif vote.actor not in approvers:
            approvers.append(vote.actor)
    return approvers


def approval_description(votes: Sequence[Vote], status: ApprovalStatus, min_approvers: int) -> str | None:
    """SageMaker's ApprovalDescription: the comment of the latest decision, whichever API recorded it. SageMaker
    has no "approved by some, not enough yet" state; while a version waits for more approvers the description
    says how many of how many approved, so a boto3 caller sees why the status stayed PendingManualApproval."""
    if not votes:
        return None
    comment = votes[-1].comment
    approvers = current_approvers(votes)
    if status is not ApprovalStatus.PENDING_MANUAL_APPROVAL or not approvers:
        return comment
    progress = approval_progress(len(approvers), min_approvers, approvers)
    return f"{comment} ({progress})" if comment else progress


def approval_progress(approvals: int, needed: int, approvers: list[str] | None = None) -> str:
    who = f" ({', '.join(approvers)})" if approvers else ""
    more = needed - approvals
    return (
        f"approvals {approvals} of {needed}{who}; PendingManualApproval until {more} more "
        f"distinct approver{'s' if more != 1 else ''} approve"
    )


# ---- tags ----------------------------------------------------------------------------------------------
def tags_from_aws(tags: Any, field: str = "Tags") -> list[tuple[str, str]]:
    """SageMaker's [{Key, Value}] as pairs; our tags are `key=value` strings (`key` alone when the value is
    empty), so a key may not contain "=" and both must fit the registry's tag rule."""
    if not isinstance(tags, list):
        raise ValidationFailed.field(field, "must be a list of {Key, Value}")
    pairs = []
    for i, tag in enumerate(tags):
        if not isinstance(tag, Mapping) or not isinstance(tag.get("Key"), str):
            raise ValidationFailed.field(f"{field}[{i}]", "must be {Key, Value} with a string Key")
        key, value = tag["Key"], tag.get("Value", "")
        if not isinstance(value, str):
            raise ValidationFailed.field(f"{field}[{i}].Value", "must be a string")
        if not key or "=" in key:
            raise ValidationFailed.field(f"{field}[{i}].Key", "must be non-empty and contain no '='")
        pairs.append((key, value))
    return pairs


def tag_string(key: str, value: str) -> str:
    return f"{key}={value}" if value else key


def tag_pair(tag: str) -> tuple[str, str]:
    key, _, value = tag.partition("=")
    return key, value


def merge_tags(current: Sequence[str], added: Sequence[tuple[str, str]], removed: Sequence[str]) -> list[str]:
    """AddTags overwrites the value of a key it names; DeleteTags removes keys (absent ones are no-ops)."""
    merged = {tag_pair(t)[0]: tag_pair(t)[1] for t in current}
    for key in removed:
        merged.pop(key, None)
    for key, value in added:
        merged[key] = value
    return [tag_string(k, v) for k, v in merged.items()]
