"""Registration contracts over GraphQL: set (admin, versioned) and read a group's contract and its history."""

from __future__ import annotations

from datetime import datetime

import strawberry

from lineage_graph.domain import contracts
from lineage_graph.graphql.registry_types import Info

strawberry.enum(contracts.ValueType, description="The JSON type a required hyperparameter must have.")
ValueType = contracts.ValueType


@strawberry.type(description="A metric every version must report, on a split when one is named.")
class RequiredMetric:
    name: str
    split: str | None


@strawberry.type(description="A hyperparameter every version must carry, with its type.")
class RequiredHyperparameter:
    name: str
    type: ValueType


@strawberry.type(
    description="A custom property every version must carry: one of the allowed values, or matching the pattern."
)
class RequiredProperty:
    name: str
    allowed_values: list[str]
    pattern: str | None


@strawberry.type(
    description="What every new version of a group must carry. Versions registered under an earlier contract "
    "keep the contract version they met."
)
class RegistrationContract:
    group: str
    version: int = strawberry.field(description="1, 2, 3… per group; 0 when no contract was ever set.")
    created_by: str | None
    created_at: datetime | None
    required_metrics: list[RequiredMetric]
    required_hyperparameters: list[RequiredHyperparameter]
    required_properties: list[RequiredProperty]
    require_training_data: bool
    require_code_version: bool
    require_producing_run: bool
    tag_vocabulary: list[str] = strawberry.field(description="The tags versions may carry; empty: any tag.")
    alias_pattern: str | None = strawberry.field(description="A regular expression every alias must match.")

    @classmethod
    def from_model(cls, v: contracts.ContractVersion) -> RegistrationContract:
        c = v.contract
        return cls(
            group=v.group,
            version=v.version,
            created_by=v.created_by,
            created_at=v.created_at,
            required_metrics=[RequiredMetric(name=m.name, split=m.split) for m in c.required_metrics],
            required_hyperparameters=[
                RequiredHyperparameter(name=h.name, type=h.type) for h in c.required_hyperparameters
            ],
            required_properties=[
                RequiredProperty(name=p.name, allowed_values=list(p.allowed_values), pattern=p.pattern)
                for p in c.required_properties
            ],
            require_training_data=c.require_training_data,
            require_code_version=c.require_code_version,
            require_producing_run=c.require_producing_run,
            tag_vocabulary=list(c.tag_vocabulary),
            alias_pattern=c.alias_pattern,
        )


@strawberry.input
class RequiredMetricInput:
    name: str
    split: str | None = None


@strawberry.input
class RequiredHyperparameterInput:
    name: str
    type: ValueType = contracts.ValueType.STRING


@strawberry.input
class RequiredPropertyInput:
    name: str
    allowed_values: list[str] = strawberry.field(default_factory=list)
    pattern: str | None = strawberry.field(
        default=None, description="Matched against the whole value; nested repetitions are refused."
    )


@strawberry.input
class RegistrationContractInput:
    required_metrics: list[RequiredMetricInput] = strawberry.field(default_factory=list)
    required_hyperparameters: list[RequiredHyperparameterInput] = strawberry.field(default_factory=list)
    required_properties: list[RequiredPropertyInput] = strawberry.field(default_factory=list)
    require_training_data: bool = False
    require_code_version: bool = False
    require_producing_run: bool = False
    tag_vocabulary: list[str] = strawberry.field(default_factory=list)
    alias_pattern: str | None = None

    def to_domain(self) -> contracts.RegistrationContract:
        return contracts.RegistrationContract(
            required_metrics=tuple(contracts.RequiredMetric(m.name, m.split) for m in self.required_metrics),
            required_hyperparameters=tuple(
                contracts.RequiredHyperparameter(h.name, h.type) for h in self.required_hyperparameters
            ),
            required_properties=tuple(
                contracts.RequiredProperty(p.name, tuple(p.allowed_values), p.pattern) for p in self.required_properties
            ),
            require_training_data=self.require_training_data,
            require_code_version=self.require_code_version,
            require_producing_run=self.require_producing_run,
            tag_vocabulary=tuple(self.tag_vocabulary),
            alias_pattern=self.alias_pattern,
        )


@strawberry.type
class ContractQuery:
    @strawberry.field(description="The group's registration contract in force (null when the group does not exist).")
    async def registration_contract(self, info: Info, group: str) -> RegistrationContract | None:
        found = await info.context.services.contracts.contract(info.context.principal, group)
        return RegistrationContract.from_model(found) if found else None

    @strawberry.field(description="Every contract version the group has had, newest first.")
    async def registration_contract_history(self, info: Info, group: str) -> list[RegistrationContract]:
        found = await info.context.services.contracts.history(info.context.principal, group)
        return [RegistrationContract.from_model(c) for c in found]


@strawberry.type
class ContractMutation:
    @strawberry.mutation(description="Save a new version of a group's registration contract (admin).")
    async def set_registration_contract(
        self, info: Info, group: str, contract: RegistrationContractInput
    ) -> RegistrationContract | None:
        saved = await info.context.services.contracts.set_contract(info.context.principal, group, contract.to_domain())
        return RegistrationContract.from_model(saved)
