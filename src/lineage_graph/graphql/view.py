"""The ASGI view: Strawberry's adapter, with a context built from the services the lifespan opened."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from lineage_graph.domain.auth import ANONYMOUS, Principal
from lineage_graph.domain.errors import DomainError
from lineage_graph.graphql.context import Context
from lineage_graph.graphql.loaders import Loaders


class TextFrameWebSocket(ASGIWebSocketAdapter):
    """graphql-ws messages as text frames. `encode_json` answers bytes (orjson), which Strawberry would send as
    binary frames, and graphql-ws clients (GraphiQL's in the browser, `gql`) refuse those."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = TextFrameWebSocket

    def __init__(self, schema: BaseSchema, ide_page: Callable[[], Response] | None = None, **options: Any) -> None:
        super().__init__(schema, **options)
        # The project's own GraphiQL page, whose assets the server serves itself (Strawberry's loads a CDN).
        self.ide_page = ide_page

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.ide_page is None:
            return await super().render_graphql_ide(request)
        return self.ide_page()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # The lifespan's state is copied into every request's scope by Starlette.
        services = request.state.services
        # The lifespan's state is copied into every request's scope by Starlette; the authentication
        # middleware added the principal. Without it (an app wired without the middleware) nobody is trusted.
        principal: Principal = getattr(request.state, "principal", ANONYMOUS)
        return Context(
            services=services,
            request=request,
            response=response if isinstance(response, Response) else None,
            principal=principal,
            loaders=Loaders.build(services, principal),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-ws: a token in the connection_init payload (`{"Authorization": "Bearer lgt_…"}`) names the
        caller, as the Authorization header does over HTTP; a bad token closes the connection (4403)."""
        params = context.connection_params or {}
        raw = params.get("Authorization", params.get("authorization"))
        if isinstance(raw, str) and raw:
            scheme, _, secret = raw.partition(" ")
            if scheme.lower() != "bearer":
                raise ConnectionRejectionError({"message": "use `Bearer <token>`"})
            try:
                context.principal = await context.services.auth.authenticate(secret.strip())
            except DomainError as refused:
                raise ConnectionRejectionError({"message": refused.message, "code": refused.code}) from None
        return cast(UnsetType, UNSET)

    async def get_root_value(self, request: Any) -> None:
        return None

    def encode_json(self, data: object) -> bytes:
        # orjson writes a 10k-node lineage answer (~6 MB) in ~10 ms where the standard library takes ~70 ms.
        try:
            return orjson.dumps(data)
        except TypeError:  # e.g. an integer past 64 bits in a JSON value: the standard library writes it
            return json.dumps(data, separators=(",", ":")).encode()

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

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        except HTTPException as refused:
            # Strawberry answers a mutation over GET with 400; the method is what is wrong, so say 405.
            if isinstance(refused.__cause__, InvalidOperationTypeError) and request_adapter.method == "GET":
                raise HTTPException(405, refused.reason) from refused
            raise
