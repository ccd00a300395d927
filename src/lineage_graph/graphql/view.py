"""The ASGI view: Strawberry's adapter, with a context built from the services the lifespan opened."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from lineage_graph.domain.auth import SYSTEM
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.loaders import Loaders


class GraphQLView(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # The lifespan's state is copied into every request's scope by Starlette.
        services = request.state.services
        return Context(
            services=services,
            request=request,
            response=response if isinstance(response, Response) else None,
            # Until authentication lands every caller acts as the local system principal.
            principal=SYSTEM,
            loaders=Loaders.build(services),
        )

    async def get_root_value(self, request: Any) -> None:
        return None

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry reads fields off the decoded body and answers 400 only for JSONDecodeError: a body that
        # is valid JSON but not an object or a batch (`null`, `"text"`, `1`), or not UTF-8, would be a 500.
        try:
            value = json.loads(data)
        except UnicodeDecodeError:
            raise json.JSONDecodeError("the request body is not UTF-8", "", 0) from None
        if not isinstance(value, dict | list):
            raise json.JSONDecodeError("a GraphQL request is a JSON object", "", 0)
        return value
