"""Statements that keep their first plan (`store/stable_plans.py`) must have a plan no statistic could change:
unique-key seeks, scans and index seeks the statement names with a hint, expansions from bound nodes. A plan a
young database's statistics chose (a scan of every node, a join, a label scan the planner preferred) would be
kept for the life of the process, so it fails here, with the statement and the operator."""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import pytest
from neo4j import Driver, NotificationMinimumSeverity

import lineage_graph.store
from lineage_graph.store import webhooks
from lineage_graph.store.stable_plans import KEEP_PLAN

# Operators a cost estimate picks; a statement that keeps its plan may have them only where it names them.
_CHOSEN = re.compile(r"AllNodesScan|HashJoin|CartesianProduct|NodeByLabelScan|NodeIndexScan|NodeIndexSeek(?!ByRange)")


def _kept_statements() -> dict[str, str]:
    found: dict[str, str] = {}
    for module in pkgutil.iter_modules(lineage_graph.store.__path__):
        mod = importlib.import_module(f"lineage_graph.store.{module.name}")
        for name, value in vars(mod).items():
            if isinstance(value, str) and value.startswith(KEEP_PLAN) and value != KEEP_PLAN:
                found[f"{module.name}.{name}"] = value
    return found


def _operators(plan: dict[str, Any]) -> list[tuple[str, str]]:
    ops = [(plan["operatorType"].split("@")[0], str(plan["args"].get("Details", "")))]
    for child in plan.get("children", []):
        ops.extend(_operators(child))
    return ops


def unstable_operators(db: Driver, statement: str) -> list[str]:
    """The operators of `statement`'s plan that statistics could have chosen and that no hint names."""
    summary = db.execute_query(
        "EXPLAIN " + statement, notifications_min_severity=NotificationMinimumSeverity.OFF
    ).summary
    assert summary.plan is not None
    wrong = []
    for operator, details in _operators(summary.plan):
        if not _CHOSEN.search(operator) or operator.startswith("NodeUniqueIndexSeek"):
            continue
        # "w:Webhook" for a label scan, "RANGE INDEX e:AuditEvent(pending) WHERE ..." for an index seek
        named = re.search(r"(\w+):(\w+)(\([\w, ]+\))?", details)
        if named is not None:
            var, label, props = named.groups()
            hint = f"USING SCAN {var}:{label}" if "LabelScan" in operator else f"USING INDEX {var}:{label}{props}"
            if hint in statement:
                continue
        wrong.append(f"{operator}({details})")
    return wrong


def test_statements_that_keep_their_plan_are_found() -> None:
    kept = _kept_statements()
    assert {"registration._REGISTER", "audit._PENDING", "webhooks._DUE"} <= set(kept)


@pytest.mark.parametrize("name", sorted(_kept_statements()))
def test_a_kept_plan_is_one_statistics_cannot_change(db: Driver, name: str) -> None:
    assert unstable_operators(db, _kept_statements()[name]) == [], name


def test_the_check_catches_a_plan_statistics_chose(db: Driver) -> None:
    # The webhook poll without its hint: on a database with few nodes Neo4j plans it as a scan of every node
    # joined with the subscriptions, and as a label scan when there are more; neither is named.
    unhinted = webhooks._DUE.replace("USING SCAN w:Webhook\n", "")
    assert unstable_operators(db, unhinted), "an unnamed scan is reported"
