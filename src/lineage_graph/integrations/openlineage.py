"""Parse and validate OpenLineage events (spec 2.x) as the HTTP transport sends them.

The contract is the OpenLineage project's own: the `openlineage-python` client ships classes generated from
the spec (`openlineage.client.generated`), with the spec's required fields, types, enums and format checks
(runId is a UUID, eventTime an ISO date-time). The package does not ship the JSON files themselves, so we
walk a payload against those generated classes rather than keep a copy of the schema that would drift.
Every problem in a request is reported, each with its path in the payload; none of it is written.
"""

from __future__ import annotations

import json
import types
import typing
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Union

import attr
from openlineage.client.generated import (
    base,
    column_lineage_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_location_job,
    sql_job,
    symlinks_dataset,
)

from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.openlineage import (
    DatasetEvent,
    EventType,
    JobEvent,
    LineageDataset,
    LineageEvent,
    RunEvent,
)

# Bounds the work one request can ask for; larger replays are split by the client.
MAX_EVENTS_PER_REQUEST = 1000
MAX_BODY_BYTES = 64 * 1024 * 1024

# The facets the spec defines under well-known keys, checked against their own generated classes; any other
# key is a custom facet, checked against the base facet class of its section (which allows extra fields).
_KNOWN_FACETS: dict[type[Any], dict[str, type[Any]]] = {
    base.RunFacet: {
        "parent": parent_run.ParentRunFacet,
        "errorMessage": error_message_run.ErrorMessageRunFacet,
        "nominalTime": nominal_time_run.NominalTimeRunFacet,
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
    },
    base.JobFacet: {
        "sql": sql_job.SQLJobFacet,
        "documentation": documentation_job.DocumentationJobFacet,
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet,
        "jobType": job_type_job.JobTypeJobFacet,
        "ownership": ownership_job.OwnershipJobFacet,
    },
    base.DatasetFacet: {
        "schema": schema_dataset.SchemaDatasetFacet,
        "dataSource": datasource_dataset.DatasourceDatasetFacet,
        "version": dataset_version_dataset.DatasetVersionDatasetFacet,
        "documentation": documentation_dataset.DocumentationDatasetFacet,
        "symlinks": symlinks_dataset.SymlinksDatasetFacet,
        "ownership": ownership_dataset.OwnershipDatasetFacet,
        "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet,
    },
}


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """The request body as JSON bytes: the HTTP transport gzips it when configured with `compression: gzip`."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "gzip":
        raise ValidationFailed.field("Content-Encoding", f"unsupported encoding {encoding!r}", "UNSUPPORTED")
    try:
        # Bounded, so a small compressed body cannot expand without limit in memory.
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        data = decompressor.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise ValidationFailed.field("$", f"the gzip body is corrupt: {exc}", "INVALID_ENCODING") from None
    if len(data) > MAX_BODY_BYTES or decompressor.unconsumed_tail:
        raise ValidationFailed.field("$", f"the body exceeds {MAX_BODY_BYTES} bytes uncompressed", "TOO_LARGE")
    return data


def parse_events(body: bytes) -> list[LineageEvent]:
    """One event (a JSON object) or a batch (a JSON array); raises ValidationFailed naming every bad path."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("$", f"the body is not valid JSON: {exc}", "INVALID_JSON") from None
    batch = isinstance(payload, list)
    if isinstance(payload, dict):
        items: list[Any] = [payload]
    elif isinstance(payload, list):
        if not payload:
            raise ValidationFailed.field("$", "an empty array holds no events", "EMPTY")
        if len(payload) > MAX_EVENTS_PER_REQUEST:
            message = f"at most {MAX_EVENTS_PER_REQUEST} events per request, got {len(payload)}"
            raise ValidationFailed.field("$", message, "TOO_MANY")
        items = payload
    else:
        raise ValidationFailed.field("$", "expected an OpenLineage event object or an array of them", "INVALID")
    problems: list[Problem] = []
    events: list[LineageEvent] = []
    for index, item in enumerate(items):
        event = _parse_event(item, f"[{index}]" if batch else "", problems)
        if event is not None:
            events.append(event)
    if problems:
        raise ValidationFailed.of(problems)
    return events


def _parse_event(item: Any, path: str, problems: list[Problem]) -> LineageEvent | None:
    if not isinstance(item, dict):
        problems.append(Problem(path or "$", "expected an OpenLineage event object", "INVALID_TYPE"))
        return None
    if "run" in item:
        kind: type[Any] = base.RunEvent
    elif "dataset" in item:
        kind = base.DatasetEvent
    elif "job" in item:
        kind = base.JobEvent
    else:
        problems.append(Problem(path or "$", "an event needs `run` (RunEvent), `job` or `dataset`", "REQUIRED"))
        return None
    before = len(problems)
    _check(item, kind, path, problems)
    if len(problems) > before:
        return None
    event_time = _event_time(item["eventTime"], _join(path, "eventTime"), problems)
    if event_time is None:
        return None
    if kind is base.DatasetEvent:
        return DatasetEvent(event_time, _dataset(item["dataset"], None))
    job = item["job"]
    inputs = tuple(_dataset(d, "inputFacets") for d in item.get("inputs") or ())
    outputs = tuple(_dataset(d, "outputFacets") for d in item.get("outputs") or ())
    if kind is base.JobEvent:
        return JobEvent(event_time, job["namespace"], job["name"], job.get("facets") or {}, inputs, outputs)
    return RunEvent(
        event_type=EventType(item.get("eventType") or "OTHER"),
        event_time=event_time,
        run_id=item["run"]["runId"],
        job_namespace=job["namespace"],
        job_name=job["name"],
        run_facets=item["run"].get("facets") or {},
        job_facets=job.get("facets") or {},
        inputs=inputs,
        outputs=outputs,
    )


def _dataset(raw: Mapping[str, Any], io_key: str | None) -> LineageDataset:
    io_facets = (raw.get(io_key) or {}) if io_key else {}
    return LineageDataset(raw["namespace"], raw["name"], raw.get("facets") or {}, io_facets)


def _event_time(value: str, path: str, problems: list[Problem]) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        problems.append(Problem(path, f"not an ISO 8601 date-time: {value!r}", "INVALID_FORMAT"))
        return None
    # A time without an offset is taken as UTC, as producers that omit it mean.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


Checker = Callable[[Any, str, list[Problem]], None]
_CHECKERS: dict[Any, Checker] = {}


def _check(value: Any, expected: Any, path: str, problems: list[Problem]) -> None:
    """Check `value` against a type from the generated classes, appending a Problem per violation."""
    _checker(expected)(value, path, problems)


def _checker(expected: Any) -> Checker:
    # Compiled once per type into closures: introspecting the annotations per value would dominate ingestion.
    checker = _CHECKERS.get(expected)
    if checker is None:
        checker = _CHECKERS[expected] = _compile(expected)
    return checker


def _compile(expected: Any) -> Checker:
    if expected is Any:
        return lambda value, path, problems: None
    origin = typing.get_origin(expected)
    if origin in (Union, types.UnionType):
        non_null = [option for option in typing.get_args(expected) if option is not type(None)]
        inner_type = non_null[0] if len(non_null) == 1 else Any
        nullable = len(non_null) < len(typing.get_args(expected))

        def check_union(value: Any, path: str, problems: list[Problem]) -> None:
            if value is None and nullable:
                return
            _checker(inner_type)(value, path, problems)

        return check_union
    if origin is list:
        (item_type,) = typing.get_args(expected)

        def check_list(value: Any, path: str, problems: list[Problem]) -> None:
            if not isinstance(value, list):
                problems.append(Problem(path or "$", f"expected an array, got {_json_type(value)}", "INVALID_TYPE"))
                return
            check_item = _checker(item_type)
            for index, item in enumerate(value):
                check_item(item, f"{path}[{index}]", problems)

        return check_list
    if origin is dict:
        _, value_type = typing.get_args(expected)
        known = _KNOWN_FACETS.get(value_type, {})

        def check_dict(value: Any, path: str, problems: list[Problem]) -> None:
            if not isinstance(value, dict):
                problems.append(Problem(path or "$", f"expected an object, got {_json_type(value)}", "INVALID_TYPE"))
                return
            for key, item in value.items():
                _checker(known.get(key, value_type))(item, _join(path, key), problems)

        return check_dict
    if isinstance(expected, type) and attr.has(expected):
        return _compile_object(expected)
    if isinstance(expected, type) and issubclass(expected, Enum):
        allowed = [member.value for member in expected]

        def check_enum(value: Any, path: str, problems: list[Problem]) -> None:
            if value not in allowed:
                message = f"must be one of {', '.join(allowed)}, got {value!r}"
                problems.append(Problem(path, message, "INVALID_VALUE"))

        return check_enum

    def check_scalar(value: Any, path: str, problems: list[Problem]) -> None:
        if not _is_instance(value, expected):
            message = f"expected {_json_name(expected)}, got {_json_type(value)}"
            problems.append(Problem(path or "$", message, "INVALID_TYPE"))

    return check_scalar


def _compile_object(cls: type[Any]) -> Checker:
    hints = typing.get_type_hints(cls)
    fields = [(field, field.default is attr.NOTHING and field.init, hints[field.name]) for field in attr.fields(cls)]

    def check_object(value: Any, path: str, problems: list[Problem]) -> None:
        if not isinstance(value, dict):
            problems.append(Problem(path or "$", f"expected an object, got {_json_type(value)}", "INVALID_TYPE"))
            return
        for field, required, field_type in fields:
            if field.name not in value:
                if required:
                    problems.append(Problem(_join(path, field.name), "is required", "REQUIRED"))
                continue
            item = value[field.name]
            before = len(problems)
            _checker(field_type)(item, _join(path, field.name), problems)
            if len(problems) == before and field.validator is not None and item is not None:
                try:
                    # The generated validators (UUID, date-time) ignore the instance; there is none yet.
                    field.validator(None, field, item)
                except (ValueError, TypeError, OverflowError) as exc:
                    problems.append(
                        Problem(_join(path, field.name), _reason(exc, item, field.validator), "INVALID_FORMAT")
                    )

    return check_object


def _is_instance(value: Any, expected: Any) -> bool:
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(expected, type) and isinstance(value, expected)


# The generated validators raise whatever their parser raises (dateutil's "invalid literal for int() with
# base 10: b'yest'"); the formats the spec names get a message that says what was expected instead.
_FORMATS = {
    "eventtime_check": "an ISO 8601 date-time with a time and preferably an offset, e.g. 2026-01-31T12:00:00Z",
    "runid_check": "a UUID, e.g. 3f5e1c2a-8d4b-4f0e-9c1a-2b3c4d5e6f70",
}


def _reason(exc: Exception, value: Any, validator: Any = None) -> str:
    expected = _FORMATS.get(getattr(validator, "__name__", ""))
    if expected is not None:
        return f"{value!r} is not {expected}"
    text = str(exc) or type(exc).__name__
    return f"invalid value {value!r}: {text}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _json_name(expected: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    return names.get(expected, getattr(expected, "__name__", str(expected)))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Sequence):
        return "an array"
    return "an object"
