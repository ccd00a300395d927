"""Domain errors in a foreign protocol's terms: the first matching entry wins (a subclass too), the reasons
travel in the message, and an error no entry names takes the fallback."""

from __future__ import annotations

from lineage_graph.domain.errors import (
    Forbidden,
    OutcomeUnknown,
    PolicyNotMet,
    Problem,
    QueryTimedOut,
    Unavailable,
    ValidationFailed,
)
from lineage_graph.integrations.refusals import ErrorCodes, Refusal

CODES = ErrorCodes(
    [(ValidationFailed, "BAD_INPUT", 400), (PolicyNotMet, "DENIED", 403), (Unavailable, "LATER", 503)],
    fallback=("INTERNAL", 500),
)


def test_an_error_takes_its_entry_with_every_reason_in_the_message() -> None:
    refused = PolicyNotMet("approval refused", [Problem(None, "four eyes"), Problem("metrics.auc", "below 0.9")])
    assert CODES.refusal(refused) == Refusal("DENIED", "approval refused (four eyes; metrics.auc: below 0.9)", 403)


def test_a_message_that_already_says_its_reasons_is_kept_as_it_is() -> None:
    invalid = ValidationFailed.field("name", "must not be empty")
    assert CODES.refusal(invalid) == Refusal("BAD_INPUT", "name: must not be empty", 400)


def test_a_subclass_takes_its_parents_entry_and_an_unnamed_error_the_fallback() -> None:
    assert CODES.refusal(QueryTimedOut("the query ran out of time")).code == "LATER"
    assert CODES.refusal(Forbidden("no")) == Refusal("INTERNAL", "no", 500)
    assert CODES.refusal(OutcomeUnknown("connection lost")).status == 500
