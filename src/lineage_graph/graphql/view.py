"""The ASGI view: Strawberry's adapter, with a context built from the services the lifespan opened."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from lineage_graph.domain.auth import ANONYMOUS, Principal
from lineage_graph.graphql.context import Context


class GraphQLView(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # The lifespan's state is copied into every request's scope by Starlette; the authentication
        # middleware added the principal. Without it (an app wired without the middleware) nobody is trusted.
        principal: Principal = getattr(request.state, "principal", ANONYMOUS)
        return Context(
            services=request.state.services,
            request=request,
            response=response if isinstance(response, Response) else None,
            principal=principal,
        )

    async def get_root_value(self, request: Any) -> None:
        return None
