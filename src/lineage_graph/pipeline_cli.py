"""`lineage-graph register` and `lineage-graph wait-approval`: the CI side, over HTTP through the Python client.

Exit codes (a CI step branches on them; docs/pipelines.md has the table):
0 done (wait-approval: APPROVED), 1 refused by the server (validation, not found, conflict, policy),
2 bad arguments, 3 not authenticated or not allowed, 4 server unreachable after retries,
5 wait-approval: REJECTED, 6 wait-approval: still pending when the timeout passed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lineage_graph.client import (
    ApprovalRejected,
    ApprovalTimeout,
    Client,
    Forbidden,
    LineageGraphError,
    ModelVersion,
    Unauthenticated,
    Unavailable,
)
from lineage_graph.client.models import CodeVersionKey, DatasetVersionKey

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_NOT_ALLOWED = 3
EXIT_UNAVAILABLE = 4
EXIT_REJECTED = 5
EXIT_PENDING = 6


def _pair(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def _metric(text: str) -> tuple[str, float]:
    key, value = _pair(text)
    try:
        return key, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"metric {key}: {value!r} is not a number") from None


def _param(text: str) -> tuple[str, Any]:
    key, value = _pair(text)
    try:
        return key, json.loads(value)  # `k=10` is a number, `k=true` a boolean, anything else a string
    except ValueError:
        return key, value


def _dataset(text: str) -> DatasetVersionKey:
    try:
        return DatasetVersionKey.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _code(text: str) -> CodeVersionKey:
    try:
        return CodeVersionKey.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


EXIT_CODES = """exit codes:
  0  done (wait-approval: APPROVED)
  1  refused by the server: validation, not found, conflict, policy
  2  bad arguments
  3  not authenticated or not allowed
  4  server unreachable or unavailable after retries
  5  wait-approval: the version was REJECTED
  6  wait-approval: still pending when the timeout passed"""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="server base URL (default: $LINEAGE_GRAPH_URL, else http://127.0.0.1:8000)")
    parser.add_argument("--token", help="API token (default: $LINEAGE_GRAPH_TOKEN)")
    parser.add_argument("--json", action="store_true", help="print the result (or the error) as one JSON object")


def add_pipeline_commands(sub: Any) -> None:
    """Add `register` and `wait-approval` to the `lineage-graph` subcommands."""
    register = sub.add_parser(
        "register",
        help="register a model version with its lineage (over HTTP)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    register.add_argument("--group", required=True, help="the model group")
    register.add_argument("--artifact", required=True, help="the model artifact's URI")
    register.add_argument("--metric", action="append", type=_metric, default=[], metavar="NAME=VALUE")
    register.add_argument(
        "--param",
        action="append",
        type=_param,
        default=[],
        metavar="NAME=VALUE",
        help="a hyperparameter (JSON values are parsed: 10, 0.1, true)",
    )
    register.add_argument(
        "--dataset",
        action="append",
        type=_dataset,
        default=[],
        metavar="NS/NAME@VERSION",
        help="a dataset version it was trained on (repeatable)",
    )
    register.add_argument("--code", type=_code, metavar="REPOSITORY@COMMIT", help="the code it was built from")
    register.add_argument("--run-id", help="the run that produced it (e.g. an OpenLineage runId)")
    register.add_argument("--framework")
    register.add_argument("--description")
    register.add_argument("--tag", action="append", default=[])
    register.add_argument("--client-token", help="idempotency key: re-running the job with it registers once")
    _connection_options(register)
    register.set_defaults(handler=cmd_register)

    wait = sub.add_parser(
        "wait-approval",
        help="wait until a model version is approved or rejected",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    wait.add_argument("--group", required=True)
    wait.add_argument("--version", required=True, type=int)
    wait.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait (default 3600)")
    wait.add_argument("--interval", type=float, default=5.0, help="seconds between checks (default 5)")
    _connection_options(wait)
    wait.set_defaults(handler=cmd_wait_approval)


def _version_json(version: ModelVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "group": version.group,
        "version": version.version,
        "artifactUri": version.artifact_uri,
        "approvalStatus": version.approval_status,
        "metrics": {m.name: m.value for m in version.metrics},
        "aliases": list(version.aliases),
    }


def _fail(error: LineageGraphError, as_json: bool) -> int:
    if as_json:
        problems = [{"field": p.field, "message": p.message, "code": p.code} for p in error.problems]
        print(json.dumps({"error": {"code": error.code, "message": error.message, "problems": problems}}))
    else:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        for p in error.problems:
            print(f"  {p.field or '-'}: {p.message} ({p.code})", file=sys.stderr)
    if isinstance(error, ApprovalRejected):
        return EXIT_REJECTED
    if isinstance(error, ApprovalTimeout):
        return EXIT_PENDING
    if isinstance(error, Unauthenticated | Forbidden):
        return EXIT_NOT_ALLOWED
    if isinstance(error, Unavailable):
        return EXIT_UNAVAILABLE
    return EXIT_REFUSED


def _done(version: ModelVersion, as_json: bool, text: str) -> int:
    print(json.dumps(_version_json(version)) if as_json else text, flush=True)
    return EXIT_OK


def cmd_register(args: argparse.Namespace, settings: object) -> int:
    try:
        with Client(args.url, args.token) as client:
            version = client.register_model_version(
                args.group,
                args.artifact,
                metrics=dict(args.metric),
                hyperparameters=dict(args.param),
                trained_on=args.dataset,
                code=args.code,
                produced_by=args.run_id,
                framework=args.framework,
                description=args.description,
                tags=args.tag,
                client_token=args.client_token,
            )
    except LineageGraphError as error:
        return _fail(error, args.json)
    return _done(version, args.json, f"registered {version.group} version {version.version} ({version.id})")


def cmd_wait_approval(args: argparse.Namespace, settings: object) -> int:
    try:
        with Client(args.url, args.token) as client:
            version = client.wait_for_approval(args.group, args.version, args.timeout, args.interval)
    except LineageGraphError as error:
        return _fail(error, args.json)
    return _done(version, args.json, f"{version.group} version {version.version} is APPROVED")
