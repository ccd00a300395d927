"""SageMaker's model card operations on our model cards. A card's Content names the model package it
describes (`model_overview.model_id`, its ARN); the human-written parts of Content are stored, everything
else DescribeModelCard returns is assembled from the graph."""

from __future__ import annotations

import json
from typing import Any

from lineage_graph.domain.errors import NotFound, ValidationFailed
from lineage_graph.domain.model_cards import CardStatus, ModelCard, narrative_from_content
from lineage_graph.domain.queries import page
from lineage_graph.domain.sagemaker import package_ref
from lineage_graph.integrations.sagemaker.call import Call, Operation, Result
from lineage_graph.integrations.sagemaker.shapes import Params, epoch, paging, required_text, text

_ARN_PREFIX = "model-card/"


def _name(call: Call, params: Params) -> str:
    value = required_text(params, "ModelCardName")
    prefix = call.arns.arn(_ARN_PREFIX)
    return value.removeprefix(prefix) if value.startswith("arn:") else value


def _status(params: Params, required: bool) -> CardStatus | None:
    value = text(params, "ModelCardStatus", required=required)
    if value is None:
        return None
    try:
        return CardStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in CardStatus)
        raise ValidationFailed.field("ModelCardStatus", f"must be one of {allowed}") from None


def _content(params: Params, required: bool) -> dict[str, Any] | None:
    raw = text(params, "Content", required=required)
    if raw is None:
        return None
    try:
        content = json.loads(raw)
    except json.JSONDecodeError:
        raise ValidationFailed.field("Content", "must be a JSON document") from None
    if not isinstance(content, dict):
        raise ValidationFailed.field("Content", "must be a JSON object")
    return content


def _model_id(content: dict[str, Any]) -> str:
    overview = content.get("model_overview")
    model_id = overview.get("model_id") if isinstance(overview, dict) else None
    if not isinstance(model_id, str):
        raise ValidationFailed.field(
            "Content.model_overview.model_id", "is required: the ARN of the model package the card describes"
        )
    return model_id


def _summary(call: Call, card: ModelCard) -> Result:
    return {
        "ModelCardName": card.name,
        "ModelCardArn": call.arns.arn(_ARN_PREFIX + card.name),
        "ModelCardStatus": card.status.value,
        "ModelCardVersion": card.card_version,
        "CreationTime": epoch(card.first_created_at),
        "LastModifiedTime": epoch(card.created_at),
    }


async def create_model_card(call: Call, params: Params) -> Result:
    name = required_text(params, "ModelCardName")
    status = _status(params, required=True)
    content = _content(params, required=True)
    assert status is not None
    assert content is not None
    ref = package_ref(_model_id(content), "Content.model_overview.model_id")
    card = await call.services.model_cards.create(call.principal, name, ref, narrative_from_content(content), status)
    return {"ModelCardArn": call.arns.arn(_ARN_PREFIX + card.name)}


async def describe_model_card(call: Call, params: Params) -> Result:
    name = _name(call, params)
    number = params.get("ModelCardVersion")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 1):
        raise ValidationFailed.field("ModelCardVersion", "must be a card version number")
    card, document = await call.services.model_cards.document(call.principal, name, number)
    document["model_overview"]["model_id"] = call.arns.package_arn(card.group, card.version)
    return {
        **_summary(call, card),
        "Content": json.dumps(document, sort_keys=True),
        "CreatedBy": {"UserProfileName": card.created_by or ""},
        "LastModifiedBy": {"UserProfileName": card.created_by or ""},
    }


async def update_model_card(call: Call, params: Params) -> Result:
    name = _name(call, params)
    content = _content(params, required=False)
    status = _status(params, required=False)
    narrative = None
    if content is not None:
        current = await call.services.model_cards.card(call.principal, name)
        if current is None:
            raise NotFound("model card", name, "ModelCardName")
        overview = content.get("model_overview")
        if isinstance(overview, dict) and "model_id" in overview:
            ref = package_ref(_model_id(content), "Content.model_overview.model_id")
            if ref.parts != (current.group, current.version):
                raise ValidationFailed.field(
                    "Content.model_overview.model_id", "a card keeps describing the model package it was made for"
                )
        narrative = narrative_from_content(content)
    card = await call.services.model_cards.update(call.principal, name, narrative, status)
    return {"ModelCardArn": call.arns.arn(_ARN_PREFIX + card.name)}


async def list_model_cards(call: Call, params: Params) -> Result:
    pg = paging(params)
    if (text(params, "SortBy") or "Name") != "Name":
        raise ValidationFailed.field("SortBy", "only Name is supported")
    cards, total = await call.services.model_cards.cards(
        call.principal, text(params, "NameContains"), None, page(pg.limit, pg.offset)
    )
    if text(params, "SortOrder") == "Descending":
        cards.reverse()
    result: Result = {"ModelCardSummaries": [_summary(call, c) for c in cards]}
    for summary in result["ModelCardSummaries"]:
        summary.pop("ModelCardVersion")
    token = pg.next_token(len(cards), pg.offset + len(cards) < total)
    if token:
        result["NextToken"] = token
    return result


async def list_model_card_versions(call: Call, params: Params) -> Result:
    versions = await call.services.model_cards.versions(call.principal, _name(call, params))
    if text(params, "SortOrder") == "Descending":
        versions.reverse()
    return {"ModelCardVersionSummaryList": [_summary(call, c) for c in versions]}


async def delete_model_card(call: Call, params: Params) -> Result:
    await call.services.model_cards.delete(call.principal, _name(call, params))
    return {}


OPERATIONS: dict[str, Operation] = {
    "CreateModelCard": create_model_card,
    "DescribeModelCard": describe_model_card,
    "UpdateModelCard": update_model_card,
    "ListModelCards": list_model_cards,
    "ListModelCardVersions": list_model_card_versions,
    "DeleteModelCard": delete_model_card,
}
