"""lineage-graph: a model registry with lineage and governance (GraphQL over Neo4j).

`serve` runs the server (starting a local Neo4j when NEO4J_URI is unset). The admin commands (token,
sagemaker-key, audit, migrate, demo, schema apply, import, artifacts) act directly on the database the server uses:
the one NEO4J_URI names, or the managed local Neo4j, which must be running (`serve` or `neo4j start`).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage_graph.config import Settings, SettingsError, load_settings
from lineage_graph.domain.auth import Principal, Role, parse_group_roles
from lineage_graph.domain.errors import DomainError
from lineage_graph.domain.models import ApprovalStatus
from lineage_graph.logs import configure_logging
from lineage_graph.mlflow_import_cli import add_mlflow_import
from lineage_graph.neo4j_local import NEO4J_VERSION, LocalNeo4j, LocalNeo4jError, jit_for_machine
from lineage_graph.pipeline_cli import add_pipeline_commands

if TYPE_CHECKING:
    from lineage_graph.store.graph import Neo4jGraph


def local_neo4j(settings: Settings) -> LocalNeo4j:
    return LocalNeo4j(
        home=settings.data_dir / "neo4j",
        cache_dir=settings.cache_dir,
        bolt_port=settings.neo4j_bolt_port,
        heap=settings.neo4j_heap,
        pagecache=settings.neo4j_pagecache,
        jit=jit_for_machine(settings.neo4j_jit),
    )


def _print(message: str) -> None:
    print(message, flush=True)  # the CLI's output is its interface


def _note(message: str) -> None:
    """Side information (which database, progress) on stderr, so stdout stays what scripts parse."""
    print(message, file=sys.stderr, flush=True)


# ---- neo4j ------------------------------------------------------------------------------------------
def cmd_neo4j(args: argparse.Namespace, settings: Settings) -> int:
    instance = local_neo4j(settings)
    if args.action == "install":
        instance.ensure_installed()
        _print(f"Neo4j {NEO4J_VERSION} is in {instance.lib_dir}")
    elif args.action == "start":
        _print(f"Starting Neo4j (data in {instance.home}) …")
        conn = instance.start()
        _print(f"Neo4j is up.\n  NEO4J_URI={conn.uri}\n  NEO4J_USER={conn.user}\n  NEO4J_PASSWORD={conn.password}")
    elif args.action == "stop":
        _print("Neo4j stopped." if instance.stop() else "Neo4j was not running.")
    elif args.action == "status":
        pid = instance.running_pid()
        if pid is None:
            _print("Neo4j is not running.")
            return 3
        conn = instance.credentials()
        _print(f"Neo4j is running (pid {pid}) at {conn.uri}, user {conn.user}, password {conn.password}")
    elif args.action == "dump":
        if args.to is None:
            raise LocalNeo4jError("`neo4j dump` needs --to DIR, the directory to write the dump into.")
        _print_pause(instance)
        _print(f"Dump written to {instance.dump(args.to)}")
    elif args.action == "load":
        if args.from_ is None:
            raise LocalNeo4jError("`neo4j load` needs --from FILE, a dump written by `neo4j dump`.")
        _print_pause(instance)
        instance.load(args.from_)
        _print(f"Loaded {args.from_} into the managed Neo4j.")
    return 0


def _print_pause(instance: LocalNeo4j) -> None:
    if instance.running_pid() is not None:
        # Community edition can only dump or load a stopped database.
        _print("Stopping Neo4j for the duration (a running server answers 503 meanwhile) …")


# ---- serve ------------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from lineage_graph.app import create_app

    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = settings.model_copy(update=overrides)
    # Bound before anything else, so a busy port is one sentence up front and the URL printed below is
    # served: Uvicorn is handed this very socket.
    listener = _bind(settings.host, settings.port)
    # systemd, Docker and CI stop a service with SIGTERM, a person with Ctrl-C. Uvicorn shuts down gracefully
    # on either and then re-raises it; as KeyboardInterrupt it unwinds through the `finally` below, which stops
    # the managed Neo4j, and a stop asked for is a clean exit.
    signal.signal(signal.SIGTERM, _interrupt)
    instance = None
    try:
        if settings.managed_neo4j:
            instance = local_neo4j(settings)
            already_running = instance.running_pid() is not None
            _print(f"No NEO4J_URI set: using the managed local Neo4j (data in {instance.home}) …")
            conn = instance.start(progress=_print)
            _print(f"Neo4j is up at {conn.uri}")
            settings = settings.model_copy(
                update={"neo4j_uri": conn.uri, "neo4j_user": conn.user, "neo4j_password": conn.password}
            )
            if already_running:
                instance = None  # someone else started it; leave it running when we exit
            _print_first_admin_token(settings)
        # log_config=None keeps the logging configured in main(); the middleware writes the access log
        # (with the request id), so Uvicorn's own is off.
        served: dict[str, Any] = {
            "log_level": settings.log_level,
            "log_config": None,
            "access_log": False,
            "timeout_graceful_shutdown": 10,
        }
        url = f"http://{settings.host}:{settings.port}/graphql"
        if args.workers > 1:
            from uvicorn.supervisors import Multiprocess

            # Each worker is a fresh process that builds its own app (and driver) from the environment, so the
            # connection this command resolved (the managed Neo4j) is handed down through it; all of them
            # accept on the socket bound above.
            _export_connection(settings)
            config = uvicorn.Config(
                "lineage_graph.app:app_from_environment", factory=True, workers=args.workers, **served
            )
            _print(f"GraphQL at {url} ({args.workers} workers; Ctrl-C to stop)")
            Multiprocess(config, sockets=[listener]).run()
        else:
            config = uvicorn.Config(create_app(settings), **served)
            _print(f"GraphQL at {url} (Ctrl-C to stop)")
            uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        if instance is not None:
            _print("Stopping the managed Neo4j …")
            instance.stop()
    return 0


def _export_connection(settings: Settings) -> None:
    values = {
        "NEO4J_URI": settings.neo4j_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password,
        "LINEAGE_GRAPH_HOST": settings.host,
        "LINEAGE_GRAPH_PORT": str(settings.port),
    }
    os.environ.update({name: value for name, value in values.items() if value is not None})


def _bind(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
        raise LocalNeo4jError(
            f"Port {port} on {host} {reason}: stop the other program or choose another with --port "
            "(or LINEAGE_GRAPH_PORT)."
        ) from None
    listener.listen(2048)
    return listener


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_first_admin_token(settings: Settings) -> None:
    """The managed local default: on first start (no active admin token yet) issue one and print it once."""
    from lineage_graph.services.auth import AuthService
    from lineage_graph.store.constraints import apply_constraints

    async def ensure() -> str | None:
        async with _graph(settings) as graph:
            await apply_constraints(graph)
            issued = await AuthService(graph).ensure_admin_token(_operator(settings))
            return None if issued is None else issued.secret

    secret = asyncio.run(ensure())
    if secret is not None:
        _print(
            "First start: an admin API token was created. It is shown once; keep it (send it as\n"
            f"`Authorization: Bearer <token>`, e.g. in GraphiQL's Headers tab):\n  {secret}"
        )


# ---- schema -----------------------------------------------------------------------------------------
def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from lineage_graph.graphql.schema import print_schema

    sdl = print_schema()
    if args.action == "export":
        if args.output == "-":
            sys.stdout.write(sdl)
        else:
            Path(args.output).write_text(sdl)
            _print(f"wrote {args.output}")
        return 0
    if args.action == "check":
        if not Path(args.output).exists():
            _print(f"{args.output} not found: run this from the repository root, or pass --output PATH")
            return 1
        if Path(args.output).read_text() != sdl:
            _print(f"{args.output} is stale: run `lineage-graph schema export`")
            return 1
        _print(f"{args.output} matches the code")
        return 0
    # apply
    from lineage_graph.store.constraints import apply_constraints

    async def apply() -> int:
        async with _graph(settings) as graph:
            return await apply_constraints(graph)

    _print(f"applied {asyncio.run(apply())} constraint and index statements")
    return 0


def _graph(settings: Settings):  # type: ignore[no-untyped-def]
    """The database an admin command acts on, said on stderr. The managed Neo4j is never started here: a
    command that quietly started its own database (or another data dir's) would write where no server reads."""
    from contextlib import asynccontextmanager

    from lineage_graph.app import graph_settings
    from lineage_graph.store.graph import Neo4jGraph

    if settings.managed_neo4j:
        instance = local_neo4j(settings)
        if instance.running_pid() is None:
            raise LocalNeo4jError(
                f"The managed Neo4j (data in {instance.home}) is not running. Start the server "
                "(`scripts/run`) or `lineage-graph neo4j start` first, or set NEO4J_URI to the database to use."
            )
        conn = instance.credentials()
        settings = settings.model_copy(
            update={"neo4j_uri": conn.uri, "neo4j_user": conn.user, "neo4j_password": conn.password}
        )
        _note(f"using the managed Neo4j at {conn.uri} (data in {instance.home})")
    else:
        _note(f"using NEO4J_URI={settings.neo4j_uri} (database {settings.neo4j_database})")

    @asynccontextmanager
    async def opened():  # type: ignore[no-untyped-def]
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            try:
                await graph.ping()
            except DomainError as exc:
                raise LocalNeo4jError(f"Neo4j at {settings.neo4j_uri} does not answer: {exc.message}") from None
            yield graph
        finally:
            await graph.close()

    return opened()


# ---- demo -------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from lineage_graph.services.container import Services
    from lineage_graph.services.demo import load_demo
    from lineage_graph.store.constraints import apply_constraints

    async def load() -> list[str]:
        async with _graph(settings) as graph:
            await apply_constraints(graph)
            return await load_demo(Services.build(graph).registry)

    for line in asyncio.run(load()):
        _print(f"- {line}")
    _print('Demo data loaded: open /graphql and try `{ modelGroup(name: "fraud-detector") { name } }`')
    return 0


# ---- token ------------------------------------------------------------------------------------------
def _operator(settings: Settings) -> Principal:
    """Whoever runs the CLI holds the database credentials, so acts as admin; the audit log names them as
    `operator:<name>`: the `operator` setting (LINEAGE_GRAPH_OPERATOR, for a shared service account whose
    runbook names the person), else the login and host the command runs under. Every admin command uses this
    one identity, so an auditor filters on one prefix."""
    name = settings.operator or f"{getpass.getuser()}@{socket.gethostname()}"
    return Principal(name=f"operator:{name}", role=Role.ADMIN)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from lineage_graph.services.auth import AuthService

    async def run() -> int:
        async with _graph(settings) as graph:
            service = AuthService(graph)
            if args.action == "create" and args.sigv4:
                return await _issue_sigv4_key(graph, settings, args)
            if args.action == "create":
                issued = await service.create_token(
                    _operator(settings),
                    args.name,
                    Role.parse(args.role),
                    _group_roles(args.group_role or []),
                )
                await _warn_unknown_groups(graph, settings, issued.token.principal.group_roles)
                _print(f"token {issued.token.token_id} for {args.name} ({args.role}); shown once, store it now:")
                _print(issued.secret)
            elif args.action == "list":
                tokens = await service.tokens(_operator(settings), include_revoked=args.all)
                rows = []
                for token in tokens:
                    grants = ",".join(f"{g}={r.value}" for g, r in sorted(token.principal.group_roles.items()))
                    rows.append(
                        [
                            token.token_id,
                            "bearer",
                            token.principal.name,
                            token.principal.role.value if token.principal.role else "-",
                            grants or "-",
                            f"{token.created_at:%Y-%m-%dT%H:%M:%SZ} by {token.created_by}",
                            "active" if token.active else f"revoked {token.revoked_at:%Y-%m-%dT%H:%M:%SZ}",
                        ]
                    )
                rows.extend(await _sigv4_rows(graph, settings, args.all))
                _print_table(["ID", "KIND", "PRINCIPAL", "ROLE", "GROUP ROLES", "CREATED", "STATE"], rows)
            else:
                token = await service.revoke_token(_operator(settings), args.token_id)
                _print(f"token {token.token_id} of {token.principal.name} is revoked")
        return 0

    try:
        return asyncio.run(run())
    except DomainError as exc:
        _print(f"error: {exc.message}")
        return 1


def _group_roles(grants: list[str]) -> dict[str, Role]:
    """`--group-role GROUP=ROLE` options; a bad one is named as typed."""
    roles: dict[str, Role] = {}
    for grant in grants:
        roles.update(parse_group_roles([grant], f"--group-role {grant}").items())
    return roles


async def _warn_unknown_groups(graph: Neo4jGraph, settings: Settings, grants: Mapping[str, Role]) -> None:
    from lineage_graph.services.container import Services

    registry = Services.build(graph).registry
    for group in sorted(grants):
        if await registry.group(_operator(settings), group) is None:
            _note(f"note: model group {group!r} does not exist yet; the grant applies once it is created")


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        _print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if not rows:
        _print("(none)")


async def _sigv4_rows(graph: Neo4jGraph, settings: Settings, include_revoked: bool) -> list[list[str]]:
    from lineage_graph.app import sigv4_master_key
    from lineage_graph.services.container import Services

    keys = Services.build(graph, sigv4_master_key=sigv4_master_key(settings)).access_keys
    return [
        [
            key.access_key_id,
            "sigv4",
            key.principal,
            key.role.value,
            "-",
            f"{key.created_at:%Y-%m-%dT%H:%M:%SZ} by {key.created_by}",
            "active" if key.revoked_at is None else f"revoked {key.revoked_at:%Y-%m-%dT%H:%M:%SZ}",
        ]
        for key in await keys.keys(_operator(settings), include_revoked)
    ]


async def _issue_sigv4_key(graph: Neo4jGraph, settings: Settings, args: argparse.Namespace) -> int:
    """`token create --sigv4`: an access key pair for the SageMaker-compatible API instead of a Bearer token."""
    from lineage_graph.app import sigv4_master_key
    from lineage_graph.services.container import Services

    keys = Services.build(graph, sigv4_master_key=sigv4_master_key(settings)).access_keys
    issued = await keys.issue(_operator(settings), args.name, Role.parse(args.role), args.name)
    _print(f"aws_access_key_id = {issued.key.access_key_id}")
    _print(f"aws_secret_access_key = {issued.secret}")
    _print(f"# acts as {issued.key.principal} with the {issued.key.role.value} role; the secret is not shown again")
    return 0


# ---- sagemaker-key ------------------------------------------------------------------------------------
def cmd_sagemaker_key(args: argparse.Namespace, settings: Settings) -> int:
    """Issue or revoke a SigV4 access key for the SageMaker-compatible API (the secret is shown once)."""
    from lineage_graph.app import sigv4_master_key
    from lineage_graph.domain.auth import Role
    from lineage_graph.domain.errors import DomainError
    from lineage_graph.services.container import Services

    async def run() -> int:
        async with _graph(settings) as graph:
            keys = Services.build(graph, sigv4_master_key=sigv4_master_key(settings)).access_keys
            if args.action == "list":
                _print_table(
                    ["ID", "KIND", "PRINCIPAL", "ROLE", "GROUP ROLES", "CREATED", "STATE"],
                    await _sigv4_rows(graph, settings, args.all),
                )
                return 0
            if args.action == "revoke":
                revoked = await keys.revoke(_operator(settings), args.access_key_id)
                _print(f"revoked {revoked.access_key_id} ({revoked.name})")
                return 0
            issued = await keys.issue(_operator(settings), args.name, Role(args.role), args.principal)
            _print(f"aws_access_key_id = {issued.key.access_key_id}")
            _print(f"aws_secret_access_key = {issued.secret}")
            _print(
                f"# acts as {issued.key.principal} with the {issued.key.role.value} role; the secret is not shown again"
            )
            return 0

    try:
        return asyncio.run(run())
    except DomainError as exc:
        _print(f"error: {exc.message}")
        return 1


# ---- migrate ----------------------------------------------------------------------------------------
def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from lineage_graph.services.migrations import MigrationService
    from lineage_graph.store.constraints import apply_constraints

    async def run() -> int:
        async with _graph(settings) as graph:
            if not args.dry_run:  # the constraints the new shape relies on, before anything is anchored
                await apply_constraints(graph)
            report = await MigrationService(graph).migrate(_operator(settings), dry_run=args.dry_run)
        verb = "would anchor" if report.dry_run else "anchored"
        _print(
            f"audit log: {report.legacy_events} events written before partitioned chains, {verb} {report.anchored} "
            "as the legacy partition (original hashes kept)"
        )
        if report.legacy_break is not None:
            _print(
                f"warning: the legacy chain does not verify at sequence {report.legacy_break.sequence}: "
                f"{report.legacy_break.reason}; `audit verify` reports it"
            )
        fill = "would fill" if report.dry_run else "filled"
        _print(f"tags: {fill} the empty tag list of {report.tags_filled} datasets and dataset versions")
        if report.versions_unnamed:
            unname = "would take" if report.dry_run else "took"
            _print(f"search: {unname} the names of {report.versions_unnamed} model versions out of the full-text index")
        if report.search_index_rebuilt:
            rebuild = "would rebuild" if report.dry_run else "rebuilt"
            _print(f"search: {rebuild} the full-text index so that commits do not wait for it")
        if not report.changed:
            _print("nothing to migrate")
        elif report.dry_run:
            _print("dry run: nothing was written")
        return 0

    try:
        return asyncio.run(run())
    except DomainError as exc:
        _print(f"error: {exc.message}")
        return 2


# ---- audit ------------------------------------------------------------------------------------------
def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from lineage_graph.services.audit import AuditService

    async def run() -> int:
        async with _graph(settings) as graph:
            report = await AuditService(graph).verify(_operator(settings))
        if report.broken is not None:
            where = "the global log" if report.broken.chain == "log" else f"partition {report.broken.chain}"
            _print(f"audit log BROKEN in {where} at sequence {report.broken.sequence}: {report.broken.reason}")
            return 1
        _print(
            f"audit log intact: {report.events} events in {report.partitions} partitions, each verified up to the "
            f"head read at the start; global log verified through sequence {report.log_sequence} "
            f"(log hash {report.log_hash}); {report.unanchored} newer events verified in their partitions, "
            "not yet placed in the global log"
        )
        return 0

    try:
        return asyncio.run(run())
    except DomainError as exc:
        _print(f"error: {exc.message}")
        return 2


# ---- webhook --------------------------------------------------------------------------------------------
def cmd_webhook(args: argparse.Namespace, settings: Settings) -> int:
    """Manage webhook subscriptions against the database (the secret is derived from the server's key)."""
    from lineage_graph.app import sigv4_master_key
    from lineage_graph.integrations.webhooks import address_problems
    from lineage_graph.services.container import Services
    from lineage_graph.services.webhooks import DeliverySettings

    async def run() -> int:
        async with _graph(settings) as graph:
            service = Services.build(
                graph,
                sigv4_master_key=sigv4_master_key(settings),
                webhook_address_check=address_problems,
                webhook_delivery=DeliverySettings(allow_link_local=settings.webhook_allow_link_local),
            ).webhooks
            if args.action == "create":
                created = await service.create(_operator(settings), args.url, args.type, args.group)
                _print(f"webhook {created.webhook.webhook_id} -> {created.webhook.url}; secret shown once:")
                _print(created.secret)
            elif args.action == "list":
                for w in await service.webhooks(_operator(settings)):
                    state = "active" if w.active else f"disabled ({w.disabled_reason or 'by an admin'})"
                    types = ",".join(w.event_types)
                    _print(f"{w.webhook_id}  {w.url}  {types}  group={w.group or '*'}  cursor={w.cursor}  {state}")
            elif args.action == "delete":
                deleted = await service.delete(_operator(settings), args.id)
                _print(f"webhook {deleted.webhook_id} deleted")
            elif args.action == "deliveries":
                for d in await service.deliveries(_operator(settings), args.id, args.first):
                    _print(
                        f"{d.delivery_id}  #{d.sequence} {d.event_type}  {d.status.value}  attempts={d.attempts}  "
                        f"last={d.last_status_code or '-'} {d.last_latency_ms or '-'}ms  {d.last_error or ''}".rstrip()
                    )
            else:
                delivery = await service.redeliver(_operator(settings), args.id)
                _print(f"delivery {delivery.delivery_id} (event #{delivery.sequence}) will be sent again")
        return 0

    try:
        return asyncio.run(run())
    except DomainError as exc:
        problems = "; ".join(f"{p.field}: {p.message}" for p in exc.problems if p.field) or exc.message
        _print(f"error: {problems}")
        return 1


# ---- import sagemaker / artifacts verify --------------------------------------------------------------
def cmd_import_sagemaker(args: argparse.Namespace, settings: Settings) -> int:
    """Import SageMaker model package groups, packages, training jobs and endpoints (idempotent)."""
    from rich.console import Console

    from lineage_graph.domain.contracts import ContractMode
    from lineage_graph.import_console import import_progress, print_summary
    from lineage_graph.integrations.sagemaker.source import Boto3SageMakerSource
    from lineage_graph.services.container import Services
    from lineage_graph.services.import_summary import ImportSummary
    from lineage_graph.services.sagemaker_import import SageMakerImporter
    from lineage_graph.store.constraints import apply_constraints

    source = Boto3SageMakerSource.connect(args.region or settings.aws_region, args.endpoint_url)
    console = Console()

    async def run() -> ImportSummary:
        async with _graph(settings) as graph:
            await apply_constraints(graph)
            mode = ContractMode.FLAG if args.on_contract_violation == "flag" else ContractMode.REFUSE
            importer = SageMakerImporter(Services.build(graph), actor=_operator(settings), on_contract_violation=mode)
            with import_progress(console) as tick:
                return await importer.run(source, args.group or (), args.since, tick)

    return print_summary(console, "SageMaker import", asyncio.run(run()))


def cmd_artifacts(args: argparse.Namespace, settings: Settings) -> int:
    """Re-verify the S3 artifacts of approved versions; exit 1 when any drifted."""
    from lineage_graph.domain.models import ApprovalStatus
    from lineage_graph.integrations.s3 import S3ObjectHeads
    from lineage_graph.services.artifacts import ArtifactService, ArtifactVerifier, VerificationReport
    from lineage_graph.services.container import Services

    heads = S3ObjectHeads.connect(args.region or settings.aws_region, args.endpoint_url or settings.s3_endpoint_url)

    async def run() -> VerificationReport:
        async with _graph(settings) as graph:
            service = ArtifactService(ArtifactVerifier(heads), Services.build(graph).registry)
            status = None if args.status == "ALL" else ApprovalStatus(args.status)
            return await service.reverify(_operator(settings), status)

    report = asyncio.run(run())
    for drift in report.drift:
        _print(f"DRIFT {drift.version} {drift.uri}: {drift.problem} ({drift.detail})")
    _print(f"checked {report.checked} artifacts, {len(report.drift)} drifted, {report.skipped} not in S3")
    return 1 if report.drift else 0


# ---- retention --------------------------------------------------------------------------------------
def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Archive what each group's retention rules select (or, with --dry-run, list it and why)."""
    from lineage_graph.services.container import Services
    from lineage_graph.services.retention import RetentionReport

    async def run() -> list[RetentionReport]:
        async with _graph(settings) as graph:
            service = Services.build(graph).retention
            return await service.run(_operator(settings), args.group, dry_run=args.dry_run, batch_size=args.batch_size)

    try:
        reports = asyncio.run(run())
    except DomainError as exc:
        _print(f"error: {exc.message}")
        return 1
    verb = "would archive" if args.dry_run else "archived"
    for report in reports:
        for plan in report.planned:
            done = args.dry_run or plan.version in report.archived
            mark = "" if done else " (kept: deployed or aliased meanwhile)"
            _print(f"{report.group}/{plan.version}: {'; '.join(plan.reasons)}{mark}")
        count = len(report.planned) if args.dry_run else len(report.archived)
        _print(f"{report.group}: {verb} {count} version(s)")
    return 0


def _date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


# ---- parser -----------------------------------------------------------------------------------------
Command = Callable[[argparse.Namespace, Settings], int]


def _actions(**described: str) -> str:
    width = max(len(name) for name in described)
    return "actions:\n" + "\n".join(f"  {name.ljust(width)}  {text}" for name, text in described.items())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lineage-graph", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the GraphQL server (starts a local Neo4j if NEO4J_URI is unset)")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8000)")
    serve.add_argument(
        "--workers", type=_positive, default=1, help="server processes, each with its own Neo4j driver (default 1)"
    )
    serve.set_defaults(handler=cmd_serve)

    neo4j = sub.add_parser(
        "neo4j",
        help="manage the local Neo4j the server starts when NEO4J_URI is unset",
        description="Manage the managed local Neo4j (data in LINEAGE_GRAPH_DATA_DIR/neo4j).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_actions(
            install="fetch Neo4j's jars from Maven Central into the cache (once)",
            start="start it (or find it running) and print its URI and credentials",
            stop="stop it (SIGTERM, then SIGKILL if it hangs)",
            status="say whether it runs, and where (exit 3 when it does not)",
            dump="stop it, write a dump into --to DIR, start it again",
            load="stop it, restore --from FILE (a dump), start it again",
        ),
    )
    neo4j.add_argument("action", choices=["install", "start", "stop", "status", "dump", "load"])
    neo4j.add_argument("--to", type=Path, help="dump: directory to write <database>-<time>.dump into")
    neo4j.add_argument("--from", dest="from_", type=Path, help="load: the dump file to restore")
    neo4j.set_defaults(handler=cmd_neo4j)

    schema = sub.add_parser(
        "schema",
        help="export or check the GraphQL SDL; apply Neo4j constraints",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_actions(
            export="write the GraphQL schema the code defines to --output (- for stdout)",
            check="exit 1 unless --output matches the code (CI runs this)",
            apply="apply schema/constraints.cypher to the database (idempotent; the server does it at start)",
        ),
    )
    schema.add_argument("action", choices=["export", "check", "apply"])
    schema.add_argument("--output", default="schema/schema.graphql", help="the SDL file (default: %(default)s)")
    schema.set_defaults(handler=cmd_schema)
    demo = sub.add_parser(
        "demo",
        help="load a small example graph (idempotent)",
        description="Load example model groups, versions, datasets, runs and an approval, so a first look at "
        "GraphiQL or the explorer shows something. Running it again changes nothing.",
    )
    demo.set_defaults(handler=cmd_demo)

    token = sub.add_parser("token", help="issue, list and revoke API tokens")
    token_sub = token.add_subparsers(dest="action", required=True)
    create = token_sub.add_parser("create", help="issue a token (printed once; only its hash is stored)")
    create.add_argument("--name", required=True, help="the principal (person or pipeline) the token acts as")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--group-role", action="append", metavar="GROUP=ROLE", help="a role for one model group")
    create.add_argument(
        "--sigv4",
        action="store_true",
        help="issue an AWS-style access key pair for the SageMaker-compatible API instead",
    )
    listing = token_sub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id (see `token list`)")
    revoke.add_argument("token_id")
    token.set_defaults(handler=cmd_token)

    audit = sub.add_parser(
        "audit",
        help="verify the audit log's hash chain",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_actions(verify="recompute the hash chain; exit 0 when intact, 1 naming the first broken event"),
    )
    audit.add_argument("action", choices=["verify"])
    audit.set_defaults(handler=cmd_audit)

    migrate = sub.add_parser(
        "migrate",
        help="upgrade a database written by an earlier release (idempotent; docs/operations.md)",
        description="Anchor an audit log written before partitioned chains as the legacy partition (its original "
        "hashes kept and verified) and fill the tag lists OpenLineage left empty. Safe to run again and while "
        "the server runs; recorded in the audit log as the operator.",
    )
    migrate.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    migrate.set_defaults(handler=cmd_migrate)

    webhook = sub.add_parser("webhook", help="manage webhook subscriptions (docs/events.md)")
    webhook_sub = webhook.add_subparsers(dest="action", required=True)
    wh_create = webhook_sub.add_parser("create", help="subscribe a URL to events (the secret is printed once)")
    wh_create.add_argument("--url", required=True)
    wh_create.add_argument("--type", action="append", required=True, help="event type, `namespace.*` or `*`")
    wh_create.add_argument("--group", help="only events of this model group")
    webhook_sub.add_parser("list", help="list subscriptions")
    wh_delete = webhook_sub.add_parser("delete", help="remove a subscription and its delivery log")
    wh_delete.add_argument("id")
    wh_deliveries = webhook_sub.add_parser("deliveries", help="a subscription's delivery log, newest first")
    wh_deliveries.add_argument("id")
    wh_deliveries.add_argument("--first", type=int, default=50)
    wh_redeliver = webhook_sub.add_parser("redeliver", help="send a recorded delivery again")
    wh_redeliver.add_argument("id")
    webhook.set_defaults(handler=cmd_webhook)

    sm_key = sub.add_parser("sagemaker-key", help="issue or revoke SigV4 keys for the /sagemaker API")
    sm_key_actions = sm_key.add_subparsers(dest="action", required=True)
    sm_create = sm_key_actions.add_parser("create", help="issue a key pair bound to a principal and role")
    sm_create.add_argument("--name", required=True, help="what the key is for; also the principal by default")
    sm_create.add_argument("--role", required=True, choices=[r.value for r in Role])
    sm_create.add_argument("--principal", help="the principal the key acts as (default: --name)")
    sm_list = sm_key_actions.add_parser("list", help="list issued keys (never their secrets)")
    sm_list.add_argument("--all", action="store_true", help="include revoked keys")
    sm_revoke = sm_key_actions.add_parser("revoke", help="revoke a key")
    sm_revoke.add_argument("access_key_id")
    sm_key.set_defaults(handler=cmd_sagemaker_key)

    importer = sub.add_parser("import", help="import a registry from elsewhere")
    importers = importer.add_subparsers(dest="source", required=True)
    sm_import = importers.add_parser("sagemaker", help="SageMaker model registry, training jobs and endpoints")
    sm_import.add_argument("--region", help="AWS region (default: the aws_region setting)")
    sm_import.add_argument("--group", action="append", help="import only this model package group (repeatable)")
    sm_import.add_argument("--since", type=_date, help="only what was created/modified since (ISO date or time)")
    sm_import.add_argument("--endpoint-url", help="SageMaker/S3 endpoint (a moto or private endpoint)")
    sm_import.add_argument(
        "--on-contract-violation",
        choices=["skip", "flag"],
        default="skip",
        help="a package breaking its group's registration contract: report and skip it, or import it flagged",
    )
    sm_import.set_defaults(handler=cmd_import_sagemaker)
    add_mlflow_import(importers, _graph, _operator)

    retention = sub.add_parser(
        "retention",
        help="archive versions as the groups' retention rules say",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_actions(run="archive what the rules select, in batches; --dry-run lists it and why instead"),
    )
    retention.add_argument("action", choices=["run"])
    retention.add_argument("--dry-run", action="store_true", help="list what would be archived and why; change nothing")
    retention.add_argument("--group", help="only this model group (default: every group with retention rules)")
    retention.add_argument("--batch-size", type=int, default=100, help="versions archived per transaction")
    retention.set_defaults(handler=cmd_retention)

    artifacts = sub.add_parser(
        "artifacts",
        help="verify model artifacts in S3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_actions(verify="re-check that each version's s3:// artifact exists and matches; exit 1 on drift"),
    )
    artifacts.add_argument("action", choices=["verify"])
    artifacts.add_argument("--status", default="APPROVED", choices=[*(s.value for s in ApprovalStatus), "ALL"])
    artifacts.add_argument("--region")
    artifacts.add_argument("--endpoint-url", help="S3 endpoint (default: the s3_endpoint_url setting)")
    artifacts.set_defaults(handler=cmd_artifacts)
    add_pipeline_commands(sub)  # register, wait-approval: pipeline commands over HTTP
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _note(f"error: {exc}")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    handler: Command = args.handler
    try:
        return handler(args, settings)
    except LocalNeo4jError as exc:
        _note(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
