"""Model cards over GraphQL: create and update the human-written parts (versioned), read the card assembled
from the graph, list cards and a card's versions."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from lineage_graph.domain import model_cards
from lineage_graph.domain.ids import NodeRef
from lineage_graph.domain.queries import page
from lineage_graph.graphql.registry_types import Info

strawberry.enum(model_cards.CardStatus, name="ModelCardStatus")
strawberry.enum(model_cards.RiskRating)
CardStatus = model_cards.CardStatus
RiskRating = model_cards.RiskRating


@strawberry.type(description="One version of a model card: the human-written parts and the assembled document.")
class ModelCard:
    name: str
    card_version: int
    group_name: str
    version: int = strawberry.field(description="The number of the model version the card describes.")
    status: CardStatus
    intended_uses: str | None
    limitations: str | None
    risk_rating: RiskRating
    risk_explanation: str | None
    ethical_considerations: str | None
    created_by: str | None
    created_at: datetime
    html_url: str = strawberry.field(description="The card as a readable page, served by this server.")

    @classmethod
    def from_model(cls, c: model_cards.ModelCard) -> ModelCard:
        n = c.narrative
        return cls(
            name=c.name,
            card_version=c.card_version,
            group_name=c.group,
            version=c.version,
            status=c.status,
            intended_uses=n.intended_uses,
            limitations=n.limitations,
            risk_rating=n.risk_rating,
            risk_explanation=n.risk_explanation,
            ethical_considerations=n.ethical_considerations,
            created_by=c.created_by,
            created_at=c.created_at,
            html_url=f"/model-cards/{c.name}?version={c.card_version}",
        )

    @strawberry.field(
        description="The card as one JSON document (SageMaker's model card content schema where it fits), "
        "assembled from the graph: training data with lineage, metrics against the contract, "
        "hyperparameters, approvals with evidence, stages, deployments, open incidents."
    )
    async def document(self, info: Info) -> JSON:
        _card, document = await info.context.services.model_cards.document(
            info.context.principal, self.name, self.card_version
        )
        return JSON(document)


@strawberry.input
class ModelCardInput:
    intended_uses: str | None = None
    limitations: str | None = None
    risk_rating: RiskRating = model_cards.RiskRating.UNKNOWN
    risk_explanation: str | None = None
    ethical_considerations: str | None = None

    def to_domain(self) -> model_cards.CardNarrative:
        return model_cards.CardNarrative(
            self.intended_uses, self.limitations, self.risk_rating, self.risk_explanation, self.ethical_considerations
        )


@strawberry.type
class ModelCardQuery:
    @strawberry.field(description="A model card by name (its newest version unless cardVersion is given).")
    async def model_card(self, info: Info, name: str, card_version: int | None = None) -> ModelCard | None:
        found = await info.context.services.model_cards.card(info.context.principal, name, card_version)
        return ModelCard.from_model(found) if found else None

    @strawberry.field(description="Model cards (newest version of each), by name.")
    async def model_cards(
        self, info: Info, group: str | None = None, name_contains: str | None = None, first: int | None = None
    ) -> list[ModelCard]:
        found, _total = await info.context.services.model_cards.cards(
            info.context.principal, name_contains, group, page(first, 0)
        )
        return [ModelCard.from_model(c) for c in found]

    @strawberry.field(description="Every version of a model card, oldest first.")
    async def model_card_versions(self, info: Info, name: str) -> list[ModelCard]:
        found = await info.context.services.model_cards.versions(info.context.principal, name)
        return [ModelCard.from_model(c) for c in found]


@strawberry.type
class ModelCardMutation:
    @strawberry.mutation(description="Create a model card for a model version (card version 1).")
    async def create_model_card(
        self,
        info: Info,
        name: str,
        model_version_id: strawberry.ID,
        input: ModelCardInput,
        status: CardStatus = model_cards.CardStatus.DRAFT,
    ) -> ModelCard | None:
        created = await info.context.services.model_cards.create(
            info.context.principal, name, NodeRef.parse(model_version_id, "modelVersionId"), input.to_domain(), status
        )
        return ModelCard.from_model(created)

    @strawberry.mutation(description="Write a card's next version: the parts given replace the current ones.")
    async def update_model_card(
        self, info: Info, name: str, input: ModelCardInput | None = None, status: CardStatus | None = None
    ) -> ModelCard | None:
        narrative = input.to_domain() if input is not None else None
        updated = await info.context.services.model_cards.update(info.context.principal, name, narrative, status)
        return ModelCard.from_model(updated)

    @strawberry.mutation(
        description="Delete a model card and its versions (the audit log keeps them); returns the last card version."
    )
    async def delete_model_card(self, info: Info, name: str) -> int | None:
        return await info.context.services.model_cards.delete(info.context.principal, name)
