"""The pure parts of OpenLineage ingestion: spec validation and the order-independent merge rules."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.models import RunStatus
from lineage_graph.domain.openlineage import EventType, FacetState, GraphState, RunEvent, RunState
from lineage_graph.integrations.openlineage import MAX_EVENTS_PER_REQUEST, decode_body, parse_events
from lineage_graph.services.ingest import keys_of, plan

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2026-03-01T10:00:00+01:00",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "ns", "name": "job"},
        "inputs": [{"namespace": "db", "name": "in", "facets": {"version": {"datasetVersion": "7"}}}],
        "outputs": [{"namespace": "db", "name": "out", "outputFacets": {"outputStatistics": {"rowCount": 3}}}],
    }
    event.update(overrides)
    return event


def _problems(body: bytes) -> dict[str | None, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_events(body)
    return {p.field: p.code for p in caught.value.problems}


def test_a_run_event_parses_into_the_domain_event() -> None:
    (event,) = parse_events(json.dumps(_event()).encode())
    assert isinstance(event, RunEvent)
    assert event.event_type is EventType.START
    assert event.event_time == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # normalised to UTC
    assert event.inputs[0].version_facet == "7"
    assert event.outputs[0].io_facets == {"outputStatistics": {"rowCount": 3}}


def test_every_problem_is_reported_with_its_path() -> None:
    bad = _event(eventTime="2026-03-01", run={"runId": "x"}, inputs=[{"namespace": "db"}])
    bad["outputs"][0]["facets"] = {"schema": {"fields": "id"}, "version": {"datasetVersion": 7}}
    assert _problems(json.dumps([_event(), bad]).encode()) == {
        "[1].eventTime": "INVALID_FORMAT",
        "[1].run.runId": "INVALID_FORMAT",
        "[1].inputs[0].name": "REQUIRED",
        "[1].outputs[0].facets.schema.fields": "INVALID_TYPE",
        "[1].outputs[0].facets.version.datasetVersion": "INVALID_TYPE",
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"[]", "EMPTY"), (b"42", "INVALID"), (b"{", "INVALID_JSON"), (b'{"eventTime": "2026-03-01T10:00Z"}', "REQUIRED")],
)
def test_bodies_that_hold_no_event_are_refused(body: bytes, code: str) -> None:
    assert list(_problems(body).values()) == [code]


def test_a_batch_is_bounded() -> None:
    body = json.dumps([_event()] * (MAX_EVENTS_PER_REQUEST + 1)).encode()
    assert _problems(body) == {"$": "TOO_MANY"}


def test_gzip_bodies_are_decoded_and_other_encodings_refused() -> None:
    raw = json.dumps(_event()).encode()
    assert decode_body(gzip.compress(raw), "gzip") == raw
    assert decode_body(raw, None) == raw
    with pytest.raises(ValidationFailed, match="unsupported encoding 'br'"):
        decode_body(raw, "br")


_RUN_EVENTS = st.lists(
    st.tuples(st.sampled_from(list(EventType)), st.integers(min_value=0, max_value=10_000)),
    min_size=1,
    max_size=8,
    unique_by=lambda item: item[1],
)


@given(_RUN_EVENTS, st.randoms())
def test_a_run_ends_in_the_same_state_whatever_order_its_events_arrive_in(
    events: list[tuple[EventType, int]], random: Any
) -> None:
    def fold(sequence: list[tuple[EventType, int]]) -> RunState:
        state = RunState()
        for event_type, seconds in sequence:
            state.apply(event_type, T0 + timedelta(seconds=seconds))
        return state

    shuffled = list(events)
    random.shuffle(shuffled)
    assert fold(shuffled) == fold(sorted(events, key=lambda item: item[1]))
    assert fold(events + events) == fold(events)  # a replay changes nothing


def test_the_latest_terminal_event_wins_and_a_late_start_does_not_reopen_a_run() -> None:
    state = RunState()
    for event_type, minute in [(EventType.COMPLETE, 9), (EventType.FAIL, 5), (EventType.START, 0)]:
        state.apply(event_type, T0 + timedelta(minutes=minute))
    assert state.status is RunStatus.COMPLETED
    assert (state.started_at, state.ended_at) == (T0, T0 + timedelta(minutes=9))
    other = RunState()
    other.apply(EventType.OTHER, T0)
    assert other.status is RunStatus.OTHER


@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 99)), max_size=8, unique_by=lambda x: x[1]), st.randoms()
)
def test_facets_keep_the_latest_value_per_key_whatever_the_order(updates: list[tuple[str, int]], random: Any) -> None:
    def fold(sequence: list[tuple[str, int]]) -> FacetState:
        state = FacetState()
        for key, second in sequence:
            state.merge({key: {"at": second}}, T0 + timedelta(seconds=second))
        return state

    shuffled = list(updates)
    random.shuffle(shuffled)
    assert fold(shuffled) == fold(updates)


def test_plan_versions_outputs_per_run_and_links_unversioned_inputs_to_the_current_version() -> None:
    producer = parse_events(json.dumps(_event(inputs=[])).encode())
    (write,) = producer
    reader = parse_events(
        json.dumps(
            _event(
                eventTime="2026-03-01T12:00:00Z",
                job={"namespace": "ns", "name": "reader"},
                inputs=[{"namespace": "db", "name": "out"}],
                outputs=[],
            )
        ).encode()
    )
    events = [*producer, *reader]
    keys = keys_of(events)
    assert keys.versions == (("db", "out", write.run_id),)
    changes = plan(events, GraphState())
    assert changes.state.datasets[("db", "out")].current_version == write.run_id
    assert {link.key for link in changes.inputs} == {("db", "out", write.run_id)}
