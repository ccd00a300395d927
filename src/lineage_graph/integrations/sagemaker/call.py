"""What every SageMaker operation receives (the services, the verified caller, the ARN scope) and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lineage_graph.domain.auth import Principal
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.services.container import Services

Result = dict[str, Any]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Call:
    services: Services
    principal: Principal
    arns: ArnScope


@dataclass(frozen=True)
class Reply:
    """A response body with extra headers, for what SageMaker's response shape has no member for."""

    body: Result
    headers: dict[str, str] = field(default_factory=dict)


Operation = Callable[[Call, Params], Awaitable[Result | Reply]]
