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
from lineage_graph.store.contracts import ContractStore
from lineage_graph.store.group_rules import GroupRulesStore
from lineage_graph.store.records import dumps


class RegistrationRules:
    def __init__(self, rules: GroupRulesStore, contracts: ContractStore, promotion: PromotionService) -> None:
        self._rules = rules
        self._contracts = contracts
        self._promotion = promotion

    async def before_register(self, cmd: RegisterModelVersion, mode: ContractMode) -> tuple[dict[str, Any], bool]:
        """Version properties from the group's rules (initial stage, the contract version met), and whether
        automated promotion is on for the group (when it is off, `after_change` has nothing to do and need not
        read the rules again); refuses a registration that breaks the contract (REFUSE), or records its
        violations (FLAG). The caller has authorized already; an unknown group adds nothing (registration
        reports it)."""
        rules = await self._rules.rules(cmd.group)
        if rules is None:
            return {}, False
        props: dict[str, Any] = {"stage": rules.lifecycle.initial}
        promotes = rules.promotion.enabled
        if rules.contract_version == 0:
            return props, promotes
        has_inputs, has_code = False, False
        if cmd.produced_by is not None:
            has_inputs, has_code = await self._contracts.run_lineage(cmd.produced_by.run_id)
        facts = RegistrationFacts(
            metrics=tuple(cmd.metrics),
            hyperparameters=dict(cmd.hyperparameters),
            custom_properties=dict(cmd.custom_properties),
            tags=tuple(cmd.tags),
            has_training_data=bool(cmd.trained_on or cmd.trained_on_specs or has_inputs),
            has_code_version=cmd.code is not None or has_code,
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
        return props, promotes

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
