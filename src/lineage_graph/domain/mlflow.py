"""MLflow's model registry vocabulary mapped onto ours: its search filter grammar, its stages, its tags.

Pure functions; the MLflow REST facade and the MLflow importer both decide through these.

- A registered model is a model group, a model version is a model version (same numbers).
- Stages are not a second status beside our approval: `Production` means APPROVED (reaching it is an
  approval, through the governance rules), `Archived` means archived, `Staging` is a marker property, `None`
  is the rest. Moving an APPROVED version to `None` or `Staging` is a rejection (a revocation).
- Version tags are custom properties; registered-model tags are group tags written `key=value`.
- What MLflow needs back verbatim (its `source` URI, run id and link, logged model id) is kept in custom
  properties under the `mlflow:` prefix, which MLflow's own tags (`mlflow.*`) cannot collide with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.models import ApprovalStatus, ModelVersion

PREFIX = "mlflow:"
PROP_SOURCE = "mlflow:source"
PROP_RUN_ID = "mlflow:run_id"
PROP_RUN_LINK = "mlflow:run_link"
PROP_MODEL_ID = "mlflow:model_id"
PROP_STAGE = "mlflow:stage"
PROP_DELETED = "mlflow:deleted"
GROUP_DELETED_TAG = "mlflow:deleted"
JOB_NAMESPACE = "mlflow"

STAGES = ("None", "Staging", "Production", "Archived")


class StageMove(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    ARCHIVE = "archive"
    STAGING = "staging"
    NONE = "none"


def canonical_stage(stage: str) -> str:
    for known in STAGES:
        if stage.lower() == known.lower():
            return known
    raise ValidationFailed.field("stage", f"{stage!r} is not one of {', '.join(STAGES)}")


def current_stage(version: ModelVersion) -> str:
    if version.archived:
        return "Archived"
    if version.approval_status is ApprovalStatus.APPROVED:
        return "Production"
    return "Staging" if version.custom_properties.get(PROP_STAGE) == "Staging" else "None"


def stage_moves(version: ModelVersion, target: str) -> list[StageMove]:
    """What reaching `target` takes, in order (e.g. leaving Archived for Production: un-archive, approve)."""
    stage = canonical_stage(target)
    moves: list[StageMove] = []
    if stage == "Archived":
        return [] if version.archived else [StageMove.ARCHIVE]
    if version.archived and stage == "Production":
        moves.append(StageMove.NONE)  # un-archive before approving; the None/Staging moves un-archive themselves
    approved = version.approval_status is ApprovalStatus.APPROVED
    if stage == "Production":
        return moves if approved else [*moves, StageMove.APPROVE]
    if approved:
        moves.append(StageMove.REJECT)
    moves.append(StageMove.STAGING if stage == "Staging" else StageMove.NONE)
    return moves


def artifact_uri_of(source: str) -> str:
    """An MLflow `source` as a URI our registry stores: `models:/m-1` → `models://m-1`, a local path →
    `file://…`. The source itself is kept verbatim beside it (PROP_SOURCE)."""
    if "://" in source:
        return source
    scheme, colon, rest = source.partition(":")
    if colon and re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*", scheme) and len(scheme) > 1:
        return f"{scheme}://{rest.lstrip('/')}"
    return f"file://{source}" if source.startswith("/") else source


def user_tags(properties: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in properties.items() if not k.startswith(PREFIX)}


def group_tag(key: str, value: str) -> str:
    return f"{key}={value}"


def group_tags(tags: Sequence[str]) -> dict[str, str]:
    """Group tags written `key=value` are MLflow tags; bare tags (and our markers) are not shown to MLflow."""
    found: dict[str, str] = {}
    for tag in tags:
        key, eq, value = tag.partition("=")
        if eq and not tag.startswith(PREFIX):
            found[key] = value
    return found


# ---- the search filter grammar --------------------------------------------------------------------------
# `name = 'fraud' AND tags.`team name` LIKE 'risk%' AND run_id IN ('a', 'b')`: comparisons joined by AND,
# as MLflow's SearchUtils accepts them for the model registry.
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<word>(?:`[^`]*`|[A-Za-z_]\w*)(?:\.(?:`[^`]*`|\w+))*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Clause:
    """One comparison: `key` is an attribute name, or a tag key when `tag` is true."""

    key: str
    tag: bool
    op: str
    value: str | tuple[str, ...]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ValidationFailed.field("filter", f"cannot parse the filter at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _identifier(word: str, attributes: frozenset[str]) -> tuple[str, bool]:
    head, dot, rest = word.partition(".")
    head = head.strip("`")
    if dot and head in ("tag", "tags"):
        return rest.strip("`"), True
    if dot and head in ("attribute", "attributes"):
        word = rest
    name = word.strip("`")
    if name not in attributes:
        allowed = ", ".join(sorted(attributes)) + ", tags.<key>"
        raise ValidationFailed.field("filter", f"invalid attribute key {name!r}: use one of {allowed}")
    return name, False


def parse_filter(text: str | None, attributes: frozenset[str], in_allowed: frozenset[str]) -> list[Clause]:
    """Clauses of an MLflow search filter; a malformed one is a ValidationFailed naming `filter` and why."""
    if text is None or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0
    while True:
        if i + 1 >= len(tokens):
            raise ValidationFailed.field("filter", f"incomplete comparison in {text!r}")
        kind, word = tokens[i]
        if kind != "word":
            raise ValidationFailed.field("filter", f"expected an attribute or tags.<key>, got {word!r}")
        key, tag = _identifier(word, attributes)
        op_kind, op = tokens[i + 1]
        op_upper = op.upper()
        if op_kind == "word" and op_upper == "NOT" and i + 2 < len(tokens) and tokens[i + 2][1].upper() == "IN":
            raise ValidationFailed.field("filter", "NOT IN is not supported")
        if op_upper not in ("=", "!=", "LIKE", "ILIKE", "IN"):
            raise ValidationFailed.field("filter", f"invalid comparator {op!r} for {word}: use =, !=, LIKE, ILIKE")
        i += 2
        if op_upper == "IN":
            if key not in in_allowed or tag:
                raise ValidationFailed.field("filter", f"IN is only supported for {', '.join(sorted(in_allowed))}")
            values, i = _value_list(tokens, i, text)
            clauses.append(Clause(key, tag, "IN", values))
        else:
            if i >= len(tokens) or tokens[i][0] not in ("string", "number"):
                raise ValidationFailed.field("filter", f"{word} {op} needs a quoted value")
            kind, raw = tokens[i]
            clauses.append(Clause(key, tag, op_upper, _unquote(raw) if kind == "string" else raw))
            i += 1
        if i == len(tokens):
            return clauses
        kind, word = tokens[i]
        if kind != "word" or word.upper() != "AND":
            raise ValidationFailed.field("filter", f"expected AND between comparisons, got {word!r}")
        i += 1


def _value_list(tokens: list[tuple[str, str]], i: int, text: str) -> tuple[tuple[str, ...], int]:
    if i >= len(tokens) or tokens[i][1] != "(":
        raise ValidationFailed.field("filter", "IN needs a parenthesized list of quoted values")
    values: list[str] = []
    i += 1
    while i < len(tokens):
        kind, raw = tokens[i]
        if kind != "string":
            raise ValidationFailed.field("filter", f"IN lists hold quoted values, got {raw!r}")
        values.append(_unquote(raw))
        i += 1
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
            continue
        if i < len(tokens) and tokens[i][1] == ")":
            return tuple(values), i + 1
        break
    raise ValidationFailed.field("filter", f"unclosed IN list in {text!r}")


def _like(pattern: str, value: str, ignore_case: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def matches(clauses: Sequence[Clause], attributes: Mapping[str, str | None], tags: Mapping[str, str]) -> bool:
    for clause in clauses:
        value = tags.get(clause.key) if clause.tag else attributes.get(clause.key)
        if clause.op == "IN":
            ok = value in clause.value
        elif clause.op == "!=":
            ok = value != clause.value  # a missing tag differs from every value
        elif value is None:
            ok = False
        elif clause.op == "=":
            ok = value == clause.value
        else:
            ok = _like(str(clause.value), value, ignore_case=clause.op == "ILIKE")
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Ordering:
    key: str
    descending: bool


def parse_order_by(items: Sequence[str], allowed: frozenset[str]) -> list[Ordering]:
    orderings: list[Ordering] = []
    for item in items:
        parts = item.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
            raise ValidationFailed.field("order_by", f"{item!r} is not '<column> [ASC|DESC]'")
        key = parts[0].removeprefix("attributes.").removeprefix("attribute.")
        key = "creation_timestamp" if key == "timestamp" else key
        if key not in allowed:
            raise ValidationFailed.field(
                "order_by", f"cannot order by {parts[0]!r}: use one of {', '.join(sorted(allowed))}"
            )
        orderings.append(Ordering(key, len(parts) == 2 and parts[1].upper() == "DESC"))
    return orderings


# ---- run facts as lineage -------------------------------------------------------------------------------
_METRIC_CHARS = re.compile(r"[^\w.:/@-]")


def metric_name(key: str) -> str:
    """MLflow metric keys may hold spaces; ours are `[\\w.:/@-]`, so anything else becomes `_`."""
    return _METRIC_CHARS.sub("_", key)[:128] or "_"


RUN_STATUS = {
    "RUNNING": "RUNNING",
    "SCHEDULED": "NEW",
    "FINISHED": "COMPLETED",
    "FAILED": "FAILED",
    "KILLED": "ABORTED",
}


@dataclass(frozen=True)
class MlflowDataset:
    name: str
    digest: str
    source_type: str | None
    source: str | None  # the dataset's URI when MLflow's source names one


@dataclass(frozen=True)
class MlflowRun:
    """What the tracking server says of a run, as far as lineage goes."""

    run_id: str
    experiment: str
    status: str
    start_ms: int | None
    end_ms: int | None
    params: Mapping[str, str]
    metrics: tuple[tuple[str, float, int | None], ...]
    datasets: tuple[MlflowDataset, ...]
    tags: Mapping[str, str]


def latest_per_stage(versions: Sequence[ModelVersion], stages: Sequence[str] = ()) -> list[ModelVersion]:
    """MLflow's `latest_versions`: the newest version in each stage (in the asked stages, else in every one)."""
    wanted = {canonical_stage(s) for s in stages} or set(STAGES)
    latest: dict[str, ModelVersion] = {}
    for version in versions:
        stage = current_stage(version)
        if stage in wanted and (stage not in latest or version.version > latest[stage].version):
            latest[stage] = version
    return sorted(latest.values(), key=lambda v: v.version)


def is_deleted(version: ModelVersion) -> bool:
    return version.custom_properties.get(PROP_DELETED) == "true"
