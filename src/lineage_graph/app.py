"""The Starlette application: routes, and a lifespan that opens one driver for the process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from lineage_graph import __version__
from lineage_graph.config import Settings
from lineage_graph.domain.auth import ANONYMOUS
from lineage_graph.domain.errors import DomainError, Unavailable
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.graphql.hardening import Limits
from lineage_graph.graphql.schema import build_schema
from lineage_graph.graphql.view import GraphQLView
from lineage_graph.integrations.openlineage import decode_body, parse_events
from lineage_graph.integrations.s3 import S3ObjectHeads
from lineage_graph.integrations.sagemaker.api import sagemaker_endpoint
from lineage_graph.integrations.webhooks import WebhookSender, address_problems
from lineage_graph.metrics import CONTENT_TYPE, Metrics
from lineage_graph.middleware import AuthenticationMiddleware, BodyLimitMiddleware
from lineage_graph.observability import ObservabilityMiddleware
from lineage_graph.services.access_keys import load_master_key
from lineage_graph.services.artifacts import ArtifactVerifier
from lineage_graph.services.container import Services
from lineage_graph.services.events import EventWorker
from lineage_graph.services.webhooks import DeliverySettings, WebhookDispatcher
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import GraphSettings, Neo4jGraph

logger = logging.getLogger(__name__)


class State(TypedDict):
    services: Services


def graph_settings(settings: Settings) -> GraphSettings:
    if settings.neo4j_uri is None or settings.neo4j_password is None:
        raise ValueError("NEO4J_URI and NEO4J_PASSWORD must be set (`serve` sets them for the managed Neo4j)")
    return GraphSettings(
        uri=settings.neo4j_uri,
        user=settings.neo4j_user,
        password=settings.neo4j_password,
        database=settings.neo4j_database,
        connection_timeout=settings.neo4j_connection_timeout,
        acquire_timeout=settings.neo4j_acquire_timeout,
        retry_time=settings.neo4j_retry_time,
        query_timeout=settings.neo4j_query_timeout,
        pool_size=settings.neo4j_pool_size,
    )


def sigv4_master_key(settings: Settings) -> bytes:
    configured = settings.sigv4_master_key.get_secret_value() if settings.sigv4_master_key else None
    return load_master_key(configured, settings.data_dir)


def artifact_verifier(settings: Settings) -> ArtifactVerifier | None:
    """The S3 check at registration, when the `verify_s3_artifacts` setting is on."""
    if not settings.verify_s3_artifacts:
        return None
    return ArtifactVerifier(S3ObjectHeads.connect(settings.aws_region, settings.s3_endpoint_url))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    services: Services = request.state.services
    try:
        await services.system.check_ready(timeout=2.0)
    except Unavailable as exc:
        return JSONResponse({"status": "unavailable", "reason": exc.message}, status_code=503)
    return JSONResponse({"status": "ready"})


# HTTP statuses of the OpenLineage endpoint's refusals (the body names the code, the fields and the reasons).
_HTTP_STATUS = {"VALIDATION_FAILED": 422, "UNAUTHENTICATED": 401, "FORBIDDEN": 403, "UNAVAILABLE": 503}


async def openlineage_events(request: Request) -> Response:
    """`POST /api/v1/lineage`: one OpenLineage event or an array of them, as the HTTP transport sends."""
    services: Services = request.state.services
    try:
        events = parse_events(decode_body(await request.body(), request.headers.get("content-encoding")))
        # The authentication middleware always sets the principal; without it nobody is trusted.
        result = await services.ingest.ingest(getattr(request.state, "principal", ANONYMOUS), events)
    except DomainError as exc:
        problems = [{"field": p.field, "message": p.message, "code": p.code} for p in exc.problems]
        body = {"error": {"code": exc.code, "message": exc.message, "problems": problems}}
        return JSONResponse(body, status_code=_HTTP_STATUS.get(exc.code, 409))
    return JSONResponse({"events": result.events, "runs": result.runs}, status_code=201)


def create_app(settings: Settings) -> Starlette:
    """Build the app; the driver is opened when it starts serving and closed when it stops."""
    connection = graph_settings(settings)
    metrics = Metrics()

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    master_key = sigv4_master_key(settings)
    verifier = artifact_verifier(settings)
    delivery = DeliverySettings(
        timeout=settings.webhook_timeout,
        lease_seconds=settings.webhook_lease_seconds,
        max_attempts=settings.webhook_max_attempts,
        backoff_base=settings.webhook_backoff_base,
        backoff_cap=settings.webhook_backoff_cap,
        allow_link_local=settings.webhook_allow_link_local,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        graph = Neo4jGraph.connect(connection)
        metrics.watch(graph, connection.pool_size)
        try:
            try:
                await apply_constraints(graph)
            except Unavailable:
                # Start anyway: /readyz reports 503 until Neo4j answers, and writes fail fast meanwhile.
                logger.warning("Neo4j unreachable at start-up; constraints will be applied on the next start")
            services = Services.build(
                graph,
                sigv4_master_key=master_key,
                artifact_verifier=verifier,
                webhook_address_check=address_problems,
                webhook_delivery=delivery,
                events_poll_interval=settings.events_poll_interval,
            )
            sender = WebhookSender(delivery.timeout, delivery.allow_link_local)
            dispatcher = WebhookDispatcher(graph, services.webhooks, sender, ArnScope(region=settings.aws_region))
            # The outbox's worker: places committed events in the global log and delivers them (bounded passes).
            events = EventWorker(services.events, [dispatcher.deliver_due], settings.events_poll_interval)
            worker = asyncio.create_task(events.run())
            try:
                yield {"services": services}
            finally:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
                await sender.close()
        finally:
            await graph.close()

    limits = Limits(
        max_tokens=settings.graphql_max_tokens,
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
    )
    schema = build_schema(introspection=settings.introspection, limits=limits)
    graphql_app = GraphQLView(schema, graphql_ide="graphiql" if settings.graphiql else None)
    routes = [
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),  # subscriptions over graphql-ws (docs/events.md)
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/api/v1/lineage", openlineage_events, methods=["POST"]),
        # boto3 posts to the endpoint_url's path plus "/", so both spellings are served.
        Route("/sagemaker", sagemaker_endpoint, methods=["POST"]),
        Route("/sagemaker/", sagemaker_endpoint, methods=["POST"]),
    ]
    middleware = [
        Middleware(ObservabilityMiddleware, metrics=metrics),
        # Then outermost first: an oversized body is refused before the token lookup touches Neo4j.
        Middleware(BodyLimitMiddleware, max_bytes=settings.graphql_max_body_bytes),
        Middleware(BodyLimitMiddleware, max_bytes=settings.ingest_max_body_bytes, paths=("/api/v1/lineage",)),
        Middleware(AuthenticationMiddleware, anonymous_role=settings.anonymous_role),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
