"""The per-request context handed to every resolver as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from lineage_graph.domain.auth import Principal
from lineage_graph.graphql.loaders import Loaders
from lineage_graph.services.container import Services


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | None
    principal: Principal
    loaders: Loaders
    # graphql-ws: the connection_init payload (where browsers put the token a websocket cannot send as header)
    connection_params: dict[str, object] | None = None
