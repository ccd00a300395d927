"""The group rules every registration door passes through: the contract and the initial stage before a
version is written, automated promotion after a version changed. GraphQL, boto3, OpenLineage-joined
registration and the importer all register through `RegistryService`, which calls these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lineage_graph.domain.commands import RegisterModelVersion
from lineage_graph.domain.contracts import ContractMode, RegistrationFacts, check_alias, check_registration, check_tags
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.models import ModelVersion
from lineage_graph.services.promotion import PromotionService
from lineage_graph.store.group_rules import GroupRules, GroupRulesStore
from lineage_graph.store.records import dumps
from lineage_graph.store.registration import RunLineage


class RegistrationRules:
    def __init__(self, rules: GroupRulesStore, promotion: PromotionService) -> None:
        self._rules = rules
        self._promotion = promotion

    def decide(
        self, cmd: RegisterModelVersion, mode: ContractMode, rules: GroupRules, run: RunLineage | None
    ) -> dict[str, Any] | None:
        """See `registration_props`; evaluated by the store under the group's lock, on the rules the
        registration commits under."""
        return registration_props(cmd, mode, rules, run)

    async def after_change(self, versions: Sequence[ModelVersion], trigger: str) -> bool:
        """Let automated promotion look at changed versions; True when it approved or promoted any."""
        return await self._promotion.evaluate_quietly(versions, trigger)

    async def check_alias(self, group: str, alias: str) -> None:
        rules = await self._rules.rules(group)
        if rules is not None and (problems := check_alias(rules.contract, alias)):
            raise ValidationFailed.of(problems)

    async def check_tags(self, group: str, tags: Sequence[str] | None) -> None:
        rules = await self._rules.rules(group)
        if tags and rules is not None and (problems := check_tags(rules.contract, tags)):
            raise ValidationFailed.of(problems)


def registration_props(
    cmd: RegisterModelVersion, mode: ContractMode, rules: GroupRules, run: RunLineage | None
) -> dict[str, Any] | None:
    """Version properties from the group's rules (initial stage, the contract version met); refuses a
    registration that breaks the contract (REFUSE), or records its violations (FLAG). `run` is what the
    producing run records: None when not read yet, and then the answer is None if the contract needs it."""
    props: dict[str, Any] = {"stage": rules.lifecycle.initial}
    if rules.contract_version == 0:
        return props
    if run is None and cmd.produced_by is not None:
        return None
    facts = RegistrationFacts(
        metrics=tuple(cmd.metrics),
        hyperparameters=dict(cmd.hyperparameters),
        custom_properties=dict(cmd.custom_properties),
        tags=tuple(cmd.tags),
        has_training_data=bool(cmd.trained_on or cmd.trained_on_specs or (run is not None and run.has_inputs)),
        has_code_version=cmd.code is not None or (run is not None and run.has_code),
        has_producing_run=cmd.produced_by is not None,
    )
    problems = check_registration(rules.contract, facts)
    props["contract_version"] = rules.contract_version
    if problems and mode is ContractMode.REFUSE:
        listed = "; ".join(f"{p.field}: {p.message}" for p in problems)
        message = f"the registration breaks contract {rules.contract_version} of model group {cmd.group}: "
        raise ValidationFailed(message + listed, problems)
    if problems:
        props["contract_violations"] = dumps(
            [{"field": p.field, "message": p.message, "code": p.code} for p in problems]
        )
    return props
