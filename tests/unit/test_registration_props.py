"""The properties a group's rules give a new version, and when the rules need the producing run's lineage."""

from __future__ import annotations

import json

import pytest

from lineage_graph.domain.commands import RegisterModelVersion, RunSpec
from lineage_graph.domain.contracts import ContractMode, RegistrationContract
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.services.registration_rules import registration_props
from lineage_graph.store.group_rules import GroupRules, rules_from_row
from lineage_graph.store.registration import RunLineage

_NEEDS_DATA = RegistrationContract(require_training_data=True)


def _rules(contract: RegistrationContract | None = None, version: int = 1) -> GroupRules:
    row = {"policy": "", "contract": "", "contract_version": 0, "lifecycle": "", "promotion": "", "retention": ""}
    if contract is not None:
        row.update(contract=contract.to_json(), contract_version=version)
    return rules_from_row(row)


def test_without_a_contract_only_the_initial_stage_is_set_and_the_run_is_never_needed() -> None:
    cmd = RegisterModelVersion("g", "s3://m", produced_by=RunSpec("run-1"))
    assert registration_props(cmd, ContractMode.REFUSE, _rules(), None) == {"stage": _rules().lifecycle.initial}


def test_a_contract_asks_for_the_runs_lineage_before_deciding() -> None:
    cmd = RegisterModelVersion("g", "s3://m", produced_by=RunSpec("run-1"))
    assert registration_props(cmd, ContractMode.REFUSE, _rules(_NEEDS_DATA), None) is None
    props = registration_props(cmd, ContractMode.REFUSE, _rules(_NEEDS_DATA), RunLineage(True, False))
    assert props is not None
    assert props["contract_version"] == 1


def test_a_broken_contract_is_refused_or_flagged() -> None:
    cmd = RegisterModelVersion("g", "s3://m")
    with pytest.raises(ValidationFailed, match="breaks contract 3 of model group g"):
        registration_props(cmd, ContractMode.REFUSE, _rules(_NEEDS_DATA, 3), None)
    flagged = registration_props(cmd, ContractMode.FLAG, _rules(_NEEDS_DATA, 3), None)
    assert flagged is not None
    assert json.loads(flagged["contract_violations"]) == [
        {
            "code": "CONTRACT_LINEAGE_MISSING",
            "field": "trainedOn",
            "message": "the contract requires a training dataset version",
        }
    ]
