"""Model cards: per model version, the human-written parts (intended use, limitations, risk rating) kept in
versions, and a document assembled from the graph around them. The document follows SageMaker's model card
content schema where it fits (model_overview, intended_uses, training_details, evaluation_details,
additional_information) and carries the registry's governance record in a `governance` section."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from lineage_graph.domain.contracts import RegistrationContract
from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import Metric, ModelVersion

CARD_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
MAX_TEXT = 4096


class CardStatus(Enum):
    """SageMaker's ModelCardStatus values."""

    DRAFT = "Draft"
    PENDING_REVIEW = "PendingReview"
    APPROVED = "Approved"
    ARCHIVED = "Archived"


class RiskRating(Enum):
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class CardNarrative:
    """What people write on a card; everything else on it comes from the graph."""

    intended_uses: str | None = None
    limitations: str | None = None
    risk_rating: RiskRating = RiskRating.UNKNOWN
    risk_explanation: str | None = None
    ethical_considerations: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["risk_rating"] = self.risk_rating.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> CardNarrative:
        data: dict[str, Any] = json.loads(text or "{}")
        return cls(
            intended_uses=data.get("intended_uses"),
            limitations=data.get("limitations"),
            risk_rating=RiskRating(data.get("risk_rating") or "Unknown"),
            risk_explanation=data.get("risk_explanation"),
            ethical_considerations=data.get("ethical_considerations"),
        )

    def problems(self) -> list[Problem]:
        found = []
        for name, value in (
            ("intendedUses", self.intended_uses),
            ("limitations", self.limitations),
            ("riskExplanation", self.risk_explanation),
            ("ethicalConsiderations", self.ethical_considerations),
        ):
            if value is not None and len(value) > MAX_TEXT:
                found.append(Problem(name, f"must be at most {MAX_TEXT} characters (got {len(value)})", "TOO_LONG"))
            if value is not None and "\x00" in value:
                found.append(Problem(name, "must not contain NUL characters"))
        return found


def check_card_name(name: str, path: str = "name") -> None:
    if not CARD_NAME.fullmatch(name):
        raise ValidationFailed.field(path, "must be 1-63 letters, digits or hyphens, starting and ending with one")


@dataclass(frozen=True)
class ModelCard:
    """One version of a card (card versions count 1, 2, 3… per card name)."""

    name: str
    card_version: int
    group: str
    version: int
    status: CardStatus
    narrative: CardNarrative
    created_by: str | None
    created_at: datetime
    first_created_at: datetime


@dataclass(frozen=True)
class TrainingData:
    dataset_version: str  # namespace/name@version
    uri: str | None
    upstream: tuple[str, ...] = ()  # what the lineage walk finds above it (runs, datasets, code)


@dataclass(frozen=True)
class CardFacts:
    """What the graph says about the version a card describes, gathered by the service."""

    model: ModelVersion
    training_data: tuple[TrainingData, ...]
    producing_runs: tuple[str, ...]
    code_versions: tuple[str, ...]
    contract: RegistrationContract | None
    approvals: tuple[Mapping[str, Any], ...]
    deployments: tuple[Mapping[str, Any], ...]
    open_incidents: tuple[str, ...]
    lineage_nodes: tuple[tuple[str, str, int], ...] = ()  # (id, label, distance)
    lineage_edges: tuple[tuple[str, str, str], ...] = ()  # (source id, edge type, target id)
    stage_history: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


def _metric_rows(metrics: Sequence[Metric], contract: RegistrationContract | None) -> list[dict[str, Any]]:
    required = {(m.name, m.split) for m in contract.required_metrics} if contract else set()
    rows = [
        {
            "name": m.name,
            "type": "number",
            "value": m.value,
            **({"notes": f"split {m.split}"} if m.split else {}),
            "x_axis_name": "step" if m.step is not None else None,
            "required_by_contract": (m.name, m.split) in required or (m.name, None) in required,
        }
        for m in metrics
    ]
    for name, split in sorted(required, key=str):
        if not any(m.name == name and (split is None or m.split == split) for m in metrics):
            rows.append(
                {
                    "name": name,
                    "type": "number",
                    "value": None,
                    "required_by_contract": True,
                    "notes": "required by the contract, not recorded",
                }
            )
    for row in rows:
        if row.get("x_axis_name") is None:
            row.pop("x_axis_name", None)
    return rows


def card_document(card: ModelCard, facts: CardFacts, model_arn: str | None = None) -> dict[str, Any]:
    """The card as one JSON document (SageMaker's content schema where it fits)."""
    m = facts.model
    n = card.narrative
    return {
        "model_overview": {
            "model_id": model_arn or str(m.ref),
            "model_name": f"{m.group}/{m.version}",
            "model_version": m.version,
            "model_description": m.description,
            "model_creator": m.created_by,
            "algorithm_type": m.framework,
            "model_artifact": [m.artifact_uri],
        },
        "intended_uses": {
            "intended_uses": n.intended_uses,
            "risk_rating": n.risk_rating.value,
            "explanations_for_risk_rating": n.risk_explanation,
        },
        "training_details": {
            "training_job_details": {
                "training_arn": facts.producing_runs[0] if facts.producing_runs else None,
                "training_datasets": [t.dataset_version for t in facts.training_data],
                "hyper_parameters": [{"name": k, "value": json.dumps(v)} for k, v in sorted(m.hyperparameters.items())],
            },
        },
        "evaluation_details": [
            {
                "name": "registered metrics",
                "metric_groups": [{"name": "metrics", "metric_data": _metric_rows(m.metrics, facts.contract)}],
            }
        ],
        "additional_information": {
            "ethical_considerations": n.ethical_considerations,
            "caveats_and_recommendations": n.limitations,
            "custom_details": {k: v for k, v in sorted(m.custom_properties.items())},
        },
        "governance": {
            "card": {"name": card.name, "card_version": card.card_version, "status": card.status.value},
            "approval_status": m.approval_status.value,
            "stage": m.stage,
            "stage_status": m.stage_status,
            "contract_version": m.contract_version,
            "contract_violations": list(m.contract_violations),
            "approvals": [dict(a) for a in facts.approvals],
            "stage_history": [dict(t) for t in facts.stage_history],
            "deployments": [dict(d) for d in facts.deployments],
            "open_incidents": list(facts.open_incidents),
            "training_data": [asdict(t) | {"upstream": list(t.upstream)} for t in facts.training_data],
            "code_versions": list(facts.code_versions),
            "lineage": {
                "nodes": [{"id": i, "label": label, "distance": d} for i, label, d in facts.lineage_nodes],
                "edges": [{"source": s, "type": t, "target": e} for s, t, e in facts.lineage_edges],
            },
        },
    }


def narrative_from_content(content: Mapping[str, Any]) -> CardNarrative:
    """The human parts of a SageMaker model card's Content (the rest of it is the graph's to say)."""
    uses = content.get("intended_uses") or {}
    extra = content.get("additional_information") or {}
    if not isinstance(uses, Mapping) or not isinstance(extra, Mapping):
        raise ValidationFailed.field("Content", "intended_uses and additional_information must be objects")
    rating = uses.get("risk_rating") or "Unknown"
    if rating not in {r.value for r in RiskRating}:
        raise ValidationFailed.field("Content.intended_uses.risk_rating", "must be High, Medium, Low or Unknown")
    narrative = CardNarrative(
        intended_uses=_text(uses.get("intended_uses")),
        limitations=_text(extra.get("caveats_and_recommendations")),
        risk_rating=RiskRating(rating),
        risk_explanation=_text(uses.get("explanations_for_risk_rating")),
        ethical_considerations=_text(extra.get("ethical_considerations")),
    )
    if problems := narrative.problems():
        raise ValidationFailed.of(problems)
    return narrative


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
