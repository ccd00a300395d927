"""The registry's input rules: what a valid name, tag, metric, URI or property map is. Pure functions that
collect every problem (with the field path) so a client hears about all of them at once."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import Metric, RunKind, RunStatus

# SageMaker's model package group name rule, so names move between the two unchanged.
GROUP_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
ALIAS_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
RESERVED_ALIASES = frozenset({"latest"})
TAG = re.compile(r"[\w.:/=+@-]{1,128}")
METRIC_NAME = re.compile(r"[\w.:/@-]{1,128}")
DIGEST = re.compile(r"[a-z0-9]+:[0-9a-fA-F]{16,128}")
COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")
ENVIRONMENT = re.compile(r"[a-z][a-z0-9_-]{0,62}")
ARTIFACT_SCHEMES = frozenset(
    {
        "s3",
        "gs",
        "gcs",
        "abfs",
        "abfss",
        "wasbs",
        "hdfs",
        "file",
        "http",
        "https",
        "dbfs",
        "oci",
        "models",
        "runs",
        "mlflow-artifacts",
    }
)

MAX_DESCRIPTION = 1024
MAX_TAGS = 50
MAX_PROPERTIES = 50
MAX_PROPERTY_KEY = 128
MAX_PROPERTY_VALUE = 1024
MAX_JSON_BYTES = 64 * 1024
MAX_METRICS = 1000
MAX_TEXT = 1024


@dataclass
class Checker:
    """Accumulates problems; `done()` raises them all together, or returns quietly."""

    problems: list[Problem] = field(default_factory=list)

    def fail(self, path: str, message: str, code: str = "INVALID") -> None:
        self.problems.append(Problem(path, message, code))

    def done(self) -> None:
        if self.problems:
            raise ValidationFailed.of(self.problems)

    # ---- simple values -------------------------------------------------------------------------
    def group_name(self, path: str, value: str) -> None:
        if not 1 <= len(value) <= 63 or not GROUP_NAME.fullmatch(value):
            self.fail(path, "must be 1-63 letters, digits or hyphens, starting and ending with a letter or digit")

    def text(self, path: str, value: str | None, limit: int = MAX_TEXT, required: bool = False) -> None:
        if value is None or value == "":
            if required:
                self.fail(path, "is required", "REQUIRED")
            return
        if len(value) > limit:
            self.fail(path, f"must be at most {limit} characters (got {len(value)})", "TOO_LONG")
        if "\x00" in value:
            self.fail(path, "must not contain NUL characters")

    def description(self, path: str, value: str | None) -> None:
        self.text(path, value, MAX_DESCRIPTION)

    def tags(self, path: str, values: Sequence[str] | None) -> None:
        if values is None:
            return
        if len(values) > MAX_TAGS:
            self.fail(path, f"at most {MAX_TAGS} tags", "TOO_MANY")
        for i, tag in enumerate(values):
            if not TAG.fullmatch(tag):
                self.fail(f"{path}[{i}]", "a tag is 1-128 letters, digits or . : / = + @ - _")

    def alias(self, path: str, value: str) -> None:
        if not ALIAS_NAME.fullmatch(value):
            self.fail(path, "an alias is 1-63 lowercase letters, digits, _ or -, starting with a letter")
        elif value in RESERVED_ALIASES or re.fullmatch(r"v\d+", value):
            self.fail(path, f"{value!r} is reserved (it would read as a version)")

    def artifact_uri(self, path: str, value: str) -> None:
        scheme, sep, rest = value.partition("://")
        if not sep or not rest or scheme.lower() not in ARTIFACT_SCHEMES:
            schemes = ", ".join(sorted(ARTIFACT_SCHEMES))
            self.fail(path, f"must be a URI with one of the schemes {schemes}", "BAD_URI")
        self.text(path, value, 2048)

    def digest(self, path: str, value: str | None) -> None:
        if value is not None and not DIGEST.fullmatch(value):
            self.fail(path, "must look like 'sha256:<hex>' (algorithm, colon, hex digest)")

    def commit(self, path: str, value: str) -> None:
        if not COMMIT.fullmatch(value):
            self.fail(path, "must be a commit hash of 7-64 hex characters")

    def environment(self, path: str, value: str) -> None:
        if not ENVIRONMENT.fullmatch(value):
            self.fail(path, "an environment is 1-63 lowercase letters, digits, _ or -, starting with a letter")

    def traffic_share(self, path: str, value: float) -> None:
        if not math.isfinite(value) or not 0 < value <= 100:
            self.fail(path, "must be a percentage above 0 and at most 100", "OUT_OF_RANGE")

    # ---- structured values ---------------------------------------------------------------------
    def string_map(self, path: str, values: Mapping[str, str] | None) -> None:
        if values is None:
            return
        if len(values) > MAX_PROPERTIES:
            self.fail(path, f"at most {MAX_PROPERTIES} entries", "TOO_MANY")
        for key, value in values.items():
            if not key or len(key) > MAX_PROPERTY_KEY:
                self.fail(f"{path}.{key[:40]}", f"keys are 1-{MAX_PROPERTY_KEY} characters")
            if not isinstance(value, str):
                self.fail(f"{path}.{key[:40]}", "values must be strings")
            elif len(value) > MAX_PROPERTY_VALUE:
                self.fail(f"{path}.{key[:40]}", f"values are at most {MAX_PROPERTY_VALUE} characters", "TOO_LONG")

    def json_object(self, path: str, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.fail(path, "must be a JSON object")
            return
        try:
            size = len(json.dumps(value, allow_nan=False).encode())
        except (TypeError, ValueError):
            self.fail(path, "must be valid JSON (no NaN or Infinity)")
            return
        if size > MAX_JSON_BYTES:
            self.fail(path, f"must be at most {MAX_JSON_BYTES} bytes as JSON (got {size})", "TOO_LARGE")

    def metrics(self, path: str, metrics: Sequence[Metric]) -> None:
        if len(metrics) > MAX_METRICS:
            self.fail(path, f"at most {MAX_METRICS} metrics", "TOO_MANY")
        seen: dict[tuple[str, int | None, str | None], float] = {}
        for i, metric in enumerate(metrics):
            here = f"{path}[{i}]"
            if not METRIC_NAME.fullmatch(metric.name):
                self.fail(f"{here}.name", "a metric name is 1-128 letters, digits or . : / @ - _")
            if isinstance(metric.value, bool) or not isinstance(metric.value, int | float):
                self.fail(f"{here}.value", "must be a number")
            elif not math.isfinite(metric.value):
                self.fail(f"{here}.value", "must be a finite number")
            if metric.step is not None and metric.step < 0:
                self.fail(f"{here}.step", "must be zero or more")
            if metric.split is not None:
                self.text(f"{here}.split", metric.split, 64)
            if metric.key in seen:
                self.fail(here, f"metric {metric.name} is given twice for the same step and split", "DUPLICATE")
            seen[metric.key] = metric.value

    def time_range(self, path: str, start: datetime | None, end: datetime | None) -> None:
        if start is not None and end is not None and as_utc(end) < as_utc(start):
            self.fail(path, "ends before it starts")

    def timestamp(self, path: str, value: datetime | None) -> None:
        if value is None:
            return
        try:
            in_utc = as_utc(value)
        except (OverflowError, ValueError):
            self.fail(path, "is not a representable point in time")
            return
        if not 1900 <= in_utc.year <= 9999:
            self.fail(path, "must be between the years 1900 and 9999", "OUT_OF_RANGE")


def version_name(text: str) -> tuple[str, int] | None:
    """The (group, version) that `text` names as a model version is shown, `group/version` ("churn/3"), or None."""
    group, slash, number = text.strip().rpartition("/")
    if not slash or not number.isascii() or not number.isdigit() or len(number) > 9:
        return None
    if not GROUP_NAME.fullmatch(group):
        return None
    return group, int(number)


def as_utc(value: datetime) -> datetime:
    """A timestamp in UTC; one without a zone is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def merge_metrics(existing: Iterable[Metric], added: Iterable[Metric]) -> tuple[Metric, ...]:
    """Add metrics without ever overwriting one: the same (name, step, split) with the same value is a
    no-op (safe to replay), with a different value it is refused."""
    current = {m.key: m for m in existing}
    problems: list[Problem] = []
    merged = dict(current)
    for i, metric in enumerate(added):
        old = current.get(metric.key)
        if old is not None and old.value != metric.value:
            where = f"step {metric.step}" if metric.step is not None else "no step"
            problems.append(
                Problem(
                    f"metrics[{i}]",
                    f"{metric.name} ({where}, split {metric.split}) is already "
                    f"recorded as {old.value}; metrics are never overwritten",
                    "CONFLICT",
                )
            )
        merged.setdefault(metric.key, metric)
    if problems:
        raise ValidationFailed.of(problems)
    return tuple(merged.values())


LOWER_IS_BETTER = re.compile(
    r"(loss|error|err|mae|mse|rmse|mape|latency|_ms$|time|perplexity|cost|fpr|fnr)", re.IGNORECASE
)


def higher_is_better(metric_name: str) -> bool:
    """The direction a metric improves in, judged from its name (loss, error, latency… improve downwards)."""
    return LOWER_IS_BETTER.search(metric_name) is None


def run_status_is_terminal(status: RunStatus) -> bool:
    return status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.ABORTED)


def parse_run_kind(value: str) -> RunKind:
    return RunKind(value)
