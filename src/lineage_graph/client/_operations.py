"""Each client call as one GraphQL operation: the document, its variables and how to read the answer.

Pure (no I/O), so the sync and the async client share every byte they send and every rule they apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypedDict, TypeVar

from lineage_graph.client.errors import NotFound
from lineage_graph.client.models import (
    ApprovalReadiness,
    CodeVersionKey,
    DatasetVersionKey,
    LineageGraph,
    Metric,
    ModelVersion,
    Run,
)

T = TypeVar("T")

MetricsArg = Mapping[str, float] | Sequence[Metric]
DatasetArg = DatasetVersionKey | str
CodeArg = CodeVersionKey | str


class RunRef(Protocol):
    """Anything that names a run by its id (an open run's handle)."""

    @property
    def run_id(self) -> str: ...


class RegistrationOptions(TypedDict, total=False):
    """What `register_model_version` takes besides the group and the artifact (all optional)."""

    metrics: MetricsArg | None
    hyperparameters: Mapping[str, Any] | None
    trained_on: Sequence[DatasetArg]
    code: CodeArg | None
    produced_by: str | RunRef | None  # a run id, or the handle of the run that trained it
    framework: str | None
    framework_version: str | None
    artifact_digest: str | None
    description: str | None
    tags: Sequence[str]
    custom_properties: Mapping[str, str] | None
    client_token: str | None


_VERSION_FIELDS = """
  id groupName version artifactUri approvalStatus hyperparameters tags aliases archived createdBy createdAt
  description customProperties metrics { name value step split }
"""
_RUN_FIELDS = "id runId jobNamespace jobName kind status startedAt endedAt parameters metrics { name value step split }"
_LINEAGE_FIELDS = """
  root depthReached truncated
  nodes {
    id kind displayName distance namespace name group version repository commit runId approvalStatus archived tags
  }
  edges { source target type }
"""

REGISTER = (
    "mutation($input: RegisterModelVersionInput!) "
    f"{{ result: registerModelVersion(input: $input) {{ {_VERSION_FIELDS} }} }}"
)
RECORD_RUN = f"mutation($input: RecordRunInput!) {{ result: recordRun(input: $input) {{ {_RUN_FIELDS} }} }}"
ADD_METRICS = (
    f"mutation($id: ID!, $metrics: [MetricInput!]!) {{ result: addModelVersionMetrics(id: $id, metrics: $metrics) "
    f"{{ {_VERSION_FIELDS} }} }}"
)
SET_ALIAS = (
    f"mutation($alias: String!, $id: ID!) {{ result: setModelAlias(modelVersionId: $id, alias: $alias) "
    f"{{ {_VERSION_FIELDS} }} }}"
)
MODEL_VERSION = (
    f"query($group: String!, $version: Int!) {{ result: modelVersion(group: $group, version: $version) "
    f"{{ {_VERSION_FIELDS} }} }}"
)
BY_ALIAS = (
    f"query($group: String!, $alias: String!) {{ result: modelVersionByAlias(group: $group, alias: $alias) "
    f"{{ {_VERSION_FIELDS} }} }}"
)
LINEAGE = (
    "query($id: ID!, $direction: LineageDirection!, $depth: Int!) "
    f"{{ result: lineage(id: $id, direction: $direction, depth: $depth) {{ {_LINEAGE_FIELDS} }} }}"
)
VERSION_LINEAGE = (
    "query($group: String!, $version: Int!, $direction: LineageDirection!, $depth: Int!) "
    "{ result: modelVersion(group: $group, version: $version) "
    f"{{ lineage(direction: $direction, depth: $depth) {{ {_LINEAGE_FIELDS} }} }} }}"
)
APPROVAL_STATUS = (
    "query($group: String!, $version: Int!) { result: modelVersion(group: $group, version: $version) "
    "{ approvalStatus } }"
)
CREATE_GROUP = "mutation($input: CreateModelGroupInput!) { result: createModelGroup(input: $input) { name } }"


READINESS = (
    "query($group: String!, $version: Int!) { result: modelVersion(group: $group, version: $version) "
    "{ approvalReadiness { ready status resultingStatus approvals approvalsNeeded lineageComplete "
    "unmet { code field message } } } }"
)


@dataclass(frozen=True)
class Operation(Generic[T]):
    """`retry_safe`: sending it again after a lost response cannot do the work twice (an upsert, or a
    client token), so the transport may retry transport failures too, not only UNAVAILABLE answers."""

    document: str
    variables: dict[str, Any]
    parse: Callable[[Any], T]
    retry_safe: bool


def metrics_input(metrics: MetricsArg | None) -> list[dict[str, Any]]:
    if metrics is None:
        return []
    if isinstance(metrics, Mapping):
        return [{"name": str(k), "value": float(v)} for k, v in metrics.items()]
    return [m.as_input() for m in metrics]


def dataset_input(spec: DatasetArg) -> dict[str, Any]:
    return (DatasetVersionKey.parse(spec) if isinstance(spec, str) else spec).as_input()


def code_input(spec: CodeArg) -> dict[str, Any]:
    return (CodeVersionKey.parse(spec) if isinstance(spec, str) else spec).as_input()


def _required(what: str) -> Callable[[Any], Any]:
    def check(raw: Any) -> Any:
        if raw is None:
            # The server answers null without an error only for lookups; name what was missing.
            raise NotFound(f"{what} does not exist")
        return raw

    return check


def _version(what: str) -> Callable[[Any], ModelVersion]:
    required = _required(what)
    return lambda raw: ModelVersion.from_json(required(raw))


def register_model_version(
    group: str,
    artifact_uri: str,
    *,
    metrics: MetricsArg | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    trained_on: Sequence[DatasetArg] = (),
    code: CodeArg | None = None,
    produced_by: str | RunRef | None = None,
    framework: str | None = None,
    framework_version: str | None = None,
    artifact_digest: str | None = None,
    description: str | None = None,
    tags: Sequence[str] = (),
    custom_properties: Mapping[str, str] | None = None,
    client_token: str | None = None,
) -> Operation[ModelVersion]:
    run_id = produced_by if produced_by is None or isinstance(produced_by, str) else produced_by.run_id
    payload: dict[str, Any] = {
        "group": group,
        "artifactUri": artifact_uri,
        "artifactDigest": artifact_digest,
        "framework": framework,
        "frameworkVersion": framework_version,
        "description": description,
        "hyperparameters": dict(hyperparameters or {}),
        "metrics": metrics_input(metrics),
        "customProperties": dict(custom_properties or {}),
        "tags": list(tags),
        "trainedOnDatasets": [dataset_input(d) for d in trained_on],
        "producedBy": {"runId": run_id} if run_id else None,
        "code": code_input(code) if code is not None else None,
        # Chosen once per call, so every retry of this call names the same registration.
        "clientToken": client_token or f"lgc-{uuid.uuid4()}",
    }
    return Operation(REGISTER, {"input": payload}, _version("model version"), retry_safe=True)


def record_run(
    run_id: str,
    job: str,
    *,
    namespace: str,
    kind: str,
    status: str,
    started_at: datetime | None,
    ended_at: datetime | None,
    parameters: Mapping[str, Any] | None,
    metrics: MetricsArg | None,
    inputs: Sequence[DatasetArg],
    outputs: Sequence[DatasetArg],
    code: CodeArg | None,
) -> Operation[Run]:
    payload: dict[str, Any] = {
        "runId": run_id,
        "job": {"namespace": namespace, "name": job},
        "kind": kind,
        "status": status,
        "startedAt": started_at.isoformat() if started_at else None,
        "endedAt": ended_at.isoformat() if ended_at else None,
        "parameters": {str(k): str(v) for k, v in (parameters or {}).items()},
        "metrics": metrics_input(metrics),
        "inputDatasets": [dataset_input(d) for d in inputs],
        "outputDatasets": [dataset_input(d) for d in outputs],
        "code": code_input(code) if code is not None else None,
    }
    # An upsert by run id: replaying it converges on the same run.
    return Operation(RECORD_RUN, {"input": payload}, lambda raw: Run.from_json(_required("run")(raw)), True)


def add_metrics(model_version_id: str, metrics: MetricsArg) -> Operation[ModelVersion]:
    # The server refuses to overwrite a value but accepts the same one again, so a resend is harmless.
    variables = {"id": model_version_id, "metrics": metrics_input(metrics)}
    return Operation(ADD_METRICS, variables, _version("model version"), retry_safe=True)


def set_alias(alias: str, model_version_id: str) -> Operation[ModelVersion]:
    variables = {"alias": alias, "id": model_version_id}
    return Operation(SET_ALIAS, variables, _version("model version"), retry_safe=True)


def model_version(group: str, version: int) -> Operation[ModelVersion]:
    what = f"model version {group}/{version}"
    return Operation(MODEL_VERSION, {"group": group, "version": version}, _version(what), retry_safe=True)


def model_version_by_alias(group: str, alias: str) -> Operation[ModelVersion]:
    what = f"alias {alias} of group {group}"
    return Operation(BY_ALIAS, {"group": group, "alias": alias}, _version(what), retry_safe=True)


def approval_status(group: str, version: int) -> Operation[str]:
    what = f"model version {group}/{version}"
    required = _required(what)
    return Operation(
        APPROVAL_STATUS,
        {"group": group, "version": version},
        lambda raw: str(required(raw)["approvalStatus"]),
        retry_safe=True,
    )


def approval_readiness(group: str, version: int) -> Operation[ApprovalReadiness]:
    required = _required(f"model version {group}/{version}")
    return Operation(
        READINESS,
        {"group": group, "version": version},
        lambda raw: ApprovalReadiness.from_json(required(raw)["approvalReadiness"]),
        retry_safe=True,
    )


def lineage(node_id: str, direction: str, depth: int) -> Operation[LineageGraph]:
    variables = {"id": node_id, "direction": direction, "depth": depth}
    return Operation(LINEAGE, variables, LineageGraph.from_json, retry_safe=True)


def model_version_lineage(group: str, version: int, direction: str, depth: int) -> Operation[LineageGraph]:
    required = _required(f"model version {group}/{version}")
    variables = {"group": group, "version": version, "direction": direction, "depth": depth}
    return Operation(
        VERSION_LINEAGE, variables, lambda raw: LineageGraph.from_json(required(raw)["lineage"]), retry_safe=True
    )


def create_model_group(
    name: str, *, description: str | None = None, owner: str | None = None, tags: Sequence[str] = ()
) -> Operation[str]:
    payload = {"name": name, "description": description, "owner": owner, "tags": list(tags)}
    # Not retried after a lost response: the resend would answer ALREADY_EXISTS for our own group.
    return Operation(CREATE_GROUP, {"input": payload}, lambda raw: str(_required("group")(raw)["name"]), False)
