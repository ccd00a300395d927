"""Every SageMaker operation this server answers, by name (the `X-Amz-Target` suffix)."""

from __future__ import annotations

from lineage_graph.integrations.sagemaker import card_exports, lineage, lineage_groups, model_cards, packages, tagging
from lineage_graph.integrations.sagemaker.call import Call, Operation, Result

__all__ = ["OPERATIONS", "Call", "Operation", "Result"]

OPERATIONS: dict[str, Operation] = {
    **packages.OPERATIONS,
    **lineage.OPERATIONS,
    **tagging.OPERATIONS,
    **model_cards.OPERATIONS,
    **card_exports.OPERATIONS,
    **lineage_groups.OPERATIONS,
}
