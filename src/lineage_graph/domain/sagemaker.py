"""SageMaker's vocabulary and ours: ARNs, approval statuses, association types, metric reports.

Pure functions shared by the importer and the SageMaker-compatible API, so both map the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
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
PROP_LIFECYCLE_STAGE = "sagemaker:lifecycle.stage"
PROP_LIFECYCLE_STATUS = "sagemaker:lifecycle.stage_status"
PROP_LIFECYCLE_DESCRIPTION = "sagemaker:lifecycle.stage_description"

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
_ARN = re.compile(r"arn:aws[\w-]*:sagemaker:[\w-]*:\d*:(?P<type>[a-z-]+)/(?P<rest>.+)")


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
