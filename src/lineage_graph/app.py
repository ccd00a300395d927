"""The Starlette application: routes, and a lifespan that opens one driver for the process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from lineage_graph import __version__, heap
from lineage_graph.config import Settings
from lineage_graph.domain.auth import ANONYMOUS
from lineage_graph.domain.errors import DomainError, Unavailable
from lineage_graph.domain.openlineage import LineageEvent
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.graphql.hardening import Limits
from lineage_graph.graphql.schema import build_schema
from lineage_graph.graphql.view import GraphQLView
from lineage_graph.integrations.mlflow.api import PREFIX as MLFLOW_PREFIX
from lineage_graph.integrations.mlflow.api import mlflow_endpoint
from lineage_graph.integrations.mlflow.tracking import MlflowTracking
from lineage_graph.integrations.openlineage import decode_body, parse_events
from lineage_graph.integrations.s3 import S3ObjectHeads
from lineage_graph.integrations.sagemaker.api import sagemaker_endpoint
from lineage_graph.integrations.sagemaker.publisher import S3CardPublisher
from lineage_graph.integrations.sagemaker.reports import S3Reports
from lineage_graph.integrations.webhooks import WebhookSender, address_problems
from lineage_graph.logs import configure_logging
from lineage_graph.metrics import CONTENT_TYPE, Metrics
from lineage_graph.middleware import AuthenticationMiddleware, BodyLimitMiddleware, CausalConsistencyMiddleware
from lineage_graph.model_card_page import model_card_page
from lineage_graph.observability import ObservabilityMiddleware
from lineage_graph.services.access_keys import load_master_key
from lineage_graph.services.artifacts import ArtifactVerifier
from lineage_graph.services.container import Services
from lineage_graph.services.events import EventWorker
from lineage_graph.services.webhooks import DeliverySettings, WebhookDispatcher
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import GraphSettings, Neo4jGraph
from lineage_graph.store.plans import hot_statements, warm_plans
from lineage_graph.web import SOURCE_WEB_DIR, WebAssets

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


def mlflow_tracking(settings: Settings) -> MlflowTracking | None:
    """The MLflow tracking server the MLflow facade reads runs from, when one is configured."""
    if settings.mlflow_tracking_uri is None:
        return None
    token = settings.mlflow_tracking_token.get_secret_value() if settings.mlflow_tracking_token else None
    return MlflowTracking.connect(settings.mlflow_tracking_uri, token)


async def warm_up(graph: Neo4jGraph, budget: float) -> None:
    """Plan the hot statements before serving, so the first lineage walk after a start does not spend its time
    budget on Neo4j's planning (store/plans.py). A failure only leaves them to be planned on first use."""
    started = time.monotonic()
    try:
        planned = await warm_plans(graph, hot_statements(), budget)
    except DomainError as exc:
        logger.warning(
            "planning the lineage statements at start-up failed, they are planned on first use: %s", exc.message
        )
        return
    logger.info("planned %d lineage statements in %.1f s", planned, time.monotonic() - started)


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

    async def read_events() -> list[LineageEvent]:
        return parse_events(decode_body(await request.body(), request.headers.get("content-encoding")))

    try:
        # The authentication middleware always sets the principal; without it nobody is trusted. The
        # service authorizes the caller before the body is read or parsed.
        result = await services.ingest.ingest_request(getattr(request.state, "principal", ANONYMOUS), read_events)
    except DomainError as exc:
        problems = [{"field": p.field, "message": p.message, "code": p.code} for p in exc.problems]
        body = {"error": {"code": exc.code, "message": exc.message, "problems": problems}}
        return JSONResponse(body, status_code=_HTTP_STATUS.get(exc.code, 409))
    return JSONResponse({"events": result.events, "runs": result.runs}, status_code=201)


def cors_middleware(origins: list[str]) -> list[Middleware]:
    """CORS for the allow-listed origins only (none by default: browsers then refuse cross-origin calls).

    It sits before authentication, so a preflight (which carries no token) is answered here, not refused.
    Tokens travel in the Authorization header, never in cookies, so credentials mode stays off."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id", "x-lineage-bookmark"],
            expose_headers=["x-request-id", "x-lineage-bookmark"],
            max_age=600,
        )
    ]


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
        refresh_seconds=settings.webhook_refresh_seconds,
    )
    # ModelMetrics reports named by SageMaker registrations are read from S3 (or the configured endpoint).
    reports = S3Reports.connect(settings.aws_region, settings.s3_endpoint_url)
    card_publisher = S3CardPublisher.connect(settings.aws_region, settings.s3_endpoint_url)  # card export jobs

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        graph = Neo4jGraph.connect(connection)
        metrics.watch(graph, connection.pool_size)
        tracking = mlflow_tracking(settings)
        try:
            try:
                await apply_constraints(graph)
            except Unavailable:
                # Start anyway: /readyz reports 503 until Neo4j answers, and writes fail fast meanwhile.
                logger.warning(
                    "Neo4j at %s is unreachable at start-up; serving anyway (/readyz says 503 until it answers), "
                    "constraints will be applied on the next start",
                    connection.uri,
                )
            else:
                if settings.warm_up_seconds:
                    await warm_up(graph, settings.warm_up_seconds)
            services = Services.build(
                graph,
                sigv4_master_key=master_key,
                artifact_verifier=verifier,
                token_cache_seconds=settings.token_cache_seconds,
                metric_reports=reports,
                card_publisher=card_publisher,
                mlflow_runs=tracking,
                governance_tags=settings.governance_tags,
                webhook_address_check=address_problems,
                webhook_delivery=delivery,
                events_poll_interval=settings.events_poll_interval,
            )
            sender = WebhookSender(delivery.timeout, delivery.allow_link_local)
            dispatcher = WebhookDispatcher(graph, services.webhooks, sender, ArnScope(region=settings.aws_region))
            # The outbox's worker: places committed events in the global log and delivers them (bounded passes).
            events = EventWorker(
                services.events,
                [dispatcher.deliver_due],
                settings.events_poll_interval,
                consumed=services.webhooks.known.any,
                idle_interval=settings.events_idle_interval,
            )
            worker = asyncio.create_task(events.run())
            # Everything built so far lives as long as the process: out of the collector's way (heap.py).
            heap.tune(settings.gc_young_threshold)
            try:
                yield {"services": services}
            finally:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
                await sender.close()
        finally:
            if tracking is not None:
                await tracking.close()
            await graph.close()

    limits = Limits(
        max_tokens=settings.graphql_max_tokens,
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_cost=settings.graphql_max_cost,
    )
    schema = build_schema(introspection=settings.introspection, limits=limits)
    web = WebAssets(settings.web_dir or SOURCE_WEB_DIR)
    graphql_app = GraphQLView(schema, web.graphiql_page, graphql_ide="graphiql" if settings.graphiql else None)
    routes = [
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),  # subscriptions over graphql-ws (docs/events.md)
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/api/v1/lineage", openlineage_events, methods=["POST"]),
        Route("/model-cards/{name}", model_card_page, methods=["GET"]),
        # boto3 posts to the endpoint_url's path plus "/", so both spellings are served.
        Route("/sagemaker", sagemaker_endpoint, methods=["POST"]),
        Route("/sagemaker/", sagemaker_endpoint, methods=["POST"]),
        Route(
            f"{MLFLOW_PREFIX}/api/2.0/mlflow/{{operation:path}}",
            mlflow_endpoint,
            methods=["GET", "POST", "PATCH", "DELETE"],
        ),
        *web.routes(),
    ]
    middleware = [
        Middleware(ObservabilityMiddleware, metrics=metrics),
        *cors_middleware(settings.cors_origin_list),
        # Then outermost first: an oversized body is refused, on every route, before the token lookup
        # touches Neo4j; OpenLineage batches have their own, larger limit.
        Middleware(
            BodyLimitMiddleware,
            max_bytes=settings.graphql_max_body_bytes,
            limits={"/api/v1/lineage": settings.ingest_max_body_bytes},
        ),
        # The client's bookmarks apply from the token lookup on (a token issued through another instance).
        Middleware(CausalConsistencyMiddleware),
        Middleware(AuthenticationMiddleware, anonymous_role=settings.anonymous_role),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def app_from_environment() -> Starlette:
    """The app of one `serve --workers N` process: its settings (and logging) from the environment `serve` set."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
